//! A software authenticator for the passkey tests: a P-256 key pair that
//! answers creation and request options the way a platform authenticator
//! does (a discoverable credential, user present and verified, "none"
//! attestation), with knobs to make it lie: another origin, another RP id,
//! a counter that goes backwards.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub struct Authenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    /// The user handle the credential was created for.
    pub user_handle: Vec<u8>,
    /// The origin the "browser" reports in the client data.
    pub origin: String,
    /// The RP id whose hash goes into the authenticator data.
    pub rp_id: String,
    /// The signature counter the next assertion carries (then one more).
    pub counter: u32,
    /// The flags of the next assertion: user present (`0x01`) and verified
    /// (`0x04`) unless a test takes them away.
    pub flags: u8,
}

// CBOR, only as much as an attestation object needs.
fn head(out: &mut Vec<u8>, major: u8, n: usize) {
    match n {
        0..=23 => out.push(major << 5 | n as u8),
        24..=255 => out.extend_from_slice(&[major << 5 | 24, n as u8]),
        _ => {
            out.push(major << 5 | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
}
fn int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        head(out, 0, i as usize)
    } else {
        head(out, 1, (-1 - i) as usize)
    }
}
fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len());
    out.extend_from_slice(b);
}
fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// The client data a browser writes, in the spec's order of members.
fn client_data(kind: &str, challenge: &str, origin: &str) -> String {
    format!(
        r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#
    )
}

impl Authenticator {
    /// An authenticator in a browser on `origin`, for the RP id `rp_id`.
    pub fn new(origin: &str, rp_id: &str) -> Self {
        let mut credential_id = vec![0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut credential_id);
        Authenticator {
            key: SigningKey::random(&mut rand::rngs::OsRng),
            credential_id,
            user_handle: Vec::new(),
            origin: origin.to_owned(),
            rp_id: rp_id.to_owned(),
            counter: 1,
            flags: 0x01 | 0x04,
        }
    }

    /// The app's defaults: the SPA on http://localhost:5173.
    pub fn local() -> Self {
        Authenticator::new("http://localhost:5173", "localhost")
    }

    fn rp_id_hash(&self) -> Vec<u8> {
        Sha256::digest(self.rp_id.as_bytes()).to_vec()
    }

    /// `credential.toJSON()` of a new credential for `options`
    /// (`{"publicKey": creation options}`).
    pub fn create(&mut self, options: &Value) -> Value {
        let options = &options["publicKey"];
        let challenge = options["challenge"].as_str().expect("a challenge");
        self.user_handle = B64
            .decode(options["user"]["id"].as_str().expect("a user handle"))
            .expect("base64url");
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut cose = Vec::new();
        head(&mut cose, 5, 5);
        int(&mut cose, 1);
        int(&mut cose, 2); // kty: EC2
        int(&mut cose, 3);
        int(&mut cose, -7); // alg: ES256
        int(&mut cose, -1);
        int(&mut cose, 1); // crv: P-256
        int(&mut cose, -2);
        bytes(&mut cose, point.x().expect("x"));
        int(&mut cose, -3);
        bytes(&mut cose, point.y().expect("y"));
        let mut auth_data = self.rp_id_hash();
        auth_data.push(0x01 | 0x04 | 0x40); // user present, verified; credential data
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend_from_slice(&cose);
        let mut attestation = Vec::new();
        head(&mut attestation, 5, 3);
        text(&mut attestation, "fmt");
        text(&mut attestation, "none");
        text(&mut attestation, "attStmt");
        head(&mut attestation, 5, 0);
        text(&mut attestation, "authData");
        bytes(&mut attestation, &auth_data);
        // SubjectPublicKeyInfo of a P-256 key: a fixed DER prefix, then the
        // uncompressed point.
        let mut spki =
            hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").expect("hex");
        spki.extend_from_slice(point.as_bytes());
        self.credential_json(json!({
            "clientDataJSON": B64.encode(client_data("webauthn.create", challenge, &self.origin)),
            "attestationObject": B64.encode(&attestation),
            "transports": ["internal"],
            "authenticatorData": B64.encode(&auth_data),
            "publicKey": B64.encode(&spki),
            "publicKeyAlgorithm": -7,
        }))
    }

    /// `credential.toJSON()` of an assertion answering `options`
    /// (`{"publicKey": request options}`); the counter moves on by one.
    pub fn get(&mut self, options: &Value) -> Value {
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .expect("a challenge");
        let mut auth_data = self.rp_id_hash();
        auth_data.push(self.flags);
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        self.counter += 1;
        let client_data = client_data("webauthn.get", challenge, &self.origin);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature: Signature = self.key.sign(&signed);
        self.credential_json(json!({
            "clientDataJSON": B64.encode(&client_data),
            "authenticatorData": B64.encode(&auth_data),
            "signature": B64.encode(signature.to_der().as_bytes()),
            "userHandle": B64.encode(&self.user_handle),
        }))
    }

    /// This credential as `credential.toJSON()` writes it, around the
    /// ceremony's `response` (an attestation or an assertion).
    fn credential_json(&self, response: Value) -> Value {
        let id = B64.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": response,
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }
}
