//! `Cargo.lock` as Cargo writes it, read straight from the text: a few times faster than
//! building a TOML document and deserialising it, on the files a scan actually meets.
//!
//! It accepts only a narrow subset of TOML, checked byte by byte: the headers `[[package]]`,
//! `[root]`, `[metadata]` and `[[patch.unused]]`; one `key = value` per line with a bare or
//! plain double-quoted key; values that are one-line double-quoted strings without escapes,
//! decimal integers, or arrays of such strings (across lines, trailing comma allowed);
//! comments outside arrays; LF or CRLF. For that subset it finds what the TOML reader would,
//! and it also refuses what would make the TOML reader fail (duplicate keys, a table defined
//! twice, a package without a usable name or version, a key that clashes with a table).
//! Anything else it declines (`None`), and the TOML reader, which accepts every spelling and
//! locates every error, reads the file instead. So declining is always safe; accepting must
//! be exact.

use std::collections::HashSet;
use std::ops::Range;

use super::Entry;

/// What was read: the packages (the old `[root]` first, as the TOML reader orders them) and
/// every `dependencies` entry, which each package indexes by range.
pub(super) struct FastLock<'a> {
    packages: Vec<FastPackage<'a>>,
    dependencies: Vec<&'a str>,
}

struct FastPackage<'a> {
    name: &'a str,
    version: &'a str,
    source: Option<&'a str>,
    dependencies: Range<usize>,
}

impl<'a> FastLock<'a> {
    pub(super) fn entries(&self) -> Vec<Entry<'_, &'a str>> {
        self.packages
            .iter()
            .map(|package| Entry {
                name: package.name,
                version: package.version,
                source: package.source,
                dependencies: &self.dependencies[package.dependencies.clone()],
            })
            .collect()
    }
}

/// Reads `text`, or declines with `None` when it is not in the subset described above.
pub(super) fn read(text: &str) -> Option<FastLock<'_>> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        at: 0,
        dependencies: Vec::new(),
    };
    let mut packages = Vec::new();
    let mut root = None;
    let mut table = Table::Document;
    let mut current = Fields::default();
    let mut keys = KeySet::default();
    let (mut seen_root, mut seen_metadata) = (false, false);
    loop {
        reader.skip_blank();
        let Some(&byte) = reader.bytes.get(reader.at) else {
            break;
        };
        match byte {
            b'\n' => reader.at += 1,
            b'\r' => reader.newline()?,
            b'#' => reader.comment()?,
            b'[' => {
                finish_table(table, &mut current, &mut packages, &mut root)?;
                table = reader.header()?;
                // A second `[root]` or `[metadata]` redefines a table: a TOML error.
                match table {
                    Table::Root if std::mem::replace(&mut seen_root, true) => return None,
                    Table::Metadata if std::mem::replace(&mut seen_metadata, true) => return None,
                    _ => {}
                }
                keys.clear();
                reader.end_of_line()?;
            }
            _ => {
                let key = reader.key()?;
                if !keys.insert(key) {
                    return None;
                }
                reader.skip_blank();
                if reader.bytes.get(reader.at) != Some(&b'=') {
                    // A dotted key, or not TOML at all.
                    return None;
                }
                reader.at += 1;
                reader.skip_blank();
                let value = reader.value()?;
                reader.end_of_line()?;
                match table {
                    // These would clash with the tables of the same name.
                    Table::Document if matches!(key, "package" | "root" | "metadata" | "patch") => {
                        return None
                    }
                    Table::Package | Table::Root => current.set(key, value)?,
                    Table::Document | Table::Metadata | Table::UnusedPatch => {}
                }
            }
        }
    }
    finish_table(table, &mut current, &mut packages, &mut root)?;
    if let Some(root) = root {
        packages.insert(0, root);
    }
    Some(FastLock {
        packages,
        dependencies: reader.dependencies,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    /// Keys before the first header (`version = 4`).
    Document,
    Package,
    Root,
    Metadata,
    UnusedPatch,
}

enum Value<'a> {
    String(&'a str),
    Array(Range<usize>),
    Integer,
}

/// The fields of the `[[package]]` or `[root]` table being read.
#[derive(Default)]
struct Fields<'a> {
    name: Option<&'a str>,
    version: Option<&'a str>,
    source: Option<&'a str>,
    dependencies: Option<Range<usize>>,
}

impl<'a> Fields<'a> {
    /// Records a field the TOML reader deserialises; a value of another type than it expects
    /// is its error to report, so the fast reader declines.
    fn set(&mut self, key: &str, value: Value<'a>) -> Option<()> {
        match (key, value) {
            ("name", Value::String(name)) => self.name = Some(name),
            ("version", Value::String(version)) => self.version = Some(version),
            ("source", Value::String(source)) => self.source = Some(source),
            ("dependencies", Value::Array(range)) => self.dependencies = Some(range),
            ("name" | "version" | "source" | "dependencies", _) => return None,
            // `checksum`, `replace` and anything else: ignored, as the TOML reader ignores it.
            _ => {}
        }
        Some(())
    }
}

/// Ends the table being read: a package needs a name and a version that the TOML reader's
/// checks accept, else it is declined so that reader reports the error.
fn finish_table<'a>(
    table: Table,
    current: &mut Fields<'a>,
    packages: &mut Vec<FastPackage<'a>>,
    root: &mut Option<FastPackage<'a>>,
) -> Option<()> {
    let fields = std::mem::take(current);
    if !matches!(table, Table::Package | Table::Root) {
        return Some(());
    }
    let name = fields.name.filter(|name| acceptable(name))?;
    let version = fields.version.filter(|version| acceptable(version))?;
    let package = FastPackage {
        name,
        version,
        source: fields.source,
        dependencies: fields.dependencies.unwrap_or(0..0),
    };
    if table == Table::Root {
        *root = Some(package);
    } else {
        packages.push(package);
    }
    Some(())
}

