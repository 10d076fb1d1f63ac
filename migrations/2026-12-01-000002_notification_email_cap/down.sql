DROP INDEX notifications_emailed_idx;
ALTER TABLE notifications DROP COLUMN emailed_at;
-- The tokens scrubbed by up.sql stay scrubbed.
