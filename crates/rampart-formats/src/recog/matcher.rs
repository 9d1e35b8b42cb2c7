//! Recog's patterns, compiled for the `regex` crate, and identification (the first
//! fingerprint of a database that matches, in file order, as Recog does).
//!
//! Recog's patterns are Ruby regular expressions. Translation:
//! - `^` and `$` match at line boundaries in Ruby: every pattern runs in multi-line mode.
//! - Ruby's `m` flag (inline `(?m)` and Recog's `REG_DOT_NEWLINE` / `REG_MULTILINE`) lets `.`
//!   match a newline: that is the `regex` crate's `s`. `REG_ICASE` is `i`.
//! - `\h` / `\H` (hex digit) become classes; `\Z` becomes `\n?\z`; a `{` that starts no
//!   repetition is a literal, as in Ruby.
//! - Matching is over bytes; `.` matches one UTF-8 character as in Ruby, and `\d`, `\w`,
//!   `\s`, `\b` are ASCII as in Ruby.
//!
//! What the `regex` crate cannot run (look-around, back-references, atomic groups) is not
//! approximated: the fingerprint is skipped and listed in [`Matcher::skipped`] with the
//! compiler's reason.

use std::collections::BTreeMap;

use regex::bytes::{Regex, RegexBuilder};

use super::{Database, Fingerprint};

/// A fingerprint the `regex` crate cannot compile, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedPattern {
    pub database: String,
    pub pattern: String,
    pub description: String,
    pub reason: String,
}

/// What a text was identified as.
#[derive(Debug, Clone, PartialEq)]
pub struct Identification {
    /// The database (`http_servers`).
    pub database: String,
    /// The fingerprint's description.
    pub description: String,
    /// The pattern that matched (evidence).
    pub pattern: String,
    /// Every value the fingerprint yields (`service.product` → `nginx`).
    pub params: BTreeMap<String, String>,
}

impl Identification {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The `{prefix}.cpe23` template (`service`, `os`, `hw`) as a CPE 2.3 formatted string.
    pub fn cpe23(&self, prefix: &str) -> Option<String> {
        self.get(&format!("{prefix}.cpe23"))
            .and_then(super::cpe23_formatted)
    }
}

struct Compiled {
    regex: Regex,
    index: usize,
}

/// One database, compiled.
pub struct Matcher {
    database: Database,
    compiled: Vec<Compiled>,
    skipped: Vec<SkippedPattern>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("database", &self.database.name)
            .field("compiled", &self.compiled.len())
            .field("skipped", &self.skipped.len())
            .finish()
    }
}

