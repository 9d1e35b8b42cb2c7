//! CPE 2.3 names (NISTIR 7695): the formatted-string binding (`cpe:2.3:a:vendor:product:…`)
//! and the legacy URI binding (`cpe:/a:vendor:product:version`) parse to one [`Cpe`];
//! serialisation is always the formatted string. Matching follows the CPE name-matching
//! specification (NISTIR 7696): a source name matches a target when every attribute of the
//! source is a superset of or equal to the target's. [`CpeMatchCriteria`] adds NVD's
//! `versionStart*`/`versionEnd*` bounds, compared with a [`Scheme`].

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::{Scheme, Version, VersionError};

/// The eleven attributes, in binding order.
pub const ATTRIBUTES: [&str; 11] = [
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
];

const VERSION: usize = 3;

/// One attribute value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum CpeValue {
    /// `*`: any value.
    #[default]
    Any,
    /// `-`: not applicable.
    Na,
    /// A value in canonical formatted-string form: lowercase, punctuation other than `-`,
    /// `.` and `_` quoted with `\`, unquoted `*` / `?` being wildcards.
    Value(String),
}

impl CpeValue {
    /// The value with quoting removed (wildcards kept as `*` / `?`); `None` for ANY / NA.
    pub fn unquoted(&self) -> Option<String> {
        match self {
            CpeValue::Value(text) => Some(tokens(text).map(Token::as_char).collect()),
            _ => None,
        }
    }

    fn has_wildcards(&self) -> bool {
        match self {
            CpeValue::Value(text) => tokens(text).any(|t| !matches!(t, Token::Literal(_))),
            _ => false,
        }
    }

    /// A literal value, quoting what needs quoting. An empty text is ANY (nothing known).
    pub fn literal(text: &str) -> CpeValue {
        if text.is_empty() {
            return CpeValue::Any;
        }
        let mut quoted = String::with_capacity(text.len());
        for c in text.chars() {
            push_literal(&mut quoted, c);
        }
        literal_value(quoted)
    }
}

fn push_literal(out: &mut String, c: char) {
    let c = c.to_ascii_lowercase();
    if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') || !c.is_ascii() {
        out.push(c);
    } else {
        out.push('\\');
        out.push(c);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `*`: zero or more characters.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

impl Token {
    fn as_char(self) -> char {
        match self {
            Token::Literal(c) => c,
            Token::AnyRun => '*',
            Token::AnyOne => '?',
        }
    }
}

/// Reads a canonical value into literal characters and wildcards.
fn tokens(text: &str) -> impl Iterator<Item = Token> + '_ {
    let mut chars = text.chars();
    std::iter::from_fn(move || {
        let c = chars.next()?;
        Some(match c {
            '\\' => Token::Literal(chars.next().unwrap_or('\\')),
            '*' => Token::AnyRun,
            '?' => Token::AnyOne,
            other => Token::Literal(other),
        })
    })
}

/// Does the pattern (may hold wildcards) match the literal target characters?
fn glob_matches(pattern: &[Token], target: &[char]) -> bool {
    // Classic two-pointer glob with backtracking to the last `*`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < target.len() {
        match pattern.get(p) {
            Some(Token::AnyOne) => {
                p += 1;
                t += 1;
            }
            Some(Token::Literal(c)) if *c == target[t] => {
                p += 1;
                t += 1;
            }
            Some(Token::AnyRun) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|token| *token == Token::AnyRun)
}

/// A CPE 2.3 name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cpe {
    attributes: [CpeValue; 11],
}

fn cpe_error(input: &str, reason: impl Into<String>) -> VersionError {
    VersionError::new("cpe", input, reason)
}

impl Cpe {
    /// Parses either binding, chosen by prefix.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let trimmed = input.trim();
        let has_prefix = |prefix: &str| {
            // `get` rather than slicing: the input may be non-ASCII at the cut.
            trimmed
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        if has_prefix("cpe:2.3:") {
            Self::parse_formatted(trimmed)
        } else if has_prefix("cpe:/") {
            Self::parse_uri(trimmed)
        } else {
            Err(cpe_error(input, "expected `cpe:2.3:` or `cpe:/`"))
        }
    }

