//! An OpenID Connect issuer, through the `openidconnect` crate: the
//! discovery document (endpoints, and the keys that sign ID tokens) is
//! fetched once and kept; it is fetched again when a token names a key
//! the kept copy lacks, which is how an issuer rotates its keys, and when
//! the kept copy is older than [`KEEP_FOR`], so that a key the issuer has
//! withdrawn stops being trusted without a restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse,
};
use tokio::sync::RwLock;

use super::{FlowSecrets, Profile, ProviderError};
use crate::clock::Clock;
use crate::config::ProviderSettings;

/// How long a fetched discovery document and its keys are used.
pub const KEEP_FOR: Duration = Duration::from_secs(3_600);

pub struct Issuer {
    url: String,
    /// The discovery document as last fetched, and when.
    kept: RwLock<Option<(Arc<CoreProviderMetadata>, Instant)>>,
}

/// What the callback hands over to be checked and traded.
pub struct Exchange<'a> {
    pub settings: &'a ProviderSettings,
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
    pub clock: &'a Clock,
}

impl Issuer {
    pub fn new(url: &str) -> Self {
        Issuer {
            url: url.to_owned(),
            kept: RwLock::new(None),
        }
    }

    /// The kept discovery document, fetched first if there is none.
    async fn metadata(
        &self,
        http: &reqwest::Client,
    ) -> Result<Arc<CoreProviderMetadata>, ProviderError> {
        let stale = match self.kept.read().await.as_ref() {
            Some((kept, at)) if at.elapsed() < KEEP_FOR => return Ok(kept.clone()),
            Some((kept, _)) => Some(kept.clone()),
            None => None,
        };
        self.refresh(http, stale.as_ref()).await
    }

    /// Fetches the discovery document and its keys again, unless another
    /// request did since `stale` was read (one fetch for many waiting).
    async fn refresh(
        &self,
        http: &reqwest::Client,
        stale: Option<&Arc<CoreProviderMetadata>>,
    ) -> Result<Arc<CoreProviderMetadata>, ProviderError> {
        let mut kept = self.kept.write().await;
        if let Some((now, _)) = kept.as_ref() {
            if stale.is_none_or(|stale| !Arc::ptr_eq(stale, now)) {
                return Ok(now.clone());
            }
        }
        let issuer = IssuerUrl::new(self.url.clone())
            .map_err(|e| ProviderError::Failed(format!("issuer URL: {e}")))?;
        let fetched = CoreProviderMetadata::discover_async(issuer, http)
            .await
            .map_err(|e| ProviderError::Failed(format!("discovery of {}: {e}", self.url)))?;
        let fetched = Arc::new(fetched);
        *kept = Some((fetched.clone(), Instant::now()));
        tracing::info!(issuer = %self.url, "fetched the issuer's discovery document and keys");
        Ok(fetched)
    }

    fn client(
        metadata: &CoreProviderMetadata,
        settings: &ProviderSettings,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ProviderError,
    > {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| ProviderError::Failed(format!("redirect URI: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(settings.client_id.clone()),
            Some(ClientSecret::new(settings.client_secret.0.clone())),
        )
        .set_redirect_uri(redirect))
    }

    pub async fn authorization_url(
        &self,
        http: &reqwest::Client,
        settings: &ProviderSettings,
        redirect_uri: &str,
        secrets: &FlowSecrets,
    ) -> Result<String, ProviderError> {
        let metadata = self.metadata(http).await?;
        let client = Self::client(&metadata, settings, redirect_uri)?;
        let verifier = PkceCodeVerifier::new(secrets.pkce_verifier.clone());
        let (state, nonce) = (secrets.state.clone(), secrets.nonce.clone());
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
            .url();
        Ok(url.into())
    }

    pub async fn finish(
        &self,
        http: &reqwest::Client,
        ask: Exchange<'_>,
    ) -> Result<Profile, ProviderError> {
        let metadata = self.metadata(http).await?;
        let client = Self::client(&metadata, ask.settings, ask.redirect_uri)?;
        let token = client
            .exchange_code(AuthorizationCode::new(ask.code.to_owned()))
            .map_err(|e| ProviderError::Failed(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(ask.pkce_verifier.to_owned()))
            .request_async(http)
            .await
            .map_err(|e| ProviderError::Failed(format!("token request: {e}")))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| ProviderError::BadToken("no ID token in the answer".to_owned()))?;
        let nonce = Nonce::new(ask.nonce.to_owned());
        let now = ask.clock.now();
        let verify = |metadata: &CoreProviderMetadata| -> Result<Profile, ClaimsVerificationError> {
            let client = Self::client(metadata, ask.settings, ask.redirect_uri)
                .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
            // Expiry is judged on the app's clock, the one every other
            // lifetime in tollgate is judged on.
            let verifier = client
                .id_token_verifier()
                .set_time_fn(move || chrono::DateTime::from_timestamp(now, 0).unwrap_or_default());
            id_token.claims(&verifier, &nonce).map(profile)
        };
        match verify(&metadata) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // A key the kept copy lacks: the issuer may have rotated.
                let fresh = self.refresh(http, Some(&metadata)).await?;
                verify(&fresh)
            }
            other => other,
        }
        .map_err(|e| ProviderError::BadToken(e.to_string()))
    }
}

fn profile(claims: &CoreIdTokenClaims) -> Profile {
    Profile {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified().unwrap_or(false),
        username: claims.preferred_username().map(|u| u.as_str().to_owned()),
    }
}
