//! Settings from the environment (and `.env`, loaded by `main`), with the
//! contract's defaults. Every invalid value is reported with the name of its
//! variable, so an operator knows what to fix before anything starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::cookie::SameSite;
use ipnet::IpNet;

/// Everything tollgate can be configured with. Built once at start-up.
#[derive(Clone, Debug)]
pub struct Settings {
    /// A SQLite file path, or later a `postgres://` URL.
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

    /// Billing, when all three `STRIPE_*` settings are set.
    pub stripe: Option<Stripe>,
    /// Some but not all of the `STRIPE_*` settings are set (billing is off;
    /// start-up says so in the log).
    pub stripe_incomplete: bool,
    /// Where Stripe's API is (a stand-in in tests).
    pub stripe_api_base: String,

    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    pub register_max_per_ip_per_hour: u32,
    pub forgot_max_per_ip_per_hour: u32,
    /// Failed logins (any usernames) per client IP per lockout window.
    pub login_max_failures_per_ip: u32,
    /// How long account events are kept.
    pub event_retention: Duration,
    /// Where `/metrics` listens; `None`: no metrics listener.
    pub metrics_addr: Option<SocketAddr>,
}

/// The Stripe settings, all three present.
#[derive(Clone, Debug)]
pub struct Stripe {
    pub secret_key: Secret,
    pub price_id: String,
    pub webhook_secret: Secret,
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

/// Every variable tollgate reads.
pub const VARIABLES: [&str; 37] = [
    "DATABASE_URL",
    "HOST",
    "PORT",
    "SESSION_SECRET",
    "COOKIE_SECURE",
    "COOKIE_SAMESITE",
    "SESSION_TTL_SECONDS",
    "SESSION_ABSOLUTE_TTL_SECONDS",
    "REMEMBER_TTL_SECONDS",
    "BCRYPT_COST",
    "FREE_READS",
    "LOGIN_MAX_FAILURES",
    "LOGIN_LOCKOUT_SECONDS",
    "CORS_ALLOWED_ORIGINS",
    "SEED_DEMO_POSTS",
    "DATABASE_POOL_SIZE",
    "DATABASE_TIMEOUT_SECONDS",
    "PURGE_INTERVAL_SECONDS",
    "WORKERS",
    "RUST_LOG",
    "APP_URL",
    "SMTP_URL",
    "MAIL_FROM",
    "MAIL_DIR",
    "MAIL_MAX_PER_ADDRESS_PER_HOUR",
    "VERIFY_TOKEN_TTL_SECONDS",
    "RESET_TOKEN_TTL_SECONDS",
    "STRIPE_SECRET_KEY",
    "STRIPE_PRICE_ID",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "TRUSTED_PROXIES",
    "REGISTER_MAX_PER_IP_PER_HOUR",
    "FORGOT_MAX_PER_IP_PER_HOUR",
    "LOGIN_MAX_FAILURES_PER_IP",
    "EVENT_RETENTION_DAYS",
    "METRICS_ADDR",
];

/// The shortest cookie-signing key accepted: actix's `Key::from` needs 64 bytes.
pub const MIN_SECRET_BYTES: usize = 64;

impl Settings {
    /// Reads the process environment. A value that is not UTF-8 is an
    /// error, never silently "unset" (which would, say, quietly replace a
    /// broken SESSION_SECRET with a generated one).
    pub fn from_env() -> Result<Self, ConfigError> {
        for name in VARIABLES {
            if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(name) {
                return Err(invalid(name, "is not valid UTF-8"));
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own values
    /// through exactly the parsing the binary uses.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let cookie_secure = env.bool("COOKIE_SECURE", false)?;
        let cookie_same_site = match env.raw("COOKIE_SAMESITE").as_deref() {
            None => SameSite::Lax,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
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
            },
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
        let database_url = env
            .raw("DATABASE_URL")
            .unwrap_or_else(|| "tollgate.db".to_owned());
        if database_url.trim().is_empty() {
            return Err(invalid("DATABASE_URL", "must not be empty"));
        }
        let host = env.raw("HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
        if host.trim().is_empty() {
            return Err(invalid("HOST", "must not be empty"));
        }
        let workers = match env.raw("WORKERS") {
            None => None,
            Some(_) => Some(env.int("WORKERS", 1, 1, 1024)? as usize),
        };
        let app_url = env.base_url("APP_URL", "http://localhost:5173")?;
        let stripe_api_base = env.base_url("STRIPE_API_BASE", "https://api.stripe.com")?;
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
        let mail_from = env
            .raw("MAIL_FROM")
            .unwrap_or_else(|| "tollgate <no-reply@localhost>".to_owned());
        if !mail_from.contains('@') || mail_from.chars().any(char::is_control) {
            return Err(invalid(
                "MAIL_FROM",
                "must be a mailbox such as `tollgate <no-reply@example.com>`",
            ));
        }
        let mail_dir = env.raw("MAIL_DIR").unwrap_or_else(|| "mail".to_owned());
        if mail_dir.trim().is_empty() {
            return Err(invalid("MAIL_DIR", "must not be empty"));
        }
        let stripe_parts = (
            env.raw("STRIPE_SECRET_KEY").filter(|v| !v.is_empty()),
            env.raw("STRIPE_PRICE_ID").filter(|v| !v.is_empty()),
            env.raw("STRIPE_WEBHOOK_SECRET").filter(|v| !v.is_empty()),
        );
        let stripe_incomplete = !matches!(
            stripe_parts,
            (None, None, None) | (Some(_), Some(_), Some(_))
        );
        let stripe = match stripe_parts {
            (Some(secret_key), Some(price_id), Some(webhook_secret)) => Some(Stripe {
                secret_key: Secret(secret_key),
                price_id,
                webhook_secret: Secret(webhook_secret),
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

        Ok(Settings {
            database_url,
            host,
            port: env.int("PORT", 8080, 0, u16::MAX as u64)? as u16,
            session_secret,
            cookie_secure,
            cookie_same_site,
            session_ttl: env.seconds("SESSION_TTL_SECONDS", 86_400)?,
            session_absolute_ttl: env.seconds("SESSION_ABSOLUTE_TTL_SECONDS", 604_800)?,
            remember_ttl: env.seconds("REMEMBER_TTL_SECONDS", 2_592_000)?,
            bcrypt_cost: env.int("BCRYPT_COST", 12, 4, 31)? as u32,
            free_reads: env.int("FREE_READS", 5, 0, 1_000_000)? as u32,
            login_max_failures: env.int("LOGIN_MAX_FAILURES", 5, 1, 1_000_000)? as u32,
            login_lockout: env.seconds("LOGIN_LOCKOUT_SECONDS", 900)?,
            cors_allowed_origins: env.origins("CORS_ALLOWED_ORIGINS")?,
            seed_demo_posts: env.bool("SEED_DEMO_POSTS", true)?,
            database_pool_size: env.int("DATABASE_POOL_SIZE", 8, 1, 1_000)? as u32,
            database_timeout: env.seconds("DATABASE_TIMEOUT_SECONDS", 5)?,
            purge_interval: env.seconds("PURGE_INTERVAL_SECONDS", 300)?,
            workers,
            app_url,
            smtp_url,
            mail_from,
            mail_dir: PathBuf::from(mail_dir),
            mail_max_per_address_per_hour: env.int(
                "MAIL_MAX_PER_ADDRESS_PER_HOUR",
                3,
                0,
                1_000_000,
            )? as u32,
            verify_token_ttl: env.seconds("VERIFY_TOKEN_TTL_SECONDS", 86_400)?,
            reset_token_ttl: env.seconds("RESET_TOKEN_TTL_SECONDS", 3_600)?,
            stripe,
            stripe_incomplete,
            stripe_api_base,
            trusted_proxies,
            register_max_per_ip_per_hour: env.int(
                "REGISTER_MAX_PER_IP_PER_HOUR",
                20,
                1,
                1_000_000_000,
            )? as u32,
            forgot_max_per_ip_per_hour: env.int(
                "FORGOT_MAX_PER_IP_PER_HOUR",
                10,
                1,
                1_000_000_000,
            )? as u32,
            login_max_failures_per_ip: env.int(
                "LOGIN_MAX_FAILURES_PER_IP",
                100,
                1,
                1_000_000_000,
            )? as u32,
            event_retention: Duration::from_secs(
                env.int("EVENT_RETENTION_DAYS", 90, 1, 3_650)? * 86_400,
            ),
            metrics_addr,
        })
    }

    /// `host:port` to bind.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
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

/// Longest duration accepted: ten years keeps every `now + ttl` far from
/// overflowing an `i64` of seconds.
const MAX_SECONDS: u64 = 10 * 365 * 86_400;

impl Env<'_> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    fn int(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        let Some(raw) = self.raw(name) else {
            return Ok(default);
        };
        match raw.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(invalid(
                name,
                &format!("must be a whole number from {min} to {max}"),
            )),
        }
    }

    fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.int(name, default, 1, MAX_SECONDS)
            .map(Duration::from_secs)
    }

    fn bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        let Some(raw) = self.raw(name) else {
            return Ok(default);
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(invalid(name, "must be true or false")),
        }
    }

    /// A base URL (`http`/`https`, no query or fragment), kept without a
    /// trailing slash so that paths can be appended.
    fn base_url(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        let raw = self.raw(name).unwrap_or_else(|| default.to_owned());
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

    /// Comma-separated addresses or CIDR ranges (`10.0.0.1`, `10.0.0.0/8`,
    /// `::1`); an address alone is a range of one.
    fn networks(&self, name: &'static str) -> Result<Vec<IpNet>, ConfigError> {
        let raw = self.raw(name).unwrap_or_default();
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
        let raw = self
            .raw(name)
            .unwrap_or_else(|| "http://localhost:5173,http://localhost:3000".to_owned());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_contract() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database_url, "tollgate.db");
        assert_eq!(s.address(), "127.0.0.1:8080");
        assert_eq!(s.bcrypt_cost, 12);
        assert_eq!(s.free_reads, 5);
        assert_eq!(s.session_ttl, Duration::from_secs(86_400));
        assert_eq!(s.cookie_same_site, SameSite::Lax);
        assert_eq!(
            s.cors_allowed_origins,
            vec!["http://localhost:5173", "http://localhost:3000"]
        );
        assert!(s.session_secret.is_none());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (name, value) in [
            ("BCRYPT_COST", "3"),
            ("BCRYPT_COST", "32"),
            ("PORT", "http"),
            ("COOKIE_SECURE", "maybe"),
            ("COOKIE_SAMESITE", "none"),
            ("SESSION_SECRET", "short"),
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("CORS_ALLOWED_ORIGINS", "http://a.example/path"),
            ("CORS_ALLOWED_ORIGINS", "http://[::1"),
            ("CORS_ALLOWED_ORIGINS", "http://a|b"),
            ("CORS_ALLOWED_ORIGINS", "ftp://a.example"),
            ("SESSION_TTL_SECONDS", "0"),
            ("DATABASE_POOL_SIZE", "-1"),
            ("APP_URL", "localhost:5173"),
            ("APP_URL", "ftp://a.example"),
            ("SMTP_URL", "http://mail.example"),
            ("MAIL_FROM", "nobody"),
            ("STRIPE_API_BASE", "stripe"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "proxy.example"),
            ("METRICS_ADDR", "9464"),
            ("EVENT_RETENTION_DAYS", "0"),
            ("REGISTER_MAX_PER_IP_PER_HOUR", "0"),
        ] {
            let err = settings(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name, "{name}={value}");
            assert!(err.to_string().contains(name));
        }
    }

    #[test]
    fn the_newer_settings_have_the_contracts_defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.app_url, "http://localhost:5173");
        assert!(s.smtp_url.is_none());
        assert_eq!(s.mail_from, "tollgate <no-reply@localhost>");
        assert_eq!(s.mail_dir, PathBuf::from("mail"));
        assert_eq!(s.mail_max_per_address_per_hour, 3);
        assert_eq!(s.verify_token_ttl, Duration::from_secs(86_400));
        assert_eq!(s.reset_token_ttl, Duration::from_secs(3_600));
        assert!(s.stripe.is_none() && !s.stripe_incomplete);
        assert_eq!(s.stripe_api_base, "https://api.stripe.com");
        assert!(s.trusted_proxies.is_empty());
        assert_eq!(s.register_max_per_ip_per_hour, 20);
        assert_eq!(s.forgot_max_per_ip_per_hour, 10);
        assert_eq!(s.login_max_failures_per_ip, 100);
        assert_eq!(s.event_retention, Duration::from_secs(90 * 86_400));
        assert!(s.metrics_addr.is_none());
    }

