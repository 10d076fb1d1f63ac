//! Operators' commands against the real broker and database, run as the release of the binaries would be, while a
//! worker consumes: `worker dead list|replay|drop` and `api jobs status`.

use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use lapin::BasicProperties;
use serde_json::{Value, json};
use shared::jobs::broker;
use shared::jobs::topology::Topology;
use shared::jobs::{EmailJob, EmailKind, Envelope, Job};
use shared::schema::job_outbox;

use crate::support::{Options, TestApp, sibling_binary};

const WAIT: Duration = Duration::from_secs(15);

/// What a finished command left: its exit code, standard output and standard error.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The output as one JSON document.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| panic!("{err}: {}\n{}", self.stdout, self.stderr))
    }

    fn json_lines(&self) -> Vec<Value> {
        self.stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

/// Runs one of the workspace's binaries with the app's environment (plus `extra`) and nothing else.
async fn run(app: &TestApp, binary: &str, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let mut command = Command::new(sibling_binary(binary));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(std::env::temp_dir());
    for (key, value) in app.binary_env() {
        command.env(key, value);
    }
    for (key, value) in extra {
        command.env(key, value);
    }
    command.args(args);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn dead_list(app: &TestApp, extra_args: &[&str]) -> Vec<Value> {
    let mut args = vec!["dead", "list", "--json"];
    args.extend_from_slice(extra_args);
    let listed = run(app, "worker", &args, &[]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    listed.json_lines()
}

/// Waits until the dead-letter queue holds `count` messages, and returns them as `worker dead list` shows them.
async fn wait_for_dead(app: &TestApp, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let letters = dead_list(app, &[]).await;
        if letters.len() >= count {
            assert_eq!(letters.len(), count, "{letters:?}");
            return letters;
        }
        assert!(tokio::time::Instant::now() < deadline, "only {} dead letters: {letters:?}", letters.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn email(kind: EmailKind, to: &str, context: Value) -> Job {
    Job::SendEmail(EmailJob { kind, to: to.into(), context })
}

fn id_of(letter: &Value) -> &str {
    letter["id"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_without_being_consumed_replayed_once_and_dropped_while_a_worker_runs() {
    let app = TestApp::spawn_with(Options { worker: true, max_attempts: 1, ..Options::default() }).await;
    let prefix = app.config.broker.rabbitmq_prefix.clone();
    app.smtp.set_available(false);
    let secret = "secret-activation-token-0123456789";
    let activation = email(EmailKind::Activation, "first@example.com", json!({"token": secret}));
    let confirmation = email(EmailKind::ActivationConfirmation, "second@example.com", json!({}));
    {
        let mut conn = app.conn().await;
        shared::jobs::outbox::enqueue(&mut conn, &activation).await.unwrap();
        shared::jobs::outbox::enqueue(&mut conn, &confirmation).await.unwrap();
    }
    wait_for_dead(&app, 2).await;
    // A body that is not a job: the worker dead-letters it under an id of its own.
    let connection = broker::connect(&app.config.broker.rabbitmq_url).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel.confirm_select(Default::default()).await.unwrap();
    let topology = Topology::new(&app.config.broker);
    broker::publish_confirmed(&channel, &topology.exchange(), "email", BasicProperties::default(), b"not a job")
        .await
        .unwrap();

    let letters = wait_for_dead(&app, 3).await;
    assert_eq!(dead_list(&app, &[]).await, letters, "listing consumes nothing and keeps the order");
    let first = letters.iter().find(|l| l["job"]["payload"]["to"] == "first@example.com").unwrap();
    assert_eq!(first["kind"], "send_email");
    assert_eq!(first["queue"], format!("{prefix}.jobs.email"));
    assert_eq!(first["attempts"], 1);
    assert!(first["last_error"].as_str().unwrap().contains("SMTP"), "{first}");
    assert!(first["created_at"].is_string() && first["dead_lettered_at"].is_string(), "{first}");
    assert!(!letters.iter().any(|l| l.to_string().contains(secret)), "one-time secrets are never shown");
    let second = letters.iter().find(|l| l["job"]["payload"]["to"] == "second@example.com").unwrap();
    assert_eq!((&second["kind"], &second["attempts"]), (&json!("send_email"), &json!(1)));
    let garbage = letters.iter().find(|l| l["kind"] == "undecodable").unwrap();
    assert!(garbage["job"].is_null() && garbage["id"].is_string(), "{garbage}");
    assert!(garbage["last_error"].as_str().unwrap().contains("undecodable"), "{garbage}");

    assert!(dead_list(&app, &["--queue", "maintenance"]).await.is_empty());
    assert_eq!(dead_list(&app, &["--queue", &format!("{prefix}.jobs.email")]).await.len(), 3);
    assert_eq!(dead_list(&app, &["--limit", "1"]).await, letters[..1].to_vec());
    let table = run(&app, "worker", &["dead", "list"], &[]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.starts_with("3 dead letter(s) in the queue; showing 3"), "{}", table.stdout);
    assert!(table.stdout.contains("ATTEMPTS") && table.stdout.contains(id_of(first)), "{}", table.stdout);
    assert!(!table.stdout.contains(secret));

    // Replay one by id, once the SMTP server is back: the mail arrives once, with the real link.
    app.smtp.set_available(true);
    let replayed = run(&app, "worker", &["dead", "replay", "--id", id_of(first)], &[]).await;
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    assert!(replayed.stdout.contains(&format!("replayed {}", id_of(first))), "{}", replayed.stdout);
    let mails = app.smtp.wait_for("first@example.com", "Account Activation", 1, WAIT).await;
    assert!(mails[0].text.contains(secret), "the replayed mail carries the real token");
    assert_eq!(dead_list(&app, &[]).await.len(), 2);

    // By kind: the undecodable message is not a `send_email` job and stays.
    let by_kind = run(&app, "worker", &["dead", "replay", "--kind", "send_email"], &[]).await;
    assert_eq!(by_kind.code, 0, "{}", by_kind.stderr);
    assert!(by_kind.stdout.contains("1 replayed"), "{}", by_kind.stdout);
    app.smtp.wait_for("second@example.com", "Account Activated", 1, WAIT).await;
    let left = dead_list(&app, &[]).await;
    assert_eq!(left.len(), 1);
    assert_eq!(id_of(&left[0]), id_of(garbage));

    // `--all` skips what is not a job and says so; nothing is replayed twice.
    let all = run(&app, "worker", &["dead", "replay", "--all"], &[]).await;
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert!(all.stdout.contains("skipped") && all.stdout.contains("0 replayed"), "{}", all.stdout);

    // A dead letter whose mail was sent already (the same job id): replaying it sends nothing.
    let sent = Envelope { id: id_of(first).parse().unwrap(), ..Envelope::new(activation.clone()) };
    let (properties, body) = broker::encode(&sent).unwrap();
    broker::publish_confirmed(&channel, "", &topology.dead_letter_queue(), properties, &body).await.unwrap();
    let again = run(&app, "worker", &["dead", "replay", "--id", id_of(first)], &[]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.smtp.mails_to("first@example.com").await.len(), 1, "not sent twice");
    assert_eq!(app.smtp.mails_to("second@example.com").await.len(), 1);

    // Drop: says what it held, then it is gone; unknown ids and kinds are refused.
    let dropped = run(&app, "worker", &["dead", "drop", "--id", id_of(garbage)], &[]).await;
    assert_eq!(dropped.code, 0, "{}", dropped.stderr);
    assert!(dropped.stdout.contains("undecodable") && dropped.stdout.contains("dropped"), "{}", dropped.stdout);
    assert!(dead_list(&app, &[]).await.is_empty());
    let unknown = run(&app, "worker", &["dead", "drop", "--id", id_of(garbage)], &[]).await;
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("no dead letter has the id"), "{}", unknown.stderr);
    let bad_kind = run(&app, "worker", &["dead", "replay", "--kind", "send_mail"], &[]).await;
    assert_eq!(bad_kind.code, 1);
    assert!(bad_kind.stderr.contains("unknown job kind"), "{}", bad_kind.stderr);
    let no_selection = run(&app, "worker", &["dead", "replay"], &[]).await;
    assert_eq!(no_selection.code, 2, "clap refuses a replay without --id, --kind or --all");

    let _ = connection.close(200, "test done").await;
    app.stop().await;
}

fn management_url() -> String {
    std::env::var("TEST_RABBITMQ_MANAGEMENT_URL").unwrap_or_else(|_| "http://guest:guest@127.0.0.1:15672".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_status_shows_the_backlog_queues_and_dead_letters_and_fails_when_the_backlog_is_stale() {
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let prefix = app.config.broker.rabbitmq_prefix.clone();
    // One job that can never succeed ends in the dead-letter queue.
    {
        let mut conn = app.conn().await;
        let poison = email(EmailKind::ActivationConfirmation, "not an address", json!({}));
        shared::jobs::outbox::enqueue(&mut conn, &poison).await.unwrap();
    }
    wait_for_dead(&app, 1).await;

    let healthy = run(&app, "api", &["jobs", "status", "--json"], &[]).await;
    assert_eq!(healthy.code, 0, "{}{}", healthy.stdout, healthy.stderr);
    let status: Value = healthy.json();
    assert_eq!(status["outbox"]["pending"], 0);
    assert_eq!(status["stale"], false);
    assert_eq!(status["queue_source"], "passive_declare");
    let queues = status["queues"].as_array().unwrap();
    let email_queue = queues.iter().find(|q| q["name"] == format!("{prefix}.jobs.email")).unwrap();
    assert!(email_queue["consumers"].as_u64().unwrap() >= 1, "the running worker consumes: {email_queue}");
    assert!(queues.iter().any(|q| q["name"] == format!("{prefix}.jobs.email.retry.2")), "{queues:?}");
    let dead = queues.iter().find(|q| q["name"] == format!("{prefix}.jobs.dead")).unwrap();
    assert_eq!(dead["ready"], 1);
    assert_eq!(status["dead_letters"]["total"], 1);
    assert_eq!(status["dead_letters"]["by_kind"], json!([["send_email", 1]]));

    // The relay stops with the api; a job written ten minutes ago waits.
    app.api_shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    {
        let mut conn = app.conn().await;
        let id = shared::jobs::outbox::enqueue(
            &mut conn,
            &email(EmailKind::ActivationConfirmation, "late@example.com", json!({})),
        )
        .await
        .unwrap();
        diesel::update(job_outbox::table.find(id))
            .set((
                job_outbox::created_at.eq(Utc::now() - chrono::Duration::minutes(10)),
                job_outbox::attempts.eq(2),
                job_outbox::last_error.eq("broker: connection refused"),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let stale = run(&app, "api", &["jobs", "status", "--json"], &[]).await;
    assert_eq!(stale.code, 1, "{}{}", stale.stdout, stale.stderr);
    let status: Value = stale.json();
    assert_eq!(status["stale"], true);
    assert_eq!(status["outbox"]["pending"], 1);
    assert_eq!(status["outbox"]["oldest"]["kind"], "send_email");
    assert_eq!(status["outbox"]["oldest"]["attempts"], 2);
    assert!(status["outbox_oldest_age_seconds"].as_i64().unwrap() >= 600);
    assert!(stale.stderr.contains("longer than --max-age 300s"), "{}", stale.stderr);

    let text = run(&app, "api", &["jobs", "status", "--max-age", "3600"], &[]).await;
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("outbox: 1 pending; oldest"), "{}", text.stdout);
    assert!(text.stdout.contains("last error: broker: connection refused"), "{}", text.stdout);
    assert!(text.stdout.contains("dead letters: 1 (send_email 1)"), "{}", text.stdout);
    assert!(text.stdout.contains(&format!("{prefix}.jobs.maintenance")), "{}", text.stdout);

    // Through the management API: unacknowledged counts too.
    let managed = run(
        &app,
        "api",
        &["jobs", "status", "--json", "--max-age", "3600"],
        &[("RABBITMQ_MANAGEMENT_URL", &management_url())],
    )
    .await;
    assert_eq!(managed.code, 0, "{}{}", managed.stdout, managed.stderr);
    let status: Value = managed.json();
    assert_eq!(status["queue_source"], "management_api", "is the management plugin enabled? {status}");
    let dead =
        status["queues"].as_array().unwrap().iter().find(|q| q["name"] == format!("{prefix}.jobs.dead")).unwrap();
    assert!(dead["unacked"].is_u64(), "{dead}");

    // A management API that does not answer: passive declares, with a note; a malformed one stops the command.
    let fallback = run(
        &app,
        "api",
        &["jobs", "status", "--max-age", "3600"],
        &[("RABBITMQ_MANAGEMENT_URL", "http://guest:guest@127.0.0.1:9")],
    )
    .await;
    assert_eq!(fallback.code, 0, "{}", fallback.stderr);
    assert!(fallback.stdout.contains("note: the management API did not answer"), "{}", fallback.stdout);
    let malformed = run(&app, "api", &["jobs", "status"], &[("RABBITMQ_MANAGEMENT_URL", "ftp://nowhere")]).await;
    assert_eq!(malformed.code, 2);
    assert!(malformed.stderr.contains("RABBITMQ_MANAGEMENT_URL"), "{}", malformed.stderr);

    // Run with other job settings than the deployment's (whose delay queues have other TTLs): nothing clashes,
    // and delay queues that do not exist read as empty.
    let other = [("JOB_RETRY_BASE_MS", "12345"), ("JOB_MAX_ATTEMPTS", "6")];
    let elsewhere = run(&app, "api", &["jobs", "status", "--json", "--max-age", "3600"], &other).await;
    assert_eq!(elsewhere.code, 0, "{}{}", elsewhere.stdout, elsewhere.stderr);
    let status: Value = elsewhere.json();
    let missing =
        status["queues"].as_array().unwrap().iter().find(|q| q["name"] == format!("{prefix}.jobs.email.retry.5"));
    assert_eq!(missing.unwrap()["ready"], 0);
    let listed = run(&app, "worker", &["dead", "list", "--json"], &other).await;
    assert_eq!((listed.code, listed.json_lines().len()), (0, 1), "{}", listed.stderr);

    assert_eq!(dead_list(&app, &[]).await.len(), 1, "reading the status consumes no dead letter");
    app.stop().await;
}
