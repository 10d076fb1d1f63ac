//! Signed stream URLs: `{APP_URL}stream/{movie}/v{version}/{user}/{expires}/{signature}/master.m3u8`. The
//! signature is an HMAC over the movie, version, user and expiry; it sits in the path, not the query, so the
//! relative URIs of the playlists (renditions, segments) inherit it and players need no Authorization header.
//! Each request checks it without a database read; a refund therefore ends access for new signatures only.

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use shared::config::AuthSettings;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// What a signature grants: one version of one movie, to one user, until a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub movie: Uuid,
    pub version: i32,
    pub user_id: i32,
    /// Unix seconds.
    pub expires: i64,
}

impl Grant {
    fn message(&self) -> String {
        format!("{}/v{}/{}/{}", self.movie.simple(), self.version, self.user_id, self.expires)
    }

    /// The path below `stream/` up to the version's folder: `{movie}/v{version}/{user}/{expires}/{signature}`.
    pub fn path(&self, auth: &AuthSettings) -> String {
        format!("{}/{}", self.message(), hex::encode(mac(auth, &self.message()).finalize().into_bytes()))
    }

    /// Whether `signature` (hex) was made for this grant with our key; compared in constant time.
    pub fn verify(&self, auth: &AuthSettings, signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else { return false };
        mac(auth, &self.message()).verify_slice(&signature).is_ok()
    }
}

/// Stream URLs have a key of their own, derived from the access-token secret, so that no token signature can
/// ever be replayed as a stream signature or the other way round.
fn mac(auth: &AuthSettings, message: &str) -> HmacSha256 {
    let key = keyed(auth.secret_key_access.expose_secret().as_bytes())
        .chain_update(b"online-cinema stream url key v1")
        .finalize()
        .into_bytes();
    keyed(&key).chain_update(message.as_bytes())
}

fn keyed(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(secret: &str) -> AuthSettings {
        shared::config::from_vars([
            ("SECRET_KEY_ACCESS".to_owned(), secret.to_owned()),
            ("SECRET_KEY_REFRESH".to_owned(), "r".repeat(40)),
        ])
        .unwrap()
    }

    #[test]
    fn a_signature_holds_only_for_its_grant_and_key() {
        let (key, other_key) = (auth(&"a".repeat(40)), auth(&"b".repeat(40)));
        let grant = Grant { movie: Uuid::nil(), version: 3, user_id: 7, expires: 1_900_000_000 };
        let path = grant.path(&key);
        let signature = path.rsplit('/').next().unwrap();
        assert!(path.starts_with("00000000000000000000000000000000/v3/7/1900000000/"), "{path}");
        assert!(grant.verify(&key, signature));
        assert!(!grant.verify(&other_key, signature));
        for changed in
            [Grant { version: 4, ..grant }, Grant { user_id: 8, ..grant }, Grant { expires: 1_900_000_001, ..grant }]
        {
            assert!(!changed.verify(&key, signature), "{changed:?}");
        }
        assert!(!grant.verify(&key, "zz"));
        assert!(!grant.verify(&key, &signature[..10]));
    }
}
