//! Reads the profile form from the request as it streams in: `multipart/form-data` (text fields and the avatar
//! file) or `application/x-www-form-urlencoded` (text fields only). The avatar is never held beyond
//! [`MAX_AVATAR_BYTES`]: past it the rest of the part is read and dropped, so the client still gets its answer.
//!
//! Only the request's shape is judged here (unknown or repeated fields, unparseable dates, undecodable text, NUL
//! characters), in the 422 list form; the field rules are the service's.

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use chrono::NaiveDate;
use serde_json::Value;

use super::avatar::MAX_AVATAR_BYTES;
use crate::error::{ApiError, FieldIssue};
use crate::extract::nul_issue;

/// Text fields are short by nature; this bounds what one may hold.
const MAX_TEXT_BYTES: usize = 64 * 1024;

const TEXT_FIELDS: [&str; 5] = ["first_name", "last_name", "gender", "date_of_birth", "info"];

/// The uploaded avatar part.
#[derive(Debug, Default)]
pub struct RawAvatar {
    /// The part's file name; the original refuses a file part without one.
    pub filename: Option<String>,
    /// The bytes, or `None` when the part was larger than [`MAX_AVATAR_BYTES`].
    pub content: Option<Vec<u8>>,
}

/// The form as sent, empty values already dropped (the original's framework treats them as absent).
#[derive(Debug, Default)]
pub struct RawForm {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub gender: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub info: Option<String>,
    pub avatar: Option<RawAvatar>,
}

#[derive(Default)]
struct Builder {
    form: RawForm,
    seen: Vec<String>,
    issues: Vec<FieldIssue>,
}

impl Builder {
    /// Records a field name, refusing unknown and repeated ones.
    fn accept(&mut self, name: &str, input: &Value) -> bool {
        let refusal = if !TEXT_FIELDS.contains(&name) && name != "avatar" {
            Some(("extra_forbidden", "Extra inputs are not permitted"))
        } else if self.seen.iter().any(|seen| seen == name) {
            Some(("value_error", "Value error, the field was sent more than once"))
        } else {
            None
        };
        if let Some((kind, msg)) = refusal {
            self.issues.push(FieldIssue::new(kind, &["body", name], msg, input.clone()));
            return false;
        }
        self.seen.push(name.to_owned());
        true
    }

    /// A text value for a field already [accepted](Self::accept).
    fn text(&mut self, name: &str, value: String) {
        let input = Value::String(value.clone());
        if name == "avatar" {
            self.issues.push(FieldIssue::new(
                "value_error",
                &["body", "avatar"],
                "Value error, Expected UploadFile, received: <class 'str'>",
                input,
            ));
            return;
        }
        if value.is_empty() {
            return;
        }
        if value.contains('\0') {
            // What the JSON extractors refuse too: PostgreSQL text cannot hold it.
            self.issues.push(nul_issue(vec![Value::from("body"), Value::from(name)], &value));
            return;
        }
        match name {
            "first_name" => self.form.first_name = Some(value),
            "last_name" => self.form.last_name = Some(value),
            "gender" => self.form.gender = Some(value),
            "info" => self.form.info = Some(value),
            "date_of_birth" => match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
                Ok(date) if value.len() == 10 => self.form.date_of_birth = Some(date),
                _ => self.issues.push(FieldIssue::new(
                    "date_from_datetime_parsing",
                    &["body", "date_of_birth"],
                    "Input should be a valid date in the format YYYY-MM-DD",
                    input,
                )),
            },
            _ => {}
        }
    }

    fn finish(self) -> Result<RawForm, ApiError> {
        if self.issues.is_empty() { Ok(self.form) } else { Err(ApiError::Validation(self.issues)) }
    }
}

fn content_type_issue(content_type: &str) -> ApiError {
    ApiError::validation(FieldIssue::new(
        "model_attributes_type",
        &["body"],
        "Input should be a multipart/form-data or application/x-www-form-urlencoded form",
        Value::String(content_type.to_owned()),
    ))
}

/// The original's answer to a body it cannot parse as a form.
fn unparsable() -> ApiError {
    ApiError::bad_request("There was an error parsing the body")
}

fn too_large() -> ApiError {
    ApiError::status(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large.")
}

fn body_error(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { unparsable() }
}

/// Whether the request body limit cut the stream (the error may be wrapped several times on its way here).
fn hit_body_limit(err: &MultipartError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

fn multipart_error(err: MultipartError) -> ApiError {
    tracing::debug!(error = %err, "unparsable multipart body");
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE || hit_body_limit(&err) { too_large() } else { unparsable() }
}

/// Reads the profile form of `request`.
pub async fn read(request: Request) -> Result<RawForm, ApiError> {
    let content_type =
        request.headers().get(CONTENT_TYPE).map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let essence =
        content_type.as_deref().map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("multipart/form-data") => {
            let multipart = Multipart::from_request(request, &()).await.map_err(|rejection| {
                tracing::debug!(error = %rejection, "multipart body without a usable boundary");
                unparsable()
            })?;
            read_multipart(multipart).await
        }
        Some("application/x-www-form-urlencoded") => {
            let bytes = Bytes::from_request(request, &()).await.map_err(body_error)?;
            let mut builder = Builder::default();
            for (name, value) in form_urlencoded::parse(&bytes) {
                if builder.accept(&name, &Value::String(value.to_string())) {
                    builder.text(&name, value.into_owned());
                }
            }
            builder.finish()
        }
        // No form at all: every field is optional, so this is an empty form (what the original makes of it).
        None => {
            let bytes = Bytes::from_request(request, &()).await.map_err(body_error)?;
            if bytes.is_empty() { Ok(RawForm::default()) } else { Err(content_type_issue("")) }
        }
        Some(_) => Err(content_type_issue(content_type.as_deref().unwrap_or_default())),
    }
}

async fn read_multipart(mut multipart: Multipart) -> Result<RawForm, ApiError> {
    let mut builder = Builder::default();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        if !builder.accept(&name, &Value::String(filename.clone().unwrap_or_default())) {
            // Drained, so the client still reads the answer; other problems are reported with this one.
            while field.chunk().await.map_err(multipart_error)?.is_some() {}
            continue;
        }
        if name == "avatar" && (filename.is_some() || field.content_type().is_some()) {
            let mut content = Some(Vec::new());
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                // Past the limit the rest is drained, not kept: memory stays bounded whatever the client sends.
                if let Some(bytes) = content.as_mut() {
                    if bytes.len().saturating_add(chunk.len()) > MAX_AVATAR_BYTES {
                        content = None;
                    } else {
                        bytes.extend_from_slice(&chunk);
                    }
                }
            }
            builder.form.avatar = Some(RawAvatar { filename, content });
            continue;
        }
        let mut bytes = Vec::new();
        let mut oversized = false;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if bytes.len().saturating_add(chunk.len()) > MAX_TEXT_BYTES {
                oversized = true;
            } else if !oversized {
                bytes.extend_from_slice(&chunk);
            }
        }
        if oversized {
            builder.issues.push(FieldIssue::new(
                "string_too_long",
                &["body", &name],
                format!("String should have at most {MAX_TEXT_BYTES} characters"),
                Value::Null,
            ));
            continue;
        }
        match String::from_utf8(bytes) {
            Ok(value) => builder.text(&name, value),
            Err(_) => builder.issues.push(FieldIssue::new(
                "string_unicode",
                &["body", &name],
                "Input should be a valid string, unable to parse raw data as a unicode string",
                Value::Null,
            )),
        }
    }
    builder.finish()
}
