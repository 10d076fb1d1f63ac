#![allow(dead_code)] // helpers are shared by test modules that each use a part of them
//! The test harness: each [`TestApp`] runs the real application in-process on a random port against its own
//! database (cloned from a migrated template), its own RabbitMQ names and Redis keys, and an in-process SMTP sink,
//! so tests run in parallel and leave nothing behind.

pub mod smtp;

use std::net::SocketAddr;
use std::time::Duration;

use api::ApiConfig;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use shared::config::{
    AuthSettings, BrokerSettings, DatabaseSettings, HttpSettings, MailSettings, NotificationSettings,
    RateLimitSettings, RedisSettings, RuntimeSettings, SchedulerSettings, StorageSettings, StripeSettings,
    WorkerSettings,
};
use shared::db::DbPool;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

pub use smtp::SmtpSink;

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}
pub fn rabbitmq_url() -> String {
    std::env::var("TEST_RABBITMQ_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Database settings pointing at `database` on the admin server.
pub fn database_settings(database: &str) -> DatabaseSettings {
    let url = url::Url::parse(&admin_url()).expect("TEST_DATABASE_ADMIN_URL is a URL");
    DatabaseSettings {
        postgres_db: database.to_owned(),
        postgres_user: if url.username().is_empty() { "postgres".into() } else { url.username().to_owned() },
        postgres_password: url.password().map(|p| SecretString::from(p.to_owned())),
        db_host: url.host_str().unwrap_or("127.0.0.1").to_owned(),
        db_port: url.port().unwrap_or(5432),
        db_pool_size: 8,
        db_timeout_secs: 3,
    }
}

/// The migrated template every test database is cloned from; named after the migrations, so a changed
/// migration gets a fresh template.
async fn template() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
            let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
            let mut entries: Vec<_> = walk(std::path::Path::new(root));
            entries.sort();
            for path in entries {
                // Relative names: clones in other folders with the same migrations share the template.
                let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
                for byte in relative.into_bytes().into_iter().chain(std::fs::read(&path).unwrap()) {
                    digest = (digest ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
                }
            }
            let name = format!("oc_template_{digest:016x}");
            let mut admin = AsyncPgConnection::establish(&admin_url()).await.expect("connect to the admin database");
            // Serialise template creation across test processes.
            diesel::sql_query("SELECT pg_advisory_lock(4242)").execute(&mut admin).await.unwrap();
            let exists = diesel::sql_query(format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"))
                .execute(&mut admin)
                .await
                .unwrap()
                > 0;
            if !exists {
                let building = format!("{name}_building");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).await.unwrap();
                shared::db::run_migrations(&database_settings(&building).url()).await.expect("migrate the template");
                diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
            }
            // Each test process stamps the template it uses; templates of other migration sets that nobody used
            // for an hour are dropped. (Dropping every other one at once broke concurrent runs on other branches.)
            let now = chrono::Utc::now().timestamp();
            diesel::sql_query(format!("COMMENT ON DATABASE {name} IS 'used {now}'")).execute(&mut admin).await.unwrap();
            let stale: Vec<Datname> = diesel::sql_query(format!(
                r"SELECT datname FROM pg_database
                  WHERE datname LIKE 'oc\_template\_%' AND datname NOT LIKE '%\_building' AND datname <> '{name}'
                    AND coalesce(substring(shobj_description(oid, 'pg_database') FROM '^used ([0-9]+)$')::bigint, 0)
                        < {now} - 3600"
            ))
            .load(&mut admin)
            .await
            .unwrap_or_default();
            for old in stale {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", old.datname))
                    .execute(&mut admin)
                    .await;
            }
            diesel::sql_query("SELECT pg_advisory_unlock(4242)").execute(&mut admin).await.unwrap();
            name
        })
        .await
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[derive(diesel::QueryableByName)]
struct Datname {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

/// A fresh, migrated database, dropped when the guard is dropped.
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let template = template().await;
        let name = unique("oc_test");
        let mut admin = AsyncPgConnection::establish(&admin_url()).await.unwrap();
        let mut attempt = 0;
        loop {
            // Cloning fails while another session briefly touches the template; retry.
            match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin).await {
                Ok(_) => break,
                Err(err) if attempt < 20 => {
                    attempt += 1;
                    eprintln!("retrying database clone: {err}");
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                Err(err) => panic!("cannot create test database: {err}"),
            }
        }
        Self { name }
    }

    pub fn settings(&self) -> DatabaseSettings {
        database_settings(&self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async context guarantees: use a private runtime on a plain thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url()).await {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Unique RabbitMQ names and Redis keys, removed on drop.
pub struct Namespace {
    pub prefix: String,
}

impl Namespace {
    pub fn new() -> Self {
        Self { prefix: unique("t") }
    }
    pub fn broker(&self) -> BrokerSettings {
        BrokerSettings {
            rabbitmq_url: SecretString::from(rabbitmq_url()),
            rabbitmq_prefix: self.prefix.clone(),
            job_max_attempts: 3,
            job_retry_base_ms: 200,
            worker_prefetch: 8,
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        // The app's MEDIA_ROOT (uploaded avatars) is named after the prefix.
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(&prefix));
        let broker = self.broker();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let topology = shared::jobs::topology::Topology::new(&broker);
                if let Ok(connection) = shared::jobs::broker::connect(&broker.rabbitmq_url).await {
                    if let Ok(channel) = connection.create_channel().await {
                        let mut queues = vec![topology.dead_letter_queue()];
                        for queue in shared::jobs::topology::WorkQueue::ALL {
                            queues.push(topology.queue(queue));
                            for attempt in 1..=10 {
                                queues.push(topology.retry_queue(queue, attempt));
                            }
                        }
                        for queue in queues {
                            let _ = channel.queue_delete(&queue, Default::default()).await;
                        }
                        for exchange in [topology.exchange(), topology.dead_letter_exchange()] {
                            let _ = channel.exchange_delete(&exchange, Default::default()).await;
                        }
                    }
                    let _ = connection.close(200, "test done").await;
                }
                if let Ok(client) = redis::Client::open(redis_url())
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let keys: Vec<String> =
                        redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut conn).await.unwrap_or_default();
                    if !keys.is_empty() {
                        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
                    }
                }
            });
        })
        .join();
    }
}

