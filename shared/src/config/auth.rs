//! Tokens, passwords and the rate limits of the api.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{ConfigError, JwtAlgorithm, Validate, default_true, number, positive};

fn default_algorithm() -> JwtAlgorithm {
    JwtAlgorithm::Hs256
}

/// Tokens and passwords.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HMAC key of access tokens. Required: a random per-process default would break every other process.
    pub secret_key_access: SecretString,
    /// HMAC key of refresh tokens; must differ from the access key.
    pub secret_key_refresh: SecretString,
    #[serde(default = "default_algorithm", deserialize_with = "super::values::algorithm")]
    pub algorithm: JwtAlgorithm,
    /// Lifetime of a refresh token (a login session) in days.
    #[serde(default = "number::<7, _>")]
    pub login_days: i64,
    /// Lifetime of an activation token in days.
    #[serde(default = "number::<1, _>")]
    pub activation_token_life: i64,
    /// Lifetime of an access token in minutes.
    #[serde(default = "number::<60, _>")]
    pub access_token_minutes: i64,
    /// Lifetime of a password-reset token in hours.
    #[serde(default = "number::<24, _>")]
    pub password_reset_token_hours: i64,
    #[serde(default = "number::<12, _>")]
    pub bcrypt_cost: u32,
}

impl Validate for AuthSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        for (var, secret) in
            [("SECRET_KEY_ACCESS", &self.secret_key_access), ("SECRET_KEY_REFRESH", &self.secret_key_refresh)]
        {
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError::new(var, "must be at least 32 characters (e.g. `openssl rand -hex 32`)"));
            }
        }
        if self.secret_key_access.expose_secret() == self.secret_key_refresh.expose_secret() {
            return Err(ConfigError::new("SECRET_KEY_REFRESH", "must differ from SECRET_KEY_ACCESS"));
        }
        // A century at most, in each setting's unit: longer is a typo, and would overflow the date arithmetic of
        // every token issued.
        for (var, value, max) in [
            ("LOGIN_DAYS", self.login_days, 36_500),
            ("ACTIVATION_TOKEN_LIFE", self.activation_token_life, 36_500),
            ("ACCESS_TOKEN_MINUTES", self.access_token_minutes, 52_560_000),
            ("PASSWORD_RESET_TOKEN_HOURS", self.password_reset_token_hours, 876_000),
        ] {
            if value <= 0 {
                return Err(ConfigError::new(var, "must be greater than 0"));
            }
            if value > max {
                return Err(ConfigError::new(var, format!("must be at most {max} (a century)")));
            }
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            return Err(ConfigError::new("BCRYPT_COST", "must be between 4 and 31"));
        }
        Ok(())
    }
}

/// Limits on the endpoints attackers like (fixed windows in Redis) and how the client's address is found.
///
/// Secret checks (login, password change, reset completion) count failures per account and address, per address,
/// and per account; mail-sending endpoints count attempts per address and mails per account.
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    /// `false` turns every limit off (load tests).
    #[serde(default = "default_true")]
    pub rate_limit_enabled: bool,
    /// Length of one counting window in seconds.
    #[serde(default = "number::<60, _>")]
    pub rate_limit_window_secs: u64,
    /// Failed logins from one address, over all accounts.
    #[serde(default = "number::<30, _>")]
    pub rate_limit_login_per_ip: u32,
    /// Failed logins for one account from one address.
    #[serde(default = "number::<5, _>")]
    pub rate_limit_login_per_account_and_ip: u32,
    /// Failed logins for one account from all addresses; past it only addresses without failures of their own on
    /// the account get their password checked.
    #[serde(default = "number::<10, _>")]
    pub rate_limit_login_per_account: u32,
    /// Wrong old passwords on change-password from one address, over all accounts.
    #[serde(default = "number::<30, _>")]
    pub rate_limit_change_password_per_ip: u32,
    #[serde(default = "number::<5, _>")]
    pub rate_limit_change_password_per_account_and_ip: u32,
    #[serde(default = "number::<10, _>")]
    pub rate_limit_change_password_per_account: u32,
    /// Failed reset completions (wrong or missing token, unknown account) from one address.
    #[serde(default = "number::<30, _>")]
    pub rate_limit_reset_complete_per_ip: u32,
    #[serde(default = "number::<5, _>")]
    pub rate_limit_reset_complete_per_account_and_ip: u32,
    #[serde(default = "number::<10, _>")]
    pub rate_limit_reset_complete_per_account: u32,
    #[serde(default = "number::<10, _>")]
    pub rate_limit_register_per_ip: u32,
    /// Reset requests from one address.
    #[serde(default = "number::<10, _>")]
    pub rate_limit_password_reset_per_ip: u32,
    /// Reset mails to one account; further requests answer the same and send nothing.
    #[serde(default = "number::<5, _>")]
    pub rate_limit_password_reset_per_account: u32,
    #[serde(default = "number::<10, _>")]
    pub rate_limit_resend_activation_per_ip: u32,
    #[serde(default = "number::<5, _>")]
    pub rate_limit_resend_activation_per_account: u32,
    /// Deprecated spelling of one trusted proxy hop: `true` without `TRUSTED_PROXY_HOPS` or `TRUSTED_PROXIES`
    /// means `TRUSTED_PROXY_HOPS=1` (the rightmost `X-Forwarded-For` entry).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Proxies in front of the api that each append to `X-Forwarded-For`; the client is the entry this many places
    /// from the right. 0 ignores the header (unless `TRUSTED_PROXIES` is set).
    #[serde(default)]
    pub trusted_proxy_hops: u32,
    /// Comma-separated proxy networks (`10.0.0.0/8, 2001:db8::/32`, a bare address is one host). Only a peer in
    /// them is believed, and the client is the rightmost `X-Forwarded-For` entry outside them.
    #[serde(default)]
    pub trusted_proxies: String,
}

