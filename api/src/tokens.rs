//! Token formats: access and refresh JWTs (each with a `jti`), and the random one-time tokens mailed for
//! activation and password reset. Only SHA-256 digests of refresh, activation and reset tokens are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::config::{AuthSettings, JwtAlgorithm};
use uuid::Uuid;

/// What both kinds of token carry: `user_id` and `exp` are the original's, `iat` and `jti` (which makes two tokens
/// of the same second differ) ours.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommonClaims {
    pub user_id: Option<i32>,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    #[serde(default)]
    pub jti: String,
}

impl CommonClaims {
    fn issue(user_id: i32, now: DateTime<Utc>, lifetime: Duration) -> Self {
        Self {
            user_id: Some(user_id),
            exp: expiry(now, lifetime).timestamp(),
            iat: now.timestamp(),
            jti: Uuid::new_v4().simple().to_string(),
        }
    }
}

/// Claims of an access token: the common ones, `ver` (the user's token version: bumping it revokes every access
/// token issued before) and `sid` (the session, the refresh family the token was issued in: ending the session
/// revokes all of its access tokens).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    #[serde(flatten)]
    pub common: CommonClaims,
    #[serde(default)]
    pub ver: i32,
    /// Absent from tokens issued before sessions were tracked; those stay valid until they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

/// Claims of a refresh token; `fam` ties the rotations of one login session together.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshClaims {
    #[serde(flatten)]
    pub common: CommonClaims,
    pub fam: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

impl TokenError {
    pub fn detail(self) -> &'static str {
        match self {
            TokenError::Expired => "Token has expired",
            TokenError::Invalid => "Invalid token",
        }
    }
}

/// `now + lifetime`, saturating at chrono's last instant. The settings bound every lifetime to a century, so the
/// saturation is a guard, not a rule.
pub fn expiry(now: DateTime<Utc>, lifetime: Duration) -> DateTime<Utc> {
    now.checked_add_signed(lifetime).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Signing keys and lifetimes, built once from the settings.
pub struct TokenKeys {
    algorithm: Algorithm,
    access_encoding: EncodingKey,
    access_decoding: DecodingKey,
    refresh_encoding: EncodingKey,
    refresh_decoding: DecodingKey,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
}

impl TokenKeys {
    pub fn new(settings: &AuthSettings) -> Self {
        let algorithm = match settings.algorithm {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Hs384 => Algorithm::HS384,
            JwtAlgorithm::Hs512 => Algorithm::HS512,
        };
        let access = settings.secret_key_access.expose_secret().as_bytes();
        let refresh = settings.secret_key_refresh.expose_secret().as_bytes();
        Self {
            algorithm,
            access_encoding: EncodingKey::from_secret(access),
            access_decoding: DecodingKey::from_secret(access),
            refresh_encoding: EncodingKey::from_secret(refresh),
            refresh_decoding: DecodingKey::from_secret(refresh),
            access_lifetime: Duration::minutes(settings.access_token_minutes),
            refresh_lifetime: Duration::days(settings.login_days),
        }
    }

    fn validation(&self) -> Validation {
        let mut validation = Validation::new(self.algorithm);
        // The original had no leeway; neither do we.
        validation.leeway = 0;
        validation.required_spec_claims = ["exp".to_owned()].into();
        validation
    }

    pub fn issue_access(
        &self,
        user_id: i32,
        version: i32,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = AccessClaims {
            common: CommonClaims::issue(user_id, now, self.access_lifetime),
            ver: version,
            sid: Some(session),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.access_encoding)
    }

    pub fn issue_refresh(
        &self,
        user_id: i32,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = RefreshClaims { common: CommonClaims::issue(user_id, now, self.refresh_lifetime), fam: family };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.refresh_encoding)
    }

    pub fn decode_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.access_decoding, &self.validation())
            .map(|d| d.claims)
            .map_err(classify)
    }

    pub fn decode_refresh(&self, token: &str) -> Result<RefreshClaims, TokenError> {
        jsonwebtoken::decode::<RefreshClaims>(token, &self.refresh_decoding, &self.validation())
            .map(|d| d.claims)
            .map_err(classify)
    }
}

fn classify(err: jsonwebtoken::errors::Error) -> TokenError {
    match err.kind() {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        _ => TokenError::Invalid,
    }
}

