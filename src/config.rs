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
    /// IPV6_LIMIT_PREFIX: the IPv6 network the per-IP limits count by.
    pub ipv6_limit_prefix: u8,
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

/// How a setting's value is bounded, where it is.
#[derive(Clone, Copy, Debug)]
pub enum Range {
    /// A whole number from `min` to `max`, both included.
    Whole { min: u64, max: u64 },
    /// One of these words (case-insensitive).
    OneOf(&'static [&'static str]),
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Range::Whole { min, max } => write!(f, "{min} to {max}"),
            Range::OneOf(words) => f.write_str(&words.join(", ")),
        }
    }
}

/// One variable tollgate reads: the single place its name, default, range
/// and meaning are written. The parser takes names and defaults from here,
/// and tests hold `.env.example` and `docs/configuration.md` to it, so a
/// default cannot differ between what runs and what is documented.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub name: &'static str,
    /// The value used when the variable is unset, as an operator would
    /// write it; `None`: unset means off, or "decided at start-up" (the
    /// help says which).
    pub default: Option<&'static str>,
    pub range: Option<Range>,
    /// One line for the docs.
    pub help: &'static str,
}

/// Longest duration accepted: ten years keeps every `now + ttl` far from
/// overflowing an `i64` of seconds.
const MAX_SECONDS: u64 = 10 * 365 * 86_400;

/// Any duration in seconds.
const SECONDS: Option<Range> = Some(Range::Whole {
    min: 1,
    max: MAX_SECONDS,
});

/// Per-IP hourly budgets: at least one, or nobody could ever register.
const PER_IP: Option<Range> = Some(Range::Whole {
    min: 1,
    max: 1_000_000_000,
});

const FLAG: Option<Range> = Some(Range::OneOf(&["true", "false"]));

