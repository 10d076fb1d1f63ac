-- Activation and reset tokens left in plain text in outbox rows published before the relay learnt to scrub them
-- (such rows are kept 7 days): scrub them as the relay now does. One-way on purpose: down.sql does not restore them.
UPDATE job_outbox
SET payload = jsonb_set(payload, '{context,token}', '"[scrubbed]"')
WHERE published_at IS NOT NULL
  AND kind = 'send_email'
  AND jsonb_typeof(payload -> 'context') = 'object'
  AND jsonb_typeof(payload -> 'context' -> 'token') = 'string';
