//! The rate limiter against a real Redis (`TEST_REDIS_URL`), each test under a key prefix of its own that it
//! removes afterwards.

use std::net::{IpAddr, Ipv4Addr};

use api::AppState;
use api::accounts::rate_limit::{self, Allowance, Attempt, ClientIp, Secret};
use api::error::ApiError;
use redis::{ConnectionAddr, IntoConnectionInfo};
use serde_json::json;

const WINDOW_SECS: u64 = 60;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Settings of one section, from its variables in lower case; what is left out takes its default.
fn section<T: serde::de::DeserializeOwned>(values: serde_json::Value) -> T {
    serde_json::from_value(values).unwrap()
}

/// An api whose Redis is `redis` (host, port) under a fresh key prefix, with small limits: 3 failures per account
/// and address, 5 per address, 4 per account; 2 attempts per address, 1 mail per account.
fn state(redis: (String, u16), enabled: bool) -> AppState {
    let info = redis_url().into_connection_info().unwrap();
    let prefix = format!("oc_rl_test_{}:", uuid::Uuid::new_v4().simple());
    let config = api::ApiConfig {
        runtime: section(json!({})),
        database: section(json!({})),
        redis: section(json!({
            "redis_host": redis.0,
            "redis_port": redis.1,
            "redis_db": info.redis.db,
            "redis_password": info.redis.password,
            "redis_key_prefix": prefix,
        })),
        broker: section(json!({})),
        auth: section(json!({"secret_key_access": "a".repeat(32), "secret_key_refresh": "r".repeat(32)})),
        http: section(json!({})),
        rate_limit: section(json!({
            "rate_limit_enabled": enabled,
            "rate_limit_window_secs": WINDOW_SECS,
            "rate_limit_login_per_ip": 5,
            "rate_limit_login_per_account_and_ip": 3,
            "rate_limit_login_per_account": 4,
            "rate_limit_password_reset_per_ip": 2,
            "rate_limit_password_reset_per_account": 1,
            "rate_limit_register_per_ip": 2,
        })),
        stripe: section(json!({})),
        notifications: section(json!({})),
        storage: section(json!({"media_root": std::env::temp_dir().join(&prefix)})),
        video: section(json!({})),
    };
    api::build(config).unwrap().state
}

fn test_redis() -> (String, u16) {
    match redis_url().into_connection_info().unwrap().addr {
        ConnectionAddr::Tcp(host, port) => (host, port),
        other => panic!("TEST_REDIS_URL must be a TCP address, got {other:?}"),
    }
}

fn ip(last: u8) -> ClientIp {
    ClientIp::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)))
}

/// Every key under the state's prefix with its TTL; removes them.
async fn take_keys(state: &AppState) -> Vec<(String, i64)> {
    let mut conn = state.cache.conn().await.unwrap();
    let pattern = format!("{}*", state.config.redis.redis_key_prefix);
    let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(&mut conn).await.unwrap();
    let mut found = Vec::new();
    for key in keys {
        let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut conn).await.unwrap();
        let _: i64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.unwrap();
        found.push((key, ttl));
    }
    found
}

/// Seconds of a 429, or `None` when the check may go ahead.
async fn login_wait(state: &AppState, from: ClientIp, account: &str) -> Option<u64> {
    match rate_limit::guard(state.limiter(), Secret::Login, from, account).await {
        Ok(_) => None,
        Err(ApiError::RateLimited { retry_after_secs }) => Some(retry_after_secs),
        Err(other) => panic!("unexpected {other}"),
    }
}

async fn fail_login(state: &AppState, from: ClientIp, account: &str) {
    let Ok(guard) = rate_limit::guard(state.limiter(), Secret::Login, from, account).await else { panic!("refused") };
    guard.failed().await.unwrap();
}

#[tokio::test]
async fn failures_from_one_address_on_one_account_refuse_it_for_the_window() {
    let state = state(test_redis(), true);
    for _ in 0..3 {
        assert_eq!(login_wait(&state, ip(1), "ada@example.com").await, None);
        fail_login(&state, ip(1), "ada@example.com").await;
    }
    let wait = login_wait(&state, ip(1), "ada@example.com").await.expect("the fourth guess is refused");
    assert!((1..=WINDOW_SECS).contains(&wait), "{wait}");
    assert_eq!(login_wait(&state, ip(1), "bob@example.com").await, None, "other accounts from this address");
    assert_eq!(login_wait(&state, ip(2), "ada@example.com").await, None, "the owner on another address");

    let keys = take_keys(&state).await;
    assert_eq!(keys.len(), 3, "pair, address and account counters: {keys:?}");
    for (key, ttl) in keys {
        assert!(!key.contains("ada@example.com"), "Redis holds no email address: {key}");
        assert!((1..=WINDOW_SECS as i64).contains(&ttl), "every counter expires: {key} {ttl}");
    }
}

