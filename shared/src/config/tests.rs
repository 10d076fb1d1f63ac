//! Every refusal names its variable; nothing malformed falls back to a default.

use std::net::SocketAddr;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The variable a section refuses with these variables set.
fn refused<T: DeserializeOwned + Validate + std::fmt::Debug>(pairs: &[(&str, &str)]) -> String {
    match from_vars::<T>(vars(pairs)) {
        Ok(section) => panic!("accepted {pairs:?}: {section:?}"),
        Err(err) => {
            assert!(err.to_string().starts_with(&format!("configuration error: {}: ", err.var)), "{err}");
            err.var
        }
    }
}

const SECRETS: [(&str, &str); 2] = [
    ("SECRET_KEY_ACCESS", "access-0123456789abcdef0123456789abcdef"),
    ("SECRET_KEY_REFRESH", "refresh-0123456789abcdef0123456789abcdef"),
];

fn auth_with<'a>(extra: (&'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    let mut pairs = SECRETS.to_vec();
    pairs.push(extra);
    pairs
}

#[test]
fn unset_variables_take_their_defaults() {
    let http: HttpSettings = from_vars(vars(&[])).unwrap();
    assert_eq!(http.addr(), SocketAddr::from(([127, 0, 0, 1], 8000)));
    assert_eq!(http.metrics_addr(), SocketAddr::from(([127, 0, 0, 1], 9100)));
    assert_eq!(http.app_url.as_str(), "http://127.0.0.1:8000/");
    let auth: AuthSettings = from_vars(vars(&SECRETS)).unwrap();
    assert_eq!(auth.algorithm, JwtAlgorithm::Hs256);
    let runtime: RuntimeSettings = from_vars(vars(&[])).unwrap();
    assert_eq!((runtime.environment, runtime.json_logs()), (Environment::Development, false));
    let stripe: StripeSettings = from_vars(vars(&[])).unwrap();
    assert_eq!(stripe.stripe_api_base.as_str(), "https://api.stripe.com/");
    assert_eq!((stripe.stripe_timeout_secs, stripe.stripe_webhook_tolerance_secs), (10, 300));
    assert_eq!((auth.login_days, auth.access_token_minutes, auth.bcrypt_cost), (7, 60, 12));
    let limits: RateLimitSettings = from_vars(vars(&[])).unwrap();
    assert_eq!((limits.rate_limit_login_per_ip, limits.rate_limit_login_per_account_and_ip), (30, 5));
    let database: DatabaseSettings = from_vars(vars(&[])).unwrap();
    assert_eq!((database.db_port, database.db_pool_size, database.db_timeout_secs), (5432, 16, 5));
    let broker: BrokerSettings = from_vars(vars(&[])).unwrap();
    assert_eq!((broker.job_max_attempts, broker.job_retry_base_ms, broker.worker_prefetch), (5, 2_000, 64));
}

#[test]
fn set_values_are_read_as_typed_values() {
    let auth: AuthSettings = from_vars(vars(&auth_with(("ALGORITHM", "HS512")))).unwrap();
    assert_eq!(auth.algorithm, JwtAlgorithm::Hs512);
    let http: HttpSettings =
        from_vars(vars(&[("API_ADDR", "0.0.0.0:80"), ("METRICS_ADDR", "[::1]:9000"), ("APP_URL", "https://a.test")]))
            .unwrap();
    assert_eq!(http.addr(), SocketAddr::from(([0, 0, 0, 0], 80)));
    assert_eq!(http.metrics_addr().port(), 9000);
    assert_eq!(with_trailing_slash(http.app_url.as_str()), "https://a.test/");
    let runtime: RuntimeSettings = from_vars(vars(&[("ENVIRONMENT", "production")])).unwrap();
    assert!(runtime.json_logs(), "production logs JSON unless LOG_FORMAT says otherwise");
}

#[test]
fn an_unknown_algorithm_is_refused_not_replaced_by_hs256() {
    assert_eq!(refused::<AuthSettings>(&auth_with(("ALGORITHM", "RS256"))), "ALGORITHM");
    assert_eq!(refused::<AuthSettings>(&auth_with(("ALGORITHM", "hs256"))), "ALGORITHM");
    let err = from_vars::<AuthSettings>(vars(&auth_with(("ALGORITHM", "none")))).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"configuration error: ALGORITHM: must be one of ["HS256", "HS384", "HS512"] while parsing value 'none' provided by ALGORITHM"#
    );
}

#[test]
fn malformed_addresses_are_refused_not_replaced_by_the_default() {
    for var in ["API_ADDR", "METRICS_ADDR"] {
        assert_eq!(refused::<HttpSettings>(&[(var, "localhost:8000")]), var);
        assert_eq!(refused::<HttpSettings>(&[(var, "127.0.0.1")]), var);
    }
    assert_eq!(refused::<HttpSettings>(&[("API_ADDR", "127.0.0.1:9100")]), "METRICS_ADDR", "same port as metrics");
    assert_eq!(refused::<WorkerSettings>(&[("WORKER_ADDR", "127.0.0.1:99999")]), "WORKER_ADDR");
    assert_eq!(refused::<SchedulerSettings>(&[("SCHEDULER_ADDR", "")]), "SCHEDULER_ADDR");
}