/// Every variable tollgate reads, in the order `.env.example` explains them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "DATABASE_URL",
        default: Some("tollgate.db"),
        range: None,
        help: "A SQLite file path (a `sqlite://` prefix is accepted), or a `postgres://` URL for PostgreSQL (`?sslmode=verify-full` or `require` for TLS).",
    },
    Setting {
        name: "HOST",
        default: Some("127.0.0.1"),
        range: None,
        help: "The address to listen on.",
    },
    Setting {
        name: "PORT",
        default: Some("8080"),
        range: Some(Range::Whole { min: 0, max: u16::MAX as u64 }),
        help: "The port to listen on; `0` picks a free one.",
    },
    Setting {
        name: "SESSION_SECRET",
        default: None,
        range: None,
        help: "Key that signs the session cookie, at least 64 bytes, the same on every instance; unset: generated once and kept beside the SQLite database (so required with PostgreSQL).",
    },
    Setting {
        name: "COOKIE_SECURE",
        default: Some("false"),
        range: FLAG,
        help: "Add `Secure` to the session cookie; set it whenever the API is served over HTTPS.",
    },
    Setting {
        name: "COOKIE_SAMESITE",
        default: Some("lax"),
        range: Some(Range::OneOf(&["strict", "lax", "none"])),
        help: "The cookie's `SameSite`; `none` (an SPA on another site) requires `COOKIE_SECURE=true`.",
    },
    Setting {
        name: "SESSION_TTL_SECONDS",
        default: Some("86400"),
        range: SECONDS,
        help: "Idle lifetime of a browser-session login.",
    },
    Setting {
        name: "SESSION_ABSOLUTE_TTL_SECONDS",
        default: Some("604800"),
        range: SECONDS,
        help: "Longest life of a browser-session login, however active, counted from the login.",
    },
    Setting {
        name: "REMEMBER_TTL_SECONDS",
        default: Some("2592000"),
        range: SECONDS,
        help: "Lifetime of a stay-signed-in login, counted from the login (also the cookie's `Max-Age`).",
    },
    Setting {
        name: "BCRYPT_COST",
        default: Some("12"),
        range: Some(Range::Whole { min: 4, max: 31 }),
        help: "bcrypt work factor; each step doubles a login's cost, and a stored hash of another cost is re-hashed at login.",
    },
    Setting {
        name: "FREE_READS",
        default: Some("5"),
        range: Some(Range::Whole { min: 0, max: 1_000_000 }),
        help: "Free distinct posts per user per calendar month (UTC); `0` paywalls everything.",
    },
    Setting {
        name: "LOGIN_MAX_FAILURES",
        default: Some("5"),
        range: Some(Range::Whole { min: 1, max: 1_000_000 }),
        help: "Failed logins for one username within the lockout window before its logins answer `429`.",
    },
    Setting {
        name: "LOGIN_LOCKOUT_SECONDS",
        default: Some("900"),
        range: SECONDS,
        help: "The login lockout window, for a username and for a client IP.",
    },
    Setting {
        name: "CORS_ALLOWED_ORIGINS",
        default: Some("http://localhost:5173,http://localhost:3000"),
        range: None,
        help: "Comma-separated SPA origins allowed to call the API with credentials; never a wildcard.",
    },
    Setting {
        name: "SEED_DEMO_POSTS",
        default: Some("true"),
        range: FLAG,
        help: "Give a fresh database the demo posts with ids 1-12.",
    },
    Setting {
        name: "DATABASE_POOL_SIZE",
        default: Some("8"),
        range: Some(Range::Whole { min: 1, max: 1_000 }),
        help: "Database connections per instance.",
    },
    Setting {
        name: "DATABASE_TIMEOUT_SECONDS",
        default: Some("5"),
        range: SECONDS,
        help: "Longest wait for a database connection or lock before answering `503`.",
    },
    Setting {
        name: "PURGE_INTERVAL_SECONDS",
        default: Some("300"),
        range: SECONDS,
        help: "How often expired sessions, stale lockout and per-IP rows and old events are deleted.",
    },
    Setting {
        name: "APP_URL",
        default: Some("http://localhost:5173"),
        range: None,
        help: "The SPA's base URL, for emailed links and Stripe's redirects.",
    },
    Setting {
        name: "SMTP_URL",
        default: None,
        range: None,
        help: "Where mail goes (`smtp://` or `smtps://`, credentials allowed); unset: each message is an `.eml` file in `MAIL_DIR`.",
    },
    Setting {
        name: "MAIL_FROM",
        default: Some("tollgate <no-reply@localhost>"),
        range: None,
        help: "The sender of every message, as a mailbox.",
    },
    Setting {
        name: "MAIL_DIR",
        default: Some("mail"),
        range: None,
        help: "Where messages are written as `.eml` files when `SMTP_URL` is unset (created if missing).",
    },
    Setting {
        name: "MAIL_MAX_PER_ADDRESS_PER_HOUR",
        default: Some("3"),
        range: Some(Range::Whole { min: 0, max: 1_000_000 }),
        help: "Messages to one address per hour, across instances; past it nothing is sent.",
    },
    Setting {
        name: "VERIFY_TOKEN_TTL_SECONDS",
        default: Some("86400"),
        range: SECONDS,
        help: "Life of an email-verification link.",
    },
    Setting {
        name: "RESET_TOKEN_TTL_SECONDS",
        default: Some("3600"),
        range: SECONDS,
        help: "Life of a password-reset link.",
    },
    Setting {
        name: "WORKERS",
        default: None,
        range: Some(Range::Whole { min: 1, max: 1_024 }),
        help: "HTTP worker threads; unset: one per CPU core.",
    },
    Setting {
        name: "TRUSTED_PROXIES",
        default: Some(""),
        range: None,
        help: "Comma-separated addresses or CIDR ranges of proxies whose `X-Forwarded-For` is believed; empty: the client IP is the TCP peer.",
    },
    Setting {
        name: "IPV6_LIMIT_PREFIX",
        default: Some("64"),
        range: Some(Range::Whole { min: 32, max: 128 }),
        help: "Per-IP limits count an IPv6 client by its first this many bits (one customer usually holds a /64); IPv4 clients by their address.",
    },
    Setting {
        name: "REGISTER_MAX_PER_IP_PER_HOUR",
        default: Some("20"),
        range: PER_IP,
        help: "Registration attempts (answered `201` or `409`) per client network per hour, across instances.",
    },
    Setting {
        name: "FORGOT_MAX_PER_IP_PER_HOUR",
        default: Some("10"),
        range: PER_IP,
        help: "Forgot-password requests per client IP per hour, across instances.",
    },
    Setting {
        name: "LOGIN_MAX_FAILURES_PER_IP",
        default: Some("100"),
        range: PER_IP,
        help: "Failed logins (any usernames) per client IP per lockout window before its logins answer `429`.",
    },
    Setting {
        name: "EVENT_RETENTION_DAYS",
        default: Some("90"),
        range: Some(Range::Whole { min: 1, max: 3_650 }),
        help: "How long account events are kept, in days.",
    },
    Setting {
        name: "METRICS_ADDR",
        default: None,
        range: None,
        help: "Where `GET /metrics` (Prometheus text) listens, such as `127.0.0.1:9464`; unset: no metrics listener.",
    },
    Setting {
        name: "RUST_LOG",
        default: Some("info"),
        range: None,
        help: "Log filter in `tracing`'s `EnvFilter` syntax, such as `tollgate=debug,info`.",
    },
    Setting {
        name: "STRIPE_SECRET_KEY",
        default: None,
        range: None,
        help: "Stripe's secret API key; billing is on when it, `STRIPE_PRICE_ID` and `STRIPE_WEBHOOK_SECRET` are all set.",
    },
    Setting {
        name: "STRIPE_PRICE_ID",
        default: None,
        range: None,
        help: "The Stripe price a checkout subscribes to.",
    },
    Setting {
        name: "STRIPE_WEBHOOK_SECRET",
        default: None,
        range: None,
        help: "The secret that signs Stripe's webhook calls.",
    },
    Setting {
        name: "STRIPE_API_BASE",
        default: Some("https://api.stripe.com"),
        range: None,
        help: "Where Stripe's API is (tests point it at a local stand-in).",
    },
];

