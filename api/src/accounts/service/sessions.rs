//! Sessions: login, refresh-token rotation (a reused token revokes its session) and logout.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use shared::db;
use shared::schema::{refresh_tokens, users};
use uuid::Uuid;

use crate::accounts::auth::{self, AuthUser};
use crate::accounts::domain::Email;
use crate::accounts::models::User;
use crate::accounts::passwords;
use crate::accounts::queries::{self, RefreshRow};
use crate::accounts::rate_limit::{self, ClientIp, Secret};
use crate::accounts::tokens::{self, TokenError, TokenKeys};
use crate::accounts::types::TokenPair;
use crate::error::ApiError;

use super::{Accounts, find_user};

/// A new step of session `family`: its refresh token, signed before the row that records it is written (the row
/// keeps only its digest); the access token follows with the user's token version.
struct SessionStep {
    refresh_token: String,
    digest: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    user_id: i32,
    family: Uuid,
}

impl SessionStep {
    fn new(keys: &TokenKeys, user_id: i32, family: Uuid) -> Result<Self, ApiError> {
        let issued_at = Utc::now();
        let refresh_token = keys.issue_refresh(user_id, family, issued_at).map_err(ApiError::internal)?;
        Ok(Self {
            digest: tokens::digest(&refresh_token),
            expires_at: tokens::expiry(issued_at, keys.refresh_lifetime),
            refresh_token,
            issued_at,
            user_id,
            family,
        })
    }

    /// Records the step as the current token of its session.
    fn insert<'a>(&'a self, conn: &mut AsyncPgConnection) -> BoxFuture<'a, Result<usize, DieselError>> {
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::token_hash.eq(&self.digest),
                refresh_tokens::family_id.eq(self.family),
                refresh_tokens::user_id.eq(self.user_id),
                refresh_tokens::expires_at.eq(self.expires_at),
            ))
            .execute(conn)
            .boxed()
    }

    /// The signed pair; the access token carries the user's token version and, as `sid`, the session.
    fn pair(self, keys: &TokenKeys, token_version: i32) -> Result<TokenPair, ApiError> {
        let access_token =
            keys.issue_access(self.user_id, token_version, self.family, self.issued_at).map_err(ApiError::internal)?;
        Ok(TokenPair { access_token, refresh_token: self.refresh_token, token_type: "bearer" })
    }
}

/// Inserts a refresh-token row for a session family and returns the signed pair.
async fn issue_session(
    conn: &mut AsyncPgConnection,
    keys: &TokenKeys,
    user: &User,
    family: Uuid,
) -> Result<TokenPair, ApiError> {
    let step = SessionStep::new(keys, user.id, family)?;
    step.insert(conn).await?;
    step.pair(keys, user.token_version)
}

/// Checks the credentials and opens a new session (other sessions stay open).
pub async fn login(ctx: Accounts<'_>, ip: ClientIp, email: &Email, password: String) -> Result<TokenPair, ApiError> {
    let invalid = || ApiError::unauthorized("Invalid email or password.");
    let guard = rate_limit::guard(ctx.limiter, Secret::Login, ip, email.as_str()).await?;
    let mut conn = db::conn(ctx.pool).await?;
    let Some(user) = find_user(&mut conn, email).await? else {
        passwords::verify_dummy(password, ctx.settings.bcrypt_cost).await?;
        guard.failed().await?;
        return Err(invalid());
    };
    // Give the connection back while bcrypt runs; it is the slow part.
    drop(conn);
    if !passwords::verify(password, user.hashed_password.clone()).await? {
        guard.failed().await?;
        return Err(invalid());
    }
    // The password is right even for an inactive account: no guess to count.
    guard.succeeded().await;
    // A banned account answers as one not activated yet (the contract's only 403 here); it is told apart from
    // a wrong password only after the password matched.
    if !user.is_active {
        return Err(ApiError::forbidden("Your account is not activated"));
    }
    let mut conn = db::conn(ctx.pool).await?;
    issue_session(&mut conn, ctx.keys, &user, Uuid::new_v4()).await
}

enum RefreshOutcome {
    Rotated(TokenPair),
    /// A spent token came back: the session (family) it belongs to is revoked.
    Reused(Uuid),
    Expired,
}

