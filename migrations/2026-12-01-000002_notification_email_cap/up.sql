-- Comment-notification emails are capped per recipient (NOTIFICATION_EMAILS_PER_HOUR): each notification records
-- when its email was queued, and the cap counts the recipient's emails of the last hour through this index. The
-- in-app notification is written either way.
ALTER TABLE notifications ADD COLUMN emailed_at TIMESTAMPTZ;
CREATE INDEX notifications_emailed_idx ON notifications (user_id, emailed_at) WHERE emailed_at IS NOT NULL;

-- Activation and reset tokens left in plain text in outbox rows published before the relay learnt to scrub them
-- (such rows are kept 7 days): scrub them as the relay now does. One-way on purpose: down.sql does not restore them.
UPDATE job_outbox
SET payload = jsonb_set(payload, '{context,token}', '"[scrubbed]"')
WHERE published_at IS NOT NULL
  AND kind = 'send_email'
  AND jsonb_typeof(payload -> 'context') = 'object'
  AND jsonb_typeof(payload -> 'context' -> 'token') = 'string';
