//! `/profiles` and `/media/avatars`: the contract's rules, messages and access, and avatar uploads with real and
//! hostile files.

use std::io::Cursor;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use shared::schema::user_profiles;

use crate::support::{TestApp, json};

const UNSUPPORTED: &str = "Use one of next: ['JPG', 'JPEG', 'PNG']";

/// One part of a multipart body.
pub enum Part {
    Text(&'static str, String),
    File { name: &'static str, filename: Option<&'static str>, content_type: Option<&'static str>, bytes: Vec<u8> },
}

pub fn text(name: &'static str, value: &str) -> Part {
    Part::Text(name, value.to_owned())
}

pub fn avatar(bytes: Vec<u8>) -> Part {
    Part::File { name: "avatar", filename: Some("me.png"), content_type: Some("image/png"), bytes }
}

const BOUNDARY: &str = "----cinema-test-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body, built by hand so tests can also send malformed ones.
pub fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
                body.extend_from_slice(value.as_bytes());
            }
            Part::File { name, filename, content_type, bytes } => {
                let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
                if let Some(filename) = filename {
                    disposition.push_str(&format!("; filename=\"{filename}\""));
                }
                body.extend_from_slice(format!("{disposition}\r\n").as_bytes());
                if let Some(content_type) = content_type {
                    body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
                }
                body.extend_from_slice(b"\r\n");
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub async fn send_form(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    parts: &[Part],
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart(parts));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

pub async fn create(app: &TestApp, user_id: i32, token: &str, parts: &[Part]) -> (u16, Value) {
    json(send_form(app, Method::POST, &format!("/profiles/users/{user_id}/"), Some(token), parts).await).await
}

pub async fn update(app: &TestApp, user_id: i32, token: &str, parts: &[Part]) -> (u16, Value) {
    json(send_form(app, Method::PATCH, &format!("/profiles/users/{user_id}/"), Some(token), parts).await).await
}

pub fn encode(image: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([x as u8, y as u8, 90, 255]));
    encode(image.into(), image::ImageFormat::Png)
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, 40, y as u8]));
    encode(image.into(), image::ImageFormat::Jpeg)
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
    encode(image.into(), image::ImageFormat::WebP)
}

/// A real 1 × 1 BMP (file header, BITMAPINFOHEADER, one padded 24-bit pixel).
fn bmp() -> Vec<u8> {
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&58u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&1i32.to_le_bytes());
    out.extend_from_slice(&1i32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0; 24]);
    out.extend_from_slice(&[0, 0, 255, 0]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { 0xedb8_8320 ^ (crc >> 1) } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A well-formed PNG of a few dozen bytes whose header declares 50 000 × 50 000 pixels (10 GB decoded).
fn decompression_bomb() -> Vec<u8> {
    let mut header = 50_000u32.to_be_bytes().to_vec();
    header.extend_from_slice(&50_000u32.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
    bomb.extend(png_chunk(b"IHDR", &header));
    bomb.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    bomb.extend(png_chunk(b"IEND", &[]));
    bomb
}

/// Uploads an avatar of `size` zero bytes over a raw connection (with a Content-Length, or chunked) and returns
/// the answer as soon as it arrives, while the upload may still be going on.
async fn raw_upload(app: &TestApp, path: &str, token: &str, size: usize, chunked: bool) -> (u16, Value) {
    use std::io::{BufRead, BufReader, Read, Write};

    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"big.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let length = head.len() + size + tail.len();
    let framing = if chunked { "Transfer-Encoding: chunked".to_owned() } else { format!("Content-Length: {length}") };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\nConnection: close\r\n\r\n",
        app.address
    );
    let address = app.address;
    tokio::task::spawn_blocking(move || {
        let stream = std::net::TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let send = |writer: &mut std::net::TcpStream, bytes: &[u8]| -> std::io::Result<()> {
                if chunked {
                    writer.write_all(format!("{:x}\r\n", bytes.len()).as_bytes())?;
                    writer.write_all(bytes)?;
                    writer.write_all(b"\r\n")
                } else {
                    writer.write_all(bytes)
                }
            };
            let zeros = vec![0u8; 64 * 1024];
            let result = (|| -> std::io::Result<()> {
                writer.write_all(request.as_bytes())?;
                send(&mut writer, head.as_bytes())?;
                let mut sent = 0;
                while sent < size {
                    let n = zeros.len().min(size - sent);
                    send(&mut writer, &zeros[..n])?;
                    sent += n;
                }
                send(&mut writer, tail.as_bytes())?;
                if chunked {
                    writer.write_all(b"0\r\n\r\n")?;
                }
                Ok(())
            })();
            // The server hangs up once it has answered; a failed write is the expected end.
            let _ = result;
        });
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).unwrap();
        let status: u16 = status_line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; content_length];
        reader.read_exact(&mut body).unwrap();
        drop(reader);
        let _ = sender.join();
        let text = String::from_utf8_lossy(&body).into_owned();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    })
    .await
    .unwrap()
}

