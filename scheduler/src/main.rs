use shared::config::{self, BrokerSettings, DatabaseSettings, RuntimeSettings, SchedulerSettings};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let runtime: RuntimeSettings = config::load_or_exit();
    let database: DatabaseSettings = config::load_or_exit();
    let scheduler_config = scheduler::SchedulerConfig {
        broker: config::load_or_exit::<BrokerSettings>(),
        scheduler: config::load_or_exit::<SchedulerSettings>(),
    };
    shared::telemetry::init_tracing(&runtime);
    let _ = shared::telemetry::metrics_handle();
    let pool = match shared::db::pool(&database) {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("scheduler: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let shutdown = CancellationToken::new();
    shared::ops::cancel_on_signal(shutdown.clone());
    match scheduler::run(scheduler_config, pool, shutdown).await {
        Ok(()) => {
            tracing::info!("scheduler stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("scheduler: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
