ALTER TABLE users
    DROP CONSTRAINT IF EXISTS users_deactivated_by_needs_ban,
    DROP CONSTRAINT IF EXISTS users_banned_is_inactive,
    DROP COLUMN IF EXISTS deactivated_by,
    DROP COLUMN IF EXISTS deactivated_at;
