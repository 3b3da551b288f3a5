//! Signing in with other providers, over HTTP as a browser does it: to
//! `/auth/{provider}/start`, through the provider, back to the callback,
//! and on to the SPA. Two kinds of provider, each started by the test:
//! a real OpenID Connect provider (the npm package `oidc-provider`, on
//! loopback: `support::oidc`), and a stand-in for GitHub's three
//! endpoints (GitHub cannot be reached from here:
//! `support::fakes::github_stand_in`). Which account a sign-in lands on
//! is tested with both (`accounts.rs`); the ID token's checks with the
//! OpenID provider (`tokens.rs`); the flow's own protections
//! (`flow.rs`); and accounts without a password (`passwordless.rs`).

mod accounts;
mod flow;
mod passwordless;
mod tokens;

use reqwest::header::LOCATION;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::fakes::github_stand_in::{GithubStandIn, GithubUser};
use crate::support::oidc::OidcProvider;
use crate::support::{free_port, spawn_app_with, TestApp, PASSWORD};

/// The SPA's address, where every sign-in ends (the default APP_URL).
pub const APP: &str = "http://localhost:5173";

/// Someone at the provider.
#[derive(Clone)]
pub struct Person {
    /// The provider's id for them (`sub`; GitHub: a number).
    pub id: &'static str,
    pub username: Option<&'static str>,
    pub email: Option<&'static str>,
    pub verified: bool,
}

impl Person {
    pub fn new(id: &'static str, username: &'static str, email: &'static str) -> Person {
        Person {
            id,
            username: Some(username),
            email: Some(email),
            verified: true,
        }
    }

    pub fn unverified(mut self) -> Person {
        self.verified = false;
        self
    }
}

/// The provider a test signs in with, and its name in tollgate.
pub enum Idp {
    Oidc(OidcProvider),
    Github(GithubStandIn),
}

/// The name an OpenID provider is configured under.
pub const CORP: &str = "corp";

impl Idp {
    pub fn name(&self) -> &'static str {
        match self {
            Idp::Oidc(_) => CORP,
            Idp::Github(_) => "github",
        }
    }

    /// The app's callback for this provider.
    pub fn callback(&self, app: &TestApp) -> String {
        app.url(&format!("/auth/{}/callback", self.name()))
    }

    /// Makes `person` the one who signs in next.
    pub async fn set_person(&self, person: &Person) {
        match self {
            Idp::Oidc(provider) => {
                let mut claims = json!({});
                if let Some(username) = person.username {
                    claims["preferred_username"] = json!(username);
                }
                if let Some(email) = person.email {
                    claims["email"] = json!(email);
                    claims["email_verified"] = json!(person.verified);
                }
                provider.set_account(person.id, claims).await;
            }
            Idp::Github(github) => github.set_user(GithubUser {
                id: person.id.parse().expect("GitHub ids are numbers"),
                login: person.username.unwrap_or("nobody").to_owned(),
                name: None,
                public_email: None,
                emails: person
                    .email
                    .map(|e| vec![(e.to_owned(), true, person.verified)])
                    .unwrap_or_default(),
            }),
        }
    }

    /// The browser goes to `start` (with `query`), through the provider
    /// as `person` (set first), and back: the callback URL the provider
    /// sends it to, not yet requested.
    pub async fn to_callback(
        &self,
        app: &TestApp,
        browser: &Client,
        person: &Person,
        query: &str,
    ) -> String {
        self.set_person(person).await;
        let start = app
            .get(browser, &format!("/auth/{}/start{query}", self.name()))
            .await;
        assert_eq!(
            start.status(),
            StatusCode::FOUND,
            "start answers a redirect"
        );
        let to = location(&start);
        self.through(app, browser, &to, person).await
    }

    /// From the provider's authorization URL `to`, as `person`, to the
    /// callback URL the provider sends the browser back to.
    pub async fn through(
        &self,
        app: &TestApp,
        browser: &Client,
        to: &str,
        person: &Person,
    ) -> String {
        let callback = self.callback(app);
        match self {
            Idp::Oidc(provider) => provider.authorize(browser, to, person.id, &callback).await,
            Idp::Github(_) => {
                let answer = browser.get(to).send().await.expect("the stand-in answers");
                assert_eq!(answer.status(), StatusCode::FOUND);
                let back = location(&answer);
                assert!(back.starts_with(&callback), "{back}");
                back
            }
        }
    }

    /// A whole sign-in as `person`: the callback's answer.
    pub async fn sign_in(&self, app: &TestApp, browser: &Client, person: &Person) -> Response {
        self.sign_in_with(app, browser, person, "").await
    }

    pub async fn sign_in_with(
        &self,
        app: &TestApp,
        browser: &Client,
        person: &Person,
        query: &str,
    ) -> Response {
        let back = self.to_callback(app, browser, person, query).await;
        browser.get(&back).send().await.expect("the app answers")
    }

    /// Asks to link the provider to the account `browser` is signed in to
    /// (`POST /account/identities` with `body`, the provider's name added):
    /// the answer.
    pub async fn ask_to_link(&self, app: &TestApp, browser: &Client, body: Value) -> Response {
        let mut body = body;
        body["provider"] = json!(self.name());
        app.post_json(browser, "/account/identities", &body).await
    }

    /// A whole link, with the password, as `person`: the callback's answer.
    pub async fn link(&self, app: &TestApp, browser: &Client, person: &Person) -> Response {
        let asked = self
            .ask_to_link(app, browser, json!({"password": PASSWORD}))
            .await;
        self.link_through(app, browser, person, asked).await
    }

    /// From a link's `200 {"url"}` (`asked`), through the provider as
    /// `person`, and back: the callback's answer.
    pub async fn link_through(
        &self,
        app: &TestApp,
        browser: &Client,
        person: &Person,
        asked: Response,
    ) -> Response {
        assert_eq!(asked.status(), StatusCode::OK, "the link is asked for");
        let to: Value = asked.json().await.unwrap();
        self.set_person(person).await;
        let back = self
            .through(app, browser, to["url"].as_str().expect("a url"), person)
            .await;
        browser.get(&back).send().await.expect("the app answers")
    }
}