/// The files under the app's avatar folder.
pub fn stored_files(app: &TestApp) -> Vec<String> {
    let dir = app.config.storage.media_root.join("avatars");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Fetches an absolute media URL from the test server (the public host is `APP_URL`'s).
pub async fn fetch(app: &TestApp, absolute: &str) -> reqwest::Response {
    let path = absolute.strip_prefix("http://cinema.test").unwrap_or_else(|| panic!("not under APP_URL: {absolute}"));
    app.get(path).await
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn create_with_every_field_returns_201_with_lower_cased_names_and_absolute_avatar_urls() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("owner@example.com", 2).await;
    let (status, body) = create(
        &app,
        id,
        &token,
        &[
            text("first_name", "John"),
            text("last_name", "DOE"),
            text("gender", "Man"),
            text("date_of_birth", "1990-05-17"),
            text("info", "Loves sci-fi."),
            avatar(png(300, 200)),
        ],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user_id"], id);
    assert_eq!(body["first_name"], "john");
    assert_eq!(body["last_name"], "doe");
    assert_eq!(body["gender"], "man", "accepted in any case, stored lower-case");
    assert_eq!(body["date_of_birth"], "1990-05-17");
    assert_eq!(body["info"], "Loves sci-fi.");
    let avatar_url = body["avatar"].as_str().unwrap();
    assert!(avatar_url.starts_with(&format!("http://cinema.test/media/avatars/user_{id}_")), "{avatar_url}");
    assert!(avatar_url.ends_with(".png"));

    let response = fetch(&app, avatar_url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let image = image::load_from_memory(&response.bytes().await.unwrap()).unwrap();
    assert_eq!((image.width(), image.height()), (300, 200));
    let thumbnail = fetch(&app, body["avatar_thumbnail"].as_str().unwrap()).await;
    assert_eq!(thumbnail.headers()["content-type"], "image/png");
    let thumbnail = image::load_from_memory(&thumbnail.bytes().await.unwrap()).unwrap();
    assert_eq!((thumbnail.width(), thumbnail.height()), (128, 85));

    let mut conn = app.conn().await;
    let (first_name, gender): (Option<String>, Option<String>) = user_profiles::table
        .filter(user_profiles::user_id.eq(id))
        .select((user_profiles::first_name, user_profiles::gender))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((first_name.as_deref(), gender.as_deref()), (Some("John"), Some("man")), "names stored as sent");
    assert_eq!(stored_files(&app).len(), 2, "the image and its thumbnail");
}

#[tokio::test]
async fn create_without_fields_stores_empty_strings_like_the_original() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("empty@example.com", 2).await;
    let (status, body) = create(&app, id, &token, &[text("first_name", ""), text("info", "")]).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (&body["first_name"], &body["last_name"], &body["info"], &body["avatar"]),
        (&json!(""), &json!(""), &json!(""), &json!(""))
    );
    assert_eq!(
        (&body["gender"], &body["date_of_birth"], &body["avatar_thumbnail"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );

    // No body at all is an empty form too.
    let (other, other_token) = app.user_with_token("nobody@example.com", 2).await;
    let response =
        app.client.post(app.url(&format!("/profiles/users/{other}/"))).bearer_auth(&other_token).send().await.unwrap();
    let (status, body) = json(response).await;
    assert_eq!((status, &body["info"]), (201, &json!("")), "{body}");
}

#[tokio::test]
async fn create_accepts_a_url_encoded_form_without_avatar() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("urlencoded@example.com", 2).await;
    let response = app
        .client
        .post(app.url(&format!("/profiles/users/{id}/")))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("first_name=Ann&gender=WOMAN")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!((&body["first_name"], &body["gender"]), (&json!("ann"), &json!("woman")));
}

#[tokio::test]
async fn profile_access_follows_owner_or_admin_for_every_role() {
    let app = TestApp::spawn().await;
    let (owner, owner_token) = app.user_with_token("owner@example.com", 2).await;
    let (_, user_token) = app.user_with_token("user@example.com", 2).await;
    let (_, moderator_token) = app.user_with_token("moderator@example.com", 3).await;
    let (_, admin_token) = app.user_with_token("admin@example.com", 1).await;
    let path = format!("/profiles/users/{owner}/");

    for (method, message) in [
        (Method::POST, "Only admin or profile owner can create profile."),
        (Method::PATCH, "Only admin or profile owner can update profile."),
        (Method::GET, "Only admin or profile owner can view profile."),
    ] {
        let anonymous = json(send_form(&app, method.clone(), &path, None, &[text("info", "x")]).await).await;
        assert_eq!(anonymous, (401, json!({"detail": "Authorization header is missing"})), "{method}");
        for token in [&user_token, &moderator_token] {
            let (status, body) =
                json(send_form(&app, method.clone(), &path, Some(token), &[text("info", "x")]).await).await;
            assert_eq!((status, body["detail"].as_str()), (403, Some(message)), "{method}");
        }
    }
    // A stranger's upload is refused before it is read or stored.
    let (status, _) = create(&app, owner, &user_token, &[avatar(png(10, 10))]).await;
    assert_eq!(status, 403);
    assert!(stored_files(&app).is_empty());

    let (status, body) =
        create(&app, owner, &admin_token, &[text("first_name", "Set"), text("last_name", "ByAdmin")]).await;
    assert_eq!(status, 201, "admins create other users' profiles: {body}");
    assert_eq!(update(&app, owner, &admin_token, &[text("info", "edited")]).await.0, 200);
    let (status, body) = json(app.get_auth(&path, &owner_token).await).await;
    assert_eq!((status, &body["first_name"], &body["info"]), (200, &json!("set"), &json!("edited")));
    assert_eq!(json(app.get_auth(&path, &admin_token).await).await.0, 200);
}

#[tokio::test]
async fn create_checks_target_and_uniqueness_after_the_field_rules() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("twice@example.com", 2).await;
    let (_, admin) = app.user_with_token("admin@example.com", 1).await;

    let (status, body) = create(&app, 999_999, &admin, &[text("first_name", "B4d")]).await;
    assert_eq!((status, body), (422, json!({"detail": "B4d contains non-english letters"})), "rules come first");
    let (status, body) = create(&app, 999_999, &admin, &[text("first_name", "Good")]).await;
    assert_eq!((status, body), (404, json!({"detail": "User with given ID was not found."})));

    assert_eq!(create(&app, id, &token, &[]).await.0, 201);
    let (status, body) = create(&app, id, &token, &[avatar(png(8, 8))]).await;
    assert_eq!((status, body), (409, json!({"detail": "Profile already exists."})));
    assert!(stored_files(&app).is_empty(), "a refused create stores nothing");
}

#[tokio::test]
async fn create_with_broken_field_rules_returns_422_with_the_contract_messages() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("rules@example.com", 2).await;
    let too_young = (chrono::Utc::now().date_naive() - chrono::Duration::days(17 * 365)).format("%Y-%m-%d").to_string();
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    let cases: Vec<(Vec<Part>, String)> = vec![
        (vec![text("first_name", "Jöhn")], "Jöhn contains non-english letters".into()),
        (vec![text("first_name", "Anne Marie")], "Anne Marie contains non-english letters".into()),
        (vec![text("last_name", "Doe-Smith")], "Doe-Smith contains non-english letters".into()),
        (vec![text("gender", "other")], "Gender must be one of: man, woman".into()),
        (vec![text("date_of_birth", "1899-12-31")], "Invalid birth date - year must be greater than 1900.".into()),
        (vec![text("date_of_birth", &too_young)], "You must be at least 18 years old to register.".into()),
        (vec![text("date_of_birth", &tomorrow)], "You must be at least 18 years old to register.".into()),
        (vec![text("info", "   ")], "Info field cannot be empty or contain only spaces.".into()),
        (vec![avatar(b"definitely not an image".to_vec())], "Invalid image format".into()),
        (vec![avatar(bmp())], format!("Unsupported image format: BMP. {UNSUPPORTED}")),
        (
            vec![avatar(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec())],
            format!("Unsupported image format: GIF. {UNSUPPORTED}"),
        ),
        (vec![text("first_name", &"a".repeat(101))], "first_name must be at most 100 characters long.".into()),
        // The first broken rule in the contract's order answers.
        (
            vec![text("gender", "x"), text("first_name", "N0"), text("info", " ")],
            "N0 contains non-english letters".into(),
        ),
        (vec![text("info", " "), text("gender", "x")], "Gender must be one of: man, woman".into()),
    ];
    for (parts, message) in cases {
        let (status, body) = create(&app, id, &token, &parts).await;
        assert_eq!((status, body), (422, json!({ "detail": message })));
    }
    let mut conn = app.conn().await;
    let profiles: i64 = user_profiles::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(profiles, 0, "nothing was created");
}

#[tokio::test]
async fn malformed_forms_return_clear_4xx_and_never_500() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("malformed@example.com", 2).await;
    let path = format!("/profiles/users/{id}/");

    let (status, body) = create(&app, id, &token, &[text("date_of_birth", "17/05/1990")]).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "date_of_birth"]), "list form: {body}");

    // A wrong field name is refused, not silently ignored.
    let photo =
        Part::File { name: "photo", filename: Some("me.png"), content_type: Some("image/png"), bytes: png(4, 4) };
    let (status, body) = create(&app, id, &token, &[photo]).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "extra_forbidden");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "photo"]));

    let (status, body) = create(&app, id, &token, &[text("info", "a"), text("info", "b")]).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["body", "info"])));

    // multipart/form-data without its boundary parameter.
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&token)
        .header("content-type", "multipart/form-data")
        .body(multipart(&[text("info", "x")]))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response).await, (400, json!({"detail": "There was an error parsing the body"})));

    // A truncated multipart body.
    let mut truncated = multipart(&[avatar(png(16, 16))]);
    truncated.truncate(truncated.len() - 30);
    let response = app
        .client
        .post(app.url(&path))
        .bearer_auth(&token)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(truncated)
        .send()
        .await
        .unwrap();
    assert_eq!(json(response).await, (400, json!({"detail": "There was an error parsing the body"})));

    // JSON is not a form.
    let (status, body) = json(app.post_json_auth(&path, &token, json!({"first_name": "John"})).await).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body"]), "{body}");

    // A file part without a file name (checked after the lookups, as in the original).
    let nameless = Part::File { name: "avatar", filename: Some(""), content_type: Some("image/png"), bytes: png(4, 4) };
    assert_eq!(create(&app, id, &token, &[nameless]).await, (400, json!({"detail": "Uploaded file has no filename"})));
    // A plain text value where the file belongs.
    let (status, body) = create(&app, id, &token, &[text("avatar", "not a file")]).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["body", "avatar"])));

    let (status, body) = json(app.get_auth("/profiles/users/abc/", &token).await).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["path", "user_id"])));

    let mut conn = app.conn().await;
    assert_eq!(user_profiles::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0);
    assert!(stored_files(&app).is_empty());
}

