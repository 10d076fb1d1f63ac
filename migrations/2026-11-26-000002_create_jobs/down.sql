DROP TABLE scheduler_ticks;
DROP TABLE processed_jobs;
DROP TABLE job_outbox;