/// Starts the provider of `kind` and an app configured for it (and
/// `extra` settings); `None` (reported skipped) where the OpenID provider
/// cannot run here.
pub async fn spawn(kind: Kind, extra: &[(&str, &str)]) -> Option<(Idp, TestApp)> {
    match kind {
        Kind::Oidc => spawn_oidc(extra, None).await,
        Kind::Github => {
            let github = GithubStandIn::start("gh-client", "gh-secret").await;
            let base = github.url();
            let mut vars = vec![
                ("GITHUB_CLIENT_ID", "gh-client"),
                ("GITHUB_CLIENT_SECRET", "gh-secret"),
                ("GITHUB_OAUTH_BASE", base.as_str()),
                ("GITHUB_API_BASE", base.as_str()),
            ];
            vars.extend_from_slice(extra);
            let app = spawn_app_with(&vars).await;
            github.set_callback(&app.url("/auth/github/callback"));
            Some((Idp::Github(github), app))
        }
    }
}

/// An app on a port chosen first, whose client the OpenID provider knows
/// by its callback on that port; `id_token_ttl` gives its ID tokens that
/// life.
pub async fn spawn_oidc(
    extra: &[(&str, &str)],
    id_token_ttl: Option<u64>,
) -> Option<(Idp, TestApp)> {
    let provider = OidcProvider::start().await?;
    let port = free_port().to_string();
    let callback = format!("http://127.0.0.1:{port}/auth/{CORP}/callback");
    let (client_id, secret) = provider.register_client(&callback, id_token_ttl).await;
    let issuer = provider.issuer();
    let mut vars = vec![
        ("PORT", port.as_str()),
        ("OIDC_PROVIDERS", CORP),
        ("OIDC_CORP_ISSUER", issuer.as_str()),
        ("OIDC_CORP_CLIENT_ID", client_id.as_str()),
        ("OIDC_CORP_CLIENT_SECRET", secret.as_str()),
    ];
    vars.extend_from_slice(extra);
    let app = spawn_app_with(&vars).await;
    Some((Idp::Oidc(provider), app))
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Oidc,
    Github,
}

/// Runs `test` with each kind of provider.
#[macro_export]
macro_rules! each_provider {
    ($kind:ident, $body:block) => {
        for $kind in [
            $crate::providers::Kind::Oidc,
            $crate::providers::Kind::Github,
        ] {
            $body
        }
    };
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_else(|| panic!("a {} without a Location", response.status()))
        .to_owned()
}

/// The callback's answer is a redirect into the SPA at `path`.
pub fn lands_at(response: &Response, path: &str) {
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(response), format!("{APP}{path}"));
}

/// The callback's answer sends the SPA's login page `code`.
pub fn refused_with(response: &Response, code: &str) {
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(response), format!("{APP}/login?error={code}"));
}

/// The caller's Account.
pub async fn account(app: &TestApp, browser: &Client) -> Value {
    app.account_json(browser).await
}

/// The caller's identities.
pub async fn identities(app: &TestApp, browser: &Client) -> Vec<Value> {
    let response = app.get(browser, "/account/identities").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["identities"].as_array().unwrap().clone()
}

/// The caller's newest event of `kind`.
pub async fn last_event(app: &TestApp, browser: &Client, kind: &str) -> Value {
    let list: Value = app.events(browser, "").await.json().await.unwrap();
    list["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {list}"))
        .clone()
}
