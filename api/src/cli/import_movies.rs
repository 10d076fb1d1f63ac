//! `api import-movies PATH`: imports a JSON catalog in one transaction and prints what it did.

use shared::config::DatabaseSettings;

use crate::movies::import;

pub async fn run(database: DatabaseSettings, path: String) -> anyhow::Result<()> {
    let pool = shared::db::pool(&database)?;
    let progress = import::progress_for_stdout("import", 500);
    let report = import::import_file(&pool, &path, progress.as_ref()).await?;
    println!(
        "imported {path}: {} records, {} inserted, {} updated, {} unchanged, {} skipped; {} with the \
         default running time of {} minutes",
        report.records,
        report.inserted,
        report.updated,
        report.unchanged,
        report.skipped.len(),
        report.defaulted_time,
        import::DEFAULT_RUNNING_TIME,
    );
    for (reason, count) in report.skip_summary() {
        println!("  skipped {count}: {reason}");
    }
    for skipped in &report.skipped {
        tracing::debug!(record = skipped.record, title = %skipped.title, reason = %skipped.reason, "skipped");
    }
    Ok(())
}
