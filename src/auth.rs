//! Passwords (argon2id), API keys and session tokens.
//!
//! API keys look like `okb_<prefix>_<secret>`: the prefix finds the row, the secret is
//! checked against an argon2 hash, so a leaked database does not leak usable keys.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::util::{random_token, sha256_hex};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password must be at least 8 characters")]
    WeakPassword,
    #[error("cannot hash password: {0}")]
    Hash(String),
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < 8 {
        return Err(AuthError::WeakPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    verify_hash(password, hash)
}

/// A new API key: (the full key to show once, its lookup prefix, the hash to store).
pub fn new_api_key() -> Result<(String, String, String), AuthError> {
    let prefix = random_token(6).replace(['-', '_'], "x");
    let secret = random_token(24);
    let full = format!("okb_{prefix}_{secret}");
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?
        .to_string();
    Ok((full, prefix, hash))
}

/// Splits a presented key into (prefix, secret).
pub fn split_api_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("okb_")?;
    let (prefix, secret) = rest.split_once('_')?;
    (!prefix.is_empty() && !secret.is_empty()).then_some((prefix, secret))
}

pub fn verify_api_secret(secret: &str, hash: &str) -> bool {
    verify_hash(secret, hash)
}

fn verify_hash(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A session token for the cookie, and the hash the database keeps.
pub fn new_session_token() -> (String, String) {
    let token = random_token(32);
    let hash = sha256_hex(token.as_bytes());
    (token, hash)
}

pub fn session_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse!", &h));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn api_keys() {
        let (full, prefix, hash) = new_api_key().unwrap();
        let (p, secret) = split_api_key(&full).unwrap();
        assert_eq!(p, prefix);
        assert!(verify_api_secret(secret, &hash));
        assert!(!verify_api_secret("nope", &hash));
        assert!(split_api_key("Bearer x").is_none());
    }
}
