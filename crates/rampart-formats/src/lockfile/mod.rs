//! Lockfiles: the exact package versions a project builds with, as its package manager wrote
//! them. `Cargo.lock`, `package-lock.json` (and `npm-shrinkwrap.json`), `requirements.txt`,
//! `poetry.lock`, `go.sum`, `go.mod` and `Gemfile.lock` are read into one record,
//! [`LockedPackage`], that names the package the way OSV advisories do (ecosystem, name,
//! version) and by package URL.
//!
//! Parsing stops at the first problem and names its line (and column where known). Entries
//! that are valid but cannot be matched against advisories (an unpinned requirement, a
//! linked workspace directory) are not errors: [`parse_lockfile`] lists them in
//! [`Lockfile::skipped`] with the reason.
//!
//! ```
//! use rampart_formats::lockfile::{detect, parse, LockfileKind, Origin};
//!
//! let lock = b"version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"serde\"]\n\n\
//!     [[package]]\nname = \"serde\"\nversion = \"1.0.210\"\n\
//!     source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
//! let kind = detect("Cargo.lock", lock).unwrap();
//! assert_eq!(kind, LockfileKind::CargoLock);
//! let packages = parse(kind, lock).unwrap();
//! assert_eq!(packages[0].origin, Origin::Local); // the workspace member itself
//! assert_eq!(packages[1].purl, "pkg:cargo/serde@1.0.210");
//! assert_eq!(packages[1].direct, Some(true));
//!
//! let error = parse(LockfileKind::CargoLock, b"[[package]]\nname = \"x\"\nversion = 1\n").unwrap_err();
//! assert_eq!(error.line, Some(3));
//! ```

mod cargo;
mod gem;
mod go;
mod npm;
mod poetry;
#[cfg(test)]
mod property_tests;
mod purl;
mod requirements;

use std::fmt;
use std::hash::{BuildHasher, RandomState};

use hashbrown::hash_table::{Entry, HashTable};

/// OSV ecosystem names, as advisories spell them.
pub const CRATES_IO: &str = "crates.io";
pub const NPM: &str = "npm";
pub const PYPI: &str = "PyPI";
pub const GO: &str = "Go";
pub const RUBYGEMS: &str = "RubyGems";

/// The lockfile formats Rampart reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockfileKind {
    /// `Cargo.lock`, lockfile versions 1 to 4 (and the older `[root]` layout).
    CargoLock,
    /// npm's `package-lock.json` or `npm-shrinkwrap.json`, lockfileVersion 1 to 3.
    PackageLockJson,
    /// pip's `requirements.txt` (pinned `==` / `===` requirements only).
    RequirementsTxt,
    /// `poetry.lock`, lock-version 1.x and 2.x.
    PoetryLock,
    /// `go.sum`: every module version whose content was hashed.
    GoSum,
    /// `go.mod`: the `require` directives, with `replace` applied.
    GoMod,
    /// Bundler's `Gemfile.lock` (or `gems.locked`).
    GemfileLock,
}

impl LockfileKind {
    pub const ALL: [LockfileKind; 7] = [
        LockfileKind::CargoLock,
        LockfileKind::PackageLockJson,
        LockfileKind::RequirementsTxt,
        LockfileKind::PoetryLock,
        LockfileKind::GoSum,
        LockfileKind::GoMod,
        LockfileKind::GemfileLock,
    ];

    /// The OSV ecosystem of every package this kind of lockfile lists.
    pub fn ecosystem(self) -> &'static str {
        match self {
            LockfileKind::CargoLock => CRATES_IO,
            LockfileKind::PackageLockJson => NPM,
            LockfileKind::RequirementsTxt | LockfileKind::PoetryLock => PYPI,
            LockfileKind::GoSum | LockfileKind::GoMod => GO,
            LockfileKind::GemfileLock => RUBYGEMS,
        }
    }

    /// The usual file name, for messages.
    pub fn file_name(self) -> &'static str {
        match self {
            LockfileKind::CargoLock => "Cargo.lock",
            LockfileKind::PackageLockJson => "package-lock.json",
            LockfileKind::RequirementsTxt => "requirements.txt",
            LockfileKind::PoetryLock => "poetry.lock",
            LockfileKind::GoSum => "go.sum",
            LockfileKind::GoMod => "go.mod",
            LockfileKind::GemfileLock => "Gemfile.lock",
        }
    }
}

