//! Settings from the environment (and `.env`, loaded by `main`). Owns the
//! one table of every variable ([`SETTINGS`]: name, default, range, help)
//! and the parser that reads them through it. Every invalid value is
//! reported with the name of its variable, so an operator knows what to fix
//! before anything starts; secrets never show in a `Debug` dump.
//!
//! [`SETTINGS`]: crate::config::SETTINGS

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::cookie::SameSite;
use ipnet::IpNet;

/// Everything tollgate can be configured with. Built once at start-up.
#[derive(Clone, Debug)]
pub struct Settings {
    /// A SQLite file path, or a `postgres://` URL.
    pub database_url: String,
    pub host: String,
    pub port: u16,
    /// `None` means "generate once and keep beside the database".
    pub session_secret: Option<Secret>,
    pub cookie_secure: bool,
    pub cookie_same_site: SameSite,
    /// Idle lifetime of a browser-session login.
    pub session_ttl: Duration,
    /// Longest life of a browser-session login, however active.
    pub session_absolute_ttl: Duration,
    /// Lifetime of a stay-signed-in login, counted from the login.
    pub remember_ttl: Duration,
    pub bcrypt_cost: u32,
    pub free_reads: u32,
    /// PUBLIC_LISTING: `GET /blog` answers anonymous callers too.
    pub public_listing: bool,
    /// WEBHOOK_ALLOW_HTTP: webhooks may use `http://` URLs.
    pub webhook_allow_http: bool,
    /// WEBHOOK_ALLOW_PRIVATE: webhooks may reach addresses inside the
    /// server's network.
    pub webhook_allow_private: bool,
    /// ANONYMOUS_READS: distinct posts a browser without a session opens
    /// per month (`0`: reading needs a session).
    pub anonymous_reads: u32,
    /// ANONYMOUS_READS_PER_IP_PER_DAY.
    pub anonymous_reads_per_ip_per_day: u32,
    /// GIFTS_PER_MONTH, GIFT_LINK_DAYS, GIFT_MAX_READERS.
    pub gifts_per_month: u32,
    pub gift_link_days: u32,
    pub gift_max_readers: u32,
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    pub cors_allowed_origins: Vec<String>,
    pub seed_demo_posts: bool,
    pub database_pool_size: u32,
    pub database_timeout: Duration,
    /// How often expired sessions and login-throttle rows are deleted.
    pub purge_interval: Duration,
    /// HTTP worker threads; `None` lets actix pick one per core.
    pub workers: Option<usize>,

    /// The SPA's base URL (no trailing slash), for links in messages and
    /// billing redirects.
    pub app_url: String,
    /// The issuer authenticator apps show (the `otpauth://` URL's label).
    pub totp_issuer: String,
    /// Passkeys' relying party id (a domain).
    pub webauthn_rp_id: String,
    /// The origins allowed in passkey ceremonies.
    pub webauthn_origins: Vec<String>,
    /// Where to send mail; `None` writes `.eml` files into `mail_dir`. A
    /// secret: the URL may carry a password.
    pub smtp_url: Option<Secret>,
    /// The sender of every message, as a mailbox (`name <address>`).
    pub mail_from: String,
    pub mail_dir: PathBuf,
    pub mail_max_per_address_per_hour: u32,
    /// Life of an email-verification link.
    pub verify_token_ttl: Duration,
    /// Life of a password-reset link.
    pub reset_token_ttl: Duration,
    /// Life of an emailed sign-in's link and code.
    pub email_login_ttl: Duration,
    /// EMAIL_SIGN_UP: a sign-in by email for an address nobody holds
    /// verified offers a new account.
    pub email_sign_up: bool,

