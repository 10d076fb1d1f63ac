//! Avatar images: the format is read from the bytes (never from the file name or the client's content type), the
//! image is decoded under pixel and memory limits, and what is stored is a re-encoded copy — no metadata, no
//! trailing payload survives — plus a small thumbnail. All of it runs on the blocking pool.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::media::StoredFormat;

/// The contract's size limit (1 MiB), checked while the upload streams in.
pub const MAX_AVATAR_BYTES: usize = 1_048_576;
/// Larger sides are refused before any pixel is allocated: a few bytes of PNG can declare 50 000 × 50 000.
pub const MAX_SIDE: u32 = 4096;
/// Decoder allocations: one RGBA image at the largest accepted size, plus headroom.
const MAX_DECODE_ALLOC: u64 = 4 * (MAX_SIDE as u64) * (MAX_SIDE as u64) + 8 * 1024 * 1024;
/// The stored avatar fits in this square; larger uploads are scaled down.
pub const NORMALISED_SIDE: u32 = 1024;
/// The thumbnail fits in this square.
pub const THUMBNAIL_SIDE: u32 = 128;
const JPEG_QUALITY: u8 = 85;

/// How many images are decoded at once; each may hold up to [`MAX_DECODE_ALLOC`] bytes.
static DECODING: Semaphore = Semaphore::const_new(2);

/// Why an upload is not an acceptable avatar; each maps to a 422 with a string detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvatarError {
    /// Not an image, or a corrupt or truncated one.
    Invalid,
    /// A real image in a format we do not take (the original's upper-case format name).
    Unsupported(&'static str),
    /// Wider or taller than [`MAX_SIDE`] (a decompression bomb, or just too big).
    TooManyPixels,
}

impl AvatarError {
    pub fn message(&self) -> String {
        match self {
            AvatarError::Invalid => "Invalid image format".to_owned(),
            AvatarError::Unsupported(name) => {
                format!("Unsupported image format: {name}. Use one of next: ['JPG', 'JPEG', 'PNG']")
            }
            AvatarError::TooManyPixels => {
                format!("Image dimensions exceed the maximum of {MAX_SIDE}x{MAX_SIDE} pixels.")
            }
        }
    }
}

/// A checked, normalised avatar ready to be stored.
#[derive(Debug, Clone)]
pub struct ProcessedAvatar {
    pub format: StoredFormat,
    pub image: Vec<u8>,
    pub thumbnail: Vec<u8>,
}

/// The name the original (Pillow) gives a format, as printed in its error message.
fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WEBP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Ico => "ICO",
        ImageFormat::Dds => "DDS",
        ImageFormat::Hdr => "HDR",
        ImageFormat::Avif => "AVIF",
        ImageFormat::OpenExr => "EXR",
        ImageFormat::Qoi => "QOI",
        ImageFormat::Pnm => "PPM",
        ImageFormat::Farbfeld => "FARBFELD",
        ImageFormat::Tga => "TGA",
        _ => "UNKNOWN",
    }
}

/// Checks and normalises an upload on the blocking pool, a bounded number at a time.
pub async fn process(bytes: Vec<u8>) -> Result<Result<ProcessedAvatar, AvatarError>, ApiError> {
    let _permit = DECODING.acquire().await.map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || process_blocking(&bytes)).await.map_err(ApiError::internal)?
}

/// The synchronous core of [`process`]: the outer error is ours (encoding failed), the inner one the upload's.
pub fn process_blocking(bytes: &[u8]) -> Result<Result<ProcessedAvatar, AvatarError>, ApiError> {
    match check(bytes) {
        Ok((format, image)) => normalise(image, format).map(Ok),
        Err(err) => Ok(Err(err)),
    }
}

fn check(bytes: &[u8]) -> Result<(StoredFormat, DynamicImage), AvatarError> {
    let detected = image::guess_format(bytes).map_err(|_| AvatarError::Invalid)?;
    let format = match detected {
        ImageFormat::Png => StoredFormat::Png,
        ImageFormat::Jpeg => StoredFormat::Jpeg,
        other => return Err(AvatarError::Unsupported(format_name(other))),
    };
    Ok((format, decode(bytes, detected)?))
}

fn normalise(mut image: DynamicImage, format: StoredFormat) -> Result<ProcessedAvatar, ApiError> {
    if image.width() > NORMALISED_SIDE || image.height() > NORMALISED_SIDE {
        image = image.resize(NORMALISED_SIDE, NORMALISED_SIDE, image::imageops::FilterType::Triangle);
    }
    let thumbnail = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
    Ok(ProcessedAvatar { format, image: encode(&image, format)?, thumbnail: encode(&thumbnail, format)? })
}

