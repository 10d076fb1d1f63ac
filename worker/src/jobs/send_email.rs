//! `send_email`: render the template and hand it to SMTP, at most once per job id.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use shared::db;
use shared::jobs::EmailJob;
use shared::schema::processed_jobs;
use uuid::Uuid;

use super::{JobContext, JobError};

pub async fn run(context: &JobContext, job_id: Uuid, job: &EmailJob) -> Result<(), JobError> {
    let mut conn = db::conn(&context.pool).await?;
    let already_sent: bool =
        diesel::select(diesel::dsl::exists(processed_jobs::table.find(job_id))).get_result(&mut conn).await?;
    if already_sent {
        tracing::info!(%job_id, kind = job.kind.as_str(), "email already sent; skipping redelivery");
        return Ok(());
    }
    let email = context.renderer.render(job).map_err(JobError::permanent)?;
    let started = std::time::Instant::now();
    context.mailer.send(job_id, &job.to, email).await?;
    metrics::histogram!("email_send_seconds", "kind" => job.kind.as_str()).record(started.elapsed().as_secs_f64());
    // Recorded right after the SMTP server accepted the mail; a crash between the two is the only way a mail can
    // be sent twice, and its Message-ID (the job id) lets a mail system deduplicate even that.
    diesel::insert_into(processed_jobs::table)
        .values((processed_jobs::job_id.eq(job_id), processed_jobs::kind.eq(job.kind.as_str())))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    tracing::info!(%job_id, kind = job.kind.as_str(), "email sent");
    Ok(())
}
