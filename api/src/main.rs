use std::process::ExitCode;

use api::ApiConfig;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match ApiConfig::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::init_tracing(&config.runtime);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate { revert_all } => migrate(&config, revert_all).await,
        Command::HashBenchmark { iterations } => hash_benchmark(config.auth.bcrypt_cost, iterations),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("api: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ApiConfig) -> anyhow::Result<()> {
    let addr = config.http.addr();
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("binding API_ADDR {addr}: {e}"))?;
    let app = api::build(config)?;
    let shutdown = CancellationToken::new();
    shared::ops::cancel_on_signal(shutdown.clone());
    api::serve(app, listener, shutdown).await?;
    tracing::info!("api stopped");
    Ok(())
}

async fn migrate(config: &ApiConfig, revert_all: bool) -> anyhow::Result<()> {
    let url = config.database.url();
    if revert_all {
        let count = shared::db::revert_all_migrations(&url).await?;
        println!("reverted {count} migrations");
    } else {
        let applied = shared::db::run_migrations(&url).await?;
        if applied.is_empty() {
            println!("database is up to date");
        } else {
            for version in applied {
                println!("applied {version}");
            }
        }
    }
    Ok(())
}

fn hash_benchmark(cost: u32, iterations: u32) -> anyhow::Result<()> {
    let iterations = iterations.max(1);
    let hash = bcrypt::hash("Benchmark!Passw0rd", cost)?;
    let started = std::time::Instant::now();
    for _ in 0..iterations {
        bcrypt::verify("Benchmark!Passw0rd", &hash)?;
    }
    let per_hash = started.elapsed().as_secs_f64() / f64::from(iterations);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "bcrypt cost {cost}: {:.1} ms per verification; ceiling on {cores} cores: {:.1} logins/s",
        per_hash * 1000.0,
        cores as f64 / per_hash
    );
    Ok(())
}
