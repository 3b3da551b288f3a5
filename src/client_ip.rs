//! The client IP, as the contract defines it: the TCP peer; when the peer is
//! one of `TRUSTED_PROXIES`, the right-most `X-Forwarded-For` address that is
//! not a trusted proxy.
//!
//! Why right-most: each proxy *appends* the address it received the
//! connection from, so the entries a trusted proxy wrote are at the right
//! end, and everything left of the first untrusted one was written by the
//! client, who can put anything there. Taking the left-most entry (as many
//! tutorials do) would let any client choose its own IP, and with it dodge
//! every per-IP limit. A header from a peer that is not a trusted proxy is
//! ignored entirely for the same reason.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ipnet::IpNet;

/// `TRUSTED_PROXIES`, put in the app's data by `startup` for [`of`].
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(networks: &[IpNet]) -> Self {
        TrustedProxies(networks.into())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client IP of `peer`'s request carrying these `X-Forwarded-For`
/// values (every header line, in order). Pure: the rule, whole.
pub fn resolve<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    // Walk from the right: the nearest hop first. `nearest` is the last
    // address a trusted hop vouched for, the answer if the list runs out
    // (every entry is a proxy) or turns to garbage.
    let mut nearest = peer;
    for value in forwarded_for.rev() {
        for entry in value.rsplit(',') {
            let Some(ip) = parse_entry(entry) else {
                return nearest;
            };
            if !trusted.contains(ip) {
                return ip;
            }
            nearest = ip;
        }
    }
    nearest
}

/// One `X-Forwarded-For` entry: an address, tolerating a port
/// (`203.0.113.9:5000`, `[2001:db8::1]:443`) as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The client IP of a request, from its peer and headers.
pub fn of(req: &HttpRequest) -> IpAddr {
    // Every request accepted over TCP has a peer; a request built without
    // one (unit tests, a Unix socket) shares one bucket, "0.0.0.0".
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    match req.app_data::<TrustedProxies>() {
        // No trusted proxies (the default): the peer, no header read.
        Some(trusted) if !trusted.0.is_empty() => {
            resolve(peer, forwarded_for(req.headers()), trusted)
        }
        _ => peer.to_canonical(),
    }
}

fn forwarded_for(headers: &HeaderMap) -> impl DoubleEndedIterator<Item = &str> {
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(list: &[&str]) -> TrustedProxies {
        let nets: Vec<IpNet> = list
            .iter()
            .map(|s| {
                s.parse::<IpNet>()
                    .unwrap_or_else(|_| IpNet::from(s.parse::<IpAddr>().unwrap()))
            })
            .collect();
        TrustedProxies::new(&nets)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let got = resolve(ip("198.51.100.7"), ["203.0.113.9"].into_iter(), &proxies);
        assert_eq!(got, ip("198.51.100.7"));
        let got = resolve(ip("198.51.100.7"), [].into_iter(), &trusted(&[]));
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn a_trusted_peer_gives_the_right_most_untrusted_entry() {
        let proxies = trusted(&["10.0.0.0/8", "127.0.0.1"]);
        // The client wrote "1.1.1.1" itself; the edge proxy appended the
        // real peer, 203.0.113.9; an inner proxy appended the edge, 10.0.0.2.
        let got = resolve(
            ip("127.0.0.1"),
            ["1.1.1.1, 203.0.113.9", "10.0.0.2"].into_iter(),
            &proxies,
        );
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn a_chain_of_only_proxies_gives_the_farthest_one() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let got = resolve(ip("10.0.0.1"), ["10.0.0.3,10.0.0.2"].into_iter(), &proxies);
        assert_eq!(got, ip("10.0.0.3"));
        let got = resolve(ip("10.0.0.1"), [].into_iter(), &proxies);
        assert_eq!(got, ip("10.0.0.1"));
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_vouched_address() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let got = resolve(
            ip("10.0.0.1"),
            ["203.0.113.9, unknown, 10.0.0.2"].into_iter(),
            &proxies,
        );
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn ports_and_mapped_addresses_are_understood() {
        let proxies = trusted(&["127.0.0.1", "::1"]);
        let got = resolve(
            ip("::ffff:127.0.0.1"),
            ["203.0.113.9:5000"].into_iter(),
            &proxies,
        );
        assert_eq!(got, ip("203.0.113.9"));
        let got = resolve(ip("::1"), ["[2001:db8::1]:443"].into_iter(), &proxies);
        assert_eq!(got, ip("2001:db8::1"));
    }

    proptest::proptest! {
        /// Whatever a client sends, the answer is either the peer or an
        /// address from the header that is not a trusted proxy, or (for a
        /// chain of proxies) a trusted hop: never an address the client
        /// wrote to the left of an untrusted one.
        #[test]
        fn the_answer_is_never_left_of_the_first_untrusted_hop(
            entries in proptest::collection::vec(
                proptest::prop_oneof![
                    "10\\.0\\.0\\.[0-9]{1,2}",
                    "203\\.0\\.113\\.[0-9]{1,2}",
                    "[a-z ]{0,5}",
                ],
                0..6,
            ),
            peer_trusted in proptest::bool::ANY,
        ) {
            let proxies = trusted(&["10.0.0.0/8"]);
            let peer = if peer_trusted { ip("10.0.0.99") } else { ip("198.51.100.1") };
            let header = entries.join(",");
            let got = resolve(peer, [header.as_str()].into_iter(), &proxies);
            if !peer_trusted {
                proptest::prop_assert_eq!(got, peer);
            } else {
                // The reference: walk right to left by hand.
                let mut expected = peer;
                for e in entries.iter().rev() {
                    match e.trim().parse::<IpAddr>() {
                        Ok(a) if proxies.contains(a) => expected = a,
                        Ok(a) => { expected = a; break; }
                        Err(_) => break,
                    }
                }
                proptest::prop_assert_eq!(got, expected);
            }
        }
    }
}
