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
    let shutdown = CancellationToken::new();
    shared::ops::cancel_on_signal(shutdown.clone());
    let result = async {
        let pool = shared::db::pool(&database)?;
        scheduler::run(scheduler_config, pool, shutdown).await?;
        tracing::info!("scheduler stopped");
        anyhow::Ok(())
    };
    shared::error::exit_code("scheduler", result.await)
}
