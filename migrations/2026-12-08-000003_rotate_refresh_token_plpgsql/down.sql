-- Back to the SQL-language body of 2026-12-08-000001.
CREATE OR REPLACE FUNCTION rotate_refresh_token(
    presented TEXT,
    family UUID,
    owner INTEGER,
    successor TEXT,
    successor_expires_at TIMESTAMPTZ,
    at TIMESTAMPTZ
) RETURNS SETOF INTEGER
LANGUAGE sql VOLATILE SET jit = off AS $$
    WITH spent AS (
        UPDATE refresh_tokens t SET rotated_at = at
          FROM users u
         WHERE t.token_hash = presented
           AND t.family_id = family
           AND t.user_id = owner
           AND t.rotated_at IS NULL
           AND t.revoked_at IS NULL
           AND t.expires_at >= at
           AND u.id = t.user_id
           AND u.is_active
        RETURNING t.family_id, t.user_id, u.token_version
    ), recorded AS (
        INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
        SELECT successor, spent.family_id, spent.user_id, successor_expires_at FROM spent
    )
    SELECT token_version FROM spent
$$;