/// A one-time token for a mailed link: 32 random bytes, URL-safe base64 (43 characters, like the original's).
pub fn new_opaque_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of any token: its SHA-256 digest in lowercase hex.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&AuthSettings {
            secret_key_access: "a".repeat(32).into(),
            secret_key_refresh: "b".repeat(32).into(),
            algorithm: JwtAlgorithm::Hs256,
            login_days: 7,
            activation_token_life: 1,
            access_token_minutes: 60,
            password_reset_token_hours: 24,
            bcrypt_cost: 4,
        })
    }

    #[test]
    fn access_tokens_round_trip_and_are_unique() {
        let keys = keys();
        let now = Utc::now();
        let session = Uuid::new_v4();
        let a = keys.issue_access(7, 3, session, now).unwrap();
        let b = keys.issue_access(7, 3, session, now).unwrap();
        assert_ne!(a, b, "a jti makes tokens of the same second differ");
        let claims = keys.decode_access(&a).unwrap();
        assert_eq!((claims.common.user_id, claims.ver, claims.sid), (Some(7), 3, Some(session)));
    }

    #[test]
    fn access_tokens_from_before_sessions_decode_without_a_session() {
        let keys = keys();
        let legacy = forge(Algorithm::HS256, serde_json::json!({"user_id": 7, "exp": Utc::now().timestamp() + 60}));
        let claims = keys.decode_access(&legacy).unwrap();
        assert_eq!((claims.common.user_id, claims.ver, claims.sid), (Some(7), 0, None));
    }

    #[test]
    fn wrong_secret_expiry_and_garbage_are_told_apart() {
        let keys = keys();
        let refresh = keys.issue_refresh(1, Uuid::new_v4(), Utc::now()).unwrap();
        assert_eq!(
            keys.decode_access(&refresh).unwrap_err(),
            TokenError::Invalid,
            "refresh secret is not the access secret"
        );
        let old = keys.issue_access(1, 0, Uuid::new_v4(), Utc::now() - Duration::hours(2)).unwrap();
        assert_eq!(keys.decode_access(&old).unwrap_err(), TokenError::Expired);
        assert_eq!(keys.decode_access("not.a.jwt").unwrap_err(), TokenError::Invalid);
    }

    /// Signs arbitrary claims with the access secret, under any algorithm.
    fn forge(algorithm: Algorithm, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(algorithm), &claims, &EncodingKey::from_secret("a".repeat(32).as_bytes()))
            .unwrap()
    }

    #[test]
    fn validation_has_no_leeway_requires_exp_and_accepts_only_the_configured_algorithm() {
        let keys = keys();
        let now = Utc::now().timestamp();
        let valid = forge(Algorithm::HS256, serde_json::json!({"user_id": 1, "exp": now + 60}));
        assert_eq!(keys.decode_access(&valid).unwrap().common.user_id, Some(1));
        let just_expired = forge(Algorithm::HS256, serde_json::json!({"user_id": 1, "exp": now - 1}));
        assert_eq!(keys.decode_access(&just_expired).unwrap_err(), TokenError::Expired, "no leeway");
        let no_exp = forge(Algorithm::HS256, serde_json::json!({"user_id": 1}));
        assert_eq!(keys.decode_access(&no_exp).unwrap_err(), TokenError::Invalid, "exp is required");
        let text_exp = forge(Algorithm::HS256, serde_json::json!({"user_id": 1, "exp": (now + 60).to_string()}));
        assert_eq!(keys.decode_access(&text_exp).unwrap_err(), TokenError::Invalid, "exp must be a number");
        let other_algorithm = forge(Algorithm::HS512, serde_json::json!({"user_id": 1, "exp": now + 60}));
        assert_eq!(keys.decode_access(&other_algorithm).unwrap_err(), TokenError::Invalid, "only HS256");
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(format!(r#"{{"user_id":1,"exp":{}}}"#, now + 60))
        );
        assert_eq!(keys.decode_access(&unsigned).unwrap_err(), TokenError::Invalid, "alg none");
    }

    #[test]
    fn opaque_tokens_are_43_url_safe_characters() {
        let token = new_opaque_token();
        assert_eq!(token.len(), 43);
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(digest(&token).len(), 64);
    }
}
