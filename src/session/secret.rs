//! The cookie-signing key. Taken from `SESSION_SECRET`, or generated once and
//! kept in a file beside the SQLite database, so a restart keeps everyone
//! logged in without the operator having to invent a key.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::Path;

use actix_web::cookie::Key;
use anyhow::Context;
use rand::RngCore;

use crate::config::{Settings, MIN_SECRET_BYTES};
use crate::db::Backend;

pub fn signing_key(settings: &Settings) -> anyhow::Result<Key> {
    if let Some(secret) = &settings.session_secret {
        return Ok(Key::derive_from(secret.0.as_bytes()));
    }
    let path = Backend::from_url(&settings.database_url)
        .secret_path()
        .context("SESSION_SECRET must be set when DATABASE_URL is not a SQLite file")?;
    let secret = load_or_create(&path)?;
    Ok(Key::derive_from(secret.as_bytes()))
}

fn load_or_create(path: &Path) -> anyhow::Result<String> {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let fresh = hex::encode(bytes);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only the owner may read the key that signs every session cookie.
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(fresh.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| {
                    format!("cannot write the session secret to {}", path.display())
                })?;
            tracing::info!(path = %path.display(), "generated a new session secret");
            Ok(fresh)
        }
        // Kept from an earlier start (or written by a concurrent one).
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let kept = fs::read_to_string(path)
                .with_context(|| format!("cannot read the session secret in {}", path.display()))?;
            let kept = kept.trim().to_owned();
            anyhow::ensure!(
                kept.len() >= MIN_SECRET_BYTES,
                "the session secret in {} is shorter than {MIN_SECRET_BYTES} bytes; delete it to generate a new one",
                path.display()
            );
            Ok(kept)
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// A 32-byte key for one `purpose` (`"tollgate outbox v1"`), derived from
/// the server's secret by HKDF-SHA256: each use of the secret (signing
/// cookies, sealing the outbox, keying sign-in codes) has a key of its own,
/// and none reveals another.
pub fn derived_key(key: &Key, purpose: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, key.master())
        .expand(purpose.as_bytes(), &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}
