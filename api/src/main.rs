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
