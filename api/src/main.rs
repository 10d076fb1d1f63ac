//! The `api` binary: parses the command line and runs the command from [`api::cli`].

// Same rule as the library (see lib.rs).
#![warn(clippy::arithmetic_side_effects)]

use std::process::ExitCode;

use std::future::Future;

use api::{ApiConfig, cli};

/// mimalloc: glibc's allocator serialised the request threads on its arena locks (a fifth of the api's CPU on a
/// token-checked GET went to malloc and free, with futex waits); mimalloc's per-thread heaps do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use shared::config::{self, DatabaseSettings, RuntimeSettings};

/// Online Cinema API server and administration commands.
#[derive(Parser)]
#[command(name = "api", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Revert every migration instead (destroys all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Time bcrypt at the configured BCRYPT_COST on this machine (to choose the cost, and for the login benchmark).
    HashBenchmark {
        #[arg(long, default_value_t = 8)]
        iterations: u32,
    },
    /// Create an active admin, or promote and activate the existing account with this email. The password of a
    /// new account comes from `ADMIN_PASSWORD` or, without it, from a prompt; never from the command line.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Import a JSON movie catalog (such as data/movies.json) in one transaction; a second run changes
    /// nothing.
    ImportMovies {
        /// The JSON file: an array of records with `Title`, `Release Date`, `IMDB Rating`, ...
        path: String,
    },
    /// Generate synthetic movies for scale tests.
    SeedMovies {
        /// How many movies to add.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
    },
    /// The job pipeline's state, for operators and cron checks.
    #[command(subcommand)]
    Jobs(JobsCommand),
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Print the outbox backlog, every queue's depth and consumers, and the dead letters by kind; exit 1 when the
    /// oldest unpublished job waited longer than --max-age.
    Status {
        /// Seconds the oldest unpublished job may wait before the check fails.
        #[arg(long, default_value_t = 300)]
        max_age: u64,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => with_config(true, cli::serve::run).await,
        Command::Migrate { revert_all } => with_config(false, |config| cli::migrate::run(config, revert_all)).await,
        Command::HashBenchmark { iterations } => {
            with_config(false, |config| cli::hash_benchmark::run(config.auth.bcrypt_cost, iterations)).await
        }
        Command::CreateAdmin { email } => with_config(false, |config| cli::create_admin::run(config, email)).await,
        Command::ImportMovies { path } => with_database(|database| cli::import_movies::run(database, path)).await,
        Command::SeedMovies { count } => with_database(|database| cli::seed_movies::run(database, count)).await,
        Command::Jobs(JobsCommand::Status { max_age, json }) => jobs_status(max_age, json).await,
    }
}

/// Runs a command that needs the server's settings (secrets included).
async fn with_config<F, R>(server: bool, command: F) -> ExitCode
where
    F: FnOnce(ApiConfig) -> R,
    R: Future<Output = anyhow::Result<()>>,
{
    let config = match ApiConfig::from_env() {
        Ok(config) => config,
        Err(err) => return settings_error(err),
    };
    init_logs(&config.runtime, server);
    finish(command(config).await)
}

/// Runs a catalog command: it needs only the database, so it runs without the server's secrets.
async fn with_database<F, R>(command: F) -> ExitCode
where
    F: FnOnce(DatabaseSettings) -> R,
    R: Future<Output = anyhow::Result<()>>,
{
    let settings = config::from_env::<RuntimeSettings>()
        .and_then(|runtime| Ok((runtime, config::from_env::<DatabaseSettings>()?)));
    let (runtime, database) = match settings {
        Ok(settings) => settings,
        Err(err) => return settings_error(err),
    };
    init_logs(&runtime, false);
    finish(command(database).await)
}

/// `api jobs status`: needs the database and the broker (and the management API if set), not the server's secrets.
async fn jobs_status(max_age: u64, json: bool) -> ExitCode {
    let settings = config::from_env::<RuntimeSettings>().and_then(|runtime| {
        let settings = cli::jobs_status::Settings {
            database: config::from_env()?,
            broker: config::from_env()?,
            management: config::from_env()?,
        };
        Ok((runtime, settings))
    });
    let (runtime, settings) = match settings {
        Ok(settings) => settings,
        Err(err) => return settings_error(err),
    };
    init_logs(&runtime, false);
    match cli::jobs_status::run(settings, max_age, json).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => finish(Err(err)),
    }
}

/// The server logs on standard output; the other commands on standard error, which keeps their output clean.
fn init_logs(runtime: &RuntimeSettings, server: bool) {
    if server {
        shared::telemetry::init_tracing(runtime);
    } else {
        shared::telemetry::init_command_tracing(runtime);
    }
}

/// A missing or malformed setting: one line, exit code 2.
fn settings_error(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("{err}");
    ExitCode::from(2)
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    shared::error::exit_code("api", result)
}
