//! Signing in with other providers: OpenID Connect issuers (Google, a
//! company's Keycloak or Entra ID, any other) and GitHub, which speaks
//! OAuth 2 with a user API instead. Each gives back a [`Profile`]: the
//! provider's stable id for the person, and what it says of their address
//! and name. Which account that profile signs in, and the flow's state,
//! nonce and browser binding, are the routes' business
//! (`routes::providers`); this module only speaks to the providers.
//!
//! Every call to a provider has a timeout and follows no redirect: a token
//! endpoint that redirects elsewhere is refused, not followed with a code
//! and a secret in hand.

mod github;
mod oidc;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::{ProviderKind, ProviderSettings};

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The provider's id for the person (`sub`, GitHub's user id): the
    /// one thing that never changes.
    pub subject: String,
    pub email: Option<String>,
    /// The provider vouches for the address (OpenID's `email_verified`;
    /// GitHub: the primary address, verified).
    pub email_verified: bool,
    /// `preferred_username`, or GitHub's `login`.
    pub username: Option<String>,
}

/// Why a provider's answer was not accepted; [`ProviderError::code`] is
/// what the SPA is told (`/login?error=…`).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The user said no at the provider.
    #[error("the provider reports that access was denied")]
    Denied,
    /// The provider could not be reached, or answered with an error.
    #[error("the provider failed: {0}")]
    Failed(String),
    /// The ID token failed a check (signature, issuer, audience, expiry,
    /// nonce).
    #[error("the ID token was refused: {0}")]
    BadToken(String),
}

impl ProviderError {
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::Denied => "access_denied",
            ProviderError::Failed(_) => "provider_error",
            ProviderError::BadToken(_) => "invalid_id_token",
        }
    }
}

/// What a flow sends to the provider and checks on the way back, made
/// fresh for each sign-in.
pub struct FlowSecrets {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl FlowSecrets {
    pub fn generate() -> Self {
        FlowSecrets {
            state: random_token(),
            nonce: random_token(),
            pkce_verifier: random_token(),
        }
    }
}

/// 256 random bits, base64url: the alphabet PKCE and URLs allow as is.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// PKCE's S256 challenge of a verifier (RFC 7636).
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// One configured provider.
pub struct Provider {
    settings: ProviderSettings,
    speaks: Speaks,
}

enum Speaks {
    Oidc(oidc::Issuer),
    Github(github::Github),
}

impl Provider {
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The URL to send the browser to.
    pub async fn authorization_url(
        &self,
        http: &reqwest::Client,
        redirect_uri: &str,
        secrets: &FlowSecrets,
    ) -> Result<String, ProviderError> {
        match &self.speaks {
            Speaks::Oidc(issuer) => {
                issuer
                    .authorization_url(http, &self.settings, redirect_uri, secrets)
                    .await
            }
            Speaks::Github(github) => Ok(github.authorization_url(
                &self.settings,
                redirect_uri,
                &secrets.state,
                &s256(&secrets.pkce_verifier),
            )),
        }
    }

    /// Trades the callback's `code` for the person's profile, checking
    /// what there is to check (for OpenID: the ID token's signature,
    /// issuer, audience, expiry on `clock` and `nonce`).
    pub async fn finish(
        &self,
        http: &reqwest::Client,
        clock: &Clock,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Profile, ProviderError> {
        match &self.speaks {
            Speaks::Oidc(issuer) => {
                let ask = oidc::Exchange {
                    settings: &self.settings,
                    redirect_uri,
                    code,
                    pkce_verifier,
                    nonce,
                    clock,
                };
                issuer.finish(http, ask).await
            }
            Speaks::Github(github) => {
                github
                    .finish(http, &self.settings, redirect_uri, code, pkce_verifier)
                    .await
            }
        }
    }
}

/// The configured providers, and the HTTP client that speaks to them.
pub struct Providers {
    list: Vec<Provider>,
    pub http: reqwest::Client,
    /// The API's base URL as browsers reach it (PUBLIC_URL).
    public_url: String,
}

impl Providers {
    pub fn new(settings: &[ProviderSettings], public_url: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let list = settings
            .iter()
            .map(|settings| Provider {
                speaks: match &settings.kind {
                    ProviderKind::Oidc { issuer } => Speaks::Oidc(oidc::Issuer::new(issuer)),
                    ProviderKind::Github {
                        oauth_base,
                        api_base,
                    } => Speaks::Github(github::Github::new(oauth_base, api_base)),
                },
                settings: settings.clone(),
            })
            .collect();
        Ok(Providers {
            list,
            http,
            public_url,
        })
    }

    /// Where provider `name` sends the browser back to.
    pub fn callback_url(&self, name: &str) -> String {
        format!("{}/auth/{name}/callback", self.public_url)
    }

    /// The path under which browsers see the sign-in routes (`/auth/`, or
    /// below PUBLIC_URL's own path when a proxy serves the API there), for
    /// the cookie that must come back with the callback.
    pub fn cookie_path(&self) -> String {
        let base = url::Url::parse(&self.public_url)
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{base}/auth/")
    }

    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.settings.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|p| p.settings.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_flow_cookie_follows_the_public_path() {
        let at = |url: &str| Providers::new(&[], url.to_owned()).unwrap().cookie_path();
        assert_eq!(at("http://127.0.0.1:8080"), "/auth/");
        assert_eq!(at("https://example.com/api/"), "/api/auth/");
    }

    #[test]
    fn flow_secrets_are_fresh_and_url_safe() {
        let (a, b) = (FlowSecrets::generate(), FlowSecrets::generate());
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, a.state);
        assert_eq!(a.pkce_verifier.len(), 43);
        assert!(a
            .state
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