    /// Billing, when all three `STRIPE_*` settings are set.
    pub stripe: Option<Stripe>,
    /// Some but not all of the `STRIPE_*` settings are set (billing is off;
    /// start-up says so in the log).
    pub stripe_incomplete: bool,
    /// Where Stripe's API is (a stand-in in tests).
    pub stripe_api_base: String,
    /// The longest wait for one Stripe call, connecting included.
    pub stripe_timeout: Duration,

    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    pub register_max_per_ip_per_hour: u32,
    pub forgot_max_per_ip_per_hour: u32,
    pub email_sign_in_max_per_ip_per_hour: u32,
    /// SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR: provider sign-ins started and
    /// passkey sign-in options, which each store a row before anyone is
    /// known.
    pub sign_in_starts_max_per_ip_per_hour: u32,
    /// PROMOTION_CODE_TRIES_PER_HOUR: promotion codes looked up at Stripe,
    /// per user and per client network.
    pub promotion_code_tries_per_hour: u32,
    /// Failed logins (any usernames) per client IP per lockout window.
    pub login_max_failures_per_ip: u32,
    /// IPV6_LIMIT_PREFIX: the IPv6 network the per-IP limits count by.
    pub ipv6_limit_prefix: u8,
    /// How long account events are kept.
    pub event_retention: Duration,
    /// Where `/metrics` listens; `None`: no metrics listener.
    pub metrics_addr: Option<SocketAddr>,

    /// The API's own base URL as browsers reach it (no trailing slash), if
    /// set; unset, it is `http://{HOST}:{port}` with the port bound
    /// ([`Settings::public_url_on`]).
    pub public_url: Option<String>,
    /// The providers one can sign in with, in the order configured
    /// (OpenID Connect ones, then GitHub).
    pub providers: Vec<ProviderSettings>,
}

/// One provider to sign in with.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    /// The name in the routes (`/auth/{name}/…`) and in `oidc:{name}`.
    pub name: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub kind: ProviderKind,
}

/// How a provider is spoken to.
#[derive(Clone, Debug)]
pub enum ProviderKind {
    /// OpenID Connect: endpoints and keys from the issuer's discovery
    /// document.
    Oidc { issuer: String },
    /// GitHub's OAuth 2 and user API (it is not an OpenID provider).
    Github {
        oauth_base: String,
        api_base: String,
    },
}

/// The Stripe settings, all three present.
#[derive(Clone, Debug)]
pub struct Stripe {
    pub secret_key: Secret,
    /// The prices sold, in the configured order: never empty, the first
    /// the default (STRIPE_PRICES, or STRIPE_PRICE_ID as `default`).
    pub prices: Vec<NamedPrice>,
    pub webhook_secret: Secret,
    /// The free trial of an account's first subscription, in days
    /// (`TRIAL_DAYS`; 0: none).
    pub trial_days: u32,
}

impl Stripe {
    /// The price a checkout without a name subscribes to.
    pub fn default_price(&self) -> &NamedPrice {
        &self.prices[0]
    }
}

/// A price as configured: the name clients use, and Stripe's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedPrice {
    pub name: String,
    pub id: String,
}

/// `STRIPE_PRICES`' pairs, checked: each `name=price_id`, names of 1-32 of
/// `a-z 0-9 _ -` and distinct, ids without spaces.
fn parse_prices(raw: &str) -> Result<Vec<NamedPrice>, ConfigError> {
    let wrong = |reason: &str| invalid("STRIPE_PRICES", reason);
    let mut prices: Vec<NamedPrice> = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, id) = pair
            .split_once('=')
            .ok_or_else(|| wrong("each entry is name=price_id"))?;
        let (name, id) = (name.trim(), id.trim());
        let name_ok = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            return Err(wrong("a name is 1-32 of a-z 0-9 _ -"));
        }
        if id.is_empty() || id.chars().any(char::is_whitespace) {
            return Err(wrong("a price id is a Stripe id such as price_1Ab"));
        }
        if prices.iter().any(|p| p.name == name) {
            return Err(wrong("a name is given twice"));
        }
        prices.push(NamedPrice {
            name: name.to_owned(),
            id: id.to_owned(),
        });
    }
    Ok(prices)
}

/// A secret value whose `Debug` never shows it, so a settings dump in a log
/// line cannot leak the cookie-signing key.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A setting that could not be used; its message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

mod table;
#[cfg(test)]
mod tests;

pub use table::{markdown_table, setting, Range, Setting, SETTINGS};

/// The shortest cookie-signing key accepted: actix's `Key::from` needs 64 bytes.
pub const MIN_SECRET_BYTES: usize = 64;

impl Settings {
    /// The prices sold, in the configured order (none with billing off).
    pub fn prices_sold(&self) -> &[NamedPrice] {
        self.stripe.as_ref().map_or(&[], |stripe| &stripe.prices)
    }