#[tokio::test]
async fn hostile_avatar_uploads_are_refused_and_leave_nothing_behind() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("hostile@example.com", 2).await;

    let invalid = json!({"detail": "Invalid image format"});
    assert_eq!(create(&app, id, &token, &[avatar(Vec::new())]).await, (422, invalid.clone()), "zero bytes");

    // PNG magic followed by garbage: the format is guessed from the bytes, the full decode fails.
    let mut fake_png = b"\x89PNG\r\n\x1a\n".to_vec();
    fake_png.extend_from_slice(&[0x42; 512]);
    assert_eq!(create(&app, id, &token, &[avatar(fake_png)]).await, (422, invalid.clone()), "PNG magic, no PNG");

    // A real PNG, truncated.
    let whole = png(64, 64);
    assert_eq!(create(&app, id, &token, &[avatar(whole[..whole.len() / 2].to_vec())]).await, (422, invalid.clone()));

    let (status, body) = create(&app, id, &token, &[avatar(decompression_bomb())]).await;
    assert_eq!(
        (status, body),
        (422, json!({"detail": "Image dimensions exceed the maximum of 4096x4096 pixels."})),
        "a decompression bomb is refused from its header"
    );

    // WebP is not among the contract's formats (deliberately kept: the message lists exactly JPG, JPEG, PNG).
    let (status, body) = create(&app, id, &token, &[avatar(webp(32, 32))]).await;
    assert_eq!((status, body), (422, json!({ "detail": format!("Unsupported image format: WEBP. {UNSUPPORTED}") })));

    // A JPEG that claims to be PNG by name and content type is judged by its bytes; over 1 MiB is refused while
    // streaming.
    let mut oversized = jpeg(8, 8);
    oversized.resize(1_048_577, 0);
    let (status, body) = create(&app, id, &token, &[avatar(oversized)]).await;
    assert_eq!((status, body), (422, json!({"detail": "Image size exceeds 1 MB"})));

    // 20 MB is over the whole request's limit (MAX_BODY_BYTES, 2 MiB): refused from its Content-Length before a
    // byte of it is read, and, sent chunked without a length, cut off once the limit is crossed — the server
    // answers long before the client has finished sending.
    let path = format!("/profiles/users/{id}/");
    let (status, _) = raw_upload(&app, &path, &token, 20 * 1024 * 1024, false).await;
    assert_eq!(status, 413);
    let (status, body) = raw_upload(&app, &path, &token, 20 * 1024 * 1024, true).await;
    assert_eq!((status, body), (413, json!({"detail": "Request body is too large."})));

    let mut conn = app.conn().await;
    assert_eq!(user_profiles::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

#[tokio::test]
async fn a_jpeg_zip_polyglot_is_stored_as_a_clean_re_encoded_jpeg() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("polyglot@example.com", 2).await;
    let original = jpeg(120, 80);
    let exif = b"Exif\0\0MM\0*\0\0\0\x08\0\0gps:52.5200,13.4050";
    let mut polyglot = original[..2].to_vec();
    polyglot.extend_from_slice(&[0xff, 0xe1]);
    polyglot.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    polyglot.extend_from_slice(exif);
    polyglot.extend_from_slice(&original[2..]);
    polyglot.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00evil.sh#!/bin/sh rm -rf /");
    let upload =
        Part::File { name: "avatar", filename: Some("cat.png"), content_type: Some("image/png"), bytes: polyglot };
    let (status, body) = create(&app, id, &token, &[upload]).await;
    assert_eq!(status, 201, "the JPEG part is a valid image: {body}");
    let url = body["avatar"].as_str().unwrap();
    assert!(url.ends_with(".jpg"), "named after the detected format, not the client's file name: {url}");
    let response = fetch(&app, url).await;
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let stored = response.bytes().await.unwrap();
    for needle in [&b"PK\x03\x04"[..], b"evil.sh", b"gps:", b"Exif"] {
        assert!(!contains(&stored, needle), "{:?} survived re-encoding", String::from_utf8_lossy(needle));
    }
    let image = image::load_from_memory(&stored).unwrap();
    assert_eq!((image.width(), image.height()), (120, 80));
}