/// The setting called `name`. Every name the parser asks for is in
/// [`SETTINGS`]; a missing one is a programming error that every start-up
/// (and every test that builds settings) would hit at once.
pub fn setting(name: &str) -> &'static Setting {
    SETTINGS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} is read but not listed in config::SETTINGS"))
}

/// [`SETTINGS`] as the markdown table of `docs/configuration.md`.
pub fn markdown_table() -> String {
    let mut table = String::from("| Setting | Default | Meaning |\n|---|---|---|\n");
    for s in SETTINGS {
        let default = match s.default {
            Some("") => "(empty)".to_owned(),
            Some(value) => format!("`{value}`"),
            None => "(unset)".to_owned(),
        };
        let range = s.range.map(|r| format!(" Range: {r}.")).unwrap_or_default();
        table.push_str(&format!(
            "| `{}` | {default} | {}{range} |\n",
            s.name, s.help
        ));
    }
    table
}

/// The shortest cookie-signing key accepted: actix's `Key::from` needs 64 bytes.
pub const MIN_SECRET_BYTES: usize = 64;

impl Settings {
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
            port: env.int("PORT")? as u16,
            session_secret,
            cookie_secure,
            cookie_same_site,
            session_ttl: env.seconds("SESSION_TTL_SECONDS")?,
            session_absolute_ttl: env.seconds("SESSION_ABSOLUTE_TTL_SECONDS")?,
            remember_ttl: env.seconds("REMEMBER_TTL_SECONDS")?,
            bcrypt_cost: env.int("BCRYPT_COST")? as u32,
            free_reads: env.int("FREE_READS")? as u32,
            login_max_failures: env.int("LOGIN_MAX_FAILURES")? as u32,
            login_lockout: env.seconds("LOGIN_LOCKOUT_SECONDS")?,
            cors_allowed_origins: env.origins("CORS_ALLOWED_ORIGINS")?,
            seed_demo_posts: env.bool("SEED_DEMO_POSTS")?,
            database_pool_size: env.int("DATABASE_POOL_SIZE")? as u32,
            database_timeout: env.seconds("DATABASE_TIMEOUT_SECONDS")?,
            purge_interval: env.seconds("PURGE_INTERVAL_SECONDS")?,
            workers,
            app_url,
            smtp_url,
            mail_from,
            mail_dir: PathBuf::from(mail_dir),
            mail_max_per_address_per_hour: env.int("MAIL_MAX_PER_ADDRESS_PER_HOUR")? as u32,
            verify_token_ttl: env.seconds("VERIFY_TOKEN_TTL_SECONDS")?,
            reset_token_ttl: env.seconds("RESET_TOKEN_TTL_SECONDS")?,
            stripe,
            stripe_incomplete,
            stripe_api_base,
            trusted_proxies,
            register_max_per_ip_per_hour: env.int("REGISTER_MAX_PER_IP_PER_HOUR")? as u32,
            forgot_max_per_ip_per_hour: env.int("FORGOT_MAX_PER_IP_PER_HOUR")? as u32,
            login_max_failures_per_ip: env.int("LOGIN_MAX_FAILURES_PER_IP")? as u32,
            ipv6_limit_prefix: env.int("IPV6_LIMIT_PREFIX")? as u8,
            event_retention: Duration::from_secs(env.int("EVENT_RETENTION_DAYS")? * 86_400),
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
    fn mail_billing_and_limit_settings_have_the_contracts_defaults() {
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

    #[test]
    fn the_parser_reads_every_setting_in_the_table_and_no_other() {
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        Settings::from_lookup(|name| {
            asked.borrow_mut().insert(name.to_owned());
            None
        })
        .unwrap();
        // RUST_LOG is read by `main`, before settings, to start logging.
        let listed: std::collections::BTreeSet<String> = SETTINGS
            .iter()
            .map(|s| s.name.to_owned())
            .filter(|name| name != "RUST_LOG")
            .collect();
        assert_eq!(asked.into_inner(), listed);
    }

    #[test]
    fn every_default_in_the_table_is_accepted_by_its_parser() {
        for s in SETTINGS.iter().filter(|s| s.name != "RUST_LOG") {
            if let Some(default) = s.default {
                let parsed = settings(&[(s.name, default)]);
                assert!(parsed.is_ok(), "{}={default}: {parsed:?}", s.name);
            }
        }
        let names: std::collections::BTreeSet<&str> = SETTINGS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SETTINGS.len(), "a setting is listed twice");
    }

