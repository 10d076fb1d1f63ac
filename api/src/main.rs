// Same rule as the library (see lib.rs).
#![warn(clippy::arithmetic_side_effects)]

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
        Command::HashBenchmark { iterations } => {
            let cost = config.auth.bcrypt_cost;
            tokio::task::spawn_blocking(move || hash_benchmark(cost, iterations))
                .await
                .unwrap_or_else(|err| Err(anyhow::anyhow!("hash benchmark: {err}")))
        }
        Command::CreateAdmin { email } => create_admin(&config, &email).await,
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
    let metrics_addr = config.http.metrics_addr();
    let ops_listener = tokio::net::TcpListener::bind(metrics_addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding METRICS_ADDR {metrics_addr}: {e}"))?;
    let app = api::build(config)?;
    let shutdown = CancellationToken::new();
    shared::ops::cancel_on_signal(shutdown.clone());
    let ops = tokio::spawn(api::serve_ops(app.state.clone(), ops_listener, shutdown.clone()));
    let served = api::serve(app, listener, shutdown.clone()).await;
    shutdown.cancel();
    let ops = match ops.await {
        Ok(result) => result.map_err(|e| anyhow::anyhow!("metrics server on {metrics_addr}: {e}")),
        Err(err) => Err(anyhow::anyhow!("metrics server task: {err}")),
    };
    served?;
    ops?;
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

/// The new admin's password: `ADMIN_PASSWORD` when set, otherwise typed twice on the terminal without echo.
fn admin_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("ADMIN_PASSWORD") {
        return Ok(password);
    }
    let no_terminal =
        |err: std::io::Error| anyhow::anyhow!("cannot prompt for the password ({err}); set ADMIN_PASSWORD");
    let password = rpassword::prompt_password("Password for the new admin: ").map_err(no_terminal)?;
    let again = rpassword::prompt_password("Repeat the password: ").map_err(no_terminal)?;
    if password != again {
        anyhow::bail!("the passwords differ");
    }
    Ok(password)
}

async fn create_admin(config: &ApiConfig, email: &str) -> anyhow::Result<()> {
    use api::accounts::domain::{Email, Password};
    use api::admin::bootstrap;
    use diesel_async::{AsyncConnection, AsyncPgConnection};

    let email = Email::parse(email, &["email"]).map_err(|issue| anyhow::anyhow!("invalid --email: {}", issue.msg))?;
    let mut conn = AsyncPgConnection::establish(&config.database.url())
        .await
        .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
    let failed = |err: api::error::ApiError| anyhow::anyhow!("{err}");
    let outcome = match bootstrap::find_user(&mut conn, &email).await.map_err(failed)? {
        Some(user) => {
            if std::env::var_os("ADMIN_PASSWORD").is_some() {
                eprintln!("note: the account exists, so ADMIN_PASSWORD is ignored");
            }
            bootstrap::promote(&mut conn, &user).await.map_err(failed)?
        }
        None => {
            let raw = tokio::task::spawn_blocking(admin_password).await??;
            let password = Password::parse(&raw, &["password"]).map_err(|issue| {
                anyhow::anyhow!("invalid password: {}", issue.msg.trim_start_matches("Value error, "))
            })?;
            bootstrap::create(&mut conn, &email, &password, config.auth.bcrypt_cost).await.map_err(failed)?
        }
    };
    println!("{}: {outcome}", email.as_str());
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