impl Matcher {
    pub fn compile(database: Database) -> Matcher {
        let mut compiled = Vec::with_capacity(database.fingerprints.len());
        let mut skipped = Vec::new();
        for (index, fingerprint) in database.fingerprints.iter().enumerate() {
            match compile_pattern(fingerprint) {
                Ok(regex) => compiled.push(Compiled { regex, index }),
                Err(reason) => skipped.push(SkippedPattern {
                    database: database.name.clone(),
                    pattern: fingerprint.pattern.clone(),
                    description: fingerprint.description.clone(),
                    reason,
                }),
            }
        }
        Matcher {
            database,
            compiled,
            skipped,
        }
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The fingerprints that could not be compiled, with why.
    pub fn skipped(&self) -> &[SkippedPattern] {
        &self.skipped
    }

    /// How many fingerprints are in use.
    pub fn compiled_count(&self) -> usize {
        self.compiled.len()
    }

    /// The first fingerprint (in file order) matching `text`.
    pub fn identify(&self, text: &[u8]) -> Option<Identification> {
        self.compiled
            .iter()
            .find_map(|compiled| self.identify_with(compiled, text))
    }

    /// `text` against the fingerprint at `index` only (Recog's own example check); `None`
    /// when it does not match or the fingerprint was skipped.
    pub fn identify_by(&self, index: usize, text: &[u8]) -> Option<Identification> {
        let compiled = self.compiled.iter().find(|c| c.index == index)?;
        self.identify_with(compiled, text)
    }

    /// Whether the fingerprint at `index` is in use.
    pub fn is_compiled(&self, index: usize) -> bool {
        self.compiled.iter().any(|c| c.index == index)
    }

    fn identify_with(&self, compiled: &Compiled, text: &[u8]) -> Option<Identification> {
        let captures = compiled.regex.captures(text)?;
        let fingerprint = &self.database.fingerprints[compiled.index];
        let mut params = BTreeMap::new();
        for param in &fingerprint.params {
            let value = if param.pos == 0 {
                param.value.clone()
            } else {
                captures
                    .get(param.pos)
                    .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
            };
            if let Some(value) = value {
                params.insert(param.name.clone(), value);
            }
        }
        let interpolated: Vec<(String, String)> = params
            .iter()
            .filter(|(_, v)| v.contains('{'))
            .map(|(k, v)| (k.clone(), interpolate(v, &params)))
            .collect();
        params.extend(interpolated);
        Some(Identification {
            database: self.database.name.clone(),
            description: fingerprint.description.clone(),
            pattern: fingerprint.pattern.clone(),
            params,
        })
    }
}

/// `{service.version}` and the like replaced by the named value (empty when absent).
fn interpolate(template: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end)
                if after[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') =>
            {
                if let Some(value) = params.get(&after[..end]) {
                    out.push_str(value);
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn compile_pattern(fingerprint: &Fingerprint) -> Result<Regex, String> {
    let translated = translate(&fingerprint.pattern);
    let mut builder = RegexBuilder::new(&translated);
    builder
        .unicode(true)
        .multi_line(true)
        .size_limit(32 * 1024 * 1024);
    for flag in &fingerprint.flags {
        match flag.as_str() {
            "REG_ICASE" => {
                builder.case_insensitive(true);
            }
            "REG_DOT_NEWLINE" | "REG_MULTILINE" => {
                builder.dot_matches_new_line(true);
            }
            "REG_LINE_ANCHORS" => {}
            other => return Err(format!("unknown flag {other}")),
        }
    }
    builder.build().map_err(|error| {
        // The compiler's message spans lines (a caret diagram): its last line says why.
        error
            .to_string()
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .map(|l| l.trim_start_matches("error:").trim().to_string())
            .unwrap_or_else(|| error.to_string())
    })
}

/// Ruby regular-expression syntax → the `regex` crate's (see the module comment).
pub(crate) fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let next = chars[i + 1];
                match (next, in_class) {
                    // Ruby's shorthand classes are ASCII; `.` stays Unicode-aware (UTF-8).
                    ('d', false) => out.push_str("[0-9]"),
                    ('d', true) => out.push_str("0-9"),
                    ('D', _) => out.push_str("[^0-9]"),
                    ('w', false) => out.push_str("[0-9A-Za-z_]"),
                    ('w', true) => out.push_str("0-9A-Za-z_"),
                    ('W', _) => out.push_str("[^0-9A-Za-z_]"),
                    ('s', false) => out.push_str("[\\t\\n\\x0B\\f\\r ]"),
                    ('s', true) => out.push_str("\\t\\n\\x0B\\f\\r "),
                    ('S', _) => out.push_str("[^\\t\\n\\x0B\\f\\r ]"),
                    ('b', false) => out.push_str("(?-u:\\b)"),
                    ('B', false) => out.push_str("(?-u:\\B)"),
                    ('h', false) => out.push_str("[0-9a-fA-F]"),
                    ('h', true) => out.push_str("0-9a-fA-F"),
                    ('H', false) => out.push_str("[^0-9a-fA-F]"),
                    ('Z', false) => out.push_str("(?:\\n?\\z)"),
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` or `^]` right after the opening bracket is a literal.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' if in_class => {
                // A POSIX class `[:alpha:]` or a nested set: copied as is.
                out.push('[');
                if chars.get(i + 1) == Some(&':') {
                    if let Some(end) = chars[i + 2..].iter().position(|&c| c == ']') {
                        let end = i + 2 + end;
                        out.extend(&chars[i + 1..=end]);
                        i = end + 1;
                        continue;
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => {
                // Inline flags `(?mi)` / `(?m-i:`: Ruby's `m` is the crate's `s`.
                let mut j = i + 2;
                while j < chars.len() && matches!(chars[j], 'i' | 'm' | 'x' | '-') {
                    j += 1;
                }
                if j > i + 2 && j < chars.len() && matches!(chars[j], ')' | ':') {
                    out.push_str("(?");
                    for &flag in &chars[i + 2..j] {
                        out.push(if flag == 'm' { 's' } else { flag });
                    }
                    i = j;
                    continue;
                }
                out.push('(');
            }
            '{' if !in_class && !starts_repetition(&chars[i + 1..]) => out.push_str("\\{"),
            '}' if !in_class => {
                // Closing a repetition `{2,3}` (already copied) or a literal.
                if closes_repetition(&out) {
                    out.push('}');
                } else {
                    out.push_str("\\}");
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// `{n}`, `{n,}`, `{n,m}` or `{,m}` follows.
fn starts_repetition(rest: &[char]) -> bool {
    let Some(end) = rest.iter().position(|&c| c == '}') else {
        return false;
    };
    let inner: String = rest[..end].iter().collect();
    let mut parts = inner.splitn(2, ',');
    let low = parts.next().unwrap_or("");
    let high = parts.next();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    match high {
        None => digits(low),
        Some(high) => {
            (digits(low) || low.is_empty())
                && (digits(high) || high.is_empty())
                && !(low.is_empty() && high.is_empty())
        }
    }
}

/// Whether the text written so far ends inside an open repetition `{n,m`.
fn closes_repetition(out: &str) -> bool {
    let Some(open) = out.rfind('{') else {
        return false;
    };
    if out[..open].ends_with('\\') {
        return false;
    }
    out[open + 1..]
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruby_syntax_is_translated() {
        assert_eq!(translate(r"^(?m)a.b$"), r"^(?s)a.b$");
        assert_eq!(translate(r"(?mi:x)"), r"(?si:x)");
        assert_eq!(translate(r"\h+[\h-]"), r"[0-9a-fA-F]+[0-9a-fA-F-]");
        assert_eq!(translate(r"\d[\d.]\S"), r"[0-9][0-9.][^\t\n\x0B\f\r ]");
        assert_eq!(translate(r"end\Z"), r"end(?:\n?\z)");
        assert_eq!(translate(r"a{2,3}b{x}"), r"a{2,3}b\{x\}");
        assert_eq!(translate(r"(?<v>x+)"), r"(?<v>x+)");
        assert_eq!(translate(r"[]a]"), r"[\]a]");
    }

    #[test]
    fn interpolates_named_values() {
        let mut params = BTreeMap::new();
        params.insert("service.version".to_string(), "1.2".to_string());
        assert_eq!(
            interpolate("cpe:/a:x:y:{service.version}", &params),
            "cpe:/a:x:y:1.2"
        );
        assert_eq!(interpolate("{missing}-{", &params), "-{");
    }
}