/// The most proxies a request plausibly crosses; more is a typo.
pub const MAX_TRUSTED_PROXY_HOPS: u32 = 16;

impl RateLimitSettings {
    /// The configured proxy networks (validated at start, so nothing is dropped here).
    pub fn trusted_proxy_networks(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxies.split(',').filter_map(|net| parse_network(net).ok().flatten()).collect()
    }

    /// How many `X-Forwarded-For` entries from the right to go back; `TRUST_FORWARDED_FOR` alone means one.
    pub fn effective_proxy_hops(&self) -> u32 {
        if self.trusted_proxy_hops == 0 && self.trust_forwarded_for && self.trusted_proxy_networks().is_empty() {
            1
        } else {
            self.trusted_proxy_hops
        }
    }
}

/// One `TRUSTED_PROXIES` item: a CIDR network or a bare address; `None` for an empty item.
fn parse_network(item: &str) -> Result<Option<ipnet::IpNet>, String> {
    let item = item.trim();
    if item.is_empty() {
        return Ok(None);
    }
    item.parse::<ipnet::IpNet>()
        .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map(|net| Some(net.trunc()))
        .map_err(|_| format!("{item:?} is not an IP network such as 10.0.0.0/8 or 2001:db8::/32"))
}

impl Validate for RateLimitSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        positive("RATE_LIMIT_WINDOW_SECS", self.rate_limit_window_secs)?;
        for (var, value) in [
            ("RATE_LIMIT_LOGIN_PER_IP", self.rate_limit_login_per_ip),
            ("RATE_LIMIT_LOGIN_PER_ACCOUNT_AND_IP", self.rate_limit_login_per_account_and_ip),
            ("RATE_LIMIT_LOGIN_PER_ACCOUNT", self.rate_limit_login_per_account),
            ("RATE_LIMIT_CHANGE_PASSWORD_PER_IP", self.rate_limit_change_password_per_ip),
            ("RATE_LIMIT_CHANGE_PASSWORD_PER_ACCOUNT_AND_IP", self.rate_limit_change_password_per_account_and_ip),
            ("RATE_LIMIT_CHANGE_PASSWORD_PER_ACCOUNT", self.rate_limit_change_password_per_account),
            ("RATE_LIMIT_RESET_COMPLETE_PER_IP", self.rate_limit_reset_complete_per_ip),
            ("RATE_LIMIT_RESET_COMPLETE_PER_ACCOUNT_AND_IP", self.rate_limit_reset_complete_per_account_and_ip),
            ("RATE_LIMIT_RESET_COMPLETE_PER_ACCOUNT", self.rate_limit_reset_complete_per_account),
            ("RATE_LIMIT_REGISTER_PER_IP", self.rate_limit_register_per_ip),
            ("RATE_LIMIT_PASSWORD_RESET_PER_IP", self.rate_limit_password_reset_per_ip),
            ("RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT", self.rate_limit_password_reset_per_account),
            ("RATE_LIMIT_RESEND_ACTIVATION_PER_IP", self.rate_limit_resend_activation_per_ip),
            ("RATE_LIMIT_RESEND_ACTIVATION_PER_ACCOUNT", self.rate_limit_resend_activation_per_account),
        ] {
            positive(var, u64::from(value))?;
        }
        if self.trusted_proxy_hops > MAX_TRUSTED_PROXY_HOPS {
            return Err(ConfigError::new(
                "TRUSTED_PROXY_HOPS",
                format!("must be between 0 and {MAX_TRUSTED_PROXY_HOPS}, got {}", self.trusted_proxy_hops),
            ));
        }
        for item in self.trusted_proxies.split(',') {
            parse_network(item).map_err(|problem| ConfigError::new("TRUSTED_PROXIES", problem))?;
        }
        Ok(())
    }
}
