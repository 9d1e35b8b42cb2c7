//! What the fuzz targets share: the checks a parsed document must pass, and the one-byte
//! selectors that let a single target cover several parsers (the lockfile kinds, the version
//! schemes). Each target calls the same public function the server or CLI calls on untrusted
//! bytes; any panic, timeout or runaway memory is a finding (see README.md, Fuzzing).

use std::cmp::Ordering;

use rampart_formats::lockfile::{detect, parse_lockfile};
use rampart_formats::sbom::{Sbom, SbomError};
use rampart_formats::vex::{self, VexFormat, VexRead};
use rampart_versions::Scheme;

/// An SBOM parser's result: an error says something, and a document's parent links point
/// inside it.
pub fn check_sbom(result: Result<Sbom, SbomError>) {
    match result {
        Ok(sbom) => {
            let count = sbom.components.len();
            assert!(
                sbom.components
                    .iter()
                    .all(|c| c.parent.is_none_or(|p| p < count)),
                "a parent link points outside the document"
            );
        }
        Err(error) => assert!(!error.to_string().is_empty(), "an error without a message"),
    }
}

/// The file names `rampart scan` recognises lockfiles by; `-` is standard input, recognised
/// by content. The lockfile target's first byte picks one (its seeds carry the right byte).
pub const LOCKFILE_NAMES: &[&str] = &[
    "-",
    "Cargo.lock",
    "package-lock.json",
    "requirements.txt",
    "poetry.lock",
    "go.sum",
    "go.mod",
    "Gemfile.lock",
];

/// What `rampart scan` does with a file: recognise it by name (else content), then parse it.
/// Every package is named, versioned, of the format's ecosystem and carries a purl.
pub fn check_lockfile(file_name: &str, bytes: &[u8]) {
    let Some(kind) = detect(file_name, bytes) else {
        return;
    };
    match parse_lockfile(kind, bytes) {
        Ok(lockfile) => {
            for package in &lockfile.packages {
                assert_eq!(package.ecosystem, kind.ecosystem());
                assert!(!package.name.is_empty() && !package.version.is_empty());
                assert!(package.purl.starts_with("pkg:"), "{}", package.purl);
            }
        }
        Err(error) => assert!(!error.to_string().is_empty(), "an error without a message"),
    }
}

/// What `rampart vex convert` does with a document it read: write it in every format. A
/// writer may refuse the document (with a reason) but must not panic.
pub fn check_vex(read: Result<VexRead, rampart_formats::vex::VexError>) {
    let Ok(read) = read else { return };
    for format in [
        VexFormat::OpenVex,
        VexFormat::CycloneDxJson,
        VexFormat::CycloneDxXml,
        VexFormat::Csaf,
    ] {
        let _ = vex::write(&read.document, format);
    }
}

/// Every version scheme; the version target's first byte picks one.
pub const SCHEMES: &[Scheme] = &[
    Scheme::Generic,
    Scheme::Semver,
    Scheme::Npm,
    Scheme::Go,
    Scheme::Pub,
    Scheme::Pep440,
    Scheme::Maven,
    Scheme::NuGet,
    Scheme::RubyGems,
    Scheme::Composer,
    Scheme::Dpkg,
    Scheme::Rpm,
    Scheme::Apk,
    Scheme::Cran,
    Scheme::Hackage,
];

/// Parsing a version never panics; a failed parse names the scheme and the input; whatever
/// parses displays as text that parses back to an equal version, displays the same again,
/// and compares equal to itself; and text holding a newline is also read as two versions
/// whose comparison must be antisymmetric.
pub fn check_version(scheme: Scheme, text: &str) {
    check_one_version(scheme, text);
    if let Some((left, right)) = text.split_once('\n') {
        check_one_version(scheme, left);
        check_one_version(scheme, right);
        if let (Ok(a), Ok(b)) = (scheme.parse(left), scheme.parse(right)) {
            assert_eq!(a.cmp(&b), b.cmp(&a).reverse(), "{left:?} vs {right:?}");
            assert_eq!(
                a == b,
                a.cmp(&b) == Ordering::Equal,
                "{left:?} vs {right:?}"
            );
        }
    }
}

fn check_one_version(scheme: Scheme, text: &str) {
    let version = match scheme.parse(text) {
        Ok(version) => version,
        Err(error) => {
            assert_eq!(error.input, text);
            assert_eq!(error.scheme, scheme.name());
            return;
        }
    };
    assert_eq!(version.cmp(&version), Ordering::Equal, "{text:?}");
    let shown = version.to_string();
    let reparsed = scheme
        .parse(&shown)
        .unwrap_or_else(|err| panic!("{text:?} displays as {shown:?}, which fails: {err}"));
    assert_eq!(
        reparsed.cmp(&version),
        Ordering::Equal,
        "{text:?} -> {shown:?}"
    );
    assert_eq!(
        version.cmp(&reparsed),
        Ordering::Equal,
        "{text:?} -> {shown:?}"
    );
    assert_eq!(
        reparsed.to_string(),
        shown,
        "{text:?}: Display is not a normal form"
    );
}

/// Splits off the selector byte: `table[first % len]` and the rest.
pub fn select<'a, T: Copy>(table: &[T], data: &'a [u8]) -> Option<(T, &'a [u8])> {
    let (&first, rest) = data.split_first()?;
    Some((table[usize::from(first) % table.len()], rest))
}
