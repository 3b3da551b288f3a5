//! Which URLs a webhook may reach. A webhook's URL is chosen by an admin,
//! but the server sends to it from inside its own network: left unchecked,
//! a webhook could reach a cloud metadata service, an admin port on
//! loopback or a database on the private network (server-side request
//! forgery). So a URL whose host is, or resolves to, an address inside the
//! network ([`is_internal`]) is refused when it is given ([`check`]), and
//! every delivery resolves the name again through [`Guarded`], which
//! answers only addresses outside it: a name that resolves elsewhere later
//! (DNS changes, rebinding) is caught when it is used. Redirects are never
//! followed (the deliverer's client), so a receiver cannot send the
//! request on to an address inside either.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::Settings;
use crate::domain::webhook::{is_internal, WebhookUrl, INTERNAL};

/// How long a name's lookup may take when a webhook is made or changed.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// `text` as a webhook's URL under `settings` (WEBHOOK_ALLOW_HTTP,
/// WEBHOOK_ALLOW_PRIVATE), or the rule it breaks. A name that does not
/// resolve now is accepted (it may later); the delivery checks it then.
pub async fn check(text: &str, settings: &Settings) -> Result<WebhookUrl, &'static str> {
    let allow_private = settings.webhook_allow_private;
    let url = WebhookUrl::parse(text, settings.webhook_allow_http, allow_private)?;
    if allow_private {
        return Ok(url);
    }
    let Some((name, port)) = url.name_and_port() else {
        return Ok(url);
    };
    let lookup = tokio::net::lookup_host((name.to_owned(), port));
    if let Ok(Ok(mut addresses)) = tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
        if addresses.any(|address| is_internal(address.ip())) {
            return Err(INTERNAL);
        }
    }
    Ok(url)
}

/// The deliverer's resolver: the system's, less every address inside the
/// server's network (unless `allow_private`). A name left with none fails
/// to connect, and the attempt is recorded as failed.
#[derive(Debug, Clone, Copy)]
pub struct Guarded {
    pub allow_private: bool,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str().to_owned(), 0)).await?;
            let kept: Vec<SocketAddr> = found
                .filter(|address| allow_private || !is_internal(address.ip()))
                .collect();
            if kept.is_empty() {
                return Err(INTERNAL.into());
            }
            let addresses: Addrs = Box::new(kept.into_iter());
            Ok(addresses)
        })
    }
}