    /// Reads the process environment. A value that is not UTF-8 is an
    /// error, never silently "unset" (which would, say, quietly replace a
    /// broken SESSION_SECRET with a generated one).
    pub fn from_env() -> Result<Self, ConfigError> {
        for setting in SETTINGS {
            if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(setting.name) {
                return Err(invalid(setting.name, "is not valid UTF-8"));
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own values
    /// through exactly the parsing the binary uses.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let cookie_secure = env.bool("COOKIE_SECURE")?;
        let cookie_same_site = match env.text("COOKIE_SAMESITE").trim().to_ascii_lowercase().as_str() {
            "lax" => SameSite::Lax,
            "strict" => SameSite::Strict,
            "none" if cookie_secure => SameSite::None,
            "none" => {
                return Err(invalid(
                    "COOKIE_SAMESITE",
                    "`none` requires COOKIE_SECURE=true (browsers reject SameSite=None cookies without Secure)",
                ))
            }
            _ => return Err(invalid("COOKIE_SAMESITE", "must be strict, lax or none")),
        };
        let session_secret = match env.raw("SESSION_SECRET") {
            None => None,
            Some(s) if s.len() < MIN_SECRET_BYTES => {
                return Err(invalid(
                    "SESSION_SECRET",
                    &format!("must be at least {MIN_SECRET_BYTES} bytes long"),
                ))
            }
            Some(s) => Some(Secret(s)),
        };
        let database_url = env.text("DATABASE_URL");
        if database_url.trim().is_empty() {
            return Err(invalid("DATABASE_URL", "must not be empty"));
        }
        let host = env.text("HOST");
        if host.trim().is_empty() {
            return Err(invalid("HOST", "must not be empty"));
        }
        let workers = env.whole("WORKERS")?.map(|n| n as usize);
        let app_url = env.base_url("APP_URL")?;
        let stripe_api_base = env.base_url("STRIPE_API_BASE")?;
        let totp_issuer = env.text("TOTP_ISSUER").trim().to_owned();
        if totp_issuer.is_empty()
            || totp_issuer.contains(':')
            || totp_issuer.chars().any(char::is_control)
        {
            return Err(invalid(
                "TOTP_ISSUER",
                "must be a name such as `tollgate`, without `:`",
            ));
        }
        let smtp_url = match env.raw("SMTP_URL").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(raw) => match url::Url::parse(raw.trim()) {
                Ok(url) if matches!(url.scheme(), "smtp" | "smtps") && url.host().is_some() => {
                    Some(Secret(raw.trim().to_owned()))
                }
                _ => {
                    return Err(invalid(
                        "SMTP_URL",
                        "must be smtp://host[:port] or smtps://[user:password@]host[:port]",
                    ))
                }
            },
        };
        let mail_from = env.text("MAIL_FROM");
        if !mail_from.contains('@') || mail_from.chars().any(char::is_control) {
            return Err(invalid(
                "MAIL_FROM",
                "must be a mailbox such as `tollgate <no-reply@example.com>`",
            ));
        }
        let mail_dir = env.text("MAIL_DIR");
        if mail_dir.trim().is_empty() {
            return Err(invalid("MAIL_DIR", "must not be empty"));
        }
        let prices = match (
            env.raw("STRIPE_PRICES").filter(|v| !v.trim().is_empty()),
            env.raw("STRIPE_PRICE_ID").filter(|v| !v.is_empty()),
        ) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "STRIPE_PRICES",
                    "set it or STRIPE_PRICE_ID, not both",
                ))
            }
            (Some(raw), None) => Some(parse_prices(&raw)?).filter(|p| !p.is_empty()),
            (None, Some(id)) => Some(vec![NamedPrice {
                name: "default".to_owned(),
                id,
            }]),
            (None, None) => None,
        };
        let stripe_parts = (
            env.raw("STRIPE_SECRET_KEY").filter(|v| !v.is_empty()),
            prices,
            env.raw("STRIPE_WEBHOOK_SECRET").filter(|v| !v.is_empty()),
        );
        let stripe_incomplete = !matches!(
            stripe_parts,
            (None, None, None) | (Some(_), Some(_), Some(_))
        );
        let trial_days = env.int("TRIAL_DAYS")? as u32;
        let stripe = match stripe_parts {
            (Some(secret_key), Some(prices), Some(webhook_secret)) => Some(Stripe {
                secret_key: Secret(secret_key),
                prices,
                webhook_secret: Secret(webhook_secret),
                trial_days,
            }),
            _ => None,
        };
        let trusted_proxies = env.networks("TRUSTED_PROXIES")?;
        let metrics_addr = match env.raw("METRICS_ADDR").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(raw) => Some(raw.trim().parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "METRICS_ADDR",
                    "must be an address and port such as 127.0.0.1:9464",
                )
            })?),
        };

        let app_origin = url::Url::parse(&app_url)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default();
        let webauthn_origins = match env.raw("WEBAUTHN_ORIGINS").filter(|v| !v.trim().is_empty()) {
            None => vec![app_origin],
            Some(_) => env.origins("WEBAUTHN_ORIGINS")?,
        };
        let webauthn_rp_id = match env.raw("WEBAUTHN_RP_ID").filter(|v| !v.trim().is_empty()) {
            Some(raw) => raw.trim().to_ascii_lowercase(),
            None => url::Url::parse(&app_url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_default(),
        };
        // WebAuthn binds a passkey to a domain that every page using it is
        // on: the origin's host itself or a parent domain of it.
        for origin in &webauthn_origins {
            let host = url::Url::parse(origin)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_default();
            if host != webauthn_rp_id && !host.ends_with(&format!(".{webauthn_rp_id}")) {
                return Err(invalid(
                    "WEBAUTHN_RP_ID",
                    &format!("`{webauthn_rp_id}` must be the host of {origin} or a parent domain of it (see WEBAUTHN_ORIGINS)"),
                ));
            }
        }
        if url::Host::parse(&webauthn_rp_id)
            .map_or(true, |host| !matches!(host, url::Host::Domain(_)))
        {
            return Err(invalid(
                "WEBAUTHN_RP_ID",
                "must be a domain name such as example.com",
            ));
        }

        let port = env.int("PORT")? as u16;
        let public_url = match env.raw("PUBLIC_URL").filter(|v| !v.trim().is_empty()) {
            Some(_) => Some(env.base_url("PUBLIC_URL")?),
            None => None,
        };
        let providers = env.providers()?;

        Ok(Settings {
            database_url,
            host,
            port,
            session_secret,
            cookie_secure,
            cookie_same_site,
            session_ttl: env.seconds("SESSION_TTL_SECONDS")?,
            session_absolute_ttl: env.seconds("SESSION_ABSOLUTE_TTL_SECONDS")?,
            remember_ttl: env.seconds("REMEMBER_TTL_SECONDS")?,
            bcrypt_cost: env.int("BCRYPT_COST")? as u32,
            free_reads: env.int("FREE_READS")? as u32,
            gifts_per_month: env.int("GIFTS_PER_MONTH")? as u32,
            gift_link_days: env.int("GIFT_LINK_DAYS")? as u32,
            gift_max_readers: env.int("GIFT_MAX_READERS")? as u32,
            public_listing: env.bool("PUBLIC_LISTING")?,
            webhook_allow_http: env.bool("WEBHOOK_ALLOW_HTTP")?,
            webhook_allow_private: env.bool("WEBHOOK_ALLOW_PRIVATE")?,
            anonymous_reads: env.int("ANONYMOUS_READS")? as u32,
            anonymous_reads_per_ip_per_day: env.int("ANONYMOUS_READS_PER_IP_PER_DAY")? as u32,
            login_max_failures: env.int("LOGIN_MAX_FAILURES")? as u32,
            login_lockout: env.seconds("LOGIN_LOCKOUT_SECONDS")?,
            cors_allowed_origins: env.origins("CORS_ALLOWED_ORIGINS")?,
            seed_demo_posts: env.bool("SEED_DEMO_POSTS")?,
            database_pool_size: env.int("DATABASE_POOL_SIZE")? as u32,
            database_timeout: env.seconds("DATABASE_TIMEOUT_SECONDS")?,
            purge_interval: env.seconds("PURGE_INTERVAL_SECONDS")?,
            workers,
            app_url,
            totp_issuer,
            webauthn_rp_id,
            webauthn_origins,
            smtp_url,
            mail_from,
            mail_dir: PathBuf::from(mail_dir),
            mail_max_per_address_per_hour: env.int("MAIL_MAX_PER_ADDRESS_PER_HOUR")? as u32,
            verify_token_ttl: env.seconds("VERIFY_TOKEN_TTL_SECONDS")?,
            reset_token_ttl: env.seconds("RESET_TOKEN_TTL_SECONDS")?,
            email_login_ttl: env.seconds("EMAIL_LOGIN_TTL_SECONDS")?,
            email_sign_up: env.bool("EMAIL_SIGN_UP")?,
            stripe,
            stripe_incomplete,
            stripe_api_base,
            stripe_timeout: env.seconds("STRIPE_TIMEOUT_SECONDS")?,
            trusted_proxies,
            register_max_per_ip_per_hour: env.int("REGISTER_MAX_PER_IP_PER_HOUR")? as u32,
            forgot_max_per_ip_per_hour: env.int("FORGOT_MAX_PER_IP_PER_HOUR")? as u32,
            email_sign_in_max_per_ip_per_hour: env.int("EMAIL_SIGN_IN_MAX_PER_IP_PER_HOUR")? as u32,
            sign_in_starts_max_per_ip_per_hour: env.int("SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR")?
                as u32,
            promotion_code_tries_per_hour: env.int("PROMOTION_CODE_TRIES_PER_HOUR")? as u32,
            login_max_failures_per_ip: env.int("LOGIN_MAX_FAILURES_PER_IP")? as u32,
            ipv6_limit_prefix: env.int("IPV6_LIMIT_PREFIX")? as u8,
            event_retention: Duration::from_secs(env.int("EVENT_RETENTION_DAYS")? * 86_400),
            metrics_addr,
            public_url,
            providers,
        })
    }

    /// `host:port` to bind.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The API's base URL as browsers reach it, once listening on `port`
    /// (which differs from PORT when that is `0`).
    pub fn public_url_on(&self, port: u16) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}:{port}", bracketed(self.host.trim())))
    }
}

