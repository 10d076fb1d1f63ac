//! `api seed-movies --count N`: adds N synthetic movies for scale tests and prints how long it took.

use shared::config::DatabaseSettings;

use crate::movies::{import, seed};

pub async fn run(database: DatabaseSettings, count: u64) -> anyhow::Result<()> {
    let pool = shared::db::pool(&database)?;
    let started = std::time::Instant::now();
    let progress = import::progress_for_stdout("seed", 10_000);
    let report = seed::seed(&pool, count, progress.as_ref()).await?;
    println!(
        "seeded {} movies with {} stars and {} directors in {:.1}s",
        report.movies,
        report.stars,
        report.directors,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
