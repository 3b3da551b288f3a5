//! GitHub: OAuth 2 (with PKCE, which GitHub accepts) and its REST API for
//! the user and their addresses. GitHub is not an OpenID provider, so
//! there is no ID token: the access token is used once, at once, for the
//! two API calls, and then dropped.

use serde::Deserialize;

use super::{Profile, ProviderError};
use crate::config::ProviderSettings;

pub struct Github {
    oauth_base: String,
    api_base: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    login: String,
}

#[derive(Deserialize)]
struct Address {
    email: String,
    primary: bool,
    verified: bool,
}

fn failed(what: &str) -> impl Fn(reqwest::Error) -> ProviderError + '_ {
    move |e| ProviderError::Failed(format!("GitHub {what}: {e}"))
}

impl Github {
    pub fn new(oauth_base: &str, api_base: &str) -> Self {
        Github {
            oauth_base: oauth_base.to_owned(),
            api_base: api_base.to_owned(),
        }
    }

    pub fn authorization_url(
        &self,
        settings: &ProviderSettings,
        redirect_uri: &str,
        state: &str,
        challenge: &str,
    ) -> String {
        let query = serde_urlencoded::to_string([
            ("client_id", settings.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("scope", "read:user user:email"),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .unwrap_or_default();
        format!("{}/login/oauth/authorize?{query}", self.oauth_base)
    }

    pub async fn finish(
        &self,
        http: &reqwest::Client,
        settings: &ProviderSettings,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<Profile, ProviderError> {
        let answer: TokenAnswer = http
            .post(format!("{}/login/oauth/access_token", self.oauth_base))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("client_id", settings.client_id.as_str()),
                ("client_secret", settings.client_secret.0.as_str()),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", pkce_verifier),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed("token request"))?
            .json()
            .await
            .map_err(failed("token answer"))?;
        // GitHub answers a refused code with 200 and an `error` field.
        let token = match (answer.access_token, answer.error) {
            (Some(token), None) => token,
            (_, error) => {
                return Err(ProviderError::Failed(format!(
                    "GitHub refused the code: {}",
                    error.as_deref().unwrap_or("no access token")
                )))
            }
        };
        let user: User = self.get(http, &token, "/user").await?;
        let addresses: Vec<Address> = self.get(http, &token, "/user/emails").await?;
        // Only the primary address counts, and only GitHub's word that it
        // is verified makes it so.
        let primary = addresses.into_iter().find(|a| a.primary);
        Ok(Profile {
            subject: user.id.to_string(),
            email_verified: primary.as_ref().is_some_and(|a| a.verified),
            email: primary.map(|a| a.email),
            username: Some(user.login),
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        token: &str,
        path: &str,
    ) -> Result<T, ProviderError> {
        http.get(format!("{}{path}", self.api_base))
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed(path))?
            .json()
            .await
            .map_err(failed(path))
    }
}
