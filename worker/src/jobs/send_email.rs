//! `send_email`: render the template and hand it to SMTP, at most once per job id.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use shared::db;
use shared::jobs::EmailJob;
use shared::schema::processed_jobs;
use uuid::Uuid;

use super::{JobContext, JobError};

/// How long a sent mail's record is retried (the delivery held, unacknowledged) before the job is failed. It covers
/// a PostgreSQL restart or failover; past it, a redelivery may send the mail again (its Message-ID is the job id,
/// so a mail system can still drop the copy).
const RECORD_PATIENCE: Duration = Duration::from_secs(300);
const RECORD_BACKOFF_MAX: Duration = Duration::from_secs(5);

pub async fn run(context: &JobContext, job_id: Uuid, job: &EmailJob) -> Result<(), JobError> {
    if already_sent(context, job_id).await? {
        tracing::info!(%job_id, kind = job.kind.as_str(), "email already sent; skipping redelivery");
        return Ok(());
    }
    let email = context.renderer.render(job).map_err(JobError::permanent)?;
    let started = std::time::Instant::now();
    // No database connection is held while SMTP answers: the pool serves other jobs meanwhile, and the record
    // below takes a fresh one (the old one may have died with a restarted server).
    context.mailer.send(job_id, &job.to, email).await?;
    metrics::histogram!("email_send_seconds", "kind" => job.kind.as_str()).record(started.elapsed().as_secs_f64());
    record_sent(context, job_id, job).await?;
    tracing::info!(%job_id, kind = job.kind.as_str(), "email sent");
    Ok(())
}

async fn already_sent(context: &JobContext, job_id: Uuid) -> Result<bool, JobError> {
    let mut conn = db::conn(&context.pool).await?;
    Ok(diesel::select(diesel::dsl::exists(processed_jobs::table.find(job_id))).get_result(&mut conn).await?)
}

/// Records the sent mail. The SMTP server has accepted it, so failing the job now would send it again on the
/// retry: instead the record is retried with backoff, the delivery still held, until the database answers or
/// [`RECORD_PATIENCE`] runs out.
async fn record_sent(context: &JobContext, job_id: Uuid, job: &EmailJob) -> Result<(), JobError> {
    let deadline = tokio::time::Instant::now() + RECORD_PATIENCE;
    let mut backoff = Duration::from_millis(100);
    loop {
        match insert_record(context, job_id, job).await {
            Ok(()) => return Ok(()),
            Err(err) if tokio::time::Instant::now() + backoff < deadline => {
                tracing::warn!(%job_id, error = %err.chain(), retry_in_ms = backoff.as_millis() as u64,
                    "email sent but not recorded yet; holding the delivery and retrying the record");
                metrics::counter!("email_record_retries_total").increment(1);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RECORD_BACKOFF_MAX);
            }
            Err(err) => return Err(err),
        }
    }
}

async fn insert_record(context: &JobContext, job_id: Uuid, job: &EmailJob) -> Result<(), JobError> {
    let mut conn = db::conn(&context.pool).await?;
    diesel::insert_into(processed_jobs::table)
        .values((processed_jobs::job_id.eq(job_id), processed_jobs::kind.eq(job.kind.as_str())))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    Ok(())
}