#[test]
fn urls_must_be_absolute_http_urls() {
    assert_eq!(refused::<HttpSettings>(&[("APP_URL", "cinema.test")]), "APP_URL");
    assert_eq!(refused::<MailSettings>(&[("APP_URL", "ftp://cinema.test/")]), "APP_URL");
    assert_eq!(refused::<StripeSettings>(&[("STRIPE_API_BASE", "not a url")]), "STRIPE_API_BASE");
    assert_eq!(
        refused::<HttpSettings>(&[("CORS_ALLOWED_ORIGINS", "http://a.test, file:///x")]),
        "CORS_ALLOWED_ORIGINS"
    );
    assert_eq!(refused::<BrokerSettings>(&[("RABBITMQ_URL", "http://guest@x/")]), "RABBITMQ_URL");
}

#[test]
fn unknown_names_are_refused() {
    assert_eq!(refused::<RuntimeSettings>(&[("ENVIRONMENT", "prod")]), "ENVIRONMENT");
    assert_eq!(refused::<RuntimeSettings>(&[("LOG_FORMAT", "xml")]), "LOG_FORMAT");
    assert_eq!(refused::<WorkerSettings>(&[("WORKER_QUEUES", "email,mail")]), "WORKER_QUEUES");
}

#[test]
fn durations_are_bounded() {
    for (var, max) in [("DB_TIMEOUT_SECS", "3600"), ("STRIPE_TIMEOUT_SECS", "3600"), ("EMAIL_TIMEOUT_SECS", "3600")] {
        let over = (max.parse::<u64>().unwrap() + 1).to_string();
        let check = |value: &str| match var {
            "DB_TIMEOUT_SECS" => refused::<DatabaseSettings>(&[(var, value)]),
            "STRIPE_TIMEOUT_SECS" => refused::<StripeSettings>(&[(var, value)]),
            _ => refused::<MailSettings>(&[(var, value)]),
        };
        assert_eq!(check("0"), var);
        assert_eq!(check(&over), var);
    }
    assert_eq!(refused::<HttpSettings>(&[("REQUEST_TIMEOUT_SECS", "86401")]), "REQUEST_TIMEOUT_SECS");
    assert_eq!(refused::<BrokerSettings>(&[("JOB_RETRY_BASE_MS", "0")]), "JOB_RETRY_BASE_MS");
    assert_eq!(refused::<BrokerSettings>(&[("JOB_RETRY_BASE_MS", "3600001")]), "JOB_RETRY_BASE_MS");
    assert_eq!(refused::<AuthSettings>(&auth_with(("LOGIN_DAYS", "36501"))), "LOGIN_DAYS");
}

#[test]
fn numbers_that_do_not_parse_name_their_variable() {
    // Pins envy's error text, which `from_vars` reads the variable's name from.
    let err = from_vars::<DatabaseSettings>(vars(&[("DB_PORT", "x")])).unwrap_err();
    assert_eq!(err.var, "DB_PORT");
    assert_eq!(err.problem, "invalid digit found in string while parsing value 'x' provided by DB_PORT");
    assert_eq!(refused::<RateLimitSettings>(&[("RATE_LIMIT_ENABLED", "maybe")]), "RATE_LIMIT_ENABLED");
}

#[test]
fn weak_secrets_are_refused_without_echoing_them() {
    let err = from_vars::<AuthSettings>(vars(&[("SECRET_KEY_ACCESS", "short"), SECRETS[1]])).unwrap_err();
    assert_eq!(err.var, "SECRET_KEY_ACCESS");
    assert!(!err.to_string().contains("short"), "{err}");
    assert_eq!(refused::<AuthSettings>(&[SECRETS[0]]), "SECRET_KEY_REFRESH", "required");
}

#[test]
fn storage_settings_are_checked_by_backend() {
    let local: StorageSettings = from_vars(vars(&[("S3_ENDPOINT_URL", ""), ("S3_ACCESS_KEY_ID", "")])).unwrap();
    assert_eq!((local.storage_backend, local.storage_delivery), (StorageBackend::Local, StorageDelivery::Api));
    assert_eq!(local.s3_endpoint_url, None, "empty counts as unset, as .env.sample leaves it");
    assert_eq!(refused::<StorageSettings>(&[("STORAGE_BACKEND", "gcs")]), "STORAGE_BACKEND");
    assert_eq!(refused::<StorageSettings>(&[("STORAGE_DELIVERY", "presigned")]), "STORAGE_DELIVERY");
    assert_eq!(refused::<StorageSettings>(&[("STORAGE_BACKEND", "s3")]), "S3_BUCKET");
    assert_eq!(refused::<StorageSettings>(&[("STORAGE_BACKEND", "s3"), ("S3_BUCKET", "Media_Bucket")]), "S3_BUCKET");
    let s3 = [("STORAGE_BACKEND", "s3"), ("S3_BUCKET", "cinema-media")];
    assert_eq!(refused::<StorageSettings>(&[s3[0], s3[1], ("S3_ENDPOINT_URL", "minio:9000")]), "S3_ENDPOINT_URL");
    assert_eq!(refused::<StorageSettings>(&[s3[0], s3[1], ("S3_ACCESS_KEY_ID", "id")]), "S3_SECRET_ACCESS_KEY");
    assert_eq!(refused::<StorageSettings>(&[s3[0], s3[1], ("S3_TIMEOUT_SECS", "0")]), "S3_TIMEOUT_SECS");
    let ok: StorageSettings = from_vars(vars(&[s3[0], s3[1], ("STORAGE_DELIVERY", "presigned")])).unwrap();
    assert_eq!(ok.s3_credentials(), None);
}