pub fn auth_settings() -> AuthSettings {
    AuthSettings {
        secret_key_access: SecretString::from("test-access-secret-0123456789abcdef0123456789"),
        secret_key_refresh: SecretString::from("test-refresh-secret-0123456789abcdef012345678"),
        algorithm: shared::config::JwtAlgorithm::Hs256,
        login_days: 7,
        activation_token_life: 1,
        access_token_minutes: 60,
        password_reset_token_hours: 24,
        // The minimum cost keeps tests fast; the hashing path is the same.
        bcrypt_cost: 4,
    }
}

/// Knobs for one test application.
#[derive(Clone)]
pub struct Options {
    pub worker: bool,
    pub scheduler: bool,
    pub environment: &'static str,
    pub purge_cron: String,
    pub max_attempts: u32,
    pub retry_base_ms: u64,
    pub rate_limit: RateLimitSettings,
    /// Where the api finds "Stripe" (a wiremock server in payment tests).
    pub stripe_api_base: Option<String>,
    /// `NOTIFICATION_EMAILS_PER_HOUR`.
    pub notification_emails_per_hour: u32,
    /// The media store; `None`: a local folder of the test's own.
    pub storage: Option<StorageSettings>,
    /// `VIDEO_MAX_BYTES` of the api.
    pub video_max_bytes: u64,
    /// `TRANSCODE_TIMEOUT_SECS` of the in-process worker.
    pub transcode_timeout_secs: u64,
    /// `CATALOG_INDEX_ENABLED`.
    pub catalog_index_enabled: bool,
    /// `CATALOG_INDEX_MIN_MOVIES`: the default keeps the test catalogs on SQL.
    pub catalog_index_min_movies: u64,
}

/// The webhook signing secret of every test app.
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_test_secret";

