//! `api` / `api serve`: the HTTP API on `API_ADDR`, health and metrics on `METRICS_ADDR`, and the outbox relay,
//! until a termination signal.

use tokio_util::sync::CancellationToken;

use crate::ApiConfig;

pub async fn run(config: ApiConfig) -> anyhow::Result<()> {
    let addr = config.http.addr();
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("binding API_ADDR {addr}: {e}"))?;
    let metrics_addr = config.http.metrics_addr();
    let ops_listener = tokio::net::TcpListener::bind(metrics_addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding METRICS_ADDR {metrics_addr}: {e}"))?;
    let app = crate::build(config)?;
    let shutdown = CancellationToken::new();
    shared::ops::cancel_on_signal(shutdown.clone());
    let ops = tokio::spawn(crate::serve_ops(app.state.clone(), ops_listener, shutdown.clone()));
    let served = crate::serve(app, listener, shutdown.clone()).await;
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
