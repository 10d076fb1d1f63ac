//! Videos end to end on real services: a clip made by ffmpeg is uploaded, encoded by the worker into HLS, and
//! played through signed URLs: every segment served and decodable by ffprobe, the access rules (non-owner,
//! refunded owner, tampered and expired signatures), progress, an unusable upload, removal, and a real player
//! (hls.js in headless Chromium, `deploy/player/play.mjs`) when the test command provides it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use diesel::ExpressionMethods;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use shared::schema::purchases;
use shared::storage::Storage;

use crate::catalog::{create_movie, movie_body, send};
use crate::support::{Options, TestApp, json as body_of};

const BOUNDARY: &str = "video-test-boundary";

/// A clip of `seconds` with a test picture and a tone, made by ffmpeg the way the issue asks.
fn clip(dir: &Path, seconds: u32) -> PathBuf {
    let path = dir.join("clip.mp4");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25"])
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
    let app = TestApp::spawn_with(Options::with_worker()).await;
    let scratch = std::env::temp_dir().join(format!("{}-clip", app.namespace.prefix));
    std::fs::create_dir_all(&scratch).unwrap();
    let clip = std::fs::read(clip(&scratch, 6)).unwrap();
    let (user_id, user) = app.user_with_token("viewer@example.com", 2).await;
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
    let movie_id: i32 = {
        use diesel::QueryDsl;
        let mut conn = app.conn().await;
        shared::schema::movies::table
            .filter(shared::schema::movies::uuid.eq(uuid::Uuid::parse_str(&uuid).unwrap()))
            .select(shared::schema::movies::id)
            .first(&mut conn)
            .await
            .unwrap()
    };
    let mut conn = app.conn().await;
    diesel::insert_into(purchases::table)
        .values((purchases::user_id.eq(user_id), purchases::movie_id.eq(movie_id)))
        .execute(&mut conn)
        .await
        .unwrap();
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

    // A refund (the purchase removed) ends access for new signatures.
    diesel::delete(purchases::table).execute(&mut conn).await.unwrap();
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