impl Default for Options {
    fn default() -> Self {
        Self {
            worker: false,
            scheduler: false,
            environment: "test",
            purge_cron: "0 0 0 1 1 *".into(),
            max_attempts: 3,
            retry_base_ms: 200,
            rate_limit: rate_limit_settings(),
            stripe_api_base: None,
            notification_emails_per_hour: 5,
            storage: None,
            video_max_bytes: 64 * 1024 * 1024,
            transcode_timeout_secs: 300,
            catalog_index_enabled: true,
            catalog_index_min_movies: 20_000,
        }
    }
}

impl Options {
    pub fn with_worker() -> Self {
        Self { worker: true, ..Self::default() }
    }
}

pub struct TestApp {
    pub address: SocketAddr,
    /// The internal listener (`METRICS_ADDR`): `/metrics` and `/health/*`.
    pub metrics_address: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub config: ApiConfig,
    pub pool: DbPool,
    /// The first api instance's page cache and filter index.
    pub catalog: api::movies::cache::CatalogCache,
    pub smtp: SmtpSink,
    pub shutdown: CancellationToken,
    /// Stops only the first api instance (and its outbox relay).
    pub api_shutdown: CancellationToken,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    /// `TRANSCODE_TIMEOUT_SECS` of the workers this app starts.
    pub transcode_timeout_secs: u64,
    // Dropped last: the namespace and database outlive the tasks that use them.
    pub namespace: Namespace,
    pub database: TestDatabase,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> Self {
        let database = TestDatabase::create().await;
        let namespace = Namespace::new();
        let smtp = SmtpSink::start().await;
        let config = ApiConfig {
            runtime: RuntimeSettings {
                environment: options.environment.parse().unwrap(),
                log_format: None,
                rust_log: None,
            },
            database: database.settings(),
            redis: redis_settings(&namespace.prefix),
            broker: BrokerSettings {
                job_max_attempts: options.max_attempts,
                job_retry_base_ms: options.retry_base_ms,
                ..namespace.broker()
            },
            auth: auth_settings(),
            http: HttpSettings {
                api_addr: "127.0.0.1:0".parse().unwrap(),
                metrics_addr: "127.0.0.1:0".parse().unwrap(),
                app_url: "http://cinema.test/".parse().unwrap(),
                cors_allowed_origins: "http://front.test".into(),
                request_timeout_secs: 10,
                max_body_bytes: 2 * 1024 * 1024,
                catalog_cache_max_bytes: 4 * 1024 * 1024,
                user_view_cache_max_bytes: 8 * 1024 * 1024,
                catalog_index_enabled: options.catalog_index_enabled,
                catalog_index_min_movies: options.catalog_index_min_movies,
            },
            rate_limit: options.rate_limit.clone(),
            stripe: StripeSettings {
                stripe_secret_key: Some(SecretString::from("sk_test_fake")),
                stripe_webhook_secret: Some(SecretString::from(STRIPE_WEBHOOK_SECRET)),
                stripe_api_base: options.stripe_api_base.as_deref().unwrap_or("http://127.0.0.1:9").parse().unwrap(),
                stripe_timeout_secs: 3,
                stripe_webhook_tolerance_secs: 300,
            },
            notifications: NotificationSettings { notification_emails_per_hour: options.notification_emails_per_hour },
            storage: options
                .storage
                .clone()
                .unwrap_or_else(|| local_storage(&std::env::temp_dir().join(&namespace.prefix))),
            video: shared::config::from_vars([
                (
                    "VIDEO_UPLOAD_DIR".to_owned(),
                    std::env::temp_dir().join(format!("{}-uploads", namespace.prefix)).to_string_lossy().into_owned(),
                ),
                ("VIDEO_MAX_BYTES".to_owned(), options.video_max_bytes.to_string()),
            ])
            .unwrap(),
        };
        let shutdown = CancellationToken::new();
        let api_shutdown = shutdown.child_token();
        let (address, metrics_address, pool, catalog, mut tasks) = serve_api(&config, api_shutdown.clone()).await;
        let mut this = Self {
            address,
            metrics_address,
            base: format!("http://{address}"),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            config,
            pool,
            catalog,
            smtp,
            shutdown,
            api_shutdown,
            tasks: Vec::new(),
            transcode_timeout_secs: options.transcode_timeout_secs,
            namespace,
            database,
        };
        if options.worker {
            this.start_worker();
        }
        if options.scheduler {
            this.start_scheduler(&options.purge_cron);
        }
        this.tasks.append(&mut tasks);
        this
    }

