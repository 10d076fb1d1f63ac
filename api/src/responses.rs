//! Response sets that many `#[utoipa::path]` annotations share, written once: `responses(..., Unauthorized, ...)`
//! documents the same answer as the tuple it replaces. The descriptions stay as each domain wrote them, so the
//! OpenAPI document is unchanged. An answer that only one endpoint gives stays in its annotation, and the answers
//! that `docs::complete` adds to every endpoint of a kind (the bearer's 401 and `Inactive user.` 403, the 408, ...)
//! are not written in any.

use utoipa::IntoResponses;

use crate::error::{ErrorBody, ValidationErrorBody};

/// One documented answer: its status, description and body schema.
macro_rules! response {
    ($(#[$doc:meta])* $name:ident: $status:tt, $description:tt, $body:ty) => {
        $(#[$doc])*
        #[derive(IntoResponses)]
        #[response(status = $status, description = $description)]
        pub struct $name(#[allow(dead_code, reason = "documentation only")] $body);
    };
}

response!(
    /// 401 of an endpoint that requires an access token.
    Unauthorized: 401, "Missing, malformed, expired or revoked access token", ErrorBody
);
response!(
    /// 401 of an endpoint that requires an access token (the orders' and payments' wording).
    InvalidAccessToken: 401, "Missing or invalid access token", ErrorBody
);

response!(InvalidOrExpiredToken: 400, "`Invalid or expired token`", ErrorBody);

response!(InactiveUser: 403, "`Inactive user.`", ErrorBody);
response!(ModeratorRequired: 403, "`Access denied. Moderator or admin required.`", ErrorBody);
response!(AdminRequired: 403, "`Access denied. Admin privileges required.`", ErrorBody);
response!(AdminRequiredOrInactive: 403, "`Access denied. Admin privileges required.` or `Inactive user.`", ErrorBody);

response!(MovieNotFound: 404, "`Movie with the given ID was not found.`", ErrorBody);
response!(MovieOrCommentNotFound: 404, "`Movie with the given ID was not found.` or `Comment not found.`", ErrorBody);
response!(GenreNotFound: 404, "`Genre with the given ID was not found.`", ErrorBody);
response!(UserIdNotFound: 404, "`User with given ID was not found.`", ErrorBody);
response!(UserEmailNotFound: 404, "`User with given email {email} not found.`", ErrorBody);
response!(ProfileNotFound: 404, "`Profile with given user ID was not found.`", ErrorBody);
response!(OrderNotFound: 404, "`Order with given ID was not found.`", ErrorBody);

response!(BodyTooLarge: 413, "Request body over the server's limit", ErrorBody);
response!(TooManyFromAddress: 429, "Too many requests from this address (`Retry-After`)", ErrorBody);

response!(MalformedUuid: 422, "Malformed uuid", ValidationErrorBody);
response!(MalformedId: 422, "Malformed id", ValidationErrorBody);
response!(MalformedIdOrName: 422, "Malformed id or name", ValidationErrorBody);
response!(MalformedPath: 422, "Malformed path", ValidationErrorBody);
response!(MalformedPagination: 422, "Malformed pagination", ValidationErrorBody);
response!(MalformedFiltersOrPagination: 422, "Malformed filters or pagination", ValidationErrorBody);
response!(NotAnInteger: 422, "Not an integer", ValidationErrorBody);
response!(NonIntegerUserId: 422, "Non-integer `user_id`", ValidationErrorBody);
response!(InvalidPagination: 422, "Invalid pagination", ValidationErrorBody);
response!(InvalidPaginationOrUserId: 422, "Invalid pagination or user id", ValidationErrorBody);
response!(InvalidEmail: 422, "Invalid email", ValidationErrorBody);
response!(InvalidEmailOrPassword: 422, "Invalid email or password rules", ValidationErrorBody);
response!(InvalidName: 422, "Name missing, blank or longer than 100 characters", ValidationErrorBody);
