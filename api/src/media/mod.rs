//! Uploaded media: the public route that serves avatars from the store ([`shared::storage`], a local folder or
//! an S3 bucket) at a stable URL, `GET /media/avatars/{file}`, and how stored objects are served ([`serve`]).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

pub mod serve;

pub use shared::storage::{Storage, StorageError};

/// The image formats the api stores, by the extension of their keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredFormat {
    Png,
    Jpeg,
}

impl StoredFormat {
    pub fn extension(self) -> &'static str {
        match self {
            StoredFormat::Png => "png",
            StoredFormat::Jpeg => "jpg",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            StoredFormat::Png => "image/png",
            StoredFormat::Jpeg => "image/jpeg",
        }
    }

    fn from_extension(extension: &str) -> Option<Self> {
        match extension {
            "png" => Some(StoredFormat::Png),
            "jpg" => Some(StoredFormat::Jpeg),
            _ => None,
        }
    }
}

/// The key of the thumbnail stored beside an avatar.
pub fn thumbnail_key(avatar_key: &str) -> String {
    match avatar_key.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}_thumb.{extension}"),
        None => format!("{avatar_key}_thumb"),
    }
}

/// The format of an avatar file name the api could have generated (`user_<id>_<32 hex>[_thumb].<png|jpg>`);
/// anything else, traversal attempts included, is refused before the store is touched.
fn avatar_file_format(file: &str) -> Option<StoredFormat> {
    let (stem, extension) = file.rsplit_once('.')?;
    let format = StoredFormat::from_extension(extension)?;
    let stem = stem.strip_suffix("_thumb").unwrap_or(stem);
    let rest = stem.strip_prefix("user_")?;
    let (id, hex) = rest.split_once('_')?;
    let valid = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && hex.len() == 32
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    valid.then_some(format)
}

/// An avatar or its thumbnail. File names are unguessable and never reused, so the answer may be cached forever
/// (`ETag`, `If-None-Match`, byte ranges). With `STORAGE_DELIVERY=presigned` the answer is a redirect to a
/// short-lived URL of the bucket.
#[utoipa::path(get, path = "/media/avatars/{file}", tag = "profiles",
    params(("file" = String, Path, description = "File name from a profile's `avatar` or `avatar_thumbnail` URL")),
    responses(
        (status = 200, description = "The image", content(("image/png"), ("image/jpeg"))),
        (status = 206, description = "The requested byte range of the image", content(("image/png"), ("image/jpeg"))),
        (status = 304, description = "Not modified (`If-None-Match` matched the `ETag`)"),
        (status = 307, description = "Redirect to a presigned URL of the bucket (`STORAGE_DELIVERY=presigned`)"),
        (status = 404, description = "`Not Found`", body = ErrorBody),
        (status = 416, description = "`Range Not Satisfiable`", body = ErrorBody),
        (status = 503, description = "The media store is unreachable", body = ErrorBody),
    )
)]
pub async fn avatar(
    State(state): State<AppState>,
    headers: HeaderMap,
    file: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let not_found = || ApiError::status(StatusCode::NOT_FOUND, "Not Found");
    // A name that does not even decode (bad percent-encoding) names no file either.
    let Path(file) = file.map_err(|_| not_found())?;
    let format = avatar_file_format(&file).ok_or_else(not_found)?;
    let key = format!("avatars/{file}");
    serve::object(&state, &key, &headers, format.content_type(), serve::Caching::Immutable, not_found).await
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(avatar))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_generated_avatar_names_are_served() {
        let hex = "0123456789abcdef0123456789abcdef";
        assert_eq!(avatar_file_format(&format!("user_7_{hex}.png")), Some(StoredFormat::Png));
        assert_eq!(avatar_file_format(&format!("user_7_{hex}_thumb.jpg")), Some(StoredFormat::Jpeg));
        for bad in [
            format!("user_7_{hex}.gif"),
            format!("user__{hex}.png"),
            format!("user_7_{}.png", &hex[1..]),
            format!("../user_7_{hex}.png"),
            format!("user_7_{}.png", hex.to_uppercase()),
            "..".to_owned(),
            String::new(),
        ] {
            assert_eq!(avatar_file_format(&bad), None, "{bad}");
        }
        assert_eq!(thumbnail_key("avatars/user_1_ab.png"), "avatars/user_1_ab_thumb.png");
    }
}
