//! The job pipeline end to end (api → outbox → RabbitMQ → worker → SMTP; scheduler → outbox → worker) and its
//! behaviour under faults: a killed worker, an SMTP outage, poison jobs, an api that dies before publishing,
//! duplicate deliveries and competing schedulers.

use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use lapin::options::BasicGetOptions;
use serde_json::json;
use shared::jobs::broker::Publisher;
use shared::jobs::topology::Topology;
use shared::jobs::{EmailJob, EmailKind, Envelope, Job};
use shared::schema::{activation_tokens, job_outbox, password_reset_tokens, refresh_tokens, scheduler_ticks, users};

use crate::support::{Options, TestApp, json};

const PASSWORD: &str = "Str0ng!Pass";
const WAIT: Duration = Duration::from_secs(15);

/// The first link under the test APP_URL in a mail body, as a path on the test server.
fn link_path(text: &str) -> String {
    let start = text.find("http://cinema.test/").expect("a link to APP_URL");
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<').collect();
    link.trim_start_matches("http://cinema.test").to_owned()
}

fn query_value(path: &str, key: &str) -> String {
    let query = path.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == key).unwrap().1.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_activate_login_refresh_logout_end_to_end() {
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let email = "flow+tag@example.com";
    let (status, body) =
        json(app.post_json("/accounts/register/", json!({"email": email, "password": PASSWORD})).await).await;
    assert_eq!(status, 201, "{body}");

    let mail = app.smtp.wait_for(email, "Account Activation", 1, WAIT).await.remove(0);
    assert!(mail.html.contains("Activate Account"), "HTML part: {}", mail.html);
    assert!(mail.message_id.ends_with("@online-cinema"), "{}", mail.message_id);
    let path = link_path(&mail.text);
    assert!(path.starts_with("/accounts/activate/?email=flow%2Btag%40example.com&token="), "URL-encoded link: {path}");
    let (status, body) = json(app.get(&path).await).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("User account activated successfully.")), "{body}");
    app.smtp.wait_for(email, "Account Activated", 1, WAIT).await;

    let (access, refresh) = app.login(email, PASSWORD).await;
    let (status, rotated) = json(app.post_json("/accounts/refresh/", json!({"refresh_token": refresh})).await).await;
    assert_eq!(status, 200);
    let new_access = rotated["access_token"].as_str().unwrap();
    let (status, _) = json(
        app.post_json_auth("/accounts/logout/", new_access, json!({"refresh_token": rotated["refresh_token"]})).await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = json(app.get_auth("/accounts/me/", new_access).await).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Token has been blacklisted")));
    let (status, body) = json(app.get_auth("/accounts/me/", &access).await).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("Token has been revoked.")),
        "logout ends the session, so the access token issued before the refresh dies too"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_reset_and_completion_end_to_end() {
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let email = "forgot@example.com";
    app.create_user(email, PASSWORD, 2, true).await;
    let (status, _) = json(app.post_json("/accounts/reset-password/request/", json!({"email": email})).await).await;
    assert_eq!(status, 200);
    let mail = app.smtp.wait_for(email, "Password Reset Request", 1, WAIT).await.remove(0);
    let path = link_path(&mail.text);
    assert!(path.starts_with("/accounts/reset-password/complete/?email="), "{path}");
    let token = query_value(&path, "token");
    let (status, body) = json(
        app.post_json(
            "/accounts/reset-password/complete/",
            json!({"email": email, "password": "N3w!Passw0rd", "token": token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.smtp.wait_for(email, "Password Reset Complete", 1, WAIT).await;
    let (status, _) =
        json(app.post_json("/accounts/login/", json!({"email": email, "password": PASSWORD})).await).await;
    assert_eq!(status, 401, "the old password is refused");
    app.login(email, "N3w!Passw0rd").await;
    app.stop().await;
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_leaves_the_job_to_another_and_the_mail_arrives_once() {
    let mut app = TestApp::spawn().await;
    let email = "killed@example.com";
    app.create_user(email, PASSWORD, 2, false).await;
    app.smtp.set_stall(Some(Duration::from_secs(60)));

    let binary = crate::support::sibling_binary("worker");
    let mut command = Command::new(&binary);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(std::env::temp_dir());
    for (key, value) in app.binary_env() {
        command.env(key, value);
    }
    let mut worker =
        command.env("WORKER_ADDR", free_addr()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();

    let (status, _) = json(app.post_json("/accounts/resend-activation/", json!({"email": email})).await).await;
    assert_eq!(status, 200);
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.smtp.stalled() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the worker process never reached SMTP DATA");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Killed while the SMTP server has not yet accepted the mail: the delivery was never acknowledged.
    worker.kill().unwrap();
    worker.wait().unwrap();
    app.smtp.set_stall(None);
    app.start_worker();

    app.smtp.wait_for(email, "Account Activation", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.smtp.mails_to(email).await.len(), 1, "exactly once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_outage_is_retried_with_backoff_and_delivered_after_it_ends() {
    let app =
        TestApp::spawn_with(Options { worker: true, max_attempts: 5, retry_base_ms: 300, ..Options::default() }).await;
    let email = "outage@example.com";
    app.create_user(email, PASSWORD, 2, false).await;
    app.smtp.set_available(false);
    let (status, _) = json(app.post_json("/accounts/resend-activation/", json!({"email": email})).await).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(app.smtp.mails_to(email).await.is_empty());
    app.smtp.set_available(true);
    app.smtp.wait_for(email, "Account Activation", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.smtp.mails_to(email).await.len(), 1);
    let metrics = app.metrics().await;
    assert!(metrics.contains("jobs_retried_total{kind=\"send_email\"}"), "{metrics}");
    app.stop().await;
}

pub async fn dead_letters(app: &TestApp) -> Vec<lapin::message::BasicGetMessage> {
    let topology = Topology::new(&app.config.broker);
    let connection = shared::jobs::broker::connect(&app.config.broker.rabbitmq_url).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    topology.declare(&channel).await.unwrap();
    let mut found = Vec::new();
    for _ in 0..100 {
        while let Some(message) =
            channel.basic_get(&topology.dead_letter_queue(), BasicGetOptions { no_ack: true }).await.unwrap()
        {
            found.push(message);
        }
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_can_never_succeed_goes_to_the_dead_letter_queue_with_its_error() {
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let job = Job::SendEmail(EmailJob {
        kind: EmailKind::ActivationConfirmation,
        to: "not an address".into(),
        context: json!({}),
    });
    {
        let mut conn = app.conn().await;
        shared::jobs::outbox::enqueue(&mut conn, &job).await.unwrap();
    }
    let dead = dead_letters(&app).await;
    assert_eq!(dead.len(), 1);
    let envelope: Envelope = serde_json::from_slice(&dead[0].delivery.data).unwrap();
    assert_eq!(envelope.job, job);
    let headers = dead[0].delivery.properties.headers().clone().unwrap();
    let error = headers
        .inner()
        .iter()
        .find(|(k, _)| k.as_str() == "x-last-error")
        .unwrap()
        .1
        .as_long_string()
        .unwrap()
        .to_string();
    assert!(error.contains("invalid recipient"), "{error}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_committed_before_the_api_died_are_published_when_it_restarts() {
    let mut app = TestApp::spawn_with(Options::with_worker()).await;
    app.api_shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Committed with the change, never published: what a crash between commit and publish leaves behind.
    let email = "crash@example.com";
    {
        let mut conn = app.conn().await;
        let job =
            Job::SendEmail(EmailJob { kind: EmailKind::ActivationConfirmation, to: email.into(), context: json!({}) });
        shared::jobs::outbox::enqueue(&mut conn, &job).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(app.smtp.mails_to(email).await.is_empty(), "nothing publishes while the api is down");
    app.start_api().await;
    app.smtp.wait_for(email, "Account Activated", 1, WAIT).await;
    let mut conn = app.conn().await;
    let pending: i64 =
        job_outbox::table.filter(job_outbox::published_at.is_null()).count().get_result(&mut conn).await.unwrap();
    assert_eq!(pending, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_job_whose_mail_was_sent_is_not_sent_again() {
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let email = "twice@example.com";
    let envelope = Envelope::new(Job::SendEmail(EmailJob {
        kind: EmailKind::ActivationConfirmation,
        to: email.into(),
        context: json!({}),
    }));
    let publisher = Publisher::new(app.config.broker.rabbitmq_url.clone(), Topology::new(&app.config.broker));
    publisher.publish(&envelope).await.unwrap();
    app.smtp.wait_for(email, "Account Activated", 1, WAIT).await;
    publisher.publish(&envelope).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.smtp.mails_to(email).await.len(), 1);
    publisher.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_fire_each_tick_once_and_the_purge_removes_only_expired_rows() {
    let mut app = TestApp::spawn_with(Options::with_worker()).await;
    let now = Utc::now();
    let expired = now - chrono::Duration::minutes(1);
    let later = now + chrono::Duration::hours(1);
    {
        let mut conn = app.conn().await;
        for (index, email) in ["p1@example.com", "p2@example.com"].iter().enumerate() {
            let id = app.create_user(email, PASSWORD, 2, false).await;
            let when = if index == 0 { expired } else { later };
            diesel::insert_into(activation_tokens::table)
                .values((
                    activation_tokens::user_id.eq(id),
                    activation_tokens::token_hash.eq(format!("{:064}", index)),
                    activation_tokens::expires_at.eq(when),
                ))
                .execute(&mut conn)
                .await
                .unwrap();
            diesel::insert_into(password_reset_tokens::table)
                .values((
                    password_reset_tokens::user_id.eq(id),
                    password_reset_tokens::token_hash.eq(format!("{:064}", index + 10)),
                    password_reset_tokens::expires_at.eq(when),
                ))
                .execute(&mut conn)
                .await
                .unwrap();
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::user_id.eq(id),
                    refresh_tokens::token_hash.eq(format!("{:064}", index + 20)),
                    refresh_tokens::family_id.eq(uuid::Uuid::new_v4()),
                    refresh_tokens::expires_at.eq(when),
                ))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    let first = app.start_scheduler("* * * * * *");
    let second = app.start_scheduler("* * * * * *");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    first.cancel();
    second.cancel();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut conn = app.conn().await;
    // Both lines of the cron table (the token purge and the video purge) fire once per tick.
    for job in ["purge_expired_tokens", "purge_videos"] {
        let job_ticks: i64 = scheduler_ticks::table
            .filter(scheduler_ticks::job_name.eq(job))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap();
        assert!(job_ticks >= 2, "{job}: {job_ticks} ticks");
        let jobs: i64 = job_outbox::table.filter(job_outbox::kind.eq(job)).count().get_result(&mut conn).await.unwrap();
        assert_eq!(jobs, job_ticks, "{job}: one job per tick although two schedulers ran");
    }

    let activation: Vec<chrono::DateTime<Utc>> =
        activation_tokens::table.select(activation_tokens::expires_at).load(&mut conn).await.unwrap();
    let reset: Vec<chrono::DateTime<Utc>> =
        password_reset_tokens::table.select(password_reset_tokens::expires_at).load(&mut conn).await.unwrap();
    let refresh: Vec<chrono::DateTime<Utc>> =
        refresh_tokens::table.select(refresh_tokens::expires_at).load(&mut conn).await.unwrap();
    for (name, rows) in [("activation", activation), ("reset", reset), ("refresh", refresh)] {
        assert_eq!(rows.len(), 1, "{name}: only the unexpired row is left");
        assert!(rows[0] > now, "{name}");
    }
    let users_left: i64 = users::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(users_left, 2, "users are never purged");
    app.stop().await;
}

#[derive(diesel::QueryableByName)]
struct TableName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct Matches {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// The tables of the database with a row whose text (every column, JSON included) contains `needle`.
async fn tables_containing(conn: &mut diesel_async::AsyncPgConnection, needle: &str) -> Vec<String> {
    let tables: Vec<TableName> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(conn)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t.name == "job_outbox"), "the scan covers the outbox");
    let mut found = Vec::new();
    for table in tables {
        let matches: Matches = diesel::sql_query(format!(
            "SELECT count(*) AS count FROM \"{}\" t WHERE strpos(t::text, $1) > 0",
            table.name
        ))
        .bind::<diesel::sql_types::Text, _>(needle)
        .get_result(conn)
        .await
        .unwrap();
        if matches.count > 0 {
            found.push(table.name);
        }
    }
    found
}

/// Waits until the relay has marked every outbox row published.
async fn wait_until_published(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut conn = app.conn().await;
        let pending: i64 =
            job_outbox::table.filter(job_outbox::published_at.is_null()).count().get_result(&mut conn).await.unwrap();
        if pending == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{pending} outbox rows never published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_activation_and_reset_jobs_leave_no_usable_token_in_the_database() {
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let newcomer = "scrub-new@example.com";
    let (status, _) =
        json(app.post_json("/accounts/register/", json!({"email": newcomer, "password": PASSWORD})).await).await;
    assert_eq!(status, 201);
    let member = "scrub-reset@example.com";
    app.create_user(member, PASSWORD, 2, true).await;
    let (status, _) = json(app.post_json("/accounts/reset-password/request/", json!({"email": member})).await).await;
    assert_eq!(status, 200);

    let activation = link_path(&app.smtp.wait_for(newcomer, "Account Activation", 1, WAIT).await[0].text);
    let reset = link_path(&app.smtp.wait_for(member, "Password Reset Request", 1, WAIT).await[0].text);
    let activation_token = query_value(&activation, "token");
    let reset_token = query_value(&reset, "token");
    assert_eq!((activation_token.len(), reset_token.len()), (43, 43));
    wait_until_published(&app).await;

    let mut conn = app.conn().await;
    for token in [&activation_token, &reset_token] {
        assert_eq!(tables_containing(&mut conn, token).await, Vec::<String>::new(), "raw token {token} at rest");
    }
    let payloads: Vec<serde_json::Value> = job_outbox::table
        .filter(job_outbox::payload.retrieve_as_text("kind").eq_any(["activation", "password_reset_request"]))
        .select(job_outbox::payload)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(payloads.len(), 2, "{payloads:?}");
    for payload in &payloads {
        assert_eq!(payload["context"]["token"], shared::jobs::SCRUBBED, "{payload}");
        assert!(payload["to"].is_string(), "only the secret goes: {payload}");
    }
    drop(conn);

    // The mails carry working links all the same.
    let (status, body) = json(app.get(&activation).await).await;
    assert_eq!((status, body["message"].as_str()), (200, Some("User account activated successfully.")), "{body}");
    let (status, body) = json(
        app.post_json(
            "/accounts/reset-password/complete/",
            json!({"email": member, "password": "N3w!Passw0rd", "token": reset_token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.login(member, "N3w!Passw0rd").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrubbed_job_published_again_is_dead_lettered_instead_of_mailing_a_dead_link() {
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let email = "replayed@example.com";
    let job = Job::SendEmail(EmailJob {
        kind: EmailKind::Activation,
        to: email.into(),
        context: json!({"token": shared::jobs::SCRUBBED}),
    });
    {
        let mut conn = app.conn().await;
        shared::jobs::outbox::enqueue(&mut conn, &job).await.unwrap();
    }
    let dead = dead_letters(&app).await;
    assert_eq!(dead.len(), 1);
    let headers = dead[0].delivery.properties.headers().clone().unwrap();
    let error = headers
        .inner()
        .iter()
        .find(|(k, _)| k.as_str() == "x-last-error")
        .unwrap()
        .1
        .as_long_string()
        .unwrap()
        .to_string();
    assert!(error.contains("without its token"), "{error}");
    assert!(app.smtp.mails_to(email).await.is_empty(), "no mail with a dead link");
    app.stop().await;
}

#[tokio::test]
async fn the_migration_scrubs_tokens_of_rows_published_before_the_relay_did() {
    use diesel::migration::MigrationSource;
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    use diesel_migrations::MigrationHarness;

    let database = crate::support::TestDatabase::create().await;
    let url = database.settings().url();
    let migrate = |revert: bool| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn: AsyncConnectionWrapper<AsyncPgConnection> = diesel::Connection::establish(&url).unwrap();
            if revert {
                let migrations: Vec<_> =
                    MigrationSource::<diesel::pg::Pg>::migrations(&shared::db::MIGRATIONS).unwrap();
                let scrub =
                    migrations.iter().find(|m| m.name().to_string().ends_with("_notification_email_cap")).unwrap();
                conn.revert_migration(scrub.as_ref()).unwrap();
            } else {
                assert_eq!(conn.run_pending_migrations(shared::db::MIGRATIONS).unwrap().len(), 1);
            }
        })
    };
    migrate(true).await.unwrap();

    let token = |t: &str| json!({"kind": "password_reset_request", "to": "old@example.com", "context": {"token": t}});
    let rows = [
        ("published-secret", token("published-secret"), true),
        ("pending-secret", token("pending-secret"), false),
        (
            "published-plain",
            json!({"kind": "payment_success", "to": "old@example.com", "context": {"order_id": 1}}),
            true,
        ),
        ("published-odd", json!({"kind": "activation", "to": "old@example.com", "context": ["token"]}), true),
    ];
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    for (_, payload, published) in &rows {
        diesel::insert_into(job_outbox::table)
            .values((
                job_outbox::id.eq(uuid::Uuid::new_v4()),
                job_outbox::kind.eq("send_email"),
                job_outbox::payload.eq(payload),
                job_outbox::published_at.eq(published.then(Utc::now)),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    migrate(false).await.unwrap();

    let stored: Vec<serde_json::Value> = job_outbox::table.select(job_outbox::payload).load(&mut conn).await.unwrap();
    let text = serde_json::Value::Array(stored.clone()).to_string();
    assert!(!text.contains("published-secret"), "{text}");
    assert!(text.contains("pending-secret"), "an unpublished job still needs its token: {text}");
    assert!(stored.iter().any(|p| p["context"]["token"] == shared::jobs::SCRUBBED), "{text}");
    for (_, payload, _) in &rows[2..] {
        assert!(stored.contains(payload), "rows without a token are left alone: {text}");
    }
}

/// Closes the app's database to new connections and ends the open ones (what a PostgreSQL restart or failover
/// does to this database), or opens it again. Only this test's database is affected.
async fn set_database_reachable(app: &TestApp, reachable: bool) {
    use diesel_async::AsyncConnection;
    let mut admin = diesel_async::AsyncPgConnection::establish(&crate::support::admin_url()).await.unwrap();
    diesel::sql_query(format!("ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {reachable}", app.database.name))
        .execute(&mut admin)
        .await
        .unwrap();
    if !reachable {
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind::<diesel::sql_types::Text, _>(&app.database.name)
        .execute(&mut admin)
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_accepted_while_the_database_is_down_is_recorded_when_it_returns_and_not_sent_again() {
    // Retries come back at 0.2 s, 1 s and 4.2 s: without holding the delivery, the retry after the database
    // returned would find no record and send the mail again.
    let app =
        TestApp::spawn_with(Options { worker: true, max_attempts: 5, retry_base_ms: 200, ..Options::default() }).await;
    let email = "db-restart@example.com";
    app.smtp.set_stall(Some(Duration::from_millis(1500)));
    {
        let mut conn = app.conn().await;
        let job =
            Job::SendEmail(EmailJob { kind: EmailKind::ActivationConfirmation, to: email.into(), context: json!({}) });
        shared::jobs::outbox::enqueue(&mut conn, &job).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.smtp.stalled() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the worker never reached SMTP DATA");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The SMTP server holds the mail while the database goes away, then accepts it.
    set_database_reachable(&app, false).await;
    app.smtp.set_stall(None);
    app.smtp.wait_for(email, "Account Activated", 1, WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    set_database_reachable(&app, true).await;

    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let recorded: i64 = {
            let mut conn = app.conn().await;
            shared::schema::processed_jobs::table.count().get_result(&mut conn).await.unwrap()
        };
        if recorded == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the sent mail was never recorded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Long enough for every retry the old behaviour would have made.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(app.smtp.mails_to(email).await.len(), 1, "sent exactly once");
    app.stop().await;
}
