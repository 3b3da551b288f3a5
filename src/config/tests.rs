//! The settings parser's tests: one error per bad variable, secrets
//! redacted, and the table held to `.env.example` and the docs.

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
fn providers_are_read_with_their_own_settings() {
    let s = settings(&[
        ("HOST", "::1"),
        ("PORT", "9000"),
        ("OIDC_PROVIDERS", " Google, corp_2 "),
        ("OIDC_GOOGLE_ISSUER", "https://accounts.google.com/"),
        ("OIDC_GOOGLE_CLIENT_ID", "id-g"),
        ("OIDC_GOOGLE_CLIENT_SECRET", "secret-g"),
        ("OIDC_CORP_2_ISSUER", "https://kc.example.com/realms/staff"),
        ("OIDC_CORP_2_CLIENT_ID", "id-c"),
        ("OIDC_CORP_2_CLIENT_SECRET", "secret-c"),
        ("GITHUB_CLIENT_ID", "id-h"),
        ("GITHUB_CLIENT_SECRET", "secret-h"),
    ])
    .unwrap();
    let names: Vec<&str> = s.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["google", "corp_2", "github"]);
    let ProviderKind::Oidc { issuer } = &s.providers[0].kind else {
        panic!("google is OpenID Connect")
    };
    assert_eq!(issuer, "https://accounts.google.com/");
    let ProviderKind::Github {
        oauth_base,
        api_base,
    } = &s.providers[2].kind
    else {
        panic!("github is GitHub")
    };
    assert_eq!(
        (oauth_base.as_str(), api_base.as_str()),
        ("https://github.com", "https://api.github.com")
    );
    assert!(
        !format!("{s:?}").contains("secret-"),
        "secrets stay out of Debug"
    );
    // Unset, the public URL is the address listened on.
    assert_eq!(s.public_url_on(9001), "http://[::1]:9001");
    let set = settings(&[("PUBLIC_URL", "https://api.example.com/")]).unwrap();
    assert_eq!(set.public_url_on(9001), "https://api.example.com");
    assert!(settings(&[]).unwrap().providers.is_empty());
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
        ("PUBLIC_URL", "api.example.com"),
        ("OIDC_PROVIDERS", "github"),
        ("OIDC_PROVIDERS", "bad name"),
        ("OIDC_PROVIDERS", "corp"),
        ("GITHUB_CLIENT_SECRET", "only-the-secret"),
        ("GITHUB_API_BASE", "api.github.com"),
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
    assert_eq!(s.stripe_timeout, Duration::from_secs(8));
    assert!(s.trusted_proxies.is_empty());
    assert_eq!(s.register_max_per_ip_per_hour, 20);
    assert_eq!(s.forgot_max_per_ip_per_hour, 10);
    assert_eq!(
        (s.gifts_per_month, s.gift_link_days, s.gift_max_readers),
        (10, 14, 25)
    );
    assert_eq!(s.email_sign_in_max_per_ip_per_hour, 10);
    assert_eq!(s.email_login_ttl, Duration::from_secs(900));
    assert!(s.email_sign_up);
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
    // STRIPE_PRICE_ID alone is the one price named `default`.
    let stripe = settings(&all).unwrap().stripe.unwrap();
    assert_eq!(
        (stripe.prices.len(), stripe.default_price().name.as_str()),
        (1, "default")
    );
}

#[test]
fn stripe_prices_are_named_in_order_and_checked() {
    let with = |prices: &str| {
        settings(&[
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            ("STRIPE_PRICES", prices),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
        ])
    };
    let stripe = with(" monthly=price_m , yearly=price_y")
        .unwrap()
        .stripe
        .unwrap();
    let named: Vec<(&str, &str)> = stripe
        .prices
        .iter()
        .map(|p| (p.name.as_str(), p.id.as_str()))
        .collect();
    assert_eq!(named, [("monthly", "price_m"), ("yearly", "price_y")]);
    assert_eq!(stripe.default_price().name, "monthly");
    for wrong in [
        "monthly",
        "Monthly=price_m",
        "=price_m",
        "monthly=",
        "a=p,a=q",
        "a=price x",
    ] {
        let err = with(wrong).unwrap_err();
        assert_eq!(err.name, "STRIPE_PRICES", "{wrong}");
    }
    let both = settings(&[
        ("STRIPE_PRICES", "a=price_a"),
        ("STRIPE_PRICE_ID", "price_b"),
    ]);
    assert_eq!(both.unwrap_err().name, "STRIPE_PRICES");
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
    let text = include_str!("../../.env.example");
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
            (Some(default), _) => problems.push(format!("{name}: should read `{name}={default}`")),
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
