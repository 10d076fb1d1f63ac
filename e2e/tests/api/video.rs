//! Videos end to end on real services: a clip made by ffmpeg is uploaded, encoded by the worker into HLS, and
//! played through signed URLs: every segment served and decodable by ffprobe, the access rules (non-owner,
//! refunded owner, tampered and expired signatures), progress, an unusable upload, removal, and a real player
//! (hls.js in headless Chromium, `deploy/player/play.mjs`) when the test command provides it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use shared::storage::Storage;

use crate::catalog::{create_movie, movie_body, send};
use crate::commerce::{completed, order_of, send_webhook};
use crate::support::{Options, TestApp, json as body_of};

const BOUNDARY: &str = "video-test-boundary";

/// A clip of `seconds` with a test picture and a tone, made by ffmpeg the way the issue asks.
fn clip(dir: &Path, seconds: u32) -> PathBuf {
    clip_sized(dir, seconds, "640x360")
}

fn clip_sized(dir: &Path, seconds: u32, size: &str) -> PathBuf {
    let path = dir.join(format!("clip-{size}-{seconds}.mp4"));
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc=size={size}:rate=25"),
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440", "-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart"])
        .arg(&path)
        .status()
        .expect("ffmpeg must be installed (deploy/test.sh installs Debian's package)");
    assert!(status.success());
    path
}

fn form(bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.mp4\"\r\n\
         Content-Type: video/mp4\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(app: &TestApp, token: &str, movie: &str, bytes: &[u8]) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/movies/{movie}/video/")))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(form(bytes))
        .send()
        .await
        .unwrap();
    body_of(response).await
}

