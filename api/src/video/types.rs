//! Request and response bodies of videos.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::video::Rendition;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where a movie's video is: `none` (never uploaded), then the newest upload's status. `duration_seconds` and
/// `renditions` describe the version that plays now, which during a replacement is the previous one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VideoState {
    #[schema(example = "ready")]
    pub status: &'static str,
    pub duration_seconds: Option<f64>,
    #[schema(value_type = Vec<RenditionDoc>)]
    pub renditions: Vec<Rendition>,
    /// Why the newest upload failed.
    pub error: Option<String>,
}

/// One HLS rendition (documentation of [`Rendition`]).
#[derive(ToSchema)]
#[schema(as = Rendition)]
pub struct RenditionDoc {
    #[schema(example = "720p")]
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Peak bits per second, audio included.
    pub bandwidth: u32,
}

/// The answer to an upload: the version it created, queued for encoding.
#[derive(Debug, Serialize, ToSchema)]
pub struct VideoUploaded {
    pub version: i32,
    #[schema(example = "queued")]
    pub status: &'static str,
    pub source_bytes: i64,
    pub duration_seconds: f64,
    #[schema(example = "1920x1080")]
    pub resolution: String,
}

/// A signed playback URL: give it to any HLS player, no Authorization header needed.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamLink {
    /// The master playlist.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub duration_seconds: Option<f64>,
    #[schema(value_type = Vec<RenditionDoc>)]
    pub renditions: Vec<Rendition>,
    /// Where the caller stopped last time, if anywhere.
    pub position_seconds: Option<f64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressBody {
    /// Seconds from the start, 0 to 86400.
    pub position_seconds: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub movie_uuid: Uuid,
    pub position_seconds: f64,
    pub updated_at: DateTime<Utc>,
}

/// The multipart form of an upload (documentation only: the handler streams it).
#[derive(ToSchema)]
pub struct VideoForm {
    /// The video file (MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV or Ogg), at most `VIDEO_MAX_BYTES`.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

impl crate::extract::Validate for ProgressBody {
    type Valid = f64;
    fn validate(self) -> Result<f64, Vec<crate::error::FieldIssue>> {
        let position = self.position_seconds;
        if position.is_finite() && (0.0..=86_400.0).contains(&position) {
            return Ok(position);
        }
        Err(vec![crate::error::FieldIssue::value_error(
            &["body", "position_seconds"],
            "position_seconds must be between 0 and 86400",
            serde_json::json!(position),
        )])
    }
}
