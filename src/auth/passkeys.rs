//! Passkeys (WebAuthn Level 3) through `webauthn_rp`, a relying-party
//! library in pure Rust (RustCrypto's P-256, P-384, Ed25519 and RSA; no
//! OpenSSL): the options a browser's `navigator.credentials` calls take,
//! and the checks on what it answers — challenge, origin against
//! `WEBAUTHN_ORIGINS`, RP id hash for `WEBAUTHN_RP_ID`, user presence and
//! verification, signature, and a signature counter that must grow where
//! the authenticator keeps one.
//!
//! Nothing of a ceremony is kept in memory: what the library must see again
//! (its "server state") is encoded into the database with the challenge,
//! so any instance can finish a ceremony another one started, and taking
//! it out again is what makes a challenge single use
//! (`db::passkeys::take_challenge`).

use std::borrow::Borrow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::Value;
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{
    CredProtect, PublicKeyCredentialUserEntity, RegistrationVerificationOptions, UserHandle,
};
use webauthn_rp::request::{AsciiDomain, PublicKeyCredentialDescriptor, RpId};
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId, SentChallenge};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication16, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, PublicKeyCredentialCreationOptions, Registration,
    RegistrationServerState,
};

/// Bytes of a user handle: random, and the same for all of an account's
/// passkeys (the authenticator hands it back at sign-in).
pub const HANDLE_LEN: usize = 16;

type Handle = UserHandle<HANDLE_LEN>;
type StoredKey = StaticState<CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>>;

/// The relying party: `WEBAUTHN_RP_ID` and `WEBAUTHN_ORIGINS`.
pub struct RelyingParty {
    rp_id: RpId,
    origins: Vec<String>,
}

/// A ceremony begun: the options for the browser, and what to keep until
/// it answers (under its challenge).
pub struct Begun {
    /// The challenge, as the key it is kept under: its 128 bits in decimal.
    pub challenge: String,
    /// The library's server state, encoded (base64).
    pub state: String,
    /// `{"publicKey": {…}}`, the JSON form the browser's
    /// `parse…OptionsFromJSON()` takes.
    pub options: Value,
}

/// A credential a registration proved, as stored.
pub struct NewPasskey {
    /// base64url of the credential id.
    pub credential_id: String,
    /// The public key and the extensions' outputs, encoded (base64).
    pub key: String,
    /// The signature counter and flags, encoded (base64).
    pub counter: String,
}

/// A sign-in's credential, read before it is verified: which challenge it
/// answers, which credential it is and for which user handle.
pub struct Assertion {
    parsed: DiscoverableAuthentication16,
    pub challenge: String,
    pub credential_id: String,
    pub handle: String,
}

/// A passkey as stored, to verify an assertion against.
pub struct Stored<'a> {
    pub credential_id: &'a str,
    pub handle: &'a str,
    pub key: &'a str,
    pub counter: &'a str,
}

/// Why a ceremony's answer was refused (the details go to the log only).
#[derive(Debug)]
pub struct Refused(pub String);

fn refused(what: impl std::fmt::Display) -> Refused {
    Refused(what.to_string())
}

/// A new random user handle, base64url.
pub fn new_handle() -> String {
    B64.encode(Handle::new().as_ref())
}

fn handle(encoded: &str) -> Result<Handle, Refused> {
    let bytes = B64.decode(encoded).map_err(refused)?;
    let bytes: [u8; HANDLE_LEN] = bytes
        .try_into()
        .map_err(|_| refused("a user handle of the wrong length"))?;
    Handle::decode(bytes).map_err(|e| refused(format!("{e:?}")))
}

/// The key a challenge is kept under: its 128 bits in decimal.
fn challenge_key(challenge: SentChallenge) -> String {
    challenge.0.to_string()
}

impl Begun {
    /// A ceremony begun with `challenge`: the library's state, `encoded`,
    /// to keep under it, and the browser's `options`.
    fn new(challenge: SentChallenge, encoded: &[u8], options: Value) -> Begun {
        Begun {
            challenge: challenge_key(challenge),
            state: B64.encode(encoded),
            options: serde_json::json!({ "publicKey": options }),
        }
    }
}

impl RelyingParty {
    /// `rp_id` must be a domain (checked by the settings).
    pub fn new(rp_id: &str, origins: Vec<String>) -> anyhow::Result<RelyingParty> {
        let domain = AsciiDomain::try_from(rp_id.to_owned())
            .map_err(|e| anyhow::anyhow!("WEBAUTHN_RP_ID {rp_id:?}: {e:?}"))?;
        Ok(RelyingParty {
            rp_id: RpId::Domain(domain),
            origins,
        })
    }

    fn origins(&self) -> Vec<&str> {
        self.origins.iter().map(String::as_str).collect()
    }

    /// Creation options for a new discoverable passkey of the account with
    /// `handle`, excluding the credentials it already has.
    pub fn creation(
        &self,
        handle_b64: &str,
        username: &str,
        existing: &[String],
    ) -> Result<Begun, Refused> {
        let handle = handle(handle_b64)?;
        let exclude = existing
            .iter()
            .filter_map(|id| B64.decode(id).ok())
            .filter_map(|id| CredentialId::<Vec<u8>>::decode(id).ok())
            .map(|id| PublicKeyCredentialDescriptor {
                id,
                transports: AuthTransports::NONE,
            })
            .collect();
        let user = PublicKeyCredentialUserEntity {
            name: username.try_into().map_err(|e| refused(format!("{e:?}")))?,
            id: &handle,
            display_name: None,
        };
        let mut options = PublicKeyCredentialCreationOptions::passkey(&self.rp_id, user, exclude);
        // Requiring credProtect would turn away authenticators that cannot
        // keep it; user verification is required either way.
        options.extensions.cred_protect = CredProtect::None;
        let (server, client) = options
            .start_ceremony()
            .map_err(|e| refused(format!("{e:?}")))?;
        let options = serde_json::to_value(&client).map_err(refused)?;
        let encoded = server.encode().map_err(|e| refused(format!("{e:?}")))?;
        Ok(Begun::new(*server.borrow(), &encoded, options))
    }

