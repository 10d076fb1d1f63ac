use super::*;

fn probe_of(json: serde_json::Value) -> Result<Probe, VideoError> {
    parse_probe(json.to_string().as_bytes())
}

fn source(width: u32, height: u32, has_audio: bool) -> Probe {
    Probe { format: "mov,mp4".into(), duration_seconds: 10.0, width, height, video_codec: "h264".into(), has_audio }
}

#[test]
fn probe_accepts_video_containers_and_refuses_the_rest_with_a_reason() {
    let video = serde_json::json!({
        "streams": [{"codec_type": "video", "codec_name": "h264", "width": 1280, "height": 720},
                    {"codec_type": "audio", "codec_name": "aac"}],
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "12.5"}
    });
    let probe = probe_of(video).unwrap();
    assert_eq!((probe.width, probe.height, probe.has_audio, probe.duration_seconds), (1280, 720, true, 12.5));

    let still = serde_json::json!({
        "streams": [{"codec_type": "video", "codec_name": "png", "width": 10, "height": 10}],
        "format": {"format_name": "png_pipe"}
    });
    assert!(matches!(probe_of(still), Err(VideoError::Unusable(reason)) if reason.contains("unsupported container")));
    let audio = serde_json::json!({
        "streams": [{"codec_type": "audio", "codec_name": "mp3"}],
        "format": {"format_name": "matroska,webm", "duration": "3.0"}
    });
    assert!(matches!(probe_of(audio), Err(VideoError::Unusable(reason)) if reason == "the file has no video stream"));
    let no_duration = serde_json::json!({
        "streams": [{"codec_type": "video", "width": 2, "height": 2}],
        "format": {"format_name": "avi", "duration": "N/A"}
    });
    assert!(matches!(probe_of(no_duration), Err(VideoError::Unusable(_))));
    assert!(matches!(parse_probe(b"not json"), Err(VideoError::Unusable(_))));
}

#[test]
fn the_ladder_never_upscales_and_keeps_the_aspect_ratio() {
    let names = |ladder: Vec<Rendition>| ladder.into_iter().map(|r| (r.name, r.width, r.height)).collect::<Vec<_>>();
    assert_eq!(
        names(ladder(&source(1920, 1080, true))),
        [
            ("240p".into(), 426, 240),
            ("480p".into(), 854, 480),
            ("720p".into(), 1280, 720),
            ("1080p".into(), 1920, 1080)
        ]
    );
    assert_eq!(names(ladder(&source(640, 360, false))), [("240p".into(), 426, 240)]);
    assert_eq!(names(ladder(&source(320, 181, false))), [("182p".into(), 322, 182)], "smaller than every rung");
    assert_eq!(ladder(&source(1280, 720, true))[2].bandwidth, 2_800_000 + 128_000);
    assert_eq!(ladder(&source(1280, 720, false))[2].bandwidth, 2_800_000);
}

#[test]
fn encode_arguments_map_every_rung_and_align_segments() {
    let probe = source(1280, 720, true);
    let args = encode_args(Path::new("/in/src"), Path::new("/out"), &probe, &ladder(&probe), 4).join(" ");
    assert!(args.contains("[0:v]split=3[s0][s1][s2];[s0]scale=426:240[v0]"), "{args}");
    assert!(args.contains("-var_stream_map v:0,a:0,name:240p v:1,a:1,name:480p v:2,a:2,name:720p"), "{args}");
    assert!(args.contains("-force_key_frames expr:gte(t,n_forced*4)") && args.contains("-hls_time 4"), "{args}");
    assert!(args.ends_with("/out/%v/index.m3u8"), "{args}");
    let silent = source(640, 360, false);
    let args = encode_args(Path::new("/in/src"), Path::new("/out"), &silent, &ladder(&silent), 6).join(" ");
    assert!(args.contains("-var_stream_map v:0,name:240p") && !args.contains("-c:a"), "{args}");
}

#[test]
fn only_encoder_file_names_are_rendition_files() {
    for good in ["master.m3u8", "240p/index.m3u8", "1080p/seg_00012.ts"] {
        assert!(keys::is_rendition_file(good), "{good}");
    }
    for bad in ["", "../x", "240p/../master.m3u8", "240p/seg_1.ts", "p/index.m3u8", "240p/index.m3u8/x", "sources/v1"] {
        assert!(!keys::is_rendition_file(bad), "{bad}");
    }
    let movie = uuid::Uuid::nil();
    assert_eq!(keys::renditions(movie, 3), "videos/00000000000000000000000000000000/v3");
}
