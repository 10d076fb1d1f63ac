//! Videos: the upload limit and signed stream URLs (api), and the media workers' encoding (worker).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, DAY, HOUR, Validate, not_blank, number, positive, seconds};

fn default_video_max_bytes() -> u64 {
    4 * 1024 * 1024 * 1024
}
fn default_ffprobe() -> String {
    "ffprobe".into()
}
fn default_ffmpeg() -> String {
    "ffmpeg".into()
}
fn default_work_dir() -> PathBuf {
    std::env::temp_dir()
}

/// The api's side of videos.
#[derive(Debug, Clone, Deserialize)]
pub struct VideoSettings {
    /// Largest accepted video upload in bytes; every other route keeps `MAX_BODY_BYTES`.
    #[serde(default = "default_video_max_bytes")]
    pub video_max_bytes: u64,
    /// How long a signed stream URL plays.
    #[serde(default = "number::<21_600, _>")]
    pub stream_url_ttl_secs: u64,
    /// The `ffprobe` that checks uploads.
    #[serde(default = "default_ffprobe")]
    pub ffprobe_path: String,
    /// Where an upload is spooled while ffprobe checks it (streamed, never held in memory).
    #[serde(default = "default_work_dir")]
    pub video_upload_dir: PathBuf,
}

impl VideoSettings {
    pub fn stream_url_ttl(&self) -> Duration {
        Duration::from_secs(self.stream_url_ttl_secs)
    }
}

impl Validate for VideoSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        positive("VIDEO_MAX_BYTES", self.video_max_bytes)?;
        seconds("STREAM_URL_TTL_SECS", self.stream_url_ttl_secs, 7 * DAY)?;
        not_blank("FFPROBE_PATH", &self.ffprobe_path)
    }
}

/// The media workers' encoding.
#[derive(Debug, Clone, Deserialize)]
pub struct TranscodeSettings {
    /// The longest one encode may run; past it ffmpeg is killed and the version fails. Keep it under RabbitMQ's
    /// `consumer_timeout` (30 minutes by default), which closes the channel of a delivery held longer.
    #[serde(default = "number::<1_500, _>")]
    pub transcode_timeout_secs: u64,
    /// Encodes one media worker runs at once (its prefetch on the media queue).
    #[serde(default = "number::<1, _>")]
    pub transcode_concurrency: u16,
    /// HLS segment length in seconds (4 to 6).
    #[serde(default = "number::<4, _>")]
    pub hls_segment_secs: u32,
    #[serde(default = "default_ffmpeg")]
    pub ffmpeg_path: String,
    #[serde(default = "default_ffprobe")]
    pub ffprobe_path: String,
    /// Scratch space of encodes (the source and its renditions, removed after each job).
    #[serde(default = "default_work_dir")]
    pub transcode_work_dir: PathBuf,
    /// The api's `STREAM_URL_TTL_SECS`: a superseded version stays playable this long for the signed URLs already
    /// handed out, then the purge removes it.
    #[serde(default = "number::<21_600, _>")]
    pub stream_url_ttl_secs: u64,
}

impl TranscodeSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.transcode_timeout_secs)
    }
}

impl Validate for TranscodeSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        seconds("TRANSCODE_TIMEOUT_SECS", self.transcode_timeout_secs, 6 * HOUR)?;
        positive("TRANSCODE_CONCURRENCY", u64::from(self.transcode_concurrency))?;
        seconds("STREAM_URL_TTL_SECS", self.stream_url_ttl_secs, 7 * DAY)?;
        if !(4..=6).contains(&self.hls_segment_secs) {
            return Err(ConfigError::new("HLS_SEGMENT_SECS", "must be between 4 and 6"));
        }
        not_blank("FFMPEG_PATH", &self.ffmpeg_path)?;
        not_blank("FFPROBE_PATH", &self.ffprobe_path)
    }
}