#[tokio::test]
async fn a_success_clears_only_its_own_address_and_account_counter() {
    let state = state(test_redis(), true);
    for _ in 0..3 {
        fail_login(&state, ip(1), "ada@example.com").await;
    }
    assert!(login_wait(&state, ip(1), "ada@example.com").await.is_some());
    // The owner logs in from another address; the stranger's record stays.
    let Ok(guard) = rate_limit::guard(state.limiter(), Secret::Login, ip(2), "ada@example.com").await else { panic!() };
    guard.succeeded().await;
    assert!(login_wait(&state, ip(1), "ada@example.com").await.is_some());
    take_keys(&state).await;
}

#[tokio::test]
async fn the_account_ceiling_holds_back_only_addresses_that_failed_on_it() {
    let state = state(test_redis(), true);
    // Four addresses fail once each: the account reaches its ceiling of 4.
    for last in 1..=4 {
        fail_login(&state, ip(last), "ada@example.com").await;
    }
    assert!(login_wait(&state, ip(1), "ada@example.com").await.is_some(), "a guessing address is held back");
    assert_eq!(login_wait(&state, ip(9), "ada@example.com").await, None, "a clean address still gets checked");
    take_keys(&state).await;
}

#[tokio::test]
async fn failures_from_one_address_over_many_accounts_refuse_the_address() {
    let state = state(test_redis(), true);
    for n in 0..5 {
        fail_login(&state, ip(1), &format!("user{n}@example.com")).await;
    }
    assert!(login_wait(&state, ip(1), "someone-else@example.com").await.is_some());
    assert_eq!(login_wait(&state, ip(2), "someone-else@example.com").await, None);
    take_keys(&state).await;
}

#[tokio::test]
async fn attempts_past_the_address_limit_are_429_and_past_the_account_limit_send_nothing() {
    let state = state(test_redis(), true);
    let reset = |from, account| rate_limit::attempt(state.limiter(), Attempt::PasswordReset, from, Some(account));
    assert_eq!(reset(ip(1), "ada@example.com").await.unwrap(), Allowance::Proceed);
    assert_eq!(reset(ip(2), "ada@example.com").await.unwrap(), Allowance::Suppress, "one mail per account");
    assert_eq!(reset(ip(1), "bob@example.com").await.unwrap(), Allowance::Proceed);
    match reset(ip(1), "carol@example.com").await {
        Err(ApiError::RateLimited { retry_after_secs }) => assert!((1..=WINDOW_SECS).contains(&retry_after_secs)),
        other => panic!("the third attempt from one address is refused: {:?}", other.map_err(|e| e.to_string())),
    }
    // The refused request did not use up carol's mail.
    assert_eq!(reset(ip(3), "carol@example.com").await.unwrap(), Allowance::Proceed);
    for (key, ttl) in take_keys(&state).await {
        assert!((1..=WINDOW_SECS as i64).contains(&ttl), "every counter expires: {key} {ttl}");
    }
}

#[tokio::test]
async fn disabled_limits_never_refuse_and_write_nothing() {
    let state = state(test_redis(), false);
    for _ in 0..10 {
        fail_login(&state, ip(1), "ada@example.com").await;
        let allowance = rate_limit::attempt(state.limiter(), Attempt::Register, ip(1), None).await.unwrap();
        assert_eq!(allowance, Allowance::Proceed);
    }
    assert!(take_keys(&state).await.is_empty());
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed_with_503() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let state = state(("127.0.0.1".into(), port), true);
    let refused = rate_limit::guard(state.limiter(), Secret::Login, ip(1), "ada@example.com").await;
    assert!(matches!(refused, Err(ApiError::Unavailable(_))), "{:?}", refused.err().map(|e| e.to_string()));
    let refused = rate_limit::attempt(state.limiter(), Attempt::Register, ip(1), None).await;
    assert!(matches!(refused, Err(ApiError::Unavailable(_))), "{:?}", refused.err().map(|e| e.to_string()));
}
