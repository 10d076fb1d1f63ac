-- A refresh in one statement. The usual case (the presented token is current, unexpired, of its family, and its user
-- is active) spends the token and records its successor atomically, and returns the user's token version for the
-- new access token: one round trip instead of BEGIN, the locked read, the rotation and COMMIT. It returns no row
-- when anything else holds (unknown, spent, revoked or expired token, banned user); the api then takes the locked
-- path that tells those apart and acts on them (revoking a reused token's family, deleting an expired one).
--
-- The UPDATE locks the token row; a concurrent refresh of the same token waits for it, re-reads the row, finds it
-- spent and returns nothing, so exactly one of them rotates (the other is then treated as a reuse). The lookup is
-- the unique index on token_hash (a TEXT column, as the parameter).
CREATE FUNCTION rotate_refresh_token(
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