    /// Starts another api instance on the same database and queues (an api restarted after a crash).
    pub async fn start_api(&mut self) -> (SocketAddr, CancellationToken) {
        let token = self.shutdown.child_token();
        let (address, _, _, _, tasks) = serve_api(&self.config, token.clone()).await;
        self.tasks.extend(tasks);
        (address, token)
    }

    /// Environment variables that point a real binary at this app's database, queues, keys and SMTP sink.
    pub fn binary_env(&self) -> Vec<(&'static str, String)> {
        let db = &self.config.database;
        let mut vars = vec![
            ("SECRET_KEY_ACCESS", "test-access-secret-0123456789abcdef0123456789".to_owned()),
            ("SECRET_KEY_REFRESH", "test-refresh-secret-0123456789abcdef012345678".to_owned()),
            ("POSTGRES_DB", db.postgres_db.clone()),
            ("POSTGRES_USER", db.postgres_user.clone()),
            ("DB_HOST", db.db_host.clone()),
            ("DB_PORT", db.db_port.to_string()),
            ("RABBITMQ_URL", rabbitmq_url()),
            ("RABBITMQ_PREFIX", self.config.broker.rabbitmq_prefix.clone()),
            ("JOB_MAX_ATTEMPTS", self.config.broker.job_max_attempts.to_string()),
            ("JOB_RETRY_BASE_MS", self.config.broker.job_retry_base_ms.to_string()),
            ("REDIS_KEY_PREFIX", self.config.redis.redis_key_prefix.clone()),
            ("EMAIL_HOST", "127.0.0.1".to_owned()),
            ("EMAIL_PORT", self.smtp.port.to_string()),
            ("APP_URL", self.config.http.app_url.to_string()),
        ];
        if let Some(password) = url::Url::parse(&admin_url()).unwrap().password() {
            vars.push(("POSTGRES_PASSWORD", password.to_owned()));
        }
        vars.extend(storage_env(&self.config.storage));
        vars
    }

    /// A user with `password`, in `group`, active or not, created directly in the database.
    pub async fn create_user(&self, email: &str, password: &str, group_id: i32, active: bool) -> i32 {
        use diesel::ExpressionMethods;
        use shared::schema::users;
        let hash = bcrypt::hash(password, 4).unwrap();
        let mut conn = self.conn().await;
        diesel::insert_into(users::table)
            .values((
                users::email.eq(email.to_lowercase()),
                users::hashed_password.eq(hash),
                users::is_active.eq(active),
                users::group_id.eq(group_id),
            ))
            .returning(users::id)
            .get_result(&mut conn)
            .await
            .unwrap()
    }

    /// Logs in and returns (access, refresh).
    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let (status, body) =
            json(self.post_json("/accounts/login/", serde_json::json!({"email": email, "password": password})).await)
                .await;
        assert_eq!(status, 200, "login failed: {body}");
        (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
    }

