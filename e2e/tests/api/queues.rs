//! The upgrade from the classic queues of earlier releases to quorum queues: a worker of this release moves every
//! job the old queues hold (waiting, waiting out a retry, dead-lettered) and deletes them; nothing is lost.

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use serde_json::json;
use shared::jobs::broker;
use shared::jobs::topology::Topology;
use shared::jobs::{EmailJob, EmailKind, Envelope, Job};

use crate::support::{TestApp, sibling_binary};

fn confirmation(to: &str) -> Envelope {
    Envelope::new(Job::SendEmail(EmailJob {
        kind: EmailKind::ActivationConfirmation,
        to: to.into(),
        context: json!({}),
    }))
}

fn args(pairs: &[(&str, AMQPValue)]) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in pairs {
        table.insert(ShortString::from(*key), value.clone());
    }
    table
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_moves_the_jobs_of_the_classic_queues_into_the_quorum_queues_and_deletes_the_old_ones() {
    let mut app = TestApp::spawn().await;
    let prefix = app.config.broker.rabbitmq_prefix.clone();
    let topology = Topology::new(&app.config.broker);
    let connection = broker::connect(&app.config.broker.rabbitmq_url).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel.confirm_select(Default::default()).await.unwrap();

    // The topology of the earlier release, as it declared it: classic queues under the old names.
    let durable = QueueDeclareOptions { durable: true, ..Default::default() };
    let exchange = ExchangeDeclareOptions { durable: true, ..Default::default() };
    let text = |value: &str| AMQPValue::LongString(value.into());
    channel
        .exchange_declare(&topology.exchange(), lapin::ExchangeKind::Direct, exchange, FieldTable::default())
        .await
        .unwrap();
    channel
        .exchange_declare(
            &topology.dead_letter_exchange(),
            lapin::ExchangeKind::Fanout,
            exchange,
            FieldTable::default(),
        )
        .await
        .unwrap();
    let old_work = format!("{prefix}.email");
    let old_retry = format!("{prefix}.email.retry.1");
    let old_dead = format!("{prefix}.dead");
    channel
        .queue_declare(&old_work, durable, args(&[("x-dead-letter-exchange", text(&topology.dead_letter_exchange()))]))
        .await
        .unwrap();
    channel
        .queue_bind(&old_work, &topology.exchange(), "email", QueueBindOptions::default(), FieldTable::default())
        .await
        .unwrap();
    // A long backoff: the job would wait there for an hour.
    let retry_args = args(&[
        ("x-dead-letter-exchange", text(&topology.exchange())),
        ("x-dead-letter-routing-key", text("email")),
        ("x-message-ttl", AMQPValue::LongLongInt(3_600_000)),
    ]);
    channel.queue_declare(&old_retry, durable, retry_args).await.unwrap();
    channel.queue_declare(&old_dead, durable, FieldTable::default()).await.unwrap();
    channel
        .queue_bind(&old_dead, &topology.dead_letter_exchange(), "", QueueBindOptions::default(), FieldTable::default())
        .await
        .unwrap();
    for (queue, to) in
        [(&old_work, "waiting@example.com"), (&old_retry, "retrying@example.com"), (&old_dead, "dead@example.com")]
    {
        let (properties, body) = broker::encode(&confirmation(to)).unwrap();
        broker::publish_confirmed(&channel, "", queue, properties, &body).await.unwrap();
    }

    // A worker of this release starts: the waiting job is sent, the retrying one after the new (short) backoff of
    // its attempt, and the dead letter is in the new dead-letter queue.
    app.start_worker();
    app.smtp.wait_for("waiting@example.com", "Account Activated", 1, Duration::from_secs(15)).await;
    app.smtp.wait_for("retrying@example.com", "Account Activated", 1, Duration::from_secs(15)).await;
    let listed = std::process::Command::new(sibling_binary("worker"))
        .env_clear()
        .envs(app.binary_env())
        .args(["dead", "list", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("dead@example.com"), "{stdout}");
    assert!(app.smtp.mails_to("dead@example.com").await.is_empty());

    // The old queues are gone (a passive declare of a missing queue fails).
    for queue in [&old_work, &old_retry, &old_dead] {
        let probe = connection.create_channel().await.unwrap();
        let passive = QueueDeclareOptions { passive: true, ..Default::default() };
        assert!(probe.queue_declare(queue, passive, FieldTable::default()).await.is_err(), "{queue} still exists");
    }
    // The new ones are quorum queues: declaring one as classic is refused.
    let probe = connection.create_channel().await.unwrap();
    assert!(
        probe
            .queue_declare(&topology.queue(shared::jobs::topology::WorkQueue::Email), durable, FieldTable::default())
            .await
            .is_err()
    );

    // Running the upgrade again (the operator's command) finds nothing left.
    let again = std::process::Command::new(sibling_binary("worker"))
        .env_clear()
        .envs(app.binary_env())
        .arg("upgrade-queues")
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to move"));
    let _ = connection.close(200, "test done").await;
    app.stop().await;
}

#[tokio::test]
async fn a_list_of_broker_nodes_connects_to_one_that_answers_and_a_malformed_list_is_refused() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead_node = format!("amqp://guest:guest@127.0.0.1:{closed}/%2f");
    let url = secrecy::SecretString::from(format!("{dead_node}, {}", crate::support::rabbitmq_url()));
    // Every connection starts at another node: a dead first node never keeps a process off the broker.
    for _ in 0..3 {
        let connection = broker::connect(&url).await.unwrap();
        let _ = connection.close(200, "test done").await;
    }
    assert!(broker::connect(&secrecy::SecretString::from(dead_node)).await.is_err());

    let vars = |value: &str| vec![("RABBITMQ_URL".to_owned(), value.to_owned())];
    for bad in ["", " , ", "amqp://guest:guest@127.0.0.1:5672/%2f,http://127.0.0.1:15672"] {
        let err = shared::config::from_vars::<shared::config::BrokerSettings>(vars(bad)).unwrap_err().to_string();
        assert!(err.contains("RABBITMQ_URL") && err.contains("separated by commas"), "{bad:?}: {err}");
    }
    let two = "amqp://guest:guest@10.0.0.1:5672/%2f,amqp://guest:guest@10.0.0.2:5672/%2f";
    let settings = shared::config::from_vars::<shared::config::BrokerSettings>(vars(two)).unwrap();
    assert_eq!(settings.vhost().unwrap(), "/");
}