    /// Parses the formatted-string binding: exactly 11 attributes after `cpe:2.3:`,
    /// separated by unquoted `:`.
    pub fn parse_formatted(input: &str) -> Result<Self, VersionError> {
        let body = input
            .get(8..)
            .filter(|_| input[..8].eq_ignore_ascii_case("cpe:2.3:"))
            .ok_or_else(|| cpe_error(input, "expected `cpe:2.3:`"))?;
        let mut fields: Vec<String> = vec![String::new()];
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let escaped = chars
                        .next()
                        .ok_or_else(|| cpe_error(input, "trailing `\\`"))?;
                    let field = fields.last_mut().expect("non-empty");
                    field.push('\\');
                    field.push(escaped);
                }
                ':' => fields.push(String::new()),
                other => fields.last_mut().expect("non-empty").push(other),
            }
        }
        if fields.len() != 11 {
            return Err(cpe_error(
                input,
                format!("expected 11 attributes, found {}", fields.len()),
            ));
        }
        let mut attributes: [CpeValue; 11] = Default::default();
        for (index, field) in fields.iter().enumerate() {
            attributes[index] = formatted_value(field)
                .map_err(|reason| cpe_error(input, format!("{}: {reason}", ATTRIBUTES[index])))?;
        }
        Self::from_attributes(attributes).map_err(|reason| cpe_error(input, reason))
    }

    /// Parses the URI binding: up to seven `:`-separated, percent-encoded components;
    /// missing ones are ANY. A `~`-packed edition carries the five extended attributes.
    pub fn parse_uri(input: &str) -> Result<Self, VersionError> {
        let body = input
            .get(5..)
            .filter(|_| input[..5].eq_ignore_ascii_case("cpe:/"))
            .ok_or_else(|| cpe_error(input, "expected `cpe:/`"))?;
        let components: Vec<&str> = body.split(':').collect();
        if components.len() > 7 {
            return Err(cpe_error(input, "more than 7 URI components"));
        }
        let mut attributes: [CpeValue; 11] = Default::default();
        for (index, component) in components.iter().enumerate() {
            let decode = |text: &str| {
                uri_value(text)
                    .map_err(|reason| cpe_error(input, format!("{}: {reason}", ATTRIBUTES[index])))
            };
            if index == 5 && component.starts_with('~') {
                let packed: Vec<&str> = component[1..].split('~').collect();
                if packed.len() != 5 {
                    return Err(cpe_error(input, "packed edition needs 5 `~` fields"));
                }
                attributes[5] = decode(packed[0])?;
                for (offset, text) in packed[1..].iter().enumerate() {
                    attributes[7 + offset] = decode(text)?;
                }
            } else {
                attributes[index] = decode(component)?;
            }
        }
        Self::from_attributes(attributes).map_err(|reason| cpe_error(input, reason))
    }

    fn from_attributes(attributes: [CpeValue; 11]) -> Result<Self, String> {
        match &attributes[0] {
            CpeValue::Any => {}
            CpeValue::Value(part) if matches!(part.as_str(), "a" | "o" | "h") => {}
            other => return Err(format!("part must be a, o or h, not {other:?}")),
        }
        Ok(Cpe { attributes })
    }

    pub fn attribute(&self, index: usize) -> &CpeValue {
        &self.attributes[index]
    }

    pub fn attributes(&self) -> &[CpeValue; 11] {
        &self.attributes
    }

    pub fn part(&self) -> &CpeValue {
        &self.attributes[0]
    }

    pub fn vendor(&self) -> &CpeValue {
        &self.attributes[1]
    }

    pub fn product(&self) -> &CpeValue {
        &self.attributes[2]
    }

    pub fn version(&self) -> &CpeValue {
        &self.attributes[VERSION]
    }

    /// The same name with another version attribute.
    pub fn with_version(&self, version: CpeValue) -> Cpe {
        let mut attributes = self.attributes.clone();
        attributes[VERSION] = version;
        Cpe { attributes }
    }

    /// CPE name matching: is every attribute of `self` (the source, which may hold
    /// wildcards) a superset of or equal to the target's? A target holding wildcards never
    /// matches, as its relation is undefined.
    pub fn matches(&self, target: &Cpe) -> bool {
        self.attributes
            .iter()
            .zip(&target.attributes)
            .all(|(source, target)| attribute_matches(source, target))
    }

    /// Like [`Cpe::matches`], ignoring the version attribute (checked by a range instead).
    fn matches_except_version(&self, target: &Cpe) -> bool {
        self.attributes
            .iter()
            .zip(&target.attributes)
            .enumerate()
            .all(|(index, (source, target))| index == VERSION || attribute_matches(source, target))
    }
}

