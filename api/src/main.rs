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
    /// Import a JSON movie catalog (such as shared/data/movies.json) in one transaction; a second run changes
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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The catalog commands need only the database: they run without the server's secrets.
    match cli.command {
        Some(Command::ImportMovies { path }) => return catalog_command(CatalogCommand::Import(path)).await,
        Some(Command::SeedMovies { count }) => return catalog_command(CatalogCommand::Seed(count)).await,
        _ => {}
    }
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
        Command::ImportMovies { .. } | Command::SeedMovies { .. } => Ok(()),
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

enum CatalogCommand {
    Import(String),
    Seed(u64),
}

async fn catalog_command(command: CatalogCommand) -> ExitCode {
    let settings = shared::config::from_env::<shared::config::RuntimeSettings>()
        .and_then(|runtime| Ok((runtime, shared::config::from_env::<shared::config::DatabaseSettings>()?)));
    let (runtime, database) = match settings {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    shared::telemetry::init_tracing(&runtime);
    let result = async {
        let pool = shared::db::pool(&database)?;
        match command {
            CatalogCommand::Import(path) => {
                let progress = api::movies::import::progress_for_stdout("import", 500);
                let report = api::movies::import::import_file(&pool, &path, progress.as_ref()).await?;
                println!(
                    "imported {path}: {} records, {} inserted, {} updated, {} unchanged, {} skipped; {} with the \
                     default running time of {} minutes",
                    report.records,
                    report.inserted,
                    report.updated,
                    report.unchanged,
                    report.skipped.len(),
                    report.defaulted_time,
                    api::movies::import::DEFAULT_RUNNING_TIME,
                );
                for (reason, count) in report.skip_summary() {
                    println!("  skipped {count}: {reason}");
                }
                for skipped in &report.skipped {
                    tracing::debug!(record = skipped.record, title = %skipped.title, reason = %skipped.reason, "skipped");
                }
            }
            CatalogCommand::Seed(count) => {
                let started = std::time::Instant::now();
                let progress = api::movies::import::progress_for_stdout("seed", 10_000);
                let report = api::movies::seed::seed(&pool, count, progress.as_ref()).await?;
                println!(
                    "seeded {} movies with {} stars and {} directors in {:.1}s",
                    report.movies,
                    report.stars,
                    report.directors,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("api: {err:#}");
            ExitCode::FAILURE
        }
    }
}
