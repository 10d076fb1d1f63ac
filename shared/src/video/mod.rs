//! Videos: what `ffprobe` says of an upload ([`probe`]), the HLS ladder fitted to a source ([`ladder`]), the
//! `ffmpeg` run that encodes it ([`encode`]), and where a version's files live in storage ([`keys`]).
//!
//! ffmpeg and ffprobe run as child processes on tokio's process driver, so a long encode never holds a runtime
//! thread; each run has a deadline and is killed when it passes (or when its future is dropped).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};

crate::text_enum! {
    /// Where a video version is: queued for a media worker, being encoded, playable, or given up with a reason.
    pub enum VideoStatus {
        Queued = "queued",
        Processing = "processing",
        Ready = "ready",
        Failed = "failed",
    }
}

/// One rung of the ladder as encoded: its folder name (`720p`), size and peak bandwidth in bits/s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bandwidth: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// The file is not a video we can encode (the reason is for the uploader).
    #[error("{0}")]
    Unusable(String),
    /// ffmpeg or ffprobe could not be started (not installed, wrong path).
    #[error("could not run {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{program} did not finish within {seconds} s")]
    TimedOut { program: String, seconds: u64 },
}

/// What the encoder needs to know of a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub format: String,
    pub duration_seconds: f64,
    pub width: u32,
    pub height: u32,
    pub video_codec: String,
    pub has_audio: bool,
}

/// Containers accepted as uploads, by ffprobe's format names (it lists several per demuxer: `mov,mp4,m4a,...`).
const CONTAINERS: [&str; 9] = ["mov", "mp4", "matroska", "webm", "avi", "mpegts", "flv", "ogg", "mpeg"];

#[derive(Deserialize)]
struct ProbeOutput {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(Deserialize)]
struct ProbeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
}

#[derive(Deserialize)]
struct ProbeFormat {
    format_name: Option<String>,
    duration: Option<String>,
}

/// Runs `ffprobe` on `path` within `timeout`: `Unusable` with the reason when the file is not a video container
/// with a decodable video stream and a duration (a still image, audio only, text, a truncated file).
pub async fn probe(ffprobe: &str, path: &Path, timeout: Duration) -> Result<Probe, VideoError> {
    let mut command = tokio::process::Command::new(ffprobe);
    command.args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"]).arg(path);
    let output = run(command, ffprobe, timeout).await?;
    if !output.status.success() {
        let reason = String::from_utf8_lossy(&output.stderr);
        return Err(VideoError::Unusable(format!("not a readable video: {}", last_line(&reason))));
    }
    parse_probe(&output.stdout)
}

fn parse_probe(json: &[u8]) -> Result<Probe, VideoError> {
    let unusable = |reason: &str| VideoError::Unusable(reason.to_owned());
    let output: ProbeOutput = serde_json::from_slice(json).map_err(|_| unusable("not a readable video"))?;
    let format = output.format.ok_or_else(|| unusable("not a readable video: no container found"))?;
    let format_name = format.format_name.unwrap_or_default();
    if !format_name.split(',').any(|name| CONTAINERS.contains(&name)) {
        return Err(VideoError::Unusable(format!(
            "unsupported container {format_name:?}; upload MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV or Ogg"
        )));
    }
    let video = output
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && s.width.unwrap_or(0) > 0 && s.height.unwrap_or(0) > 0)
        .ok_or_else(|| unusable("the file has no video stream"))?;
    let duration = format.duration.and_then(|d| d.parse::<f64>().ok()).filter(|d| d.is_finite() && *d > 0.0);
    let duration_seconds = duration.ok_or_else(|| unusable("the video has no duration"))?;
    Ok(Probe {
        format: format_name,
        duration_seconds,
        width: video.width.unwrap_or(0),
        height: video.height.unwrap_or(0),
        video_codec: video.codec_name.clone().unwrap_or_default(),
        has_audio: output.streams.iter().any(|s| s.codec_type.as_deref() == Some("audio")),
    })
}

/// The rungs: height and video bit rate. Common streaming ladders use about these rates for H.264.
const RUNGS: [(u32, u32); 4] = [(240, 400_000), (480, 1_000_000), (720, 2_800_000), (1080, 5_000_000)];
/// The audio bit rate of every rendition.
const AUDIO_BITRATE: u32 = 128_000;

/// The ladder for a source: every rung not taller than the source (never upscaled); a source shorter than the
/// lowest rung gets one rendition at its own size. Widths keep the aspect ratio, rounded to even numbers as
/// H.264's 4:2:0 needs.
pub fn ladder(source: &Probe) -> Vec<Rendition> {
    let even = |value: f64| ((value / 2.0).round() as u32).max(1) * 2;
    let rung = |height: u32, bitrate: u32| {
        let width = even(f64::from(source.width) * f64::from(height) / f64::from(source.height.max(1)));
        let audio = if source.has_audio { AUDIO_BITRATE } else { 0 };
        Rendition { name: format!("{height}p"), width, height, bandwidth: bitrate + audio }
    };
    let rungs: Vec<Rendition> =
        RUNGS.iter().filter(|(height, _)| *height <= source.height).map(|(h, rate)| rung(*h, *rate)).collect();
    if rungs.is_empty() { vec![rung(even(f64::from(source.height)), RUNGS[0].1)] } else { rungs }
}