fn decode(bytes: &[u8], format: ImageFormat) -> Result<DynamicImage, AvatarError> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|err| match err {
        image::ImageError::Limits(_) => AvatarError::TooManyPixels,
        _ => AvatarError::Invalid,
    })?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE || decoder.total_bytes() > MAX_DECODE_ALLOC {
        return Err(AvatarError::TooManyPixels);
    }
    if width == 0 || height == 0 {
        return Err(AvatarError::Invalid);
    }
    // The EXIF orientation is applied to the pixels because the metadata that carried it is dropped.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|err| match err {
        image::ImageError::Limits(_) => AvatarError::TooManyPixels,
        _ => AvatarError::Invalid,
    })?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn encode(image: &DynamicImage, format: StoredFormat) -> Result<Vec<u8>, ApiError> {
    let mut out = Cursor::new(Vec::new());
    let result = match format {
        StoredFormat::Png => {
            let image = if image.color().has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            };
            image.write_to(&mut out, ImageFormat::Png)
        }
        StoredFormat::Jpeg => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
            DynamicImage::ImageRgb8(image.to_rgb8()).write_with_encoder(encoder)
        }
    };
    // Encoding pixels we decoded ourselves cannot meet bad input: a failure is ours.
    result.map_err(|err| ApiError::internal(format!("re-encoding an avatar: {err}")))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([x as u8, y as u8, 128, 200]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 60]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Jpeg).unwrap();
        out.into_inner()
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

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    }

    fn accepted(bytes: &[u8]) -> ProcessedAvatar {
        process_blocking(bytes).unwrap().unwrap()
    }

    fn refused(bytes: &[u8]) -> AvatarError {
        process_blocking(bytes).unwrap().unwrap_err()
    }

    #[test]
    fn png_and_jpeg_are_normalised_with_a_thumbnail() {
        let out = accepted(&png(300, 150));
        assert_eq!(out.format, StoredFormat::Png);
        let image = image::load_from_memory(&out.image).unwrap();
        assert_eq!((image.width(), image.height()), (300, 150));
        assert!(image.color().has_alpha(), "transparency is kept");
        let thumbnail = image::load_from_memory(&out.thumbnail).unwrap();
        assert_eq!((thumbnail.width(), thumbnail.height()), (128, 64));

        let out = accepted(&jpeg(2000, 1000));
        assert_eq!(out.format, StoredFormat::Jpeg);
        assert_eq!(image::guess_format(&out.image).unwrap(), ImageFormat::Jpeg);
        let image = image::load_from_memory(&out.image).unwrap();
        assert_eq!((image.width(), image.height()), (1024, 512), "large uploads are scaled down");
    }

    #[test]
    fn metadata_and_trailing_payloads_are_dropped() {
        let original = jpeg(64, 64);
        // An EXIF segment right after SOI, and a ZIP archive after EOI (a JPEG/ZIP polyglot).
        let exif = b"Exif\0\0MM\0*\0\0\0\x08\0\0secret-gps-position";
        let mut polyglot = original[..2].to_vec();
        polyglot.extend_from_slice(&[0xff, 0xe1]);
        polyglot.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        polyglot.extend_from_slice(exif);
        polyglot.extend_from_slice(&original[2..]);
        polyglot.extend_from_slice(b"PK\x03\x04 hidden archive payload");
        let out = accepted(&polyglot);
        for needle in [&b"secret-gps-position"[..], b"PK\x03\x04", b"Exif"] {
            assert!(!out.image.windows(needle.len()).any(|w| w == needle), "{needle:?} survived");
        }
    }

    #[test]
    fn hostile_or_foreign_files_are_refused() {
        assert_eq!(refused(&[]), AvatarError::Invalid);
        assert_eq!(refused(b"hello, I am text"), AvatarError::Invalid);
        let mut fake_png = b"\x89PNG\r\n\x1a\n".to_vec();
        fake_png.extend_from_slice(&[0u8; 64]);
        assert_eq!(refused(&fake_png), AvatarError::Invalid);
        let truncated = png(64, 64);
        assert_eq!(refused(&truncated[..truncated.len() / 2]), AvatarError::Invalid);
        assert_eq!(refused(b"GIF89a\x01\0\x01\0\0\0\0;"), AvatarError::Unsupported("GIF"));
        assert_eq!(refused(b"BM\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), AvatarError::Unsupported("BMP"));
        assert_eq!(
            AvatarError::Unsupported("BMP").message(),
            "Unsupported image format: BMP. Use one of next: ['JPG', 'JPEG', 'PNG']"
        );
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_allocating() {
        let mut header = 50_000u32.to_be_bytes().to_vec();
        header.extend_from_slice(&50_000u32.to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut bomb = b"\x89PNG\r\n\x1a\n".to_vec();
        bomb.extend(chunk(b"IHDR", &header));
        bomb.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
        bomb.extend(chunk(b"IEND", &[]));
        assert!(bomb.len() < 100);
        assert_eq!(refused(&bomb), AvatarError::TooManyPixels);
        assert_eq!(refused(&png(MAX_SIDE + 1, 1)), AvatarError::TooManyPixels);

        // A small JPEG whose frame header (SOF0) is patched to declare 60 000 × 60 000.
        let mut bomb = jpeg(16, 16);
        let sof = bomb.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        bomb[sof + 5..sof + 9].copy_from_slice(&[0xea, 0x60, 0xea, 0x60]);
        assert_eq!(refused(&bomb), AvatarError::TooManyPixels);
    }
}
