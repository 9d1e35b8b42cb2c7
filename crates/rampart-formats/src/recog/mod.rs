//! Rapid7 Recog fingerprint databases (<https://github.com/rapid7/recog>, BSD-2-Clause): XML
//! files of regular expressions over banners and HTTP headers, each naming what it matched
//! (`service.vendor`, `service.product`, `service.version`, …, and CPE templates such as
//! `cpe:/a:nginx:nginx:{service.version}`), with `<example>` texts and the values they must
//! yield. [`parse_database`] reads one file; [`Matcher`] compiles its patterns (Recog's
//! patterns are Ruby regular expressions: [`matcher`] says how they are translated, and which
//! ones cannot be, each counted with its reason) and identifies a text.

mod matcher;

pub use matcher::{Identification, Matcher, SkippedPattern};

use base64::Engine as _;
use quick_xml::events::Event;
use quick_xml::Reader;

/// One fingerprint database (one XML file).
#[derive(Debug, Clone, PartialEq)]
pub struct Database {
    /// The file's stem (`http_servers`).
    pub name: String,
    /// What the database is matched against (`http_header.server`, `ssh.banner`).
    pub matches: String,
    pub protocol: Option<String>,
    pub database_type: Option<String>,
    pub preference: Option<f64>,
    pub fingerprints: Vec<Fingerprint>,
}

/// One pattern with what it identifies.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// The Ruby regular expression, as written.
    pub pattern: String,
    /// Recog's flags: `REG_ICASE`, `REG_DOT_NEWLINE`, `REG_MULTILINE`.
    pub flags: Vec<String>,
    pub description: String,
    pub examples: Vec<Example>,
    pub params: Vec<Param>,
}

/// A text the fingerprint must match, with the values it must yield.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The text (base64-decoded when the example says `_encoding="base64"`).
    pub text: Vec<u8>,
    /// Expected `name = value` pairs (attributes not starting with `_`).
    pub expected: Vec<(String, String)>,
}

/// A value the fingerprint yields: a capture group (`pos` ≥ 1) or a literal (`pos` 0), which
/// may interpolate other values (`{service.version}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub pos: usize,
    pub name: String,
    pub value: Option<String>,
}

/// A database that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("recog database {database}: {message}")]
pub struct RecogError {
    pub database: String,
    pub message: String,
}

#[derive(Default)]
struct Open {
    fingerprint: Option<Fingerprint>,
    /// The element whose text is being read: `description` or `example`.
    text_of: Option<&'static str>,
    example_attributes: Vec<(String, String)>,
    example_base64: bool,
    text: String,
}