/// Rotates a refresh token: the presented one is spent and a new pair is issued in the same family. Presenting a
/// spent token again means it leaked: the whole family is revoked.
pub async fn refresh(ctx: Accounts<'_>, refresh_token: &str, caller: Option<&AuthUser>) -> Result<TokenPair, ApiError> {
    let claims = ctx.keys.decode_refresh(refresh_token).map_err(|e: TokenError| ApiError::unauthorized(e.detail()))?;
    let user_id = claims.common.user_id.ok_or_else(|| ApiError::unauthorized("Invalid token payload."))?;
    if caller.is_some_and(|caller| caller.id.get() != user_id) {
        return Err(ApiError::unauthorized("Token does not belong to the authenticated user."));
    }
    let digest = tokens::digest(refresh_token);
    let mut conn = db::conn(ctx.pool).await?;
    // The usual case in one statement: the token is current and its user active, so it is spent and its successor
    // recorded at once. Anything else comes back empty and takes the locked path below, which tells the cases apart.
    let step = SessionStep::new(ctx.keys, user_id, claims.fam)?;
    let rotated: Option<i32> = diesel::select(queries::rotate_refresh_token(
        &digest,
        step.family,
        user_id,
        &step.digest,
        step.expires_at,
        step.issued_at,
    ))
    .get_result(&mut conn)
    .await
    .optional()?;
    if let Some(token_version) = rotated {
        return step.pair(ctx.keys, token_version);
    }
    let outcome = conn
        .transaction::<RefreshOutcome, ApiError, _>(|conn| {
            async move {
                // The token (locked) and its user, whose id the verified token names: sent together, one round
                // trip; this path costs BEGIN, this, the rotation and COMMIT.
                // Boxed: the unboxed futures trip the compiler's `Send` check inside the transaction.
                let token = queries::refresh_token_by_digest(&digest).load::<RefreshRow>(conn).boxed();
                let user = users::table.find(user_id).select(User::as_select()).load::<User>(conn).boxed();
                let (mut token, mut user) = futures_util::future::try_join(token, user).await?;
                let row = token.pop().ok_or_else(|| ApiError::not_found("Refresh token not found."))?;
                if row.rotated_at.is_some() || row.revoked_at.is_some() {
                    revoke_families(conn, &[row.family_id]).await?;
                    return Ok(RefreshOutcome::Reused(row.family_id));
                }
                if row.expires_at < Utc::now() {
                    // The session's current token expired: the session is over, its rotated tokens are useless.
                    diesel::delete(refresh_tokens::table.filter(refresh_tokens::family_id.eq(row.family_id)))
                        .execute(conn)
                        .await?;
                    return Ok(RefreshOutcome::Expired);
                }
                let user = user.pop().ok_or_else(|| ApiError::not_found("User not found."))?;
                if !user.is_active {
                    return Err(ApiError::forbidden("Inactive user."));
                }
                // The rotation and its successor, sent together.
                let step = SessionStep::new(ctx.keys, user.id, row.family_id)?;
                let rotate = diesel::update(refresh_tokens::table.find(row.id))
                    .set(refresh_tokens::rotated_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .boxed();
                let successor = step.insert(conn);
                futures_util::future::try_join(rotate, successor).await?;
                Ok(RefreshOutcome::Rotated(step.pair(ctx.keys, user.token_version)?))
            }
            .scope_boxed()
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(pair) => Ok(pair),
        RefreshOutcome::Reused(family) => {
            tracing::warn!(user_id, "refresh token reused; session family revoked");
            metrics::counter!("refresh_token_reuse_total").increment(1);
            // Whoever holds the leaked token (or its victim) may hold access tokens of the session too. Should
            // Redis fail, the answer is 503 and presenting the token again retries: the family stays revoked.
            auth::revoke_sessions(ctx.auth_cache, ctx.keys.access_lifetime, &[family]).await?;
            Err(ApiError::unauthorized("Refresh token has been revoked."))
        }
        RefreshOutcome::Expired => Err(ApiError::unauthorized("Refresh token expired.")),
    }
}

/// Revokes every live refresh token of these login sessions.
async fn revoke_families(conn: &mut AsyncPgConnection, families: &[Uuid]) -> Result<usize, DieselError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq_any(families))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await
}

/// Ends the caller's session: the access token's session (`sid`) and the refresh token's family (only if it is the
/// caller's; normally the same session) are revoked, in the database for refreshing and in Redis for every access
/// token of them, and the presented access token is blacklisted for the rest of its life (the one mechanism
/// that also covers a token issued before sessions were tracked, which has no `sid`).
pub async fn logout(ctx: Accounts<'_>, caller: &AuthUser, refresh_token: &str) -> Result<(), ApiError> {
    let mut sessions: Vec<Uuid> = caller.token.claims.sid.into_iter().collect();
    if let Ok(claims) = ctx.keys.decode_refresh(refresh_token)
        && claims.common.user_id == Some(caller.id.get())
        && !sessions.contains(&claims.fam)
    {
        // The token is signed by us and names the caller, so its family is one of the caller's sessions.
        sessions.push(claims.fam);
    }
    if !sessions.is_empty() {
        let mut conn = db::conn(ctx.pool).await?;
        revoke_families(&mut conn, &sessions).await?;
    }
    let failed = |err| match err {
        ApiError::Unavailable(_) => ApiError::service_unavailable("Failed to logout. Try again."),
        other => other,
    };
    auth::revoke_sessions(ctx.auth_cache, ctx.keys.access_lifetime, &sessions).await.map_err(failed)?;
    auth::blacklist(ctx.auth_cache, &caller.token).await.map_err(failed)
}