fn attribute_matches(source: &CpeValue, target: &CpeValue) -> bool {
    match (source, target) {
        (CpeValue::Any, _) => true,
        (CpeValue::Na, CpeValue::Na) => true,
        (CpeValue::Na, _) => false,
        (CpeValue::Value(_), CpeValue::Any | CpeValue::Na) => false,
        (CpeValue::Value(pattern), CpeValue::Value(value)) => {
            if target.has_wildcards() {
                return false;
            }
            // Both sides are in canonical quoting, so without wildcards (the usual case)
            // string equality is the answer, with no allocation.
            if !source.has_wildcards() {
                return pattern == value;
            }
            let pattern: Vec<Token> = tokens(pattern).collect();
            let literal: Vec<char> = tokens(value).map(Token::as_char).collect();
            glob_matches(&pattern, &literal)
        }
    }
}

/// Reads one formatted-string field into canonical form.
fn formatted_value(field: &str) -> Result<CpeValue, String> {
    match field {
        "" => return Err("empty attribute".into()),
        "*" => return Ok(CpeValue::Any),
        "-" => return Ok(CpeValue::Na),
        _ => {}
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let quoted = chars.next().ok_or("trailing `\\`")?;
                // Only ASCII is written quoted; other whitespace would be written bare, and
                // bare whitespace is refused.
                if !quoted.is_ascii() && (quoted.is_whitespace() || quoted.is_control()) {
                    return Err("whitespace in a value".into());
                }
                push_literal(&mut out, quoted)
            }
            '*' | '?' => out.push(c),
            c if c.is_whitespace() || c.is_control() => return Err("whitespace in a value".into()),
            other => push_literal(&mut out, other),
        }
    }
    check_wildcard_placement(&out)?;
    Ok(literal_value(out))
}

/// A value that is exactly `-` must stay quoted, or it would read back as NA.
fn literal_value(mut text: String) -> CpeValue {
    if text == "-" {
        text.insert(0, '\\');
    }
    CpeValue::Value(text)
}

/// Wildcards may only form a leading and a trailing run: a single `*`, or one or more `?`.
fn check_wildcard_placement(value: &str) -> Result<(), String> {
    let all: Vec<Token> = tokens(value).collect();
    let leading = all
        .iter()
        .take_while(|t| !matches!(t, Token::Literal(_)))
        .count();
    let trailing = all[leading..]
        .iter()
        .rev()
        .take_while(|t| !matches!(t, Token::Literal(_)))
        .count();
    let middle = &all[leading..all.len() - trailing];
    if middle.iter().any(|t| !matches!(t, Token::Literal(_))) {
        return Err("unquoted wildcard inside a value".into());
    }
    let valid_run = |run: &[Token]| {
        run.is_empty() || run == [Token::AnyRun] || run.iter().all(|t| *t == Token::AnyOne)
    };
    if valid_run(&all[..leading]) && valid_run(&all[all.len() - trailing..]) {
        Ok(())
    } else {
        Err("a wildcard run must be one `*` or only `?`".into())
    }
}