impl fmt::Display for LockfileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// Where a locked package comes from. Only [`Origin::Registry`] packages are the published
/// packages that advisories for the same ecosystem and name describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// A package registry or index (crates.io or another Cargo registry, the npm registry,
    /// PyPI or a mirror, the Go module proxy, a RubyGems server).
    Registry,
    /// A git repository at a commit.
    Git,
    /// Part of the project itself or a local path: Cargo workspace members and path
    /// dependencies, npm workspace packages, poetry directory/file sources, Bundler `PATH`
    /// gems, Go modules replaced by a directory. A scanner should not match these against
    /// registry advisories.
    Local,
    /// An archive downloaded from a URL that is not a registry.
    Url,
}

/// One package version a lockfile pins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockedPackage {
    /// OSV ecosystem: `crates.io`, `npm`, `PyPI`, `Go` or `RubyGems`.
    pub ecosystem: &'static str,
    /// The package name as the lockfile writes it (for npm aliases, the real package).
    pub name: String,
    /// The version as the lockfile writes it (Go versions keep their `v`; a RubyGems
    /// platform suffix is moved to the purl's `platform` qualifier).
    pub version: String,
    /// Package URL, normalised as the purl specification requires for the type.
    pub purl: String,
    /// Whether the project depends on it directly; `None` when the lockfile does not say.
    pub direct: Option<bool>,
    /// Whether only development needs it; `None` when the lockfile does not say.
    pub dev: Option<bool>,
    /// Whether it is an optional dependency; `None` when the lockfile does not say.
    pub optional: Option<bool>,
    pub origin: Origin,
    /// Where it was fetched from, as written: Cargo `source`, npm `resolved`, a poetry source
    /// URL, a Bundler remote. `None` when the lockfile does not say.
    pub source: Option<String>,
}

impl LockedPackage {
    /// Whether it came from the ecosystem's public registry (crates.io, registry.npmjs.org,
    /// PyPI, the Go module proxy, rubygems.org), whose packages OSV advisories describe. A
    /// private registry or index may publish a different package under the same name.
    pub fn from_default_registry(&self) -> bool {
        if self.origin != Origin::Registry {
            return false;
        }
        let Some(source) = self.source.as_deref() else {
            // No source recorded: npm without `resolved`, pip, poetry without a source
            // table, Go. All mean the default.
            return true;
        };
        match self.ecosystem {
            CRATES_IO => matches!(
                source,
                "registry+https://github.com/rust-lang/crates.io-index"
                    | "sparse+https://index.crates.io/"
            ),
            NPM => {
                source.starts_with("https://registry.npmjs.org/")
                    || source.starts_with("https://registry.yarnpkg.com/")
            }
            RUBYGEMS => matches!(
                source.trim_end_matches('/'),
                "https://rubygems.org" | "http://rubygems.org"
            ),
            _ => false,
        }
    }
}

/// An entry that was read but yields no package to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line, when the format is line-oriented.
    pub line: Option<usize>,
    /// The entry as written (a requirement, a `node_modules/...` key, a module path).
    pub entry: String,
    pub reason: String,
}

/// Everything read from one lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile {
    pub kind: LockfileKind,
    /// Packages in the order the file lists them, each (purl, origin, source) once.
    pub packages: Vec<LockedPackage>,
    pub skipped: Vec<Skipped>,
    /// Other files this one pulls in, as written (relative to it): `-r` includes of a
    /// requirements file. Reading them is the caller's job; this crate does no I/O.
    pub includes: Vec<String>,
}