    /// The lines of `.env.example` that name a setting: `NAME=value` (its
    /// default) or `# NAME=...` (commented out), as (name, value, commented).
    fn env_example_lines() -> Vec<(String, String, bool)> {
        let text = include_str!("../.env.example");
        text.lines()
            .filter_map(|line| {
                let (commented, rest) = match line.strip_prefix("# ") {
                    Some(rest) => (true, rest),
                    None => (false, line),
                };
                let (name, value) = rest.split_once('=')?;
                let is_name = name.starts_with(|c: char| c.is_ascii_uppercase())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                is_name.then(|| (name.to_owned(), value.to_owned(), commented))
            })
            .collect()
    }

    #[test]
    fn env_example_shows_every_setting_once_with_its_default() {
        let lines = env_example_lines();
        let mut problems = Vec::new();
        for (name, value, commented) in &lines {
            let Some(s) = SETTINGS.iter().find(|s| s.name == name) else {
                problems.push(format!("{name}: not in config::SETTINGS"));
                continue;
            };
            match (s.default, commented) {
                (Some(default), false) if default == value => {}
                (Some(default), _) => {
                    problems.push(format!("{name}: should read `{name}={default}`"))
                }
                (None, true) => {}
                (None, false) => problems.push(format!(
                    "{name}: has no default, so should be commented out (`# {name}=`)"
                )),
            }
        }
        for s in SETTINGS {
            let times = lines.iter().filter(|(name, ..)| name == s.name).count();
            if times != 1 {
                problems.push(format!("{}: appears {times} times", s.name));
            }
        }
        assert!(
            problems.is_empty(),
            ".env.example:\n{}",
            problems.join("\n")
        );
    }

    /// `docs/configuration.md`'s table (`| Setting | Default | Meaning |`,
    /// each setting's name in backticks) lists exactly [`SETTINGS`]. The
    /// table can be regenerated from `markdown_table()`:
    /// `cargo test --lib print_the_settings_table -- --ignored --nocapture`.
    #[test]
    fn the_configuration_page_lists_exactly_the_settings() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
        let Ok(page) = std::fs::read_to_string(path) else {
            eprintln!("{path} does not exist: nothing to check");
            return;
        };
        let mut in_table = false;
        let mut documented = Vec::new();
        for line in page.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.get(1..4) == Some(&["Setting", "Default", "Meaning"][..]) {
                in_table = true;
                continue;
            }
            if !line.starts_with('|') {
                in_table = false;
                continue;
            }
            if let Some(name) = cells
                .get(1)
                .filter(|_| in_table)
                .and_then(|c| c.strip_prefix('`')?.strip_suffix('`'))
            {
                documented.push(name.to_owned());
            }
        }
        let mut listed: Vec<String> = SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        listed.sort();
        documented.sort();
        assert_eq!(
            documented, listed,
            "docs/configuration.md's settings table (left) against config::SETTINGS (right)"
        );
    }

    #[test]
    #[ignore = "prints the settings table for docs/configuration.md"]
    fn print_the_settings_table() {
        print!("{}", markdown_table());
    }

    #[test]
    fn the_markdown_table_has_a_row_per_setting() {
        let table = markdown_table();
        assert!(table.starts_with("| Setting | Default | Meaning |\n"));
        assert_eq!(table.lines().count(), SETTINGS.len() + 2);
        assert!(table.contains("| `BCRYPT_COST` | `12` | "));
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