/// Polls the movie's video until `status`, for at most two minutes.
async fn wait_for(app: &TestApp, movie: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (code, video) = body_of(app.get(&format!("/movies/{movie}/video/")).await).await;
        assert_eq!(code, 200, "{video}");
        if video["status"] == status {
            return video;
        }
        assert!(tokio::time::Instant::now() < deadline, "the video never became {status}: {video}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn local_path(url: &str) -> String {
    url.strip_prefix("http://cinema.test").unwrap_or_else(|| panic!("not under APP_URL: {url}")).to_owned()
}

/// The URIs a playlist lists (its non-comment lines).
fn entries(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

async fn fetch(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_clip_is_encoded_and_played_through_signed_urls() {
    encoded_and_played(Options::with_worker()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_s3_storage_the_same_clip_is_stored_in_the_bucket_and_played_from_it() {
    let storage = crate::support::s3_storage(None).await;
    encoded_and_played(Options { storage: Some(storage), ..Options::with_worker() }).await;
}

async fn encoded_and_played(options: Options) {
    let app = TestApp::spawn_with(options).await;
    let scratch = std::env::temp_dir().join(format!("{}-clip", app.namespace.prefix));
    std::fs::create_dir_all(&scratch).unwrap();
    let clip = std::fs::read(clip(&scratch, 6)).unwrap();
    let (_, user) = app.user_with_token("viewer@example.com", 2).await;
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let movie = create_movie(&app, &moderator, movie_body("Rivers")).await;
    let uuid = movie["uuid"].as_str().unwrap().to_owned();

    let (status, none) = body_of(app.get(&format!("/movies/{uuid}/video/")).await).await;
    assert_eq!((status, none["status"].clone()), (200, json!("none")));
    // The detail (kept rendered) shows the video too, and hears of its changes from the worker.
    let (status, detail) = send(&app, "GET", &format!("/movies/{uuid}/"), Some(&user), None).await;
    assert_eq!((status, detail["video"]["status"].clone()), (200, json!("none")), "{detail}");
    let (_, list) = body_of(app.get("/movies/").await).await;
    assert!(list["movies"][0].get("video").is_none(), "list items leave the video out: {list}");
    let (status, body) = upload(&app, &user, &uuid, &clip).await;
    assert_eq!(status, 403, "only staff upload: {body}");
    let (status, body) = upload(&app, &moderator, &uuid, b"this is not a video at all").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "file"]), "{body}");
    assert!(body["detail"][0]["msg"].as_str().unwrap().starts_with("Value error, Not a usable video"), "{body}");

    let (status, uploaded) = upload(&app, &moderator, &uuid, &clip).await;
    assert_eq!(status, 202, "{uploaded}");
    assert_eq!((uploaded["status"].clone(), uploaded["resolution"].clone()), (json!("queued"), json!("640x360")));
    let ready = wait_for(&app, &uuid, "ready").await;
    assert_eq!(ready["renditions"].as_array().unwrap().len(), 1, "360p source: only the 240p rung, never upscaled");
    assert_eq!(ready["renditions"][0]["name"], "240p");
    assert!((ready["duration_seconds"].as_f64().unwrap() - 6.0).abs() < 0.5, "{ready}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, detail) = send(&app, "GET", &format!("/movies/{uuid}/"), Some(&user), None).await;
        if detail["video"]["status"] == "ready" {
            assert_eq!(detail["video"]["renditions"][0]["name"], "240p", "{detail}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the kept detail never showed the ready video: {detail}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sources = shared::storage::open(&app.config.storage, "http://cinema.test").unwrap();
    assert!(sources.list(&format!("videos/{}/sources", uuid.replace('-', ""))).await.unwrap().is_empty());

    // A buyer who is not staff needs the purchase.
    let (status, body) = send(&app, "GET", &format!("/movies/{uuid}/stream/"), Some(&user), None).await;
    assert_eq!((status, body["detail"].clone()), (403, json!("Purchase the movie to watch it.")));
    let (status, _) =
        send(&app, "PUT", &format!("/movies/{uuid}/progress/"), Some(&user), Some(json!({"position_seconds": 3})))
            .await;
    assert_eq!(status, 403);
    // Bought through the api: the order, then Stripe's webhook.
    let order = order_of(&app, &user, &[&uuid]).await;
    assert_eq!(send_webhook(&app, &completed("evt_video_paid", order, "pi_video", 999)).await.0, 200);
    let (status, saved) =
        send(&app, "PUT", &format!("/movies/{uuid}/progress/"), Some(&user), Some(json!({"position_seconds": 3.5})))
            .await;
    assert_eq!((status, saved["position_seconds"].clone()), (200, json!(3.5)), "{saved}");
    let (status, bad) =
        send(&app, "PUT", &format!("/movies/{uuid}/progress/"), Some(&user), Some(json!({"position_seconds": -1})))
            .await;
    assert_eq!(status, 422, "{bad}");

    let (status, link) = send(&app, "GET", &format!("/movies/{uuid}/stream/"), Some(&user), None).await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["position_seconds"], 3.5);
    let master_url = local_path(link["url"].as_str().unwrap());
    let master = fetch(&app, &master_url).await;
    assert_eq!(master.status(), 200);
    assert_eq!(master.headers()["content-type"], "application/vnd.apple.mpegurl");
    assert_eq!(master.headers()["access-control-allow-origin"], "*");
    let master = master.text().await.unwrap();
    assert!(master.starts_with("#EXTM3U") && master.contains("RESOLUTION=426x240"), "{master}");
    let base = master_url.trim_end_matches("master.m3u8").to_owned();
    let mut segments = 0;
    for rendition in entries(&master) {
        let playlist = fetch(&app, &format!("{base}{rendition}")).await.text().await.unwrap();
        let folder = rendition.trim_end_matches("index.m3u8");
        for segment in entries(&playlist) {
            let response = fetch(&app, &format!("{base}{folder}{segment}")).await;
            assert_eq!(response.status(), 200, "{segment}");
            assert_eq!(response.headers()["content-type"], "video/mp2t");
            let file = scratch.join(format!("segment-{segments}.ts"));
            std::fs::write(&file, response.bytes().await.unwrap()).unwrap();
            let probe = Command::new("ffprobe").args(["-v", "error", "-show_streams"]).arg(&file).output().unwrap();
            assert!(probe.status.success(), "segment {segment} does not decode");
            assert!(String::from_utf8_lossy(&probe.stdout).contains("codec_name=h264"));
            segments += 1;
        }
        let first = format!("{base}{folder}{}", entries(&playlist)[0]);
        let part = app.client.get(app.url(&first)).header("range", "bytes=0-187").send().await.unwrap();
        assert_eq!((part.status().as_u16(), part.bytes().await.unwrap().len()), (206, 188));
    }
    assert!(segments >= 2, "a 6 s clip in 4 s segments");

    // Signatures: tampered, for another user, or expired, all refused before the store is asked.
    let parts: Vec<&str> = master_url.split('/').collect();
    let (version, user_part, expires, signature) = (parts[3], parts[4], parts[5], parts[6]);
    let tampered = master_url.replace(signature, &"0".repeat(64));
    let other_user = master_url.replacen(&format!("/{user_part}/"), "/999999/", 1);
    let past = master_url.replacen(&format!("/{expires}/"), "/1000/", 1);
    let other_version = master_url.replacen(&format!("/{version}/"), "/v999999/", 1);
    for url in [tampered, other_user, past, other_version] {
        let (status, body) = body_of(fetch(&app, &url).await).await;
        assert_eq!((status, body["detail"].clone()), (403, json!("Invalid or expired stream signature.")), "{url}");
    }
    assert_eq!(fetch(&app, &format!("{base}..%2F..%2Fetc%2Fpasswd")).await.status(), 404);

    if let Ok(player) = std::env::var("PLAYER_SCRIPT") {
        // The api's real address instead of APP_URL's host, so the browser reaches it.
        let url = format!("{}{master_url}", app.base);
        let node = std::env::var("PLAYER_NODE").unwrap_or_else(|_| "node".to_owned());
        let output = tokio::process::Command::new(node)
            .arg(&player)
            .arg(&url)
            .args(["--seconds", "2", "--timeout", "60"])
            .output()
            .await
            .unwrap();
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "the player failed: {printed} {}", String::from_utf8_lossy(&output.stderr));
        let result: Value = serde_json::from_str(printed.lines().last().unwrap_or_default()).unwrap();
        assert!(result["currentTime"].as_f64().unwrap() >= 2.0, "{result}");
    } else {
        eprintln!("PLAYER_SCRIPT is not set: the headless-Chromium check runs under deploy/test.sh");
    }

    // A refund (Stripe's event for the charge removes the purchase) ends access for new signatures.
    let refund = json!({"id": "evt_video_refunded", "type": "charge.refunded",
        "data": {"object": {"payment_intent": "pi_video", "refunded": true}}});
    assert_eq!(send_webhook(&app, &refund).await.0, 200);
    let (status, _) = send(&app, "GET", &format!("/movies/{uuid}/stream/"), Some(&user), None).await;
    assert_eq!(status, 403);

    let (status, _) = send(&app, "DELETE", &format!("/movies/{uuid}/video/"), Some(&moderator), None).await;
    assert_eq!(status, 204);
    wait_for(&app, &uuid, "none").await;
    assert!(sources.list(&format!("videos/{}", uuid.replace('-', ""))).await.unwrap().is_empty());
    assert_eq!(fetch(&app, &master_url).await.status(), 404);
    let (status, _) = send(&app, "DELETE", &format!("/movies/{uuid}/video/"), Some(&moderator), None).await;
    assert_eq!(status, 404);
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// A scratch folder, a moderator and a movie of a fresh app.
async fn movie_of(app: &TestApp, name: &str) -> (PathBuf, String, String) {
    let scratch = std::env::temp_dir().join(format!("{}-clip", app.namespace.prefix));
    std::fs::create_dir_all(&scratch).unwrap();
    let (_, moderator) = app.user_with_token("moderator@example.com", 3).await;
    let movie = create_movie(app, &moderator, movie_body(name)).await;
    (scratch, moderator, movie["uuid"].as_str().unwrap().to_owned())
}

async fn versions(app: &TestApp) -> Vec<(i32, String)> {
    use diesel::QueryDsl;
    use shared::schema::movie_videos;
    let mut conn = app.conn().await;
    movie_videos::table
        .select((movie_videos::id, movie_videos::status))
        .order(movie_videos::id)
        .load(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_passes_ffprobe_but_does_not_decode_fails_with_its_reason_and_one_dead_letter() {
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let (scratch, moderator, uuid) = movie_of(&app, "Broken").await;
    // The header (moov first, +faststart) is whole, so ffprobe sees a 6 s video; the media data is cut short.
    let mut bytes = std::fs::read(clip(&scratch, 6)).unwrap();
    bytes.truncate(bytes.len() / 2);
    let (status, body) = upload(&app, &moderator, &uuid, &bytes).await;
    assert_eq!(status, 202, "{body}");
    let failed = wait_for(&app, &uuid, "failed").await;
    assert!(failed["error"].as_str().unwrap().starts_with("ffmpeg could not encode the video"), "{failed}");
    assert!(failed["renditions"].as_array().unwrap().is_empty());
    let dead = crate::pipeline::dead_letters(&app).await;
    assert_eq!(dead.len(), 1, "one dead letter, no retry loop");
    assert_eq!(dead[0].properties.kind().as_ref().map(|k| k.as_str()), Some("transcode_video"));
    let metrics = app.metrics().await;
    assert!(!metrics.contains("jobs_retried_total{kind=\"transcode_video\"}"), "{metrics}");
    let (status, body) = send(&app, "GET", &format!("/movies/{uuid}/stream/"), Some(&moderator), None).await;
    assert_eq!((status, body["detail"].clone()), (404, json!("The movie has no playable video yet.")));
    std::fs::remove_dir_all(&scratch).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_video_plays_until_the_new_one_is_ready_and_is_purged_after_the_signature_lifetime() {
    let options = Options { scheduler: true, purge_cron: "* * * * * *".into(), ..Options::with_worker() };
    let app = TestApp::spawn_with(options).await;
    let (scratch, moderator, uuid) = movie_of(&app, "Twice").await;
    let first = std::fs::read(clip(&scratch, 4)).unwrap();
    assert_eq!(upload(&app, &moderator, &uuid, &first).await.0, 202);
    wait_for(&app, &uuid, "ready").await;
    let (_, link) = send(&app, "GET", &format!("/movies/{uuid}/stream/"), Some(&moderator), None).await;
    let old = local_path(link["url"].as_str().unwrap());

    let second = std::fs::read(clip_sized(&scratch, 4, "1280x720")).unwrap();
    assert_eq!(upload(&app, &moderator, &uuid, &second).await.0, 202);
    // Until the new version is ready the old one plays, and a fresh link still names it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let new = loop {
        assert_eq!(fetch(&app, &old).await.status(), 200, "the old version plays meanwhile");
        let (status, link) = send(&app, "GET", &format!("/movies/{uuid}/stream/"), Some(&moderator), None).await;
        assert_eq!(status, 200, "{link}");
        let url = local_path(link["url"].as_str().unwrap());
        if url != old && link["renditions"].as_array().unwrap().len() == 3 {
            break url;
        }
        assert!(tokio::time::Instant::now() < deadline, "the new version never became ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(fetch(&app, &new).await.status(), 200);
    let statuses: Vec<String> = versions(&app).await.into_iter().map(|(_, status)| status).collect();
    assert_eq!(statuses, ["ready", "ready"], "the old version is superseded, not gone yet");

    // STREAM_URL_TTL_SECS is 3 s for the test worker; the purge runs every second.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while versions(&app).await.len() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "the superseded version was never purged");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(fetch(&app, &old).await.status(), 404, "its files are gone");
    assert_eq!(fetch(&app, &new).await.status(), 200, "the playing version stays");
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// A media worker process: the real binary with the app's settings, consuming only the media queue.
fn media_worker(app: &TestApp, work_dir: &Path) -> std::process::Child {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut command = Command::new(crate::support::sibling_binary("worker"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(std::env::temp_dir());
    for (key, value) in app.binary_env() {
        command.env(key, value);
    }
    command
        .env("WORKER_QUEUES", "media")
        .env("WORKER_ADDR", free.to_string())
        .env("TRANSCODE_WORK_DIR", work_dir)
        .env("REDIS_HOST", &app.config.redis.redis_host)
        .env("REDIS_PORT", app.config.redis.redis_port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command.spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_media_worker_killed_mid_encode_leaves_one_ready_version_after_the_redelivery() {
    let app = TestApp::spawn().await;
    let (scratch, moderator, uuid) = movie_of(&app, "Interrupted").await;
    // Long enough at 720p (three renditions) that the encode is still running when the worker is killed.
    let bytes = std::fs::read(clip_sized(&scratch, 40, "1280x720")).unwrap();
    let work_dir = scratch.join("work");
    let mut first = media_worker(&app, &work_dir);
    assert_eq!(upload(&app, &moderator, &uuid, &bytes).await.0, 202);
    wait_for(&app, &uuid, "processing").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(versions(&app).await[0].1, "processing", "killed before it finished");

    let mut second = media_worker(&app, &work_dir);
    let ready = wait_for(&app, &uuid, "ready").await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(ready["renditions"].as_array().unwrap().len(), 3, "{ready}");
    let versions = versions(&app).await;
    assert_eq!(versions.len(), 1);
    let store = shared::storage::open(&app.config.storage, "http://cinema.test").unwrap();
    let files = store
        .list(&shared::video::keys::renditions(uuid::Uuid::parse_str(&uuid).unwrap(), versions[0].0))
        .await
        .unwrap();
    assert!(files.iter().any(|f| f.ends_with("/master.m3u8")), "{files:?}");
    for rendition in ["240p", "480p", "720p"] {
        assert!(files.iter().any(|f| f.ends_with(&format!("/{rendition}/index.m3u8"))), "{rendition}: {files:?}");
    }
    let (status, link) = send(&app, "GET", &format!("/movies/{uuid}/stream/"), Some(&moderator), None).await;
    assert_eq!(status, 200);
    let master = fetch(&app, &local_path(link["url"].as_str().unwrap())).await;
    assert_eq!(master.status(), 200);
    assert!(crate::pipeline::dead_letters(&app).await.is_empty(), "the redelivery succeeded; nothing dead-lettered");
    std::fs::remove_dir_all(&scratch).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encode_past_its_time_limit_fails_and_an_upload_past_the_size_limit_is_refused() {
    let options = Options { transcode_timeout_secs: 1, video_max_bytes: 2 * 1024 * 1024, ..Options::with_worker() };
    let app = TestApp::spawn_with(options).await;
    let (scratch, moderator, uuid) = movie_of(&app, "Slow").await;
    let (status, body) = upload(&app, &moderator, &uuid, &vec![0u8; 3 * 1024 * 1024]).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["detail"], "The video is larger than the limit of 2097152 bytes.");
    // 30 s at 720p: three renditions take far longer than a second to encode.
    let bytes = std::fs::read(clip_sized(&scratch, 30, "1280x720")).unwrap();
    assert!(bytes.len() < 2 * 1024 * 1024, "the clip fits the limit: {} bytes", bytes.len());
    assert_eq!(upload(&app, &moderator, &uuid, &bytes).await.0, 202);
    let failed = wait_for(&app, &uuid, "failed").await;
    assert_eq!(failed["error"], "encoding took longer than 1 s (TRANSCODE_TIMEOUT_SECS)", "{failed}");
    assert_eq!(crate::pipeline::dead_letters(&app).await.len(), 1);
    // A request body on any other route keeps the small limit (MAX_BODY_BYTES, 2 MiB here).
    let response = app.client.post(app.url("/accounts/login/")).body(vec![b' '; 3 * 1024 * 1024]).send().await;
    assert_eq!(response.map(|r| r.status().as_u16()).unwrap_or(413), 413);
    std::fs::remove_dir_all(&scratch).unwrap();
}