#[tokio::test]
async fn update_changes_only_supplied_fields_and_replaces_the_avatar_after_commit() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("update@example.com", 2).await;
    let (_, created) =
        create(&app, id, &token, &[text("first_name", "Old"), text("info", "Bio"), avatar(png(40, 40))]).await;
    let old_avatar = created["avatar"].as_str().unwrap().to_owned();
    let old_files = stored_files(&app);
    assert_eq!(old_files.len(), 2);

    let (status, body) =
        update(&app, id, &token, &[text("last_name", "New"), text("first_name", ""), avatar(jpeg(50, 30))]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["first_name"], &body["last_name"], &body["info"]), (&json!("old"), &json!("new"), &json!("Bio")));
    let new_avatar = body["avatar"].as_str().unwrap();
    assert_ne!(new_avatar, old_avatar);
    assert!(new_avatar.ends_with(".jpg"));
    assert_eq!(fetch(&app, new_avatar).await.status(), 200);
    assert_eq!(fetch(&app, &old_avatar).await.status(), 404, "the replaced avatar is gone");
    let files = stored_files(&app);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.iter().all(|f| !old_files.contains(f)), "old image and thumbnail removed: {files:?}");

    let (status, body) =
        update(&app, id, &token, &[text("gender", "WOMAN"), text("date_of_birth", "1980-01-02")]).await;
    assert_eq!((status, &body["gender"], &body["date_of_birth"]), (200, &json!("woman"), &json!("1980-01-02")));
    let (status, body) = update(&app, id, &token, &[]).await;
    assert_eq!((status, &body["last_name"]), (200, &json!("new")), "an empty update changes nothing");
}