    /// The challenge a registration answers, read from its client data.
    pub fn registration_challenge(credential: &Value) -> Result<(Registration, String), Refused> {
        let registration: Registration =
            serde_json::from_value(credential.clone()).map_err(refused)?;
        let challenge = registration
            .challenge()
            .map_err(|e| refused(format!("{e:?}")))?;
        Ok((registration, challenge_key(challenge)))
    }

    /// Verifies a registration against the state kept with its challenge.
    pub fn register(
        &self,
        registration: &Registration,
        state: &str,
    ) -> Result<NewPasskey, Refused> {
        let state = B64.decode(state).map_err(refused)?;
        let server = RegistrationServerState::<HANDLE_LEN>::decode(state.as_slice())
            .map_err(|e| refused(format!("{e:?}")))?;
        let origins = self.origins();
        let options = RegistrationVerificationOptions::<&str, &str> {
            allowed_origins: &origins,
            ..Default::default()
        };
        let credential = server
            .verify(&self.rp_id, registration, &options)
            .map_err(|e| refused(format!("{e:?}")))?;
        Ok(NewPasskey {
            credential_id: B64.encode(credential.id().as_ref()),
            key: B64.encode(
                credential
                    .static_state()
                    .encode()
                    .map_err(|e| refused(format!("{e:?}")))?,
            ),
            counter: B64.encode(
                credential
                    .dynamic_state()
                    .encode()
                    .map_err(|e| refused(format!("{e:?}")))?,
            ),
        })
    }

    /// Request options for a sign-in: the browser offers its discoverable
    /// passkeys, or, during a pending sign-in, those `allowed` (the
    /// account's; checked again when it answers).
    pub fn request(&self, allowed: Option<&[String]>) -> Result<Begun, Refused> {
        let (server, client) = DiscoverableCredentialRequestOptions::passkey(&self.rp_id)
            .start_ceremony()
            .map_err(|e| refused(format!("{e:?}")))?;
        let mut options = serde_json::to_value(&client).map_err(refused)?;
        match allowed {
            Some(allowed) => {
                options["allowCredentials"] = allowed
                    .iter()
                    .map(|id| serde_json::json!({"type": "public-key", "id": id}))
                    .collect();
            }
            // None listed: the browser offers what it holds for this site.
            None => {
                if let Some(options) = options.as_object_mut() {
                    options.remove("allowCredentials");
                }
            }
        }
        let encoded = server.encode().map_err(|e| refused(format!("{e:?}")))?;
        Ok(Begun::new(*server.borrow(), &encoded, options))
    }

    /// Reads a sign-in's credential: its challenge, credential id and user
    /// handle, before anything is looked up.
    pub fn assertion(credential: &Value) -> Result<Assertion, Refused> {
        // The library takes a `null` user handle for a discoverable
        // assertion and then fails an assertion of its own on reading it:
        // such an answer is refused here, before it is parsed.
        let handle = credential.pointer("/response/userHandle");
        if handle.and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(refused("an assertion without a user handle"));
        }
        let parsed: DiscoverableAuthentication16 =
            serde_json::from_value(credential.clone()).map_err(refused)?;
        let challenge = parsed.challenge().map_err(|e| refused(format!("{e:?}")))?;
        let challenge = challenge_key(challenge);
        let credential_id = B64.encode(parsed.raw_id().as_ref());
        let handle = B64.encode(parsed.response().user_handle().as_ref());
        Ok(Assertion {
            parsed,
            challenge,
            credential_id,
            handle,
        })
    }

    /// Verifies an assertion against the state kept with its challenge and
    /// the stored passkey; the passkey's new counter (base64) on success.
    pub fn authenticate(
        &self,
        assertion: &Assertion,
        state: &str,
        stored: Stored<'_>,
    ) -> Result<String, Refused> {
        let state = B64.decode(state).map_err(refused)?;
        let server = DiscoverableAuthenticationServerState::decode(state.as_slice())
            .map_err(|e| refused(format!("{e:?}")))?;
        let id =
            CredentialId::<Vec<u8>>::decode(B64.decode(stored.credential_id).map_err(refused)?)
                .map_err(|e| refused(format!("{e:?}")))?;
        let handle = handle(stored.handle)?;
        let key = StoredKey::decode(B64.decode(stored.key).map_err(refused)?.as_slice())
            .map_err(|e| refused(format!("{e:?}")))?;
        let counter: [u8; 7] = B64
            .decode(stored.counter)
            .map_err(refused)?
            .try_into()
            .map_err(|_| refused("a stored counter of the wrong length"))?;
        let counter = DynamicState::decode(counter).map_err(|e| refused(format!("{e:?}")))?;
        let mut credential = AuthenticatedCredential::new((&id).into(), &handle, key, counter)
            .map_err(|e| refused(format!("{e:?}")))?;
        let origins = self.origins();
        let options = AuthenticationVerificationOptions::<&str, &str> {
            allowed_origins: &origins,
            ..Default::default()
        };
        server
            .verify(&self.rp_id, &assertion.parsed, &mut credential, &options)
            .map_err(|e| refused(format!("{e:?}")))?;
        Ok(B64.encode(
            credential
                .dynamic_state()
                .encode()
                .map_err(|e| refused(format!("{e:?}")))?,
        ))
    }
}
