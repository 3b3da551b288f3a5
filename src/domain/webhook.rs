//! Webhooks' rules, without I/O: the event types a webhook may take, what
//! makes its URL acceptable (scheme, length, and no address inside the
//! server's network), its secret, the Standard Webhooks signature, and the
//! retry schedule.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Every event type a webhook may take, as the contract names them.
pub const TYPES: [&str; 9] = [
    "member.created",
    "member.updated",
    "member.deleted",
    "member.plan_changed",
    "subscription.updated",
    "post.published",
    "post.unpublished",
    "post.deleted",
    "newsletter.sent",
];

/// Whether `kind` is one of [`TYPES`].
pub fn is_type(kind: &str) -> bool {
    TYPES.contains(&kind)
}

/// The most webhooks a site may have: each one multiplies every change's
/// deliveries.
pub const MAX_WEBHOOKS: i64 = 20;

/// The longest URL accepted.
pub const MAX_URL: usize = 2_000;

/// The types a webhook takes, as stored: `*` for every type, or each type
/// with a comma on both sides (`,member.created,post.published,`), so that
/// one SQL `LIKE '%,' || type || ',%'` finds the webhooks that take a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Types(String);

impl Types {
    /// The request's `events`: `["*"]`, or known types (at least one).
    pub fn parse(given: &[String]) -> Result<Types, &'static str> {
        if given.is_empty() {
            return Err("must name at least one event type, or \"*\"");
        }
        if given.iter().any(|kind| kind == "*") {
            return match given.len() {
                1 => Ok(Types("*".to_owned())),
                _ => Err("\"*\" stands alone: it means every type"),
            };
        }
        if given.iter().any(|kind| !is_type(kind)) {
            return Err("names an unknown event type");
        }
        let mut kinds: Vec<&str> = given.iter().map(String::as_str).collect();
        kinds.sort_unstable();
        kinds.dedup();
        Ok(Types(format!(",{},", kinds.join(","))))
    }

    /// As stored.
    pub fn stored(&self) -> &str {
        &self.0
    }

    /// The list a Webhook shows, from the stored text.
    pub fn listed(stored: &str) -> Vec<String> {
        if stored == "*" {
            return vec!["*".to_owned()];
        }
        stored
            .split(',')
            .filter(|kind| !kind.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A webhook's URL, checked as far as can be without asking DNS: absolute,
/// `https` (or `http` when allowed), at most [`MAX_URL`] characters, with
/// a host; a host written as an address is held to [`is_internal`] here
/// (unless `allow_private`), a name is resolved and checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(text: &str, allow_http: bool, allow_private: bool) -> Result<Self, &'static str> {
        if text.chars().count() > MAX_URL {
            return Err("must be at most 2000 characters");
        }
        let url = url::Url::parse(text).map_err(|_| "must be an absolute URL")?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            _ if allow_http => return Err("must be an http or https URL"),
            _ => return Err("must be an https URL"),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not hold a user name or password");
        }
        let Some(host) = url.host() else {
            return Err("must name a host");
        };
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        if let Some(ip) = literal {
            if !allow_private && is_internal(ip) {
                return Err(INTERNAL);
            }
        }
        Ok(WebhookUrl(url))
    }

    /// The host's name when it is one (not an address), and the port: what
    /// DNS must be asked about.
    pub fn name_and_port(&self) -> Option<(&str, u16)> {
        match self.0.host() {
            Some(url::Host::Domain(name)) => {
                Some((name, self.0.port_or_known_default().unwrap_or(443)))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Why a URL whose host is inside the server's network is refused.
pub const INTERNAL: &str =
    "must not be an address inside the server's network (loopback, private, link-local, unique-local or unspecified)";

/// Whether `ip` is inside the server's own network, where a webhook must
/// not reach (server-side request forgery: a webhook pointed at a metadata
/// service, an admin port on loopback, a database on the private network).
/// Loopback, private (RFC 1918, and the carrier-grade NAT range),
/// link-local (cloud metadata lives at 169.254.169.254), unique-local,
/// unspecified, broadcast and documentation ranges; an IPv4 address
/// written as IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 one.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique-local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local, deprecated
                || v6.is_multicast()
                // NAT64's well-known prefix carries an IPv4 address.
                || (v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
                    && is_internal_v4(Ipv4Addr::from(
                        (u32::from(v6.segments()[6]) << 16) | u32::from(v6.segments()[7]),
                    )))
                || v6 == Ipv6Addr::LOCALHOST
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// A new secret: `whsec_` + base64 of 32 random bytes, the form Standard
/// Webhooks' libraries take.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// A new event id, the message's `webhook-id`: `msg_` + 128 random bits.
pub fn new_event_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("msg_{}", hex::encode(bytes))
}

/// The `webhook-signature` of one message under `secrets` (the current
/// one first, the one before it during a rotation): `v1,` + base64 of
/// HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the secret's
/// decoded bytes, several separated by spaces.
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seconds to wait after failed attempt `attempts` (1 for the first), or
/// `None` when that was the last: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
/// and 10 h — a receiver down for a day and a half still gets everything.
pub fn retry_after(attempts: i32) -> Option<i64> {
    const SCHEDULE: [i64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
    usize::try_from(attempts - 1)
        .ok()
        .and_then(|i| SCHEDULE.get(i))
        .copied()
}

/// How long both secrets sign after a rotation.
pub const ROTATION_OVERLAP: i64 = 24 * 3_600;

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Result<WebhookUrl, &'static str> {
        WebhookUrl::parse(text, false, false)
    }

    #[test]
    fn only_https_unless_http_is_allowed() {
        assert!(url("https://example.com/hook").is_ok());
        assert!(url("http://example.com/hook").is_err());
        assert!(WebhookUrl::parse("http://example.com/hook", true, false).is_ok());
        assert!(url("ftp://example.com/").is_err());
        assert!(url("/relative").is_err());
        assert!(url("https://user:pw@example.com/").is_err());
        let long = format!("https://example.com/{}", "a".repeat(2_000));
        assert!(url(&long).is_err());
    }

    #[test]
    fn addresses_inside_the_network_are_refused() {
        for inside in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fc00::1]/",
            "https://[fd12::1]/",
            "https://[fe80::1]/",
            "https://[::]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::a00:1]/",
            "https://100.64.0.1/",
            // Forms the URL parser reads as 127.0.0.1.
            "https://2130706433/",
            "https://0x7f.1/",
        ] {
            assert_eq!(url(inside), Err(INTERNAL), "{inside}");
            assert!(WebhookUrl::parse(inside, false, true).is_ok(), "{inside}");
        }
        for outside in ["https://93.184.216.34/", "https://[2606:4700::1111]/"] {
            assert!(url(outside).is_ok(), "{outside}");
        }
    }

    #[test]
    fn a_name_is_left_to_dns() {
        let named = url("https://hooks.example.com:8443/x").unwrap();
        assert_eq!(named.name_and_port(), Some(("hooks.example.com", 8443)));
        assert_eq!(url("https://8.8.8.8/").unwrap().name_and_port(), None);
    }

    #[test]
    fn types_are_known_or_every_one() {
        let every = Types::parse(&["*".to_owned()]).unwrap();
        assert_eq!(every.stored(), "*");
        let some = Types::parse(&["post.published".to_owned(), "member.created".to_owned()]);
        assert_eq!(some.unwrap().stored(), ",member.created,post.published,");
        assert!(Types::parse(&[]).is_err());
        assert!(Types::parse(&["member.exploded".to_owned()]).is_err());
        assert!(Types::parse(&["*".to_owned(), "member.created".to_owned()]).is_err());
        assert_eq!(
            Types::listed(",member.created,post.published,"),
            ["member.created", "post.published"]
        );
    }

    #[test]
    fn the_signature_is_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signed = signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let both = signature(
            &[secret, secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        );
        assert_eq!(both, format!("{signed} {signed}"));
    }

    #[test]
    fn a_secret_is_32_random_bytes() {
        let secret = new_secret();
        let bytes = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(bytes.len(), 32);
        assert_ne!(secret, new_secret());
        assert!(new_event_id().starts_with("msg_"));
    }

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let waits: Vec<_> = (1..=8).map(retry_after).collect();
        assert_eq!(
            waits,
            [
                Some(5),
                Some(300),
                Some(1_800),
                Some(7_200),
                Some(18_000),
                Some(36_000),
                Some(36_000),
                None
            ]
        );
        assert_eq!(retry_after(0), None);
    }
}
