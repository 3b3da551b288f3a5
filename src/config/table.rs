//! The one table of every setting tollgate reads: name, default, range
//! and help. The parser (`super::Settings::from_lookup`) reads through it,
//! `.env.example` and docs/configuration.md are tested against it.

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
        name: "PUBLIC_LISTING",
        default: Some("false"),
        range: FLAG,
        help: "Whether `GET /blog` answers anonymous callers too (titles and excerpts for a front page; reading a post still needs a session).",
    },
    Setting {
        name: "ANONYMOUS_READS",
        default: Some("0"),
        range: Some(Range::Whole { min: 0, max: 1_000_000 }),
        help: "Distinct posts a browser without a session may open per calendar month (UTC) before a registration wall; `0`: reading needs a session.",
    },
    Setting {
        name: "ANONYMOUS_READS_PER_IP_PER_DAY",
        default: Some("100"),
        range: Some(Range::Whole { min: 0, max: 1_000_000_000 }),
        help: "Posts opened anonymously per client network per UTC day, across all its browsers (clearing cookies buys no more).",
    },
    Setting {
        name: "GIFTS_PER_MONTH",
        default: Some("10"),
        range: Some(Range::Whole { min: 0, max: 1_000 }),
        help: "Distinct posts a premium user may gift per calendar month (UTC); `0`: no gifts.",
    },
    Setting {
        name: "GIFT_LINK_DAYS",
        default: Some("14"),
        range: Some(Range::Whole { min: 1, max: 3_650 }),
        help: "How long a gift link works, in days.",
    },
    Setting {
        name: "GIFT_MAX_READERS",
        default: Some("25"),
        range: Some(Range::Whole { min: 1, max: 1_000_000 }),
        help: "Distinct readers (signed-in users or browsers) one gift link serves.",
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
        name: "WEBAUTHN_RP_ID",
        default: None,
        range: None,
        help: "Passkeys' relying party id: the domain passkeys are bound to, the host of every origin in `WEBAUTHN_ORIGINS` or a parent domain of it; unset: the host of `APP_URL`.",
    },
    Setting {
        name: "WEBAUTHN_ORIGINS",
        default: None,
        range: None,
        help: "The origins (comma-separated) whose pages may create and use passkeys; unset: the origin of `APP_URL`.",
    },
    Setting {
        name: "TOTP_ISSUER",
        default: Some("tollgate"),
        range: None,
        help: "The name authenticator apps show above an account's codes (no `:`).",
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
        name: "EMAIL_LOGIN_TTL_SECONDS",
        default: Some("900"),
        range: SECONDS,
        help: "Life of an emailed sign-in's link and code.",
    },
    Setting {
        name: "EMAIL_SIGN_UP",
        default: Some("true"),
        range: FLAG,
        help: "Whether `POST /login/email` for an address no account holds verified offers a new account; `false`: nothing is sent for it.",
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
        name: "EMAIL_SIGN_IN_MAX_PER_IP_PER_HOUR",
        default: Some("10"),
        range: PER_IP,
        help: "Sign-ins by email asked for (`POST /login/email`) per client network per hour, across instances.",
    },
    Setting {
        name: "SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR",
        default: Some("600"),
        range: PER_IP,
        help: "Sign-ins started with another provider, and passkey sign-in options, per client network per hour, across instances.",
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
        help: "Stripe's secret API key; billing is on when it, a price (`STRIPE_PRICES` or `STRIPE_PRICE_ID`) and `STRIPE_WEBHOOK_SECRET` are all set.",
    },
    Setting {
        name: "STRIPE_PRICES",
        default: None,
        range: None,
        help: "The prices sold, as comma-separated `name=price_id` pairs (`monthly=price_1Ab,yearly=price_2Cd`), the first the default; names of 1-32 of `a-z 0-9 _ -`.",
    },
    Setting {
        name: "STRIPE_PRICE_ID",
        default: None,
        range: None,
        help: "One Stripe price, sold as the price named `default`; instead of `STRIPE_PRICES`, not with it.",
    },
    Setting {
        name: "PROMOTION_CODE_TRIES_PER_HOUR",
        default: Some("10"),
        range: PER_IP,
        help: "Promotion codes looked up at Stripe per user and per client network per hour; past it, `429 too_many_requests` and nothing is asked of Stripe.",
    },
    Setting {
        name: "TRIAL_DAYS",
        default: Some("0"),
        // Stripe's longest trial.
        range: Some(Range::Whole { min: 0, max: 730 }),
        help: "Days of free trial for an account's first subscription (one per account, ever); `0`: no trial.",
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
    Setting {
        name: "STRIPE_TIMEOUT_SECONDS",
        default: Some("8"),
        range: Some(Range::Whole { min: 1, max: 60 }),
        help: "Longest wait for one Stripe call, connecting included; past it the request is answered `502 billing_unavailable`.",
    },
    Setting {
        name: "PUBLIC_URL",
        default: None,
        range: None,
        help: "The API's own base URL as browsers reach it, for the providers' callbacks (`{PUBLIC_URL}/auth/{provider}/callback`); unset: `http://{HOST}:{PORT}`.",
    },
    Setting {
        name: "OIDC_PROVIDERS",
        default: None,
        range: None,
        help: "OpenID Connect providers to sign in with, comma-separated names such as `google,corp`; each needs `OIDC_<NAME>_ISSUER`, `OIDC_<NAME>_CLIENT_ID` and `OIDC_<NAME>_CLIENT_SECRET` (docs/sign-in-providers.md).",
    },
    Setting {
        name: "GITHUB_CLIENT_ID",
        default: None,
        range: None,
        help: "A GitHub OAuth app's client id; GitHub sign-in is on when it and `GITHUB_CLIENT_SECRET` are set.",
    },
    Setting {
        name: "GITHUB_CLIENT_SECRET",
        default: None,
        range: None,
        help: "The GitHub OAuth app's client secret.",
    },
    Setting {
        name: "GITHUB_OAUTH_BASE",
        default: Some("https://github.com"),
        range: None,
        help: "Where GitHub's authorization and token endpoints are (tests point it at a local stand-in).",
    },
    Setting {
        name: "GITHUB_API_BASE",
        default: Some("https://api.github.com"),
        range: None,
        help: "Where GitHub's REST API is (tests point it at a local stand-in).",
    },
    Setting {
        name: "WEBHOOK_ALLOW_HTTP",
        default: Some("false"),
        range: FLAG,
        help: "Whether webhooks may use `http://` URLs (otherwise `https://` only).",
    },
    Setting {
        name: "WEBHOOK_ALLOW_PRIVATE",
        default: Some("false"),
        range: FLAG,
        help: "Whether webhooks may reach loopback, private, link-local, unique-local and unspecified addresses (a receiver inside the server's own network).",
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