    /// An active user in `group_id` and their access token.
    pub async fn user_with_token(&self, email: &str, group_id: i32) -> (i32, String) {
        let id = self.create_user(email, "Str0ng!Pass", group_id, true).await;
        let (access, _) = self.login(email, "Str0ng!Pass").await;
        (id, access)
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn post_json_auth(&self, path: &str, token: &str, body: serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    pub fn mail_settings(&self) -> MailSettings {
        MailSettings {
            email_host: "127.0.0.1".into(),
            email_port: self.smtp.port,
            email_host_user: None,
            email_host_password: None,
            email_use_tls: false,
            from_email: "no-reply@cinema.test".into(),
            app_url: self.config.http.app_url.clone(),
            email_timeout_secs: 5,
        }
    }

    /// Starts a worker on this app's queues and database; returns its own shutdown token.
    pub fn start_worker(&mut self) -> CancellationToken {
        let token = self.shutdown.child_token();
        let config = worker::WorkerConfig {
            database: self.config.database.clone(),
            broker: self.config.broker.clone(),
            mail: self.mail_settings(),
            worker: WorkerSettings {
                worker_addr: "127.0.0.1:0".parse().unwrap(),
                worker_queues: "email,maintenance,media".into(),
            },
            media: Some(worker::MediaConfig {
                storage: self.config.storage.clone(),
                transcode: shared::config::from_vars([
                    (
                        "TRANSCODE_WORK_DIR".to_owned(),
                        std::env::temp_dir()
                            .join(format!("{}-transcode", self.namespace.prefix))
                            .to_string_lossy()
                            .into_owned(),
                    ),
                    // Superseded versions stay playable this long before the purge removes them.
                    ("STREAM_URL_TTL_SECS".to_owned(), "3".to_owned()),
                    ("TRANSCODE_TIMEOUT_SECS".to_owned(), self.transcode_timeout_secs.to_string()),
                ])
                .unwrap(),
                redis: self.config.redis.clone(),
            }),
        };
        let pool = self.pool.clone();
        let run = token.clone();
        self.tasks.push(tokio::spawn(async move { worker::run(config, pool, run).await.unwrap() }));
        token
    }

    pub fn start_scheduler(&mut self, cron: &str) -> CancellationToken {
        let token = self.shutdown.child_token();
        let config = scheduler::SchedulerConfig {
            broker: self.config.broker.clone(),
            scheduler: SchedulerSettings {
                scheduler_addr: "127.0.0.1:0".parse().unwrap(),
                purge_cron: cron.into(),
                video_purge_cron: cron.into(),
            },
        };
        let pool = self.pool.clone();
        let run = token.clone();
        self.tasks.push(tokio::spawn(async move { scheduler::run(config, pool, run).await.unwrap() }));
        token
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The Prometheus text of the internal listener.
    pub async fn metrics(&self) -> String {
        let response = self.client.get(format!("http://{}/metrics", self.metrics_address)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(&body).send().await.unwrap()
    }

    pub async fn conn(&self) -> shared::db::DbConn {
        shared::db::conn(&self.pool).await.unwrap()
    }

    /// Stops every task and waits for them.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(40), task).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Runs the api on a random client-facing port and a random internal (metrics) port.
async fn serve_api(
    config: &ApiConfig,
    shutdown: CancellationToken,
) -> (SocketAddr, SocketAddr, DbPool, api::movies::cache::CatalogCache, Vec<tokio::task::JoinHandle<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let ops_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_address = ops_listener.local_addr().unwrap();
    let app = api::build(config.clone()).unwrap();
    let pool = app.state.pool.clone();
    let catalog = app.catalog.clone();
    let ops = api::serve_ops(app.state.clone(), ops_listener, shutdown.clone());
    let tasks = vec![
        tokio::spawn(async move { ops.await.unwrap() }),
        tokio::spawn(async move { api::serve(app, listener, shutdown).await.unwrap() }),
    ];
    (address, metrics_address, pool, catalog, tasks)
}

pub fn rate_limit_settings() -> RateLimitSettings {
    RateLimitSettings {
        rate_limit_enabled: true,
        rate_limit_window_secs: 60,
        rate_limit_login_per_ip: 1000,
        rate_limit_login_per_account_and_ip: 5,
        rate_limit_login_per_account: 10,
        rate_limit_change_password_per_ip: 1000,
        rate_limit_change_password_per_account_and_ip: 5,
        rate_limit_change_password_per_account: 10,
        rate_limit_reset_complete_per_ip: 1000,
        rate_limit_reset_complete_per_account_and_ip: 5,
        rate_limit_reset_complete_per_account: 10,
        rate_limit_register_per_ip: 1000,
        rate_limit_password_reset_per_ip: 1000,
        rate_limit_password_reset_per_account: 5,
        rate_limit_resend_activation_per_ip: 1000,
        rate_limit_resend_activation_per_account: 5,
        trust_forwarded_for: false,
        trusted_proxy_hops: 0,
        trusted_proxies: String::new(),
    }
}

/// The variables that give a binary these storage settings.
pub fn storage_env(storage: &StorageSettings) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("STORAGE_BACKEND", storage.storage_backend.as_str().to_owned()),
        ("STORAGE_DELIVERY", storage.storage_delivery.as_str().to_owned()),
        ("MEDIA_ROOT", storage.media_root.to_string_lossy().into_owned()),
        ("S3_BUCKET", storage.s3_bucket.clone()),
        ("S3_REGION", storage.s3_region.clone()),
        ("S3_FORCE_PATH_STYLE", storage.s3_force_path_style.to_string()),
        ("S3_TIMEOUT_SECS", storage.s3_timeout_secs.to_string()),
    ];
    if let Some(endpoint) = &storage.s3_endpoint_url {
        vars.push(("S3_ENDPOINT_URL", endpoint.to_string()));
    }
    if let Some((id, secret)) = storage.s3_credentials() {
        vars.push(("S3_ACCESS_KEY_ID", id.to_owned()));
        vars.push(("S3_SECRET_ACCESS_KEY", secret.to_owned()));
    }
    vars
}

/// The S3-compatible server of the tests (`TEST_S3_ENDPOINT_URL`; deploy/test.sh starts moto's server mode).
pub fn s3_endpoint() -> String {
    std::env::var("TEST_S3_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_S3_ENDPOINT_URL is not set: run the tests through deploy/test.sh, or start \
            an S3-compatible server (e.g. `moto_server -p 5000`) and point the variable at it"
        )
    })
}

/// Storage in a fresh bucket of the test server; `endpoint` overrides the server (a closed port, say).
pub async fn s3_storage(endpoint: Option<&str>) -> StorageSettings {
    let bucket = format!("oc-test-{}", uuid::Uuid::new_v4().simple());
    let server = s3_endpoint();
    // moto creates a bucket on an unsigned PUT; a real server would want credentials here too.
    let created =
        reqwest::Client::new().put(format!("{}/{bucket}", server.trim_end_matches('/'))).send().await.unwrap();
    assert!(created.status().is_success(), "could not create the test bucket: {}", created.status());
    let endpoint = endpoint.map(str::to_owned).unwrap_or(server);
    shared::config::from_vars(
        [
            ("STORAGE_BACKEND", "s3"),
            ("S3_BUCKET", &bucket),
            ("S3_ENDPOINT_URL", &endpoint),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("S3_ACCESS_KEY_ID", "testing"),
            ("S3_SECRET_ACCESS_KEY", "testing"),
            ("S3_TIMEOUT_SECS", "3"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap()
}

/// The local media store in `root`, every other storage setting at its default.
pub fn local_storage(root: &std::path::Path) -> StorageSettings {
    shared::config::from_vars([("MEDIA_ROOT".to_owned(), root.to_string_lossy().into_owned())]).unwrap()
}

pub fn redis_settings(prefix: &str) -> RedisSettings {
    let url = url::Url::parse(&redis_url()).unwrap();
    RedisSettings {
        redis_host: url.host_str().unwrap_or("127.0.0.1").into(),
        redis_port: url.port().unwrap_or(6379),
        redis_db: 0,
        redis_password: url.password().map(|p| SecretString::from(p.to_owned())),
        redis_key_prefix: format!("{prefix}:"),
    }
}

/// JSON body of a response, with its status.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, body)
}

/// The workspace's executables (`api`, `worker`, `scheduler`) in the target folder's profile directory, the parent
/// of the `deps/` folder this test binary runs from. Cargo builds (and names in `CARGO_BIN_EXE_*`) only the binaries
/// of the package under test, and this crate has none, so `deploy/test.sh` runs `cargo build --workspace --bins`
/// first; after changing a binary's crate, build again before running these tests.
pub fn sibling_binary(name: &str) -> std::path::PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().and_then(std::path::Path::parent).unwrap();
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` before the tests (deploy/test.sh does)",
        path.display()
    );
    path
}
