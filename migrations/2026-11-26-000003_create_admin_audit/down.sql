DROP INDEX IF EXISTS users_is_active_idx;
DROP INDEX IF EXISTS users_email_trgm_idx;
DROP TABLE IF EXISTS admin_audit_log;
-- pg_trgm stays: other migrations or the database's owner may rely on it, and keeping it is harmless.