    #[test]
    fn billing_is_on_only_with_all_three_stripe_settings() {
        let all = [
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("STRIPE_PRICE_ID", "price_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ];
        assert!(settings(&all).unwrap().stripe.is_some());
        let partial = settings(&all[..2]).unwrap();
        assert!(partial.stripe.is_none() && partial.stripe_incomplete);
        assert!(!format!("{:?}", settings(&all).unwrap()).contains("sk_test_x"));
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges() {
        let s = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]).unwrap();
        let shown: Vec<String> = s.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, vec!["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
    }

    #[test]
    fn base_urls_lose_their_trailing_slash() {
        let s = settings(&[("APP_URL", "https://app.example.com/")]).unwrap();
        assert_eq!(s.app_url, "https://app.example.com");
        let s = settings(&[("STRIPE_API_BASE", "http://127.0.0.1:12111")]).unwrap();
        assert_eq!(s.stripe_api_base, "http://127.0.0.1:12111");
    }

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        let s = settings(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://App.Example.com/, http://a.example:80, http://localhost:5173",
        )])
        .unwrap();
        assert_eq!(
            s.cors_allowed_origins,
            vec![
                "https://app.example.com",
                "http://a.example",
                "http://localhost:5173"
            ]
        );
    }

    #[test]
    fn samesite_none_is_accepted_with_secure_cookies() {
        let s = settings(&[("COOKIE_SAMESITE", "None"), ("COOKIE_SECURE", "true")]).unwrap();
        assert_eq!(s.cookie_same_site, SameSite::None);
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let secret = "s".repeat(64);
        let s = settings(&[("SESSION_SECRET", &secret)]).unwrap();
        assert!(!format!("{s:?}").contains(&secret));
    }

    proptest::proptest! {
        #[test]
        fn an_accepted_origin_is_in_browser_form(raw in "\\PC{0,40}|https?://[a-zA-Z0-9.:\\[\\]/*-]{0,30}") {
            if let Some(origin) = normalize_origin(&raw) {
                proptest::prop_assert!(origin.starts_with("http://") || origin.starts_with("https://"));
                proptest::prop_assert!(!origin.ends_with('/'));
                proptest::prop_assert_eq!(origin.to_ascii_lowercase(), origin.clone());
                proptest::prop_assert_eq!(normalize_origin(&origin), Some(origin.clone()));
            }
        }
    }
}