/// Reads one Recog XML database. `name` is the file's stem.
pub fn parse_database(name: &str, xml: &str) -> Result<Database, RecogError> {
    let fail = |message: String| RecogError {
        database: name.to_string(),
        message,
    };
    let mut reader = Reader::from_str(xml);
    let mut database = Database {
        name: name.to_string(),
        matches: String::new(),
        protocol: None,
        database_type: None,
        preference: None,
        fingerprints: Vec::new(),
    };
    let mut open = Open::default();
    let mut seen_root = false;
    loop {
        let event = reader.read_event().map_err(|error| {
            fail(format!(
                "not well-formed XML at byte {}: {error}",
                reader.error_position()
            ))
        })?;
        match event {
            Event::Start(_) | Event::Empty(_) => {
                let (start, empty) = match &event {
                    Event::Start(start) => (start, false),
                    Event::Empty(start) => (start, true),
                    _ => unreachable!("matched above"),
                };
                let element = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| fail(format!("bad attribute: {e}")))?;
                    let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
                    let value = attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| fail(format!("bad attribute value: {e}")))?
                        .into_owned();
                    attributes.push((key, value));
                }
                let attribute = |key: &str| {
                    attributes
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.clone())
                };
                match element.as_str() {
                    "fingerprints" => {
                        seen_root = true;
                        database.matches = attribute("matches").unwrap_or_default();
                        database.protocol = attribute("protocol");
                        database.database_type = attribute("database_type");
                        database.preference = attribute("preference").and_then(|p| p.parse().ok());
                    }
                    "fingerprint" => {
                        let pattern = attribute("pattern")
                            .ok_or_else(|| fail("a <fingerprint> without a pattern".into()))?;
                        let flags = attribute("flags")
                            .map(|f| {
                                f.split(',')
                                    .map(|s| s.trim().to_string())
                                    .filter(|s| !s.is_empty())
                                    .collect()
                            })
                            .unwrap_or_default();
                        open.fingerprint = Some(Fingerprint {
                            pattern,
                            flags,
                            description: String::new(),
                            examples: Vec::new(),
                            params: Vec::new(),
                        });
                    }
                    "description" => {
                        open.text_of = Some("description");
                        open.text.clear();
                    }
                    "example" => {
                        open.text_of = Some("example");
                        open.text.clear();
                        open.example_base64 = attribute("_encoding").as_deref() == Some("base64");
                        open.example_attributes = attributes
                            .into_iter()
                            .filter(|(k, _)| !k.starts_with('_'))
                            .collect();
                        if empty {
                            // `<example/>`: an empty text.
                            let text = Vec::new();
                            if let Some(fingerprint) = open.fingerprint.as_mut() {
                                fingerprint.examples.push(Example {
                                    text,
                                    expected: std::mem::take(&mut open.example_attributes),
                                });
                            }
                            open.text_of = None;
                        }
                    }
                    "param" => {
                        let Some(fingerprint) = open.fingerprint.as_mut() else {
                            return Err(fail("a <param> outside a <fingerprint>".into()));
                        };
                        let pos = attribute("pos")
                            .and_then(|p| p.parse().ok())
                            .ok_or_else(|| fail("a <param> without a numeric pos".into()))?;
                        let name = attribute("name")
                            .ok_or_else(|| fail("a <param> without a name".into()))?;
                        fingerprint.params.push(Param {
                            pos,
                            name,
                            value: attribute("value"),
                        });
                    }
                    _ => {}
                }
            }
            Event::Text(text) if open.text_of.is_some() => {
                let text = text.decode().map_err(|e| fail(format!("bad text: {e}")))?;
                open.text.push_str(&text);
            }
            Event::CData(text) if open.text_of.is_some() => {
                let text = text.decode().map_err(|e| fail(format!("bad text: {e}")))?;
                open.text.push_str(&text);
            }
            Event::GeneralRef(reference) if open.text_of.is_some() => {
                let name = String::from_utf8_lossy(&reference).into_owned();
                let resolved = if reference.is_char_ref() {
                    reference.resolve_char_ref().ok().flatten()
                } else {
                    match name.as_str() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    }
                };
                match resolved {
                    Some(c) => open.text.push(c),
                    None => return Err(fail(format!("unknown entity `&{name};`"))),
                }
            }
            Event::End(end) => {
                let element = String::from_utf8_lossy(end.local_name().as_ref()).into_owned();
                match element.as_str() {
                    "description" => {
                        if let Some(fingerprint) = open.fingerprint.as_mut() {
                            fingerprint.description = open.text.trim().to_string();
                        }
                        open.text_of = None;
                    }
                    "example" => {
                        let text = std::mem::take(&mut open.text);
                        let text = if open.example_base64 {
                            let compact: String =
                                text.chars().filter(|c| !c.is_whitespace()).collect();
                            base64::engine::general_purpose::STANDARD
                                .decode(compact.as_bytes())
                                .map_err(|e| fail(format!("an example is not base64: {e}")))?
                        } else {
                            text.into_bytes()
                        };
                        if let Some(fingerprint) = open.fingerprint.as_mut() {
                            fingerprint.examples.push(Example {
                                text,
                                expected: std::mem::take(&mut open.example_attributes),
                            });
                        }
                        open.text_of = None;
                    }
                    "fingerprint" => {
                        if let Some(fingerprint) = open.fingerprint.take() {
                            database.fingerprints.push(fingerprint);
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(fail("no <fingerprints> root element".into()));
    }
    Ok(database)
}

/// A Recog CPE template value (`cpe:/a:nginx:nginx:1.18.0`, the CPE 2.2 URI form Recog
/// writes, or an already formatted `cpe:2.3:…`) as a CPE 2.3 formatted string; `None` when
/// the value is neither.
pub fn cpe23_formatted(value: &str) -> Option<String> {
    let value = value.trim();
    if value.starts_with("cpe:2.3:") {
        return Some(value.to_string());
    }
    let rest = value.strip_prefix("cpe:/")?;
    let mut parts: Vec<String> = rest
        .split(':')
        .map(|part| {
            if part.is_empty() {
                "*".to_string()
            } else {
                part.to_string()
            }
        })
        .collect();
    if parts.is_empty() || !matches!(parts[0].as_str(), "a" | "o" | "h") {
        return None;
    }
    parts.truncate(7);
    while parts.len() < 11 {
        parts.push("*".to_string());
    }
    Some(format!("cpe:2.3:{}", parts.join(":")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fingerprints_params_and_examples() {
        let xml = r#"<?xml version='1.0' encoding='UTF-8'?>
<fingerprints matches="ssh.banner" protocol="ssh" database_type="service" preference="0.90">
  <fingerprint pattern="^OpenSSH_([\d.]+)$" flags="REG_ICASE">
    <description>OpenSSH &amp; friends</description>
    <example service.version="7.4">OpenSSH_7.4</example>
    <example _encoding="base64" service.version="8.0">T3BlblNTSF84LjA=</example>
    <param pos="0" name="service.vendor" value="OpenBSD"/>
    <param pos="1" name="service.version"/>
    <param pos="0" name="service.cpe23" value="cpe:/a:openbsd:openssh:{service.version}"/>
  </fingerprint>
</fingerprints>"#;
        let database = parse_database("ssh_banners", xml).unwrap();
        assert_eq!(database.matches, "ssh.banner");
        assert_eq!(database.preference, Some(0.9));
        let fingerprint = &database.fingerprints[0];
        assert_eq!(fingerprint.flags, vec!["REG_ICASE"]);
        assert_eq!(fingerprint.description, "OpenSSH & friends");
        assert_eq!(fingerprint.examples[1].text, b"OpenSSH_8.0");
        assert_eq!(
            fingerprint.examples[0].expected,
            vec![("service.version".to_string(), "7.4".to_string())]
        );
        assert_eq!(fingerprint.params.len(), 3);
    }

    #[test]
    fn cpe_uris_become_formatted_strings() {
        assert_eq!(
            cpe23_formatted("cpe:/a:nginx:nginx:1.18.0").as_deref(),
            Some("cpe:2.3:a:nginx:nginx:1.18.0:*:*:*:*:*:*:*")
        );
        assert_eq!(
            cpe23_formatted("cpe:/o:hp:integrated_lights-out_firmware:-").as_deref(),
            Some("cpe:2.3:o:hp:integrated_lights-out_firmware:-:*:*:*:*:*:*:*")
        );
        assert_eq!(cpe23_formatted("nginx"), None);
    }
}
