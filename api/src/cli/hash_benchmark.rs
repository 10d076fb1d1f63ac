//! `api hash-benchmark [--iterations N]`: times bcrypt at `BCRYPT_COST` on this machine, to choose the cost.

pub async fn run(cost: u32, iterations: u32) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || measure(cost, iterations))
        .await
        .unwrap_or_else(|err| Err(anyhow::anyhow!("hash benchmark: {err}")))
}

fn measure(cost: u32, iterations: u32) -> anyhow::Result<()> {
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