/// Why a lockfile was rejected: the first problem, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockfileError {
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    pub message: String,
}

impl LockfileError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        LockfileError {
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_line(line: usize, message: impl Into<String>) -> Self {
        LockfileError {
            line: Some(line),
            column: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(line: usize, column: usize, message: impl Into<String>) -> Self {
        LockfileError {
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    /// Locates a problem found at byte `offset` of `text`.
    pub(crate) fn at_offset(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = crate::sbom::text::line_column(text, offset);
        Self::at(line, column, message)
    }
}

impl fmt::Display for LockfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LockfileError {}

/// Recognises a lockfile by its file name (a bare name or a path with `/` or `\`), then, for
/// names it does not know (an upload read from standard input), by content.
pub fn detect(file_name: &str, bytes: &[u8]) -> Option<LockfileKind> {
    detect_by_name(file_name).or_else(|| detect_by_content(bytes))
}

fn detect_by_name(file_name: &str) -> Option<LockfileKind> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base {
        "Cargo.lock" => return Some(LockfileKind::CargoLock),
        "package-lock.json" | "npm-shrinkwrap.json" => return Some(LockfileKind::PackageLockJson),
        "poetry.lock" => return Some(LockfileKind::PoetryLock),
        "go.sum" => return Some(LockfileKind::GoSum),
        "go.mod" => return Some(LockfileKind::GoMod),
        "Gemfile.lock" | "gems.locked" => return Some(LockfileKind::GemfileLock),
        _ => {}
    }
    // requirements.txt, requirements-dev.txt, dev-requirements.txt, requirements/base.txt,
    // constraints.txt: pip reads any name, these are the common ones.
    let lower = file_name.to_ascii_lowercase();
    let in_requirements_dir = lower.contains("requirements/") || lower.contains("requirements\\");
    let base_lower = base.to_ascii_lowercase();
    (base_lower.ends_with(".txt")
        && (base_lower.contains("requirements")
            || base_lower.contains("constraints")
            || in_requirements_dir))
        .then_some(LockfileKind::RequirementsTxt)
}

fn detect_by_content(bytes: &[u8]) -> Option<LockfileKind> {
    let text = crate::sbom::text::decode(bytes).ok()?;
    let text = text.trim_start();
    if text.starts_with('{') {
        return text
            .contains("\"lockfileVersion\"")
            .then_some(LockfileKind::PackageLockJson);
    }
    let head: String = text.chars().take(4096).collect();
    if head.contains("@generated by Cargo") {
        return Some(LockfileKind::CargoLock);
    }
    // pip-compile's and uv's headers; a hand-written requirements file has no signature.
    if head.contains("autogenerated by pip-compile") || head.contains("autogenerated by uv") {
        return Some(LockfileKind::RequirementsTxt);
    }
    if head.contains("@generated by Poetry") {
        return Some(LockfileKind::PoetryLock);
    }
    if head.contains("[[package]]") {
        // Both are TOML with `[[package]]`; Cargo pins sources, Poetry Python versions.
        return if head.contains("python-versions") || head.contains("[package.dependencies]") {
            Some(LockfileKind::PoetryLock)
        } else {
            Some(LockfileKind::CargoLock)
        };
    }
    if head.lines().any(|line| {
        matches!(
            line.trim_end(),
            "GEM" | "GIT" | "PATH" | "BUNDLED WITH" | "DEPENDENCIES"
        )
    }) {
        return Some(LockfileKind::GemfileLock);
    }
    if head.starts_with("module ") || head.lines().any(|l| l.starts_with("module ")) {
        return Some(LockfileKind::GoMod);
    }
    if head.lines().next().is_some_and(|first| {
        let fields: Vec<&str> = first.split_whitespace().collect();
        fields.len() == 3 && fields[1].starts_with('v') && fields[2].starts_with("h1:")
    }) {
        return Some(LockfileKind::GoSum);
    }
    None
}

/// Parses a lockfile of the given kind into its packages. Skipped entries (see
/// [`parse_lockfile`]) are dropped.
pub fn parse(kind: LockfileKind, bytes: &[u8]) -> Result<Vec<LockedPackage>, LockfileError> {
    parse_lockfile(kind, bytes).map(|lockfile| lockfile.packages)
}

/// Parses a lockfile of the given kind, keeping the list of entries that were skipped and why.
/// Input may be UTF-8 (with or without a byte-order mark) or UTF-16 with a byte-order mark
/// (what Windows PowerShell writes for `pip freeze > requirements.txt`).
pub fn parse_lockfile(kind: LockfileKind, bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    let text = crate::sbom::text::decode(bytes).map_err(|error| match error.location {
        Some(crate::sbom::ErrorLocation::LineColumn { line, column }) => {
            LockfileError::at(line, column, error.message)
        }
        _ => LockfileError::new(error.message),
    })?;
    let mut out = Collector::new(kind);
    match kind {
        LockfileKind::CargoLock => cargo::parse(&text, &mut out)?,
        LockfileKind::PackageLockJson => npm::parse(&text, &mut out)?,
        LockfileKind::RequirementsTxt => requirements::parse(&text, &mut out)?,
        LockfileKind::PoetryLock => poetry::parse(&text, &mut out)?,
        LockfileKind::GoSum => go::parse_sum(&text, &mut out)?,
        LockfileKind::GoMod => go::parse_mod(&text, &mut out)?,
        LockfileKind::GemfileLock => gem::parse(&text, &mut out)?,
    }
    Ok(out.finish())
}

/// Gathers packages in file order, merging repeats of the same package: npm installs one
/// version at many `node_modules` paths, requirements files repeat lines.
pub(crate) struct Collector {
    kind: LockfileKind,
    packages: Vec<LockedPackage>,
    /// Where each package is in `packages`, by (purl, origin, source): hashed from the kept
    /// package, so no key is copied.
    index: HashTable<usize>,
    hasher: RandomState,
    skipped: Vec<Skipped>,
    includes: Vec<String>,
}

/// What makes two occurrences one package: the purl carries the normalised name, so `PyYAML`
/// and `pyyaml` are one package.
fn dedup_key(package: &LockedPackage) -> (&str, Origin, Option<&str>) {
    (&package.purl, package.origin, package.source.as_deref())
}

impl Collector {
    fn new(kind: LockfileKind) -> Self {
        Collector {
            kind,
            packages: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::new(),
            skipped: Vec::new(),
            includes: Vec::new(),
        }
    }

    pub(crate) fn include(&mut self, path: &str) {
        if !path.is_empty() {
            self.includes.push(path.to_string());
        }
    }

    /// Adds a package, or merges it into an earlier one; returns the index it is kept at.
    pub(crate) fn push(&mut self, package: LockedPackage) -> usize {
        let Collector {
            packages,
            index,
            hasher,
            ..
        } = self;
        // One hash of the key, not one to look up and another to insert.
        let hash = hasher.hash_one(dedup_key(&package));
        match index.entry(
            hash,
            |&at| dedup_key(&packages[at]) == dedup_key(&package),
            |&at| hasher.hash_one(dedup_key(&packages[at])),
        ) {
            Entry::Occupied(entry) => {
                let at = *entry.get();
                let kept = &mut packages[at];
                // Direct if any occurrence is; dev or optional only if every occurrence is.
                kept.direct = merge(kept.direct, package.direct, |a, b| a || b);
                kept.dev = merge(kept.dev, package.dev, |a, b| a && b);
                kept.optional = merge(kept.optional, package.optional, |a, b| a && b);
                at
            }
            Entry::Vacant(entry) => {
                let at = packages.len();
                entry.insert(at);
                packages.push(package);
                at
            }
        }
    }

    /// Makes room for `additional` more packages, when a reader knows how many are coming.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.packages.reserve(additional);
        let Collector {
            packages,
            index,
            hasher,
            ..
        } = self;
        index.reserve(additional, |&at| hasher.hash_one(dedup_key(&packages[at])));
    }

    /// Records what an annotation says about the package at `index`; direct wins.
    pub(crate) fn mark_direct(&mut self, index: usize, direct: bool) {
        if let Some(package) = self.packages.get_mut(index) {
            package.direct = merge(package.direct, Some(direct), |a, b| a || b);
        }
    }

    pub(crate) fn skip(
        &mut self,
        line: Option<usize>,
        entry: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.skipped.push(Skipped {
            line,
            entry: entry.into(),
            reason: reason.into(),
        });
    }

    fn finish(self) -> Lockfile {
        Lockfile {
            kind: self.kind,
            packages: self.packages,
            skipped: self.skipped,
            includes: self.includes,
        }
    }
}

fn merge(a: Option<bool>, b: Option<bool>, combine: fn(bool, bool) -> bool) -> Option<bool> {
    match (a, b) {
        (Some(a), Some(b)) => Some(combine(a, b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_file_name_and_path() {
        let cases = [
            ("Cargo.lock", LockfileKind::CargoLock),
            ("/repo/sub/Cargo.lock", LockfileKind::CargoLock),
            ("package-lock.json", LockfileKind::PackageLockJson),
            ("npm-shrinkwrap.json", LockfileKind::PackageLockJson),
            (
                "C:\\src\\app\\package-lock.json",
                LockfileKind::PackageLockJson,
            ),
            ("requirements.txt", LockfileKind::RequirementsTxt),
            ("requirements-dev.txt", LockfileKind::RequirementsTxt),
            ("dev-requirements.txt", LockfileKind::RequirementsTxt),
            ("requirements/base.txt", LockfileKind::RequirementsTxt),
            ("constraints.txt", LockfileKind::RequirementsTxt),
            ("poetry.lock", LockfileKind::PoetryLock),
            ("go.sum", LockfileKind::GoSum),
            ("go.mod", LockfileKind::GoMod),
            ("Gemfile.lock", LockfileKind::GemfileLock),
            ("gems.locked", LockfileKind::GemfileLock),
        ];
        for (name, kind) in cases {
            assert_eq!(detect(name, b""), Some(kind), "{name}");
        }
        assert_eq!(detect("README.txt", b"hello"), None);
        assert_eq!(detect("package.json", b"{\"name\": \"x\"}"), None);
        assert_eq!(detect("Cargo.toml", b"[package]\nname = \"x\"\n"), None);
    }

    #[test]
    fn detects_by_content_when_the_name_says_nothing() {
        let cases: [(&[u8], LockfileKind); 9] = [
            (
                b"#\n# This file is autogenerated by pip-compile with Python 3.12\n# by the following command:\n",
                LockfileKind::RequirementsTxt,
            ),
            (
                b"# This file was autogenerated by uv via the following command:\n#    uv pip compile requirements.in -o requirements.txt\nanyio==4.3.0\n",
                LockfileKind::RequirementsTxt,
            ),
            (
                b"# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n",
                LockfileKind::CargoLock,
            ),
            (
                b"{\n  \"name\": \"app\",\n  \"lockfileVersion\": 3,\n  \"packages\": {}\n}\n",
                LockfileKind::PackageLockJson,
            ),
            (
                b"# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.\n",
                LockfileKind::PoetryLock,
            ),
            (
                b"[[package]]\nname = \"six\"\nversion = \"1.16.0\"\npython-versions = \"*\"\n",
                LockfileKind::PoetryLock,
            ),
            (
                b"GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.0.6)\n",
                LockfileKind::GemfileLock,
            ),
            (
                b"module example.com/app\n\ngo 1.22\n",
                LockfileKind::GoMod,
            ),
            (
                b"github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n",
                LockfileKind::GoSum,
            ),
        ];
        for (bytes, kind) in cases {
            assert_eq!(
                detect("-", bytes),
                Some(kind),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(detect("upload", b"just text"), None);
        assert_eq!(detect("upload", b"{\"bomFormat\":\"CycloneDX\"}"), None);
        assert_eq!(detect("upload", b""), None);
    }

    #[test]
    fn errors_display_their_location() {
        assert_eq!(
            LockfileError::at(3, 7, "expected a string").to_string(),
            "line 3, column 7: expected a string"
        );
        assert_eq!(
            LockfileError::at_line(12, "bad spec").to_string(),
            "line 12: bad spec"
        );
        assert_eq!(LockfileError::new("empty").to_string(), "empty");
    }

    #[test]
    fn invalid_encoding_is_located() {
        for kind in LockfileKind::ALL {
            let error = parse(kind, b"abc\n\xFF\xFE\xFD").unwrap_err();
            assert_eq!(error.line, Some(2), "{kind}: {error}");
            assert!(error.message.contains("UTF-8"), "{kind}: {error}");
        }
    }

    #[test]
    fn default_registries_are_recognised() {
        let cargo = |source: Option<&str>, origin| LockedPackage {
            ecosystem: CRATES_IO,
            name: "serde".into(),
            version: "1.0.0".into(),
            purl: "pkg:cargo/serde@1.0.0".into(),
            direct: None,
            dev: None,
            optional: None,
            origin,
            source: source.map(str::to_string),
        };
        let crates_io = "registry+https://github.com/rust-lang/crates.io-index";
        assert!(cargo(Some(crates_io), Origin::Registry).from_default_registry());
        assert!(
            cargo(Some("sparse+https://index.crates.io/"), Origin::Registry)
                .from_default_registry()
        );
        assert!(
            !cargo(Some("sparse+https://cargo.corp.example/"), Origin::Registry)
                .from_default_registry()
        );
        assert!(!cargo(None, Origin::Local).from_default_registry());
        assert!(!cargo(
            Some("git+https://github.com/serde-rs/serde#abc"),
            Origin::Git
        )
        .from_default_registry());

        let npm = |source: &str| LockedPackage {
            ecosystem: NPM,
            source: Some(source.into()),
            ..cargo(None, Origin::Registry)
        };
        assert!(npm("https://registry.npmjs.org/ms/-/ms-2.1.3.tgz").from_default_registry());
        assert!(!npm("https://npm.corp.example/ms/-/ms-2.1.3.tgz").from_default_registry());
        let gem = LockedPackage {
            ecosystem: RUBYGEMS,
            source: Some("https://rubygems.org/".into()),
            ..cargo(None, Origin::Registry)
        };
        assert!(gem.from_default_registry());
        let go = LockedPackage {
            ecosystem: GO,
            ..cargo(None, Origin::Registry)
        };
        assert!(go.from_default_registry());
    }

    #[test]
    fn collector_merges_repeats() {
        let mut out = Collector::new(LockfileKind::PackageLockJson);
        let package = |dev, direct| LockedPackage {
            ecosystem: NPM,
            name: "ms".into(),
            version: "2.1.3".into(),
            purl: "pkg:npm/ms@2.1.3".into(),
            direct,
            dev,
            optional: Some(false),
            origin: Origin::Registry,
            source: None,
        };
        out.push(package(Some(true), Some(false)));
        out.push(package(Some(false), None));
        out.push(package(Some(true), Some(true)));
        let lockfile = out.finish();
        assert_eq!(lockfile.packages.len(), 1);
        assert_eq!(lockfile.packages[0].dev, Some(false));
        assert_eq!(lockfile.packages[0].direct, Some(true));
    }
}
