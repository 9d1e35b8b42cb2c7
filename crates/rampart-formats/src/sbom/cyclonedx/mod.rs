//! CycloneDX 1.2–1.6 in JSON and XML. The rules both encodings share (enumerations, value
//! patterns, licence identifiers) live here so that the two parsers judge alike.

pub(crate) mod json;
pub(crate) mod xml;

#[cfg(test)]
mod conformance_tests;

use super::{text, Sbom, SbomError};

/// Parses a CycloneDX JSON document (UTF-8 or UTF-16 with a byte-order mark).
pub fn parse_cyclonedx_json(bytes: &[u8]) -> Result<Sbom, SbomError> {
    json::parse_str(&text::decode(bytes)?)
}

/// Parses a CycloneDX XML document (UTF-8 or UTF-16 with a byte-order mark).
pub fn parse_cyclonedx_xml(bytes: &[u8]) -> Result<Sbom, SbomError> {
    xml::parse_str(&text::decode(bytes)?)
}

/// Minor versions of CycloneDX 1.x that we read. 1.2 and 1.3 are read by the same rules as
/// 1.4 (their documents are a subset); 1.7 and later are refused rather than half-read.
const SUPPORTED_MINOR_VERSIONS: std::ops::RangeInclusive<u8> = 2..=6;

/// The minor version of a supported `1.x` spec version, or an error naming what we support.
pub(crate) fn spec_minor_version(spec_version: &str) -> Result<u8, String> {
    let minor = spec_version
        .strip_prefix("1.")
        .and_then(|minor| minor.parse::<u8>().ok())
        .filter(|minor| SUPPORTED_MINOR_VERSIONS.contains(minor));
    minor.ok_or_else(|| {
        format!("unsupported CycloneDX specVersion \"{spec_version}\" (supported: 1.2 to 1.6)")
    })
}

pub(crate) const COMPONENT_TYPES: &[&str] = &[
    "application",
    "framework",
    "library",
    "container",
    "platform",
    "operating-system",
    "device",
    "device-driver",
    "firmware",
    "file",
    "machine-learning-model",
    "data",
    "cryptographic-asset",
];

pub(crate) const SCOPES: &[&str] = &["required", "optional", "excluded"];

pub(crate) const HASH_ALGORITHMS: &[&str] = &[
    "MD5",
    "SHA-1",
    "SHA-256",
    "SHA-384",
    "SHA-512",
    "SHA3-256",
    "SHA3-384",
    "SHA3-512",
    "BLAKE2b-256",
    "BLAKE2b-384",
    "BLAKE2b-512",
    "BLAKE3",
];

pub(crate) const PATCH_TYPES: &[&str] = &["unofficial", "monkey", "backport", "cherry-pick"];

pub(crate) const ISSUE_TYPES: &[&str] = &["defect", "enhancement", "security"];

pub(crate) const DATA_FLOWS: &[&str] = &["inbound", "outbound", "bi-directional", "unknown"];

pub(crate) const ATTACHMENT_ENCODINGS: &[&str] = &["base64"];

/// Checks `value` against an enumeration, naming the allowed values when it is not one.
pub(crate) fn check_enum(what: &str, value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "invalid {what} \"{value}\": expected one of {}",
            allowed.join(", ")
        ))
    }
}

/// Hash values are hex digests of the lengths the supported algorithms produce.
pub(crate) fn check_hash_content(content: &str) -> Result<(), String> {
    let plausible_length = matches!(content.len(), 32 | 40 | 64 | 96 | 128);
    if plausible_length && content.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!(
            "invalid hash content \"{content}\": expected 32, 40, 64, 96 or 128 hex digits"
        ))
    }
}

/// `serialNumber` is an RFC 4122 URN: `urn:uuid:` and a hyphenated UUID.
pub(crate) fn check_serial_number(serial: &str) -> Result<(), String> {
    let valid = serial.strip_prefix("urn:uuid:").is_some_and(|uuid| {
        let groups: Vec<&str> = uuid.split('-').collect();
        groups.len() == 5
            && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
                group.len() == length && group.bytes().all(|b| b.is_ascii_hexdigit())
            })
    });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid serialNumber \"{serial}\": expected urn:uuid: followed by a UUID"
        ))
    }
}

