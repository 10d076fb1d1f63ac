//! The `worker` binary: consumes jobs (the default), or handles the dead-letter queue for operators.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use shared::config::{self, BrokerSettings, DatabaseSettings, MailSettings, RuntimeSettings, WorkerSettings};
use shared::jobs::topology::WorkQueue;
use tokio_util::sync::CancellationToken;
use worker::dead::{self, Selection};

/// Online Cinema job worker.
#[derive(Parser)]
#[command(name = "worker", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Consume the queues named by WORKER_QUEUES (the default).
    Run,
    /// Look at, replay or drop dead-lettered jobs (safe while workers run).
    #[command(subcommand)]
    Dead(DeadCommand),
    /// Move the jobs of the classic queues of an earlier release into the quorum queues, and delete the old queues
    /// (every worker also does it when it starts).
    UpgradeQueues,
}

#[derive(Subcommand)]
enum DeadCommand {
    /// Print dead-lettered jobs, oldest first, without removing them.
    List {
        /// Only those from this queue (`email`, `maintenance`, or a full queue name).
        #[arg(long)]
        queue: Option<String>,
        /// Print at most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Republish dead-lettered jobs to their work queues as first attempts (a mail already sent is not resent).
    Replay(ReplayArgs),
    /// Delete one dead-lettered job, after printing what it held.
    Drop {
        #[arg(long)]
        id: String,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct ReplayArgs {
    /// The job with this id.
    #[arg(long)]
    id: Option<String>,
    /// Every job of this kind (send_email, purge_expired_tokens).
    #[arg(long)]
    kind: Option<String>,
    /// Every dead-lettered job.
    #[arg(long)]
    all: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Command::Run) {
        Command::Run => run().await,
        Command::UpgradeQueues => {
            let broker: BrokerSettings = config::load_or_exit();
            report(worker::upgrade::upgrade_queues(&broker, &mut std::io::stdout().lock()).await)
        }
        Command::Dead(command) => {
            // Only the broker's settings: the commands run on an operator's machine without the mail settings.
            let broker: BrokerSettings = config::load_or_exit();
            let mut out = std::io::stdout().lock();
            let result = match command {
                DeadCommand::List { queue, limit, json } => {
                    dead::list(&broker, queue.as_deref(), limit, json, &mut out).await
                }
                DeadCommand::Replay(args) => match selection(args) {
                    Ok(selection) => dead::replay(&broker, &selection, &mut out).await.map(|_| ()),
                    Err(err) => Err(err),
                },
                DeadCommand::Drop { id } => dead::drop(&broker, &id, &mut out).await,
            };
            report(result)
        }
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    shared::error::exit_code("worker", result)
}

fn selection(args: ReplayArgs) -> anyhow::Result<Selection> {
    Ok(match (args.id, args.kind) {
        (Some(id), _) => Selection::Id(id),
        (None, Some(kind)) => Selection::Kind(dead::known_kind(&kind)?),
        (None, None) => Selection::All,
    })
}

async fn run() -> ExitCode {
    let runtime: RuntimeSettings = config::load_or_exit();
    let worker: WorkerSettings = config::load_or_exit();
    // Only media workers read the storage and encoder settings.
    let media = worker.queues().contains(&WorkQueue::Media).then(|| worker::MediaConfig {
        storage: config::load_or_exit(),
        transcode: config::load_or_exit(),
        redis: config::load_or_exit(),
    });
    let worker_config = worker::WorkerConfig {
        database: config::load_or_exit::<DatabaseSettings>(),
        broker: config::load_or_exit::<BrokerSettings>(),
        mail: config::load_or_exit::<MailSettings>(),
        worker,
        media,
    };
    shared::telemetry::init_tracing(&runtime);
    let _ = shared::telemetry::metrics_handle();
    let pool = match shared::db::pool(&worker_config.database) {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("worker: {err}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    shared::ops::cancel_on_signal(shutdown.clone());
    match worker::run(worker_config, pool, shutdown).await {
        Ok(()) => {
            tracing::info!("worker stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "worker failed");
            ExitCode::FAILURE
        }
    }
}