/// Reads one URI component: empty is ANY, `-` is NA, `%01` / `%02` are the `?` / `*`
/// wildcards, other `%XX` escapes are literal characters.
fn uri_value(component: &str) -> Result<CpeValue, String> {
    match component {
        "" => return Ok(CpeValue::Any),
        "-" => return Ok(CpeValue::Na),
        _ => {}
    }
    let mut out = String::with_capacity(component.len());
    let bytes = component.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = component
                .get(index + 1..index + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("invalid percent-encoding")?;
            match hex {
                0x01 => out.push('?'),
                0x02 => out.push('*'),
                byte if byte.is_ascii() && !byte.is_ascii_control() => {
                    push_literal(&mut out, byte as char)
                }
                _ => return Err("percent-encoded byte outside printable ASCII".into()),
            }
            index += 3;
        } else {
            let c = component[index..].chars().next().ok_or("bad character")?;
            if c == '~' {
                return Err("`~` outside a packed edition".into());
            }
            // As in the formatted string: whitespace (U+00A0 too) and control characters
            // only percent-encoded, else the name would not format to a string that reads back.
            if c.is_whitespace() || c.is_control() {
                return Err("whitespace in a value".into());
            }
            push_literal(&mut out, c);
            index += c.len_utf8();
        }
    }
    check_wildcard_placement(&out)?;
    // `%02` alone is the unquoted `*` the formatted string writes for ANY.
    if out == "*" {
        return Ok(CpeValue::Any);
    }
    Ok(literal_value(out))
}

impl FromStr for Cpe {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cpe::parse(s)
    }
}

impl fmt::Display for CpeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpeValue::Any => f.write_str("*"),
            CpeValue::Na => f.write_str("-"),
            CpeValue::Value(text) => f.write_str(text),
        }
    }
}

/// The formatted-string binding.
impl fmt::Display for Cpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cpe:2.3")?;
        for value in &self.attributes {
            write!(f, ":{value}")?;
        }
        Ok(())
    }
}

/// One end of an NVD version range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionBound {
    pub version: Version,
    pub text: String,
    pub inclusive: bool,
}

/// An NVD `cpeMatch` entry: criteria plus optional version bounds.
#[derive(Debug, Clone)]
pub struct CpeMatchCriteria {
    criteria: Cpe,
    scheme: Scheme,
    start: Option<VersionBound>,
    end: Option<VersionBound>,
}

/// Why a criteria matched, for evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpeMatchReason<'a> {
    /// The criteria name matched without a version range.
    Name,
    /// The target version lies within the bounds.
    VersionRange {
        start: Option<&'a VersionBound>,
        end: Option<&'a VersionBound>,
    },
}

impl CpeMatchCriteria {
    /// Builds criteria from NVD's fields. Bounds are parsed once with `scheme`.
    pub fn new(
        criteria: Cpe,
        scheme: Scheme,
        start_including: Option<&str>,
        start_excluding: Option<&str>,
        end_including: Option<&str>,
        end_excluding: Option<&str>,
    ) -> Result<Self, VersionError> {
        let bound =
            |text: Option<&str>, inclusive: bool| -> Result<Option<VersionBound>, VersionError> {
                // NVD occasionally writes `-` (or `*`) for "no bound", e.g.
                // `versionStartIncluding: "-"`: from the first version on.
                text.filter(|text| !matches!(text.trim(), "" | "-" | "*"))
                    .map(|text| {
                        Ok(VersionBound {
                            version: scheme.parse(text)?,
                            text: text.to_string(),
                            inclusive,
                        })
                    })
                    .transpose()
            };
        let start = match (start_including, start_excluding) {
            (Some(_), Some(_)) => {
                return Err(cpe_error(
                    &criteria.to_string(),
                    "both versionStartIncluding and versionStartExcluding",
                ))
            }
            (including, None) => bound(including, true)?,
            (None, excluding) => bound(excluding, false)?,
        };
        let end = match (end_including, end_excluding) {
            (Some(_), Some(_)) => {
                return Err(cpe_error(
                    &criteria.to_string(),
                    "both versionEndIncluding and versionEndExcluding",
                ))
            }
            (including, None) => bound(including, true)?,
            (None, excluding) => bound(excluding, false)?,
        };
        Ok(Self {
            criteria,
            scheme,
            start,
            end,
        })
    }

    pub fn criteria(&self) -> &Cpe {
        &self.criteria
    }

    pub fn has_version_range(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }

