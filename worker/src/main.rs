use shared::config::{self, BrokerSettings, DatabaseSettings, MailSettings, RuntimeSettings, WorkerSettings};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let runtime: RuntimeSettings = config::load_or_exit();
    let worker_config = worker::WorkerConfig {
        database: config::load_or_exit::<DatabaseSettings>(),
        broker: config::load_or_exit::<BrokerSettings>(),
        mail: config::load_or_exit::<MailSettings>(),
        worker: config::load_or_exit::<WorkerSettings>(),
    };
    shared::telemetry::init_tracing(&runtime);
    let _ = shared::telemetry::metrics_handle();
    let pool = match shared::db::pool(&worker_config.database) {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("worker: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    shared::ops::cancel_on_signal(shutdown.clone());
    match worker::run(worker_config, pool, shutdown).await {
        Ok(()) => {
            tracing::info!("worker stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "worker failed");
            std::process::ExitCode::FAILURE
        }
    }
}
