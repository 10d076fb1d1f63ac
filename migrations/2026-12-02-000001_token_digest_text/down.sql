DROP INDEX refresh_tokens_current_expires_at_idx;
ALTER TABLE refresh_tokens
    DROP CONSTRAINT refresh_tokens_token_hash_digest,
    ALTER COLUMN token_hash TYPE CHAR(64);
ALTER TABLE password_reset_tokens
    DROP CONSTRAINT password_reset_tokens_token_hash_digest,
    ALTER COLUMN token_hash TYPE CHAR(64);
ALTER TABLE activation_tokens
    DROP CONSTRAINT activation_tokens_token_hash_digest,
    ALTER COLUMN token_hash TYPE CHAR(64);
