-- A ban (admin deactivation) is its own state, not "not activated yet": while `deactivated_at` is set the account
-- cannot activate itself (activation link, resend, password reset), and only an admin's reactivation clears it.
ALTER TABLE users
    ADD COLUMN deactivated_at TIMESTAMPTZ,
    -- NULL for a ban whose admin account was deleted since.
    ADD COLUMN deactivated_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT users_banned_is_inactive CHECK (deactivated_at IS NULL OR NOT is_active),
    ADD CONSTRAINT users_deactivated_by_needs_ban CHECK (deactivated_by IS NULL OR deactivated_at IS NOT NULL);