/// RFC 3339 `date-time` (what JSON Schema's `date-time` and xs:dateTime in practice mean for
/// CycloneDX timestamps): a date, `T`, a time with optional fraction, and an optional offset.
/// xs:dateTime allows the offset to be absent, JSON Schema does not; `offset_required`
/// chooses.
pub(crate) fn check_timestamp(value: &str, offset_required: bool) -> Result<(), String> {
    if is_date_time(value.as_bytes(), offset_required) {
        Ok(())
    } else {
        Err(format!(
            "invalid timestamp \"{value}\": expected an RFC 3339 date-time such as 2024-01-31T12:00:00Z"
        ))
    }
}

fn is_date_time(s: &[u8], offset_required: bool) -> bool {
    fn digits(s: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
        let part = s.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter()
            .try_fold(0u32, |acc, d| Some(acc * 10 + u32::from(d - b'0')))
    }
    let (Some(_year), Some(month), Some(day)) =
        (digits(s, 0..4), digits(s, 5..7), digits(s, 8..10))
    else {
        return false;
    };
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || !matches!(s.get(10), Some(b'T' | b't'))
    {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) =
        (digits(s, 11..13), digits(s, 14..16), digits(s, 17..19))
    else {
        return false;
    };
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return false;
    }
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let length = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if length == 0 {
            return false;
        }
        rest = &fraction[length..];
    }
    match rest {
        [] => !offset_required,
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') <= 23
                && (m1 - b'0') * 10 + (m2 - b'0') <= 59
        }
        _ => false,
    }
}

/// Licence `id`s must be SPDX licence identifiers (the schemas enumerate the SPDX list,
/// deprecated identifiers included).
pub(crate) fn check_spdx_license_id(id: &str) -> Result<(), String> {
    if ::spdx::license_id(id).is_some() {
        Ok(())
    } else {
        Err(format!(
            "invalid license id \"{id}\": not an SPDX license identifier (use `name` for other licenses)"
        ))
    }
}

/// A `bom-ref` (or a reference to one) may not be empty.
pub(crate) fn check_reference(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        Err("empty reference: bom-ref values must be non-empty".to_owned())
    } else {
        Ok(())
    }
}

pub(crate) fn check_purl(purl: &str) -> Result<(), String> {
    if super::is_plausible_purl(purl) {
        Ok(())
    } else {
        Err(format!("invalid purl \"{purl}\": expected pkg:type/name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_versions() {
        assert_eq!(spec_minor_version("1.6"), Ok(6));
        assert_eq!(spec_minor_version("1.2"), Ok(2));
        assert!(spec_minor_version("1.7")
            .unwrap_err()
            .contains("1.2 to 1.6"));
        assert!(spec_minor_version("2.0").is_err());
        assert!(spec_minor_version("1.").is_err());
    }

    #[test]
    fn timestamps() {
        for valid in [
            "2020-04-13T20:20:39Z",
            "2020-04-13T20:20:39.123+02:00",
            "2020-04-13t20:20:39-05:30",
        ] {
            assert!(check_timestamp(valid, true).is_ok(), "{valid}");
        }
        for invalid in [
            "2020-04-13",
            "2020-13-13T20:20:39Z",
            "2020-04-13T20:20:39",
            "2020-04-13T20:20:39.Z",
            "2020-04-13 20:20:39Z",
            "",
        ] {
            assert!(check_timestamp(invalid, true).is_err(), "{invalid}");
        }
        assert!(check_timestamp("2020-04-13T20:20:39", false).is_ok());
    }

    #[test]
    fn serial_numbers_and_hashes() {
        assert!(check_serial_number("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79").is_ok());
        assert!(check_serial_number("urn:uuid:3e671687-395b-41f5-a30f").is_err());
        assert!(check_serial_number("3e671687-395b-41f5-a30f-a58921a69b79").is_err());
        assert!(check_hash_content("3942447fac867ae5cdb3229b658f4d48").is_ok());
        assert!(check_hash_content("foo").is_err());
        assert!(check_hash_content("3942447fac867ae5cdb3229b658f4d4g").is_err());
    }

    #[test]
    fn license_ids_and_enums() {
        assert!(check_spdx_license_id("Apache-2.0").is_ok());
        assert!(
            check_spdx_license_id("GPL-2.0").is_ok(),
            "deprecated ids stay valid"
        );
        assert!(check_spdx_license_id("Apache-2").is_err());
        assert!(check_enum("scope", "required", SCOPES).is_ok());
        let error = check_enum("scope", "foo", SCOPES).unwrap_err();
        assert_eq!(
            error,
            "invalid scope \"foo\": expected one of required, optional, excluded"
        );
    }
}