    /// Does `target` fall under these criteria? With a version range, the target's version
    /// must be a concrete value inside it; one the scheme cannot parse does not match.
    pub fn matches(&self, target: &Cpe) -> Option<CpeMatchReason<'_>> {
        if !self.has_version_range() {
            return self
                .criteria
                .matches(target)
                .then_some(CpeMatchReason::Name);
        }
        if !self.criteria.matches_except_version(target) {
            return None;
        }
        // NVD puts `*` in the criteria's version when a range is given; anything else
        // must also match literally.
        if !attribute_matches(self.criteria.version(), target.version()) {
            return None;
        }
        let text = target.version().unquoted()?;
        if target.version().has_wildcards() {
            return None;
        }
        let version = self.scheme.parse(&text).ok()?;
        self.version_in_range(&version)
            .then_some(CpeMatchReason::VersionRange {
                start: self.start.as_ref(),
                end: self.end.as_ref(),
            })
    }

    fn version_in_range(&self, version: &Version) -> bool {
        let above_start =
            self.start
                .as_ref()
                .is_none_or(|bound| match version.cmp(&bound.version) {
                    Ordering::Greater => true,
                    Ordering::Equal => bound.inclusive,
                    Ordering::Less => false,
                });
        let below_end = self
            .end
            .as_ref()
            .is_none_or(|bound| match version.cmp(&bound.version) {
                Ordering::Less => true,
                Ordering::Equal => bound.inclusive,
                Ordering::Greater => false,
            });
        above_start && below_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn cpe(text: &str) -> Cpe {
        Cpe::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn parses_both_bindings_to_one_name() {
        let formatted = cpe(r"cpe:2.3:a:apache:xerces-c\+\+:3.2.1:*:*:*:*:*:*:*");
        assert_eq!(
            formatted.product().unquoted().as_deref(),
            Some("xerces-c++")
        );
        assert_eq!(formatted.version().unquoted().as_deref(), Some("3.2.1"));
        let uri = cpe("cpe:/a:apache:xerces-c%2b%2b:3.2.1");
        assert_eq!(uri, formatted);
        assert_eq!(
            uri.to_string(),
            r"cpe:2.3:a:apache:xerces-c\+\+:3.2.1:*:*:*:*:*:*:*"
        );
        let packed = cpe("cpe:/a:hp:insight_diagnostics:7.4.0.1570:-:~~online~win2003~x64~");
        assert_eq!(
            packed.to_string(),
            "cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*"
        );
        let escaped_uri =
            cpe("cpe:/a:foo%5cbar:big%24money_manager_2010:::~~special~ipod_touch~80gb~");
        assert_eq!(
            escaped_uri.to_string(),
            r"cpe:2.3:a:foo\\bar:big\$money_manager_2010:*:*:*:*:special:ipod_touch:80gb:*"
        );
        let uri_wildcards = cpe("cpe:/a:microsoft:internet_explorer:8.%02:sp%01");
        assert_eq!(
            uri_wildcards.to_string(),
            "cpe:2.3:a:microsoft:internet_explorer:8.*:sp?:*:*:*:*:*:*"
        );
        assert_eq!(
            cpe("CPE:2.3:A:Microsoft:Windows:-:*:*:*:*:*:*:*").to_string(),
            "cpe:2.3:a:microsoft:windows:-:*:*:*:*:*:*:*"
        );
    }

    /// Found by the `cpe` fuzz target: a URI component with a bare U+00A0 parsed, but its
    /// formatted string (where the character stays bare) did not read back.
    #[test]
    fn fuzz_unicode_whitespace_is_refused_in_both_bindings() {
        for bad in [
            "cpe:/:\u{a0}*",
            "cpe:/a:ven\u{2003}dor:product",
            "cpe:/a:vendor:pro\u{85}duct",
            "cpe:/a:ven dor:product",
            "cpe:2.3:a:ven\\\u{a0}dor:product:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:vendor:pro\\\u{85}duct:*:*:*:*:*:*:*:*",
        ] {
            let error = Cpe::parse(bad).expect_err(bad);
            assert!(
                error.reason.contains("whitespace in a value"),
                "{bad:?}: {error}"
            );
        }
        // Percent-encoded, a space is a quoted literal, and reads back from its formatted form.
        let spaced = cpe("cpe:/a:ven%20dor:product");
        assert_eq!(cpe(&spaced.to_string()), spaced);
        // Other non-ASCII stays accepted both ways.
        let accented = cpe("cpe:/a:caf\u{e9}:product");
        assert_eq!(cpe(&accented.to_string()), accented);
    }

    /// Found by the `cpe` fuzz target: a URI component of only `%02` read as the value `*`,
    /// which formats as `*` and reads back as ANY.
    #[test]
    fn fuzz_uri_lone_asterisk_is_any() {
        let uri = cpe("cpe:/:%02");
        assert_eq!(uri.attribute(1), &CpeValue::Any);
        assert_eq!(uri.to_string(), "cpe:2.3:*:*:*:*:*:*:*:*:*:*:*");
        assert_eq!(cpe(&uri.to_string()), uri);
        assert_eq!(
            cpe("cpe:/a:vendor:product:%02"),
            cpe("cpe:/a:vendor:product")
        );
        // In a longer value it stays a wildcard.
        let prefix = cpe("cpe:/a:vendor:product:1.%02");
        assert_eq!(
            prefix.to_string(),
            "cpe:2.3:a:vendor:product:1.*:*:*:*:*:*:*:*"
        );
        assert_eq!(cpe(&prefix.to_string()), prefix);
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "",
            "cpe:2.3:a:vendor",
            "cpe:2.3:a:v:p:1:*:*:*:*:*:*:*:extra",
            "cpe:2.3:x:v:p:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:v:p:1*2:*:*:*:*:*:*:*",
            "cpe:2.3:a:v:p:1 2:*:*:*:*:*:*:*",
            "cpe:2.3:a:v::*:*:*:*:*:*:*:*",
            "cpe:2.3:a:v:p:1:*:*:*:*:*:*:\\",
            "cpe:/a:v:p:1:2:3:4:5",
            "cpe:/a:v:p%zz",
            "cpe:/a:v:p:1:~a~b",
            "pkg:npm/foo",
            "cpe:2.é",
            "cpe:é",
        ] {
            assert!(Cpe::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn matches_any_na_and_wildcards() {
        let target = cpe("cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*");
        assert!(cpe("cpe:2.3:a:microsoft:internet_explorer:*:*:*:*:*:*:*:*").matches(&target));
        assert!(cpe("cpe:2.3:a:microsoft:internet_explorer:8.0.*:*:*:*:*:*:*:*").matches(&target));
        // Wildcards are only allowed at the edges of a value.
        assert!(
            Cpe::parse("cpe:2.3:a:microsoft:internet_explorer:8.?.6001:*:*:*:*:*:*:*").is_err()
        );
        assert!(Cpe::parse("cpe:2.3:a:microsoft:internet_?xplorer:*:*:*:*:*:*:*:*").is_err());
        assert!(cpe("cpe:2.3:a:microsoft:*explorer:*:*:*:*:*:*:*:*").matches(&target));
        assert!(
            cpe("cpe:2.3:a:microsoft:internet_explorer:8.0.600?:*:*:*:*:*:*:*").matches(&target)
        );
        assert!(
            !cpe("cpe:2.3:a:microsoft:internet_explorer:8.0.60??:*:*:*:*:*:*:*").matches(&cpe(
                "cpe:2.3:a:microsoft:internet_explorer:8.0.6:*:*:*:*:*:*:*"
            ))
        );
        assert!(
            !cpe("cpe:2.3:a:microsoft:internet_explorer:8.0.6001:-:*:*:*:*:*:*").matches(&target)
        );
        assert!(!cpe("cpe:2.3:a:microsoft:internet_explorer:7.*:*:*:*:*:*:*:*").matches(&target));
        // A target with ANY where the source is specific is only a subset: no match.
        let vague = cpe("cpe:2.3:a:microsoft:internet_explorer:*:*:*:*:*:*:*:*");
        assert!(
            !cpe("cpe:2.3:a:microsoft:internet_explorer:8.0.6001:*:*:*:*:*:*:*").matches(&vague)
        );
        // Wildcards in a target make the relation undefined: no match.
        let wild_target = cpe("cpe:2.3:a:microsoft:internet_explorer:8.*:*:*:*:*:*:*:*");
        assert!(
            !cpe("cpe:2.3:a:microsoft:internet_explorer:8.*:*:*:*:*:*:*:*").matches(&wild_target)
        );
        // Quoted wildcard characters are literals.
        let literal_star = cpe(r"cpe:2.3:a:v:p:1\*:*:*:*:*:*:*:*");
        assert!(cpe(r"cpe:2.3:a:v:p:1\*:*:*:*:*:*:*:*").matches(&literal_star));
        assert!(!cpe(r"cpe:2.3:a:v:p:1\*:*:*:*:*:*:*:*")
            .matches(&cpe("cpe:2.3:a:v:p:12:*:*:*:*:*:*:*")));
    }

    #[test]
    fn applies_nvd_version_bounds() {
        let criteria = CpeMatchCriteria::new(
            cpe("cpe:2.3:a:atlassian:bitbucket:*:*:*:*:*:*:*:*"),
            Scheme::Generic,
            Some("7.0.0"),
            None,
            None,
            Some("7.6.19"),
        )
        .unwrap();
        let at = |v: &str| cpe(&format!("cpe:2.3:a:atlassian:bitbucket:{v}:*:*:*:*:*:*:*"));
        assert!(criteria.matches(&at("7.0.0")).is_some());
        assert!(criteria.matches(&at("7.6.18")).is_some());
        assert!(criteria.matches(&at("7.6.19")).is_none());
        assert!(criteria.matches(&at("6.9")).is_none());
        assert!(criteria.matches(&at("-")).is_none());
        assert!(criteria.matches(&at("*")).is_none());
        assert!(criteria
            .matches(&cpe("cpe:2.3:a:atlassian:jira:7.1:*:*:*:*:*:*:*"))
            .is_none());
        let from_start = CpeMatchCriteria::new(
            cpe("cpe:2.3:a:atlassian:bitbucket:*:*:*:*:*:*:*:*"),
            Scheme::Generic,
            Some("-"),
            None,
            None,
            Some("3.2.3"),
        )
        .unwrap();
        assert!(from_start.matches(&at("0.1")).is_some());
        assert!(from_start.matches(&at("3.2.3")).is_none());
        assert!(CpeMatchCriteria::new(
            cpe("cpe:2.3:a:x:y:*:*:*:*:*:*:*:*"),
            Scheme::Generic,
            Some("1"),
            Some("1"),
            None,
            None
        )
        .is_err());
    }

    fn criteria_from_json(entry: &Value) -> CpeMatchCriteria {
        let field = |name: &str| entry[name].as_str();
        CpeMatchCriteria::new(
            cpe(field("criteria").unwrap()),
            Scheme::Generic,
            field("versionStartIncluding"),
            field("versionStartExcluding"),
            field("versionEndIncluding"),
            field("versionEndExcluding"),
        )
        .unwrap()
    }

    #[test]
    fn agrees_with_nvd_match_criteria_api() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let path =
            root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/cpematch-CVE-2022-32223.json");
        let response: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let strings: Vec<&Value> = response["matchStrings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["matchString"])
            .collect();
        let (mut positive, mut negative) = (0, 0);
        for (index, entry) in strings.iter().enumerate() {
            let criteria = criteria_from_json(entry);
            let listed: Vec<&str> = entry["matches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["cpeName"].as_str().unwrap())
                .collect();
            for name in &listed {
                assert!(
                    criteria.matches(&cpe(name)).is_some(),
                    "{name} should match {}",
                    criteria.criteria()
                );
                positive += 1;
            }
            // Names NVD lists only under other criteria must not match this one.
            for (other_index, other) in strings.iter().enumerate() {
                if other_index == index {
                    continue;
                }
                for m in other["matches"].as_array().unwrap() {
                    let name = m["cpeName"].as_str().unwrap();
                    if !listed.contains(&name) {
                        assert!(
                            criteria.matches(&cpe(name)).is_none(),
                            "{name} should not match {}",
                            criteria.criteria()
                        );
                        negative += 1;
                    }
                }
            }
        }
        eprintln!("NVD cpematch: {positive} listed names matched, {negative} others rejected");
        assert!(positive > 50 && negative > 50);
    }

    #[test]
    fn parses_every_criteria_in_recorded_nvd_responses() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let dir = root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses");
        let (mut parsed, mut bounded) = (0, 0);
        for file in [
            "cves-2023.json",
            "cves-1999.json",
            "cves-CVE-2023-0001.json",
            "cve-2022-44006.json",
        ] {
            let page: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
            let records: Vec<&Value> = match page["vulnerabilities"].as_array() {
                Some(list) => list.iter().map(|v| &v["cve"]).collect(),
                None => vec![&page["cve"]],
            };
            for record in records {
                for configuration in record["configurations"].as_array().into_iter().flatten() {
                    for node in configuration["nodes"].as_array().into_iter().flatten() {
                        for entry in node["cpeMatch"].as_array().into_iter().flatten() {
                            let text = entry["criteria"].as_str().unwrap();
                            let criteria = criteria_from_json(entry);
                            assert_eq!(criteria.criteria().to_string(), text.to_lowercase());
                            parsed += 1;
                            // The bounds themselves sit exactly on the edge of the range.
                            let at =
                                |v: &str| criteria.criteria().with_version(CpeValue::literal(v));
                            let field = |name: &str| {
                                entry[name].as_str().filter(|v| *v != "-" && *v != "*")
                            };
                            if let Some(v) = field("versionStartIncluding") {
                                assert!(criteria.matches(&at(v)).is_some(), "{text} start {v}");
                                bounded += 1;
                            }
                            if let Some(v) = field("versionStartExcluding") {
                                assert!(criteria.matches(&at(v)).is_none(), "{text} start {v}");
                            }
                            if let Some(v) = field("versionEndIncluding") {
                                assert!(criteria.matches(&at(v)).is_some(), "{text} end {v}");
                            }
                            if let Some(v) = field("versionEndExcluding") {
                                assert!(criteria.matches(&at(v)).is_none(), "{text} end {v}");
                                bounded += 1;
                            }
                        }
                    }
                }
            }
        }
        eprintln!("NVD criteria: {parsed} parsed and round-tripped, {bounded} bounds checked");
        assert!(parsed > 500, "only {parsed} criteria found");
    }

    proptest::proptest! {
        #[test]
        fn formatted_string_round_trips(
            text in "cpe:2\\.3:[aoh*]:[a-z0-9_.\\\\*?!+-]{1,6}:[a-z0-9_.\\\\*?:!-]{1,12}:[a-z0-9*.?-]{1,4}(:[a-z*-]{1,3}){7}"
        ) {
            if let Ok(parsed) = Cpe::parse(&text) {
                let formatted = parsed.to_string();
                let reparsed = Cpe::parse(&formatted).unwrap();
                proptest::prop_assert_eq!(&reparsed, &parsed);
                proptest::prop_assert_eq!(reparsed.to_string(), formatted);
            }
        }

        #[test]
        fn uri_binding_agrees_with_formatted_string(
            vendor in "[a-z0-9_.+-]{1,8}",
            product in "[a-z0-9_.~+!-]{1,8}",
            version in "[0-9.a-z-]{1,6}",
        ) {
            let encode = |text: &str| -> String {
                // A lone `-` is NA in the URI binding; the literal needs encoding.
                if text == "-" {
                    return "%2d".to_string();
                }
                text.chars()
                    .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c.to_string()
                    } else {
                        format!("%{:02x}", c as u32)
                    })
                    .collect()
            };
            let uri = format!("cpe:/a:{}:{}:{}", encode(&vendor), encode(&product), encode(&version));
            let from_uri = Cpe::parse(&uri).unwrap();
            let built = Cpe::parse(&format!(
                "cpe:2.3:a:{}:{}:{}:*:*:*:*:*:*:*",
                CpeValue::literal(&vendor),
                CpeValue::literal(&product),
                CpeValue::literal(&version)
            ))
            .unwrap();
            proptest::prop_assert_eq!(from_uri, built);
        }
    }
}
