//! The forms a SARIF upload arrives in: plain JSON, gzip, or GitHub code scanning's gzip then
//! base64 (`sarif` field of `POST /repos/{owner}/{repo}/code-scanning/sarifs`). Decoding is
//! bounded: a small gzip bomb cannot expand past the caller's limit.

use std::borrow::Cow;
use std::io::Read;

use base64::Engine;

use super::read::SarifError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How the upload was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadEncoding {
    Json,
    Gzip,
    /// gzip, then base64 (GitHub's form); plain JSON in base64 is accepted too.
    Base64Gzip,
    Base64Json,
}

impl UploadEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadEncoding::Json => "json",
            UploadEncoding::Gzip => "gzip",
            UploadEncoding::Base64Gzip => "gzip+base64",
            UploadEncoding::Base64Json => "base64",
        }
    }
}

/// The JSON bytes of an upload in any accepted form, at most `max_decoded` bytes; the
/// encoding is detected from the content (gzip magic, a JSON object, else base64).
pub fn decode_upload(
    bytes: &[u8],
    max_decoded: usize,
) -> Result<(Cow<'_, [u8]>, UploadEncoding), SarifError> {
    if bytes.starts_with(&GZIP_MAGIC) {
        return Ok((
            Cow::Owned(gunzip(bytes, max_decoded)?),
            UploadEncoding::Gzip,
        ));
    }
    let body = trim_ascii_start(strip_bom(bytes));
    if body.first() == Some(&b'{') || body.first() == Some(&b'[') {
        if bytes.len() > max_decoded {
            return Err(SarifError::TooLarge { limit: max_decoded });
        }
        return Ok((Cow::Borrowed(bytes), UploadEncoding::Json));
    }
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let decoded = engines
        .iter()
        .find_map(|engine| engine.decode(&compact).ok())
        .ok_or_else(|| {
            SarifError::NotSarif(
                "the body is neither JSON, gzip, nor base64 (GitHub's gzip + base64 form)"
                    .to_string(),
            )
        })?;
    if decoded.starts_with(&GZIP_MAGIC) {
        Ok((
            Cow::Owned(gunzip(&decoded, max_decoded)?),
            UploadEncoding::Base64Gzip,
        ))
    } else if trim_ascii_start(strip_bom(&decoded)).first() == Some(&b'{') {
        if decoded.len() > max_decoded {
            return Err(SarifError::TooLarge { limit: max_decoded });
        }
        Ok((Cow::Owned(decoded), UploadEncoding::Base64Json))
    } else {
        Err(SarifError::NotSarif(
            "the base64 body decodes to neither gzip nor JSON".to_string(),
        ))
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}

fn trim_ascii_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

fn gunzip(bytes: &[u8], max_decoded: usize) -> Result<Vec<u8>, SarifError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(bytes).take(max_decoded as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|error| SarifError::NotSarif(format!("the gzip stream is damaged: {error}")))?;
    if out.len() > max_decoded {
        return Err(SarifError::TooLarge { limit: max_decoded });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    const LOG: &[u8] = br#"{"version":"2.1.0","runs":[]}"#;

    #[test]
    fn json_gzip_and_github_base64_gzip_decode_to_the_same_bytes() {
        let (plain, encoding) = decode_upload(LOG, 1024).unwrap();
        assert_eq!((plain.as_ref(), encoding), (LOG, UploadEncoding::Json));
        let compressed = gzip(LOG);
        let (gz, encoding) = decode_upload(&compressed, 1024).unwrap();
        assert_eq!((gz.as_ref(), encoding), (LOG, UploadEncoding::Gzip));
        let github = base64::engine::general_purpose::STANDARD.encode(gzip(LOG));
        // GitHub's CLI wraps base64 at 76 columns; whitespace is ignored.
        let wrapped = format!("{}\n{}\n", &github[..10], &github[10..]);
        let (b64, encoding) = decode_upload(wrapped.as_bytes(), 1024).unwrap();
        assert_eq!((b64.as_ref(), encoding), (LOG, UploadEncoding::Base64Gzip));
    }

    #[test]
    fn expansion_past_the_limit_is_refused() {
        let big = vec![b' '; 100_000];
        let error = decode_upload(&gzip(&big), 10_000).unwrap_err();
        assert!(matches!(error, SarifError::TooLarge { limit: 10_000 }));
        assert!(matches!(
            decode_upload(LOG, 5).unwrap_err(),
            SarifError::TooLarge { .. }
        ));
    }

    #[test]
    fn other_bodies_are_not_sarif() {
        for body in [&b"<xml/>"[..], b"\x1f\x8bnot gzip", b"@@@@"] {
            assert!(
                matches!(decode_upload(body, 1024), Err(SarifError::NotSarif(_))),
                "{body:?}"
            );
        }
    }
}