/// A host as a URL writes it: an IPv6 address in brackets.
fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn invalid(name: &'static str, reason: &str) -> ConfigError {
    ConfigError {
        name,
        reason: reason.to_owned(),
    }
}

/// Typed access to the variables, each parser naming its variable on error.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The variable as set. Only names in [`SETTINGS`] are read.
    fn raw(&self, name: &'static str) -> Option<String> {
        (self.0)(setting(name).name)
    }

    /// The variable as set, else its default from [`SETTINGS`].
    fn value(&self, name: &'static str) -> Option<String> {
        self.raw(name)
            .or_else(|| setting(name).default.map(str::to_owned))
    }

    /// The value of a setting that has a default, so is never absent.
    fn text(&self, name: &'static str) -> String {
        self.value(name)
            .unwrap_or_else(|| panic!("{name} has no default in config::SETTINGS"))
    }

    /// A whole number within the setting's [`Range::Whole`]; `None` when
    /// it is unset and has no default.
    fn whole(&self, name: &'static str) -> Result<Option<u64>, ConfigError> {
        let Some(Range::Whole { min, max }) = setting(name).range else {
            panic!("{name} has no whole-number range in config::SETTINGS");
        };
        let Some(raw) = self.value(name) else {
            return Ok(None);
        };
        match raw.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(invalid(
                name,
                &format!("must be a whole number from {min} to {max}"),
            )),
        }
    }

    fn int(&self, name: &'static str) -> Result<u64, ConfigError> {
        self.whole(name)
            .map(|n| n.unwrap_or_else(|| panic!("{name} has no default in config::SETTINGS")))
    }

    fn seconds(&self, name: &'static str) -> Result<Duration, ConfigError> {
        self.int(name).map(Duration::from_secs)
    }

    fn bool(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.text(name).trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(invalid(name, "must be true or false")),
        }
    }

    /// A base URL (`http`/`https`, no query or fragment), kept without a
    /// trailing slash so that paths can be appended.
    fn base_url(&self, name: &'static str) -> Result<String, ConfigError> {
        let raw = self.text(name);
        match url::Url::parse(raw.trim()) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.query().is_none()
                    && url.fragment().is_none() =>
            {
                Ok(url.as_str().trim_end_matches('/').to_owned())
            }
            _ => Err(invalid(
                name,
                "must be an http(s) URL such as https://app.example.com",
            )),
        }
    }

    /// The providers of `OIDC_PROVIDERS` (each with its three
    /// `OIDC_<NAME>_*` variables, read by a name made from the provider's)
    /// and GitHub when both of its credentials are set. A provider whose
    /// settings are partial stops start-up: signing in would fail later,
    /// in front of a user, for a reason only the operator can fix.
    fn providers(&self) -> Result<Vec<ProviderSettings>, ConfigError> {
        let mut providers = Vec::new();
        let listed = self.raw("OIDC_PROVIDERS").unwrap_or_default();
        for name in listed.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.to_ascii_lowercase();
            let valid = name.len() <= 32
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid
                || name == "github"
                || providers.iter().any(|p: &ProviderSettings| p.name == name)
            {
                return Err(invalid(
                    "OIDC_PROVIDERS",
                    &format!("`{name}` must be a name of letters, digits and `_` (at most 32, starting with a letter), listed once, and not `github` (built in)"),
                ));
            }
            let var = |part: &str| {
                let key = format!("OIDC_{}_{part}", name.to_ascii_uppercase());
                (self.0)(&key).filter(|v| !v.trim().is_empty())
            };
            let (Some(issuer), Some(client_id), Some(client_secret)) =
                (var("ISSUER"), var("CLIENT_ID"), var("CLIENT_SECRET"))
            else {
                return Err(invalid(
                    "OIDC_PROVIDERS",
                    &format!("`{name}` needs OIDC_{0}_ISSUER, OIDC_{0}_CLIENT_ID and OIDC_{0}_CLIENT_SECRET", name.to_ascii_uppercase()),
                ));
            };
            // Kept exactly as given: the discovery document's `issuer` must
            // equal it, and some issuers end in `/` (Auth0's do).
            let issuer = issuer.trim().to_owned();
            if !url::Url::parse(&issuer)
                .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            {
                return Err(invalid(
                    "OIDC_PROVIDERS",
                    &format!(
                        "OIDC_{}_ISSUER must be an http(s) URL such as https://accounts.google.com",
                        name.to_ascii_uppercase()
                    ),
                ));
            }
            providers.push(ProviderSettings {
                name,
                client_id: client_id.trim().to_owned(),
                client_secret: Secret(client_secret.trim().to_owned()),
                kind: ProviderKind::Oidc { issuer },
            });
        }
        // Checked whether or not GitHub is on: a wrong value is a mistake
        // to report now, not when someone turns GitHub on.
        let oauth_base = self.base_url("GITHUB_OAUTH_BASE")?;
        let api_base = self.base_url("GITHUB_API_BASE")?;
        let id = self
            .raw("GITHUB_CLIENT_ID")
            .filter(|v| !v.trim().is_empty());
        let secret = self
            .raw("GITHUB_CLIENT_SECRET")
            .filter(|v| !v.trim().is_empty());
        match (id, secret) {
            (Some(id), Some(secret)) => providers.push(ProviderSettings {
                name: "github".to_owned(),
                client_id: id.trim().to_owned(),
                client_secret: Secret(secret.trim().to_owned()),
                kind: ProviderKind::Github {
                    oauth_base,
                    api_base,
                },
            }),
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "GITHUB_CLIENT_SECRET",
                    "GitHub sign-in needs both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET",
                ))
            }
        }
        Ok(providers)
    }

    /// Comma-separated addresses or CIDR ranges (`10.0.0.1`, `10.0.0.0/8`,
    /// `::1`); an address alone is a range of one.
    fn networks(&self, name: &'static str) -> Result<Vec<IpNet>, ConfigError> {
        let raw = self.text(name);
        raw.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        invalid(
                            name,
                            &format!("`{part}` is not an IP address or CIDR range"),
                        )
                    })
            })
            .collect()
    }

    /// Explicit origins only: a wildcard with credentials would let any site
    /// read a logged-in user's data, so `*` is refused rather than honoured.
    /// Each origin is kept in the form browsers send (`Origin` header):
    /// lower-case host, no default port, no trailing slash — otherwise a
    /// listed origin could never match.
    fn origins(&self, name: &'static str) -> Result<Vec<String>, ConfigError> {
        let raw = self.text(name);
        raw.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|part| {
                normalize_origin(part).ok_or_else(|| {
                    invalid(
                        name,
                        &format!("`{part}` is not an origin like https://app.example.com (scheme, host and optional port; no path, no wildcard)"),
                    )
                })
            })
            .collect()
    }
}

/// `scheme://host[:port]` as a browser would send it, or `None`.
fn normalize_origin(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url
            .host_str()
            .is_some_and(|h| !h.is_empty() && !h.contains('*'))
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !raw.contains('*');
    plain.then(|| url.origin().ascii_serialization())
}