/// The same test as `check_field`, which rejects the file when it fails.
fn acceptable(value: &str) -> bool {
    // Printable ASCII (Cargo's names and versions) has no whitespace to trim or find.
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_graphic()) {
        return true;
    }
    let trimmed = value.trim();
    !trimmed.is_empty() && !trimmed.contains(char::is_whitespace)
}

/// The keys of one table, to refuse a duplicate as TOML does. Package tables have a handful
/// of keys (a short list is fastest); a version 1 `[metadata]` has one per package.
#[derive(Default)]
struct KeySet<'a> {
    few: Vec<&'a str>,
    many: HashSet<&'a str>,
}

impl<'a> KeySet<'a> {
    const FEW: usize = 16;

    /// Adds `key`; false if the table already has it.
    fn insert(&mut self, key: &'a str) -> bool {
        if self.many.is_empty() {
            if self.few.contains(&key) {
                return false;
            }
            if self.few.len() < Self::FEW {
                self.few.push(key);
                return true;
            }
            self.many.extend(self.few.drain(..));
        }
        self.many.insert(key)
    }

    fn clear(&mut self) {
        self.few.clear();
        self.many.clear();
    }
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    dependencies: Vec<&'a str>,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// At `\r`: only `\r\n` is a newline in TOML.
    fn newline(&mut self) -> Option<()> {
        (self.bytes.get(self.at + 1) == Some(&b'\n')).then(|| self.at += 2)
    }

    /// At `#`: up to (not including) the end of the line. Control characters other than tab
    /// are not allowed in comments.
    fn comment(&mut self) -> Option<()> {
        self.at += 1;
        while let Some(byte) = self.peek() {
            match byte {
                b'\n' | b'\r' => break,
                b'\t' => {}
                0..=0x1f | 0x7f => return None,
                _ => {}
            }
            self.at += 1;
        }
        Some(())
    }

    /// After a header or a value: blanks, perhaps a comment, then a newline or the end.
    fn end_of_line(&mut self) -> Option<()> {
        self.skip_blank();
        if self.peek() == Some(b'#') {
            self.comment()?;
        }
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.at += 1;
                Some(())
            }
            Some(b'\r') => self.newline(),
            Some(_) => None,
        }
    }

    /// At `[`: one of the four headers Cargo writes, spelled as Cargo spells them.
    fn header(&mut self) -> Option<Table> {
        let rest = &self.text[self.at..];
        let (table, length) = [
            ("[[package]]", Table::Package),
            ("[[patch.unused]]", Table::UnusedPatch),
            ("[root]", Table::Root),
            ("[metadata]", Table::Metadata),
        ]
        .into_iter()
        .find_map(|(header, table)| rest.starts_with(header).then_some((table, header.len())))?;
        self.at += length;
        Some(table)
    }

    /// A bare key, or a double-quoted one without escapes (a version 1 `[metadata]` key).
    /// Either way the key is its text, so keys compare as TOML compares them.
    fn key(&mut self) -> Option<&'a str> {
        match self.peek()? {
            b'"' => self.string(),
            byte if is_bare_key_byte(byte) => {
                let start = self.at;
                while self.peek().is_some_and(is_bare_key_byte) {
                    self.at += 1;
                }
                Some(&self.text[start..self.at])
            }
            _ => None,
        }
    }

    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Value::String),
            b'[' => self.array().map(Value::Array),
            b'0'..=b'9' => self.integer().map(|()| Value::Integer),
            // Literal strings, booleans, floats, dates, inline tables: declined.
            _ => None,
        }
    }

    /// At `"`: a one-line basic string without escapes, whose value is its text.
    fn string(&mut self) -> Option<&'a str> {
        if self.bytes.get(self.at + 1..self.at + 3) == Some(b"\"\"") {
            // `"""`: a multi-line string.
            return None;
        }
        self.at += 1;
        let start = self.at;
        loop {
            let stop = self.bytes[self.at..]
                .iter()
                .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20 || byte == 0x7f)?;
            self.at += stop;
            match self.bytes[self.at] {
                b'"' => break,
                b'\t' => self.at += 1,
                // An escape, or a control character that TOML refuses unescaped.
                _ => return None,
            }
        }
        let value = &self.text[start..self.at];
        self.at += 1;
        Some(value)
    }

    /// A decimal integer that fits in an `i64`: `0` or a non-zero digit and at most 17
    /// more. Whatever follows (`_`, `.`, `-`, `:`, `x`) must end the line, so a float, a date,
    /// a time or another base is declined there.
    fn integer(&mut self) -> Option<()> {
        let start = self.at;
        if self.peek() == Some(b'0') {
            self.at += 1;
            return Some(());
        }
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
        (self.at - start <= 18).then_some(())
    }

    /// At `[`: strings separated by commas, a trailing comma allowed, blanks and newlines
    /// anywhere between them. Comments inside arrays and other values are declined.
    fn array(&mut self) -> Option<Range<usize>> {
        self.at += 1;
        let start = self.dependencies.len();
        loop {
            self.skip_array_space()?;
            match self.peek()? {
                b']' => break,
                b'"' => {
                    let item = self.string()?;
                    self.dependencies.push(item);
                }
                _ => return None,
            }
            self.skip_array_space()?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.at += 1;
        Some(start..self.dependencies.len())
    }

    fn skip_array_space(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.at += 1,
                Some(b'\r') => self.newline()?,
                _ => return Some(()),
            }
        }
    }
}

fn is_bare_key_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}
