-- Token digests become TEXT. Diesel binds strings as `text`, and `bpchar_column = text` compares as text, which the
-- CHAR(64) unique indexes cannot serve: every refresh, activation and reset lookup was a sequential scan. The CHECK
-- keeps what CHAR(64) promised (and more: a lower-case SHA-256 hex digest). Changing the type rebuilds the unique
-- indexes; the values are unchanged (they never had padding).
ALTER TABLE activation_tokens
    ALTER COLUMN token_hash TYPE TEXT,
    ADD CONSTRAINT activation_tokens_token_hash_digest CHECK (token_hash ~ '^[0-9a-f]{64}$');
ALTER TABLE password_reset_tokens
    ALTER COLUMN token_hash TYPE TEXT,
    ADD CONSTRAINT password_reset_tokens_token_hash_digest CHECK (token_hash ~ '^[0-9a-f]{64}$');
ALTER TABLE refresh_tokens
    ALTER COLUMN token_hash TYPE TEXT,
    ADD CONSTRAINT refresh_tokens_token_hash_digest CHECK (token_hash ~ '^[0-9a-f]{64}$');

-- The purge finds dead sessions by their current token (the one not rotated yet) having expired; this index holds
-- one entry per session, not one per rotation.
CREATE INDEX refresh_tokens_current_expires_at_idx ON refresh_tokens (expires_at) WHERE rotated_at IS NULL;
