ALTER TABLE refresh_tokens RESET (fillfactor);
CREATE INDEX refresh_tokens_current_expires_at_idx ON refresh_tokens (expires_at) WHERE rotated_at IS NULL;
