-- Transactional outbox: a job is written in the same transaction as the change that causes it and published to
-- RabbitMQ by the relay afterwards, so a crash between commit and publish loses nothing.
CREATE TABLE job_outbox (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX job_outbox_pending_idx ON job_outbox (created_at) WHERE published_at IS NULL;
CREATE INDEX job_outbox_published_at_idx ON job_outbox (published_at) WHERE published_at IS NOT NULL;

-- Jobs whose effect has happened (for example the mail was accepted by SMTP): a redelivery is acknowledged
-- without doing it again.
CREATE TABLE processed_jobs (
    job_id       UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX processed_jobs_processed_at_idx ON processed_jobs (processed_at);

-- One row per fired scheduler tick: with several schedulers running, only the one that inserts the row enqueues.
CREATE TABLE scheduler_ticks (
    job_name TEXT NOT NULL,
    tick_at  TIMESTAMPTZ NOT NULL,
    fired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_name, tick_at)
);