/// The ffmpeg arguments that encode `source` into `out`: one H.264/AAC HLS rendition per rung under
/// `out/<name>/` (`index.m3u8`, `seg_00000.ts`, ...) and `out/master.m3u8`. Key frames are forced every segment so
/// every rendition cuts at the same instants and players can switch between them.
pub fn encode_args(source: &Path, out: &Path, probe: &Probe, ladder: &[Rendition], segment_secs: u32) -> Vec<String> {
    // `-xerror`: a source that does not decode cleanly fails the encode, rather than becoming a film that stops
    // or stutters half-way.
    let mut args: Vec<String> =
        ["-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-xerror", "-i"].map(String::from).to_vec();
    args.push(source.to_string_lossy().into_owned());
    let splits: String = (0..ladder.len()).map(|i| format!("[s{i}]")).collect();
    let mut filter = format!("[0:v]split={}{splits}", ladder.len());
    for (i, rendition) in ladder.iter().enumerate() {
        filter.push_str(&format!(";[s{i}]scale={}:{}[v{i}]", rendition.width, rendition.height));
    }
    args.extend(["-filter_complex".to_owned(), filter]);
    for (i, rendition) in ladder.iter().enumerate() {
        args.extend(["-map".to_owned(), format!("[v{i}]")]);
        if probe.has_audio {
            args.extend(["-map".to_owned(), "0:a:0".to_owned()]);
        }
        let video = rendition.bandwidth - if probe.has_audio { AUDIO_BITRATE } else { 0 };
        args.extend([format!("-b:v:{i}"), video.to_string(), format!("-maxrate:v:{i}"), (video / 20 * 21).to_string()]);
        args.extend([format!("-bufsize:v:{i}"), (video / 2 * 3).to_string()]);
    }
    args.extend(
        ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p", "-sc_threshold", "0"]
            .map(String::from),
    );
    args.extend(["-force_key_frames".to_owned(), format!("expr:gte(t,n_forced*{segment_secs})")]);
    if probe.has_audio {
        args.extend(["-c:a", "aac", "-ac", "2", "-b:a"].map(String::from));
        args.push(AUDIO_BITRATE.to_string());
    }
    let streams: Vec<String> =
        ladder
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if probe.has_audio { format!("v:{i},a:{i},name:{}", r.name) } else { format!("v:{i},name:{}", r.name) }
            })
            .collect();
    args.extend(["-f", "hls", "-hls_playlist_type", "vod", "-hls_flags", "independent_segments"].map(String::from));
    args.extend([
        "-hls_time".to_owned(),
        segment_secs.to_string(),
        "-master_pl_name".to_owned(),
        "master.m3u8".to_owned(),
    ]);
    args.extend(["-hls_segment_filename".to_owned(), out.join("%v/seg_%05d.ts").to_string_lossy().into_owned()]);
    args.extend(["-var_stream_map".to_owned(), streams.join(" ")]);
    args.push(out.join("%v/index.m3u8").to_string_lossy().into_owned());
    args
}

/// Runs ffmpeg with `args` within `timeout`; `Unusable` with ffmpeg's last words when it fails (the source did not
/// decode, or decoded into nothing).
pub async fn encode(ffmpeg: &str, args: &[String], timeout: Duration) -> Result<(), VideoError> {
    let mut command = tokio::process::Command::new(ffmpeg);
    command.args(args);
    let output = run(command, ffmpeg, timeout).await?;
    if output.status.success() {
        return Ok(());
    }
    let reason = String::from_utf8_lossy(&output.stderr);
    Err(VideoError::Unusable(format!("ffmpeg could not encode the video: {}", last_line(&reason))))
}

async fn run(
    mut command: tokio::process::Command,
    program: &str,
    timeout: Duration,
) -> Result<std::process::Output, VideoError> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = command.spawn().map_err(|source| VideoError::Spawn { program: program.to_owned(), source })?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(source)) => Err(VideoError::Spawn { program: program.to_owned(), source }),
        // Dropping the future drops the child, which `kill_on_drop` kills.
        Err(_) => Err(VideoError::TimedOut { program: program.to_owned(), seconds: timeout.as_secs() }),
    }
}

/// The last non-empty line of a tool's error output, bounded: the part that names the problem.
fn last_line(text: &str) -> String {
    let line = text.lines().rev().map(str::trim).find(|line| !line.is_empty()).unwrap_or("no details");
    line.chars().take(300).collect()
}

/// Storage keys of videos. Renditions are keyed by the movie's uuid, so that serving a segment needs no database
/// read, and by version, so that a replacement never overwrites what players are reading.
pub mod keys {
    use uuid::Uuid;

    /// An uploaded file, under a name of its own (the version's id does not exist yet when it is stored).
    pub fn source(movie: Uuid, upload: Uuid) -> String {
        format!("videos/{}/sources/{}", movie.simple(), upload.simple())
    }

    /// The folder of a version's renditions (`master.m3u8`, `<rendition>/index.m3u8`, segments).
    pub fn renditions(movie: Uuid, version: i32) -> String {
        format!("videos/{}/v{version}", movie.simple())
    }

    /// Every object of every version of a movie.
    pub fn movie(movie: Uuid) -> String {
        format!("videos/{}", movie.simple())
    }

    /// Whether `file` is a name the encoder writes in a version's folder (anything else is refused before the
    /// store is asked): `master.m3u8`, `<n>p/index.m3u8` or `<n>p/seg_<5 digits>.ts`.
    pub fn is_rendition_file(file: &str) -> bool {
        if file == "master.m3u8" {
            return true;
        }
        let Some((folder, name)) = file.split_once('/') else { return false };
        let rendition = folder
            .strip_suffix('p')
            .is_some_and(|n| (1..=4).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
        let segment = name
            .strip_prefix("seg_")
            .and_then(|rest| rest.strip_suffix(".ts"))
            .is_some_and(|n| n.len() == 5 && n.bytes().all(|b| b.is_ascii_digit()));
        rendition && (name == "index.m3u8" || segment)
    }
}

#[cfg(test)]
mod tests;
