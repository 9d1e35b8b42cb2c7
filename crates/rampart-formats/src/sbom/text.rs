//! Turning uploaded bytes into text: UTF-8 (with or without a byte-order mark) and UTF-16
//! (which some SPDX tools write, with a byte-order mark).

use std::borrow::Cow;

use super::SbomError;

/// Decodes a document to text. UTF-8 is borrowed as is (minus a byte-order mark); UTF-16 is
/// recognised by its byte-order mark, or by the zero bytes of ASCII text when it has none.
pub(crate) fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, SbomError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes).map(Cow::Owned);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes).map(Cow::Owned);
    }
    // No mark: every SBOM starts with an ASCII character, which UTF-16 pairs with a zero.
    match bytes {
        [0, first, ..] if *first != 0 => utf16(bytes, u16::from_be_bytes).map(Cow::Owned),
        [first, 0, ..] if *first != 0 => utf16(bytes, u16::from_le_bytes).map(Cow::Owned),
        _ => utf8(bytes),
    }
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, SbomError> {
    std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|error| {
        let offset = error.valid_up_to();
        let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let (line, column) = line_column(valid, offset);
        SbomError::at_line(
            line,
            column,
            format!("invalid UTF-8 at byte {offset} (documents must be UTF-8 or UTF-16 with a byte-order mark)"),
        )
    })
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, SbomError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(SbomError::new(
            "invalid UTF-16: odd number of bytes after the byte-order mark",
        ));
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let mut text = String::with_capacity(bytes.len() / 2);
    for (index, decoded) in char::decode_utf16(units).enumerate() {
        match decoded {
            Ok(c) => text.push(c),
            Err(_) => {
                return Err(SbomError::new(format!(
                    "invalid UTF-16: unpaired surrogate at code unit {index}"
                )))
            }
        }
    }
    Ok(text)
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16_le_with_bom(text: &str) -> Vec<u8> {
        [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect()
    }

    #[test]
    fn decodes_utf8_with_and_without_bom() {
        assert_eq!(decode(b"abc").unwrap(), "abc");
        assert_eq!(decode(b"\xEF\xBB\xBFabc").unwrap(), "abc");
    }

    #[test]
    fn decodes_utf16_both_byte_orders() {
        assert_eq!(
            decode(&utf16_le_with_bom("{\"a\":\"é\"}")).unwrap(),
            "{\"a\":\"é\"}"
        );
        let big_endian: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("<bom/>".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode(&big_endian).unwrap(), "<bom/>");
        let no_mark: Vec<u8> = "{}".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode(&no_mark).unwrap(), "{}");
    }

    #[test]
    fn rejects_broken_encodings_with_a_reason() {
        let error = decode(b"ab\ncd\xFF").unwrap_err();
        assert!(error.message.contains("invalid UTF-8"), "{error}");
        assert_eq!(error.to_string(), "line 2, column 3: invalid UTF-8 at byte 5 (documents must be UTF-8 or UTF-16 with a byte-order mark)");
        assert!(decode(&[0xFF, 0xFE, 0x41]).is_err());
        // A lone high surrogate.
        assert!(decode(&[0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00]).is_err());
    }

    #[test]
    fn line_column_counts_characters() {
        let text = "ab\nçd\nef";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 5), (2, 2));
        assert_eq!(line_column(text, 100), (3, 3));
    }
}
