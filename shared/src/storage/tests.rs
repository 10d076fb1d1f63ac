use futures_util::StreamExt;

use super::object::open;
use super::*;
use crate::config::{StorageSettings, from_vars};

fn local(root: &Path) -> ObjectStorage {
    let settings: StorageSettings =
        from_vars([("MEDIA_ROOT".to_owned(), root.to_string_lossy().into_owned())]).unwrap();
    open(&settings, "http://cinema.test").unwrap()
}

fn scratch() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("storage_test_{}", uuid::Uuid::new_v4().simple()))
}

fn files_under(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                walk(&entry.path(), out);
            } else {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out
}

async fn read_all(object: StoredObject) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = object.body;
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

#[test]
fn keys_cannot_leave_the_root() {
    for bad in ["", "/etc/passwd", "../x", "avatars/../../x", "a//b", "avatars/.hidden", "a\\b", "a b", "é"] {
        assert!(check_key(bad).is_err(), "{bad:?}");
    }
    assert!(check_key("avatars/user_1_abc.png").is_ok());
}

#[test]
fn ranges_resolve_as_http_does() {
    let resolve = super::object::resolve;
    assert_eq!(resolve(ByteRange::Bounded { start: 0, end: 10 }, 100).unwrap(), 0..10);
    assert_eq!(resolve(ByteRange::Bounded { start: 90, end: 200 }, 100).unwrap(), 90..100);
    assert_eq!(resolve(ByteRange::From(40), 100).unwrap(), 40..100);
    assert_eq!(resolve(ByteRange::Suffix(10), 100).unwrap(), 90..100);
    assert_eq!(resolve(ByteRange::Suffix(1000), 100).unwrap(), 0..100);
    assert!(matches!(resolve(ByteRange::From(100), 100), Err(StorageError::RangeNotSatisfiable)));
    assert!(matches!(resolve(ByteRange::Suffix(0), 100), Err(StorageError::RangeNotSatisfiable)));
}

#[tokio::test]
async fn local_storage_round_trips_ranges_and_deletes() {
    let root = scratch();
    let store = local(&root);
    store.put("avatars/a.png", Bytes::from_static(&[1, 2, 3])).await.unwrap();
    assert_eq!(store.get("avatars/a.png").await.unwrap().as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(store.url("avatars/a.png"), "http://cinema.test/media/avatars/a.png");
    let part = store.open("avatars/a.png", Some(ByteRange::From(1))).await.unwrap().unwrap();
    assert_eq!((part.size, part.range.clone()), (3, 1..3));
    assert!(part.e_tag.is_some());
    assert_eq!(read_all(part).await, vec![2, 3]);
    assert!(matches!(
        store.open("avatars/a.png", Some(ByteRange::From(3))).await,
        Err(StorageError::RangeNotSatisfiable)
    ));
    store.delete("avatars/a.png").await.unwrap();
    store.delete("avatars/a.png").await.unwrap();
    assert_eq!(store.get("avatars/a.png").await.unwrap(), None);
    assert!(store.open("avatars/a.png", Some(ByteRange::From(0))).await.unwrap().is_none());
    assert!(files_under(&root).is_empty(), "no temporary files remain: {:?}", files_under(&root));
    store.check().await.unwrap();
    std::fs::remove_dir_all(root).unwrap();
}

#[tokio::test]
async fn streamed_uploads_are_whole_or_absent() {
    let root = scratch();
    let store = local(&root);
    // Three parts' worth and a bit, so the upload really is multipart.
    let chunk = Bytes::from(vec![7u8; 1024 * 1024]);
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..25).map(|_| Ok(chunk.clone())).collect();
    let stored = store.put_stream("videos/1/source", futures_util::stream::iter(chunks).boxed()).await.unwrap();
    assert_eq!(stored, 25 * 1024 * 1024);
    assert_eq!(store.get("videos/1/source").await.unwrap().map(|b| b.len()), Some(25 * 1024 * 1024));

    let failing = futures_util::stream::iter(vec![
        Ok(chunk.clone()),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away")),
    ]);
    assert!(store.put_stream("videos/2/source", failing.boxed()).await.is_err());
    assert_eq!(store.get("videos/2/source").await.unwrap(), None);

    let file = root.join("local-copy");
    assert!(store.download("videos/1/source", &file).await.unwrap());
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 25 * 1024 * 1024);
    assert_eq!(store.put_file("videos/1/copy", &file).await.unwrap(), 25 * 1024 * 1024);
    std::fs::remove_file(&file).unwrap();

    let mut listed = store.list("videos/1").await.unwrap();
    listed.sort();
    assert_eq!(listed, ["videos/1/copy", "videos/1/source"]);
    assert_eq!(store.delete_prefix("videos/1").await.unwrap(), 2);
    assert_eq!(store.delete_prefix("videos/1").await.unwrap(), 0);
    assert!(files_under(&root).is_empty(), "{:?}", files_under(&root));
    assert!(store.presigned_url("videos/1/source", Duration::from_secs(60)).await.unwrap().is_none());
    std::fs::remove_dir_all(root).unwrap();
}