#[tokio::test]
async fn update_errors_follow_the_contract_order() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("order@example.com", 2).await;
    let (status, body) = update(&app, id, &token, &[text("first_name", "B4d")]).await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "Profile with given user ID was not found."})),
        "404 before rules"
    );
    let (status, body) = json(app.get_auth(&format!("/profiles/users/{id}/"), &token).await).await;
    assert_eq!((status, body), (404, json!({"detail": "Profile with given user ID was not found."})));

    create(&app, id, &token, &[avatar(png(20, 20))]).await;
    let before = stored_files(&app);
    for (parts, message) in [
        (vec![text("info", " \t ")], "Info cannot be empty or whitespace only"),
        (vec![text("gender", "other")], "Gender must be one of: man, woman"),
        (vec![avatar(decompression_bomb())], "Image dimensions exceed the maximum of 4096x4096 pixels."),
        (vec![avatar(vec![0xff, 0xd8, 0xff, 0x00])], "Invalid image format"),
    ] {
        assert_eq!(update(&app, id, &token, &parts).await, (422, json!({ "detail": message })));
    }
    let nameless = Part::File { name: "avatar", filename: None, content_type: Some("image/png"), bytes: png(4, 4) };
    assert_eq!(update(&app, id, &token, &[nameless]).await, (400, json!({"detail": "Uploaded file has no filename"})));
    assert_eq!(stored_files(&app), before, "failed updates keep the old avatar and add nothing");
}

/// Makes every write to `user_profiles` fail inside the database, after the avatar has been stored.
async fn break_profile_writes(app: &TestApp) {
    let mut conn = app.conn().await;
    diesel::sql_query(
        "CREATE FUNCTION refuse_profile_write() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'simulated database failure'; END $$",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER refuse_profile_write BEFORE INSERT OR UPDATE ON user_profiles \
         FOR EACH ROW EXECUTE FUNCTION refuse_profile_write()",
    )
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_failed_database_write_removes_the_new_files_and_keeps_the_old_ones() {
    let app = TestApp::spawn().await;
    let (id, token) = app.user_with_token("dbfail@example.com", 2).await;
    let (other, other_token) = app.user_with_token("dbfail2@example.com", 2).await;
    let (_, created) = create(&app, id, &token, &[avatar(png(30, 30))]).await;
    let old_avatar = created["avatar"].as_str().unwrap().to_owned();
    let before = stored_files(&app);

    break_profile_writes(&app).await;
    assert_eq!(update(&app, id, &token, &[avatar(png(31, 31))]).await.0, 500);
    assert_eq!(create(&app, other, &other_token, &[avatar(png(32, 32))]).await.0, 500);
    assert_eq!(stored_files(&app), before, "no new file survives a rolled-back write");
    assert_eq!(fetch(&app, &old_avatar).await.status(), 200, "the old avatar is removed only after a commit");
}

#[tokio::test]
async fn media_route_serves_only_generated_avatar_names() {
    let app = TestApp::spawn().await;
    let hex = "0123456789abcdef0123456789abcdef";
    for path in [
        format!("/media/avatars/user_1_{hex}.png"),
        "/media/avatars/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/media/avatars/passwd".to_owned(),
        "/media/avatars/%FF%FE.png".to_owned(),
        format!("/media/avatars/user_1_{hex}.svg"),
    ] {
        assert_eq!(app.get(&path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn openapi_documents_the_profile_form_and_security() {
    let app = TestApp::spawn_with(crate::support::Options { environment: "development", ..Default::default() }).await;
    let (_, doc) = json(app.get("/openapi.json").await).await;
    let path = &doc["paths"]["/profiles/users/{user_id}/"];
    for method in ["post", "patch"] {
        let operation = &path[method];
        assert!(operation["requestBody"]["content"]["multipart/form-data"].is_object(), "{method}: {operation}");
        assert_eq!(operation["security"], json!([{"bearer": []}]));
        for status in ["400", "401", "403", "404", "422"] {
            assert!(operation["responses"][status].is_object(), "{method} {status}");
        }
    }
    assert_eq!(path["get"]["security"], json!([{"bearer": []}]));
    let form = &doc["components"]["schemas"]["ProfileForm"]["properties"];
    assert_eq!(form["avatar"]["format"], "binary", "{form}");
    assert!(doc["paths"]["/media/avatars/{file}"]["get"].is_object());
}
