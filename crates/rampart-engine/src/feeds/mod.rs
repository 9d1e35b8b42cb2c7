//! The advisory feeds, and the one reader of their files that sync runs and `rampart import`
//! share: a directory tree (every file of the feed's kinds, in a stable order), a zip archive
//! (through [`BoundedZip`], so a hostile archive meets the same entry limit everywhere: a
//! damaged entry is skipped with its reason, an entry past the limit refuses the archive), or
//! one file; and the parser of a document of each feed.

pub mod archive;

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rampart_formats::advisory::{
    is_cve5_json, parse_cve5_json, parse_epss, parse_exploitdb_csv, parse_kev_csv, parse_kev_json,
    parse_nvd_cves, parse_osv_json, parse_osv_yaml, Advisory, CveRecord, EpssFile, ExploitRecord,
    FormatError, KevEntry, ParseReport,
};

pub use archive::{ArchiveEntry, ArchiveError, BoundedZip};

/// The six advisory feeds: a sync source's type, and `rampart import --type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedType {
    Osv,
    Nvd,
    Ghsa,
    Kev,
    Epss,
    ExploitDb,
}

impl FeedType {
    pub const ALL: &'static [FeedType] = &[
        FeedType::Osv,
        FeedType::Nvd,
        FeedType::Ghsa,
        FeedType::Kev,
        FeedType::Epss,
        FeedType::ExploitDb,
    ];

    /// Storage spelling, also accepted on input.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedType::Osv => "OSV",
            FeedType::Nvd => "NVD",
            FeedType::Ghsa => "GHSA",
            FeedType::Kev => "KEV",
            FeedType::Epss => "EPSS",
            FeedType::ExploitDb => "EXPLOITDB",
        }
    }

    /// Seed 000's proto-style enum spelling, used in its responses.
    pub fn wire_name(self) -> &'static str {
        match self {
            FeedType::Osv => "SYNC_SOURCE_TYPE_OSV",
            FeedType::Nvd => "SYNC_SOURCE_TYPE_NVD",
            FeedType::Ghsa => "SYNC_SOURCE_TYPE_GHSA",
            FeedType::Kev => "SYNC_SOURCE_TYPE_KEV",
            FeedType::Epss => "SYNC_SOURCE_TYPE_EPSS",
            FeedType::ExploitDb => "SYNC_SOURCE_TYPE_EXPLOITDB",
        }
    }

    /// `NVD`, `nvd` or `SYNC_SOURCE_TYPE_NVD` (also `EXPLOIT_DB`). `UNSPECIFIED` is no type.
    pub fn parse(text: &str) -> Option<FeedType> {
        let upper = text.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SYNC_SOURCE_TYPE_").unwrap_or(&upper);
        let bare = if bare == "EXPLOIT_DB" {
            "EXPLOITDB"
        } else {
            bare
        };
        FeedType::ALL.iter().copied().find(|t| t.as_str() == bare)
    }

    /// The public upstream, used when a source configures no URL.
    pub fn default_url(self) -> &'static str {
        match self {
            // The OSV bucket: `{base}/{ecosystem}/all.zip`.
            FeedType::Osv => "https://osv-vulnerabilities.storage.googleapis.com",
            FeedType::Nvd => "https://services.nvd.nist.gov/rest/json/cves/2.0",
            // The GitHub Advisory Database repository archive: OSV JSON files under advisories/.
            FeedType::Ghsa => {
                "https://github.com/github/advisory-database/archive/refs/heads/main.zip"
            }
            FeedType::Kev => {
                "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
            }
            FeedType::Epss => "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
            FeedType::ExploitDb => {
                "https://gitlab.com/exploit-database/exploitdb/-/raw/main/files_exploits.csv"
            }
        }
    }

    /// The knowledge base's name for records from this feed (also `rampart import --type`).
    pub fn kb_source(self) -> &'static str {
        match self {
            FeedType::Osv => "osv",
            FeedType::Nvd => "nvd",
            FeedType::Ghsa => "ghsa",
            FeedType::Kev => "kev",
            FeedType::Epss => "epss",
            FeedType::ExploitDb => "exploitdb",
        }
    }
}

impl FeedType {
    /// Whether a file inside a directory or archive is a document of this feed.
    pub fn wants(self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        let extensions: &[&str] = match self {
            FeedType::Osv | FeedType::Ghsa => &[".json", ".yaml", ".yml"],
            FeedType::Nvd => &[".json"],
            FeedType::Kev => &[".json", ".csv"],
            FeedType::Epss => &[".csv", ".csv.gz", ".gz"],
            FeedType::ExploitDb => &[".csv"],
        };
        extensions.iter().any(|e| lower.ends_with(e))
    }
}

/// One readable unit of input: a file, an archive entry or a download.
#[derive(Debug)]
pub struct Document {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// One entry of an input, as read.
#[derive(Debug)]
pub enum Entry {
    Document(Document),
    /// An entry that could not be read: skipped with this reason.
    Unreadable(String),
    /// An archive entry that is not a document of the feed (a directory, a README).
    NotOfTheFeed,
}

/// Whether a file or download is a zip archive (by name or by its magic bytes).
pub fn is_zip(name: &str, bytes: &[u8]) -> bool {
    name.to_ascii_lowercase().ends_with(".zip") || bytes.starts_with(b"PK\x03\x04")
}

/// Every file of the feed's kinds under `root`, sorted for a reproducible order.
pub fn tree_files(root: &Path, feed: FeedType) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory)
            .with_context(|| format!("cannot list {}", directory.display()))?
        {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() && feed.wants(&entry.path().to_string_lossy()) {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The entries of a zip archive in order: a damaged entry is [`Entry::Unreadable`] (named
/// with `archive_name`), an entry past the size limit an error that refuses the archive.
pub fn zip_entries<'a, R: Read + Seek>(
    archive: &'a mut BoundedZip<R>,
    feed: FeedType,
    archive_name: &'a str,
) -> impl Iterator<Item = Result<Entry, ArchiveError>> + 'a {
    (0..archive.len()).map(
        move |index| match archive.read(index, |name| feed.wants(name)) {
            Ok(Some(entry)) => Ok(Entry::Document(Document {
                name: entry.name,
                bytes: entry.bytes,
            })),
            Ok(None) => Ok(Entry::NotOfTheFeed),
            Err(error) if error.refuses_the_archive() => Err(error),
            Err(error) => Ok(Entry::Unreadable(format!("{archive_name}: {error}"))),
        },
    )
}

/// What one document of a feed holds.
#[derive(Debug)]
pub enum FeedContent {
    Advisories(ParseReport<Advisory>),
    /// CVE JSON 5 records (a `cvelistV5` tree or zip read as an OSV/GHSA source): the
    /// vendors/products a CVE's CNA names, for product/vendor alerts.
    CveRecords(ParseReport<CveRecord>),
    Kev(ParseReport<KevEntry>),
    Epss(EpssFile),
    Exploits(ParseReport<ExploitRecord>),
}

/// Parses one document of `feed`, choosing the format by its name (YAML or JSON OSV, KEV
/// JSON or CSV) and, for OSV/GHSA JSON, by its content (a CVE JSON 5 record).
pub fn parse_document(feed: FeedType, document: &Document) -> Result<FeedContent, FormatError> {
    let lower = document.name.to_ascii_lowercase();
    let bytes = &document.bytes;
    match feed {
        FeedType::Osv | FeedType::Ghsa if is_cve5_json(bytes) => {
            parse_cve5_json(bytes).map(FeedContent::CveRecords)
        }
        FeedType::Osv | FeedType::Ghsa => if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            parse_osv_yaml(bytes)
        } else {
            parse_osv_json(bytes)
        }
        .map(FeedContent::Advisories),
        FeedType::Nvd => parse_nvd_cves(bytes).map(FeedContent::Advisories),
        FeedType::Kev => if lower.ends_with(".csv") {
            parse_kev_csv(bytes)
        } else {
            parse_kev_json(bytes).map(|catalog| catalog.entries)
        }
        .map(FeedContent::Kev),
        FeedType::Epss => parse_epss(bytes).map(FeedContent::Epss),
        FeedType::ExploitDb => parse_exploitdb_csv(bytes).map(FeedContent::Exploits),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn a_damaged_entry_is_skipped_with_its_reason_and_the_rest_is_read() {
        let mut archive = stored_zip(&[
            ("a.json", b"{\"id\":\"A\"}"),
            ("b.json", b"{\"id\":\"DAMAGED\"}"),
            ("notes.txt", b"not a document"),
        ]);
        // Corrupt a stored byte of b.json: its CRC no longer matches.
        let at = archive
            .windows(7)
            .position(|w| w == b"DAMAGED")
            .expect("stored entries are plain");
        archive[at] = b'X';
        let mut zip = BoundedZip::new(Cursor::new(archive)).unwrap();
        let entries: Vec<Entry> = zip_entries(&mut zip, FeedType::Osv, "bundle.zip")
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(matches!(&entries[0], Entry::Document(d) if d.name == "a.json"));
        assert!(
            matches!(&entries[1], Entry::Unreadable(reason) if reason.starts_with("bundle.zip: b.json")),
            "{entries:?}"
        );
        assert!(matches!(entries[2], Entry::NotOfTheFeed));
    }

    #[test]
    fn an_oversize_entry_refuses_the_archive() {
        let big = vec![b' '; 2000];
        let archive = stored_zip(&[("a.json", b"{}"), ("big.json", &big)]);
        let mut zip = BoundedZip::with_limit(Cursor::new(archive), 1000).unwrap();
        let results: Vec<_> = zip_entries(&mut zip, FeedType::Ghsa, "dump.zip").collect();
        assert!(results[0].is_ok());
        assert!(matches!(&results[1], Err(e) if e.refuses_the_archive()));
    }

    #[test]
    fn a_tree_yields_the_feed_files_in_a_stable_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/nested")).unwrap();
        for name in [
            "b/nested/z.json",
            "a.yaml",
            "b/x.csv",
            "README.md",
            "b/c.JSON",
        ] {
            std::fs::write(dir.path().join(name), b"{}").unwrap();
        }
        let names = |feed| -> Vec<String> {
            tree_files(dir.path(), feed)
                .unwrap()
                .iter()
                .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(
            names(FeedType::Osv),
            ["a.yaml", "b/c.JSON", "b/nested/z.json"]
        );
        assert_eq!(names(FeedType::ExploitDb), ["b/x.csv"]);
        assert!(tree_files(&dir.path().join("missing"), FeedType::Osv).is_err());
    }

    #[test]
    fn documents_are_parsed_by_their_feed_and_name() {
        let kev_csv = Document {
            name: "kev.csv".into(),
            bytes: b"cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes\nCVE-2021-44228,Apache,Log4j2,Log4Shell,2021-12-10,d,a,2021-12-24,Known,,CWE-917\n".to_vec(),
        };
        match parse_document(FeedType::Kev, &kev_csv).unwrap() {
            FeedContent::Kev(report) => assert_eq!(report.records.len(), 1),
            other => panic!("{other:?}"),
        }
        let osv_yaml = Document {
            name: "GHSA-1.yaml".into(),
            bytes: b"id: GHSA-1\nmodified: 2024-01-01T00:00:00Z\n".to_vec(),
        };
        match parse_document(FeedType::Osv, &osv_yaml).unwrap() {
            FeedContent::Advisories(report) => assert_eq!(report.records[0].id, "GHSA-1"),
            other => panic!("{other:?}"),
        }
        let not_json = Document {
            name: "x.json".into(),
            bytes: b"{".to_vec(),
        };
        assert!(parse_document(FeedType::Nvd, &not_json).is_err());
    }

    #[test]
    fn both_spellings_parse_and_unspecified_does_not() {
        for t in FeedType::ALL {
            assert_eq!(FeedType::parse(t.as_str()), Some(*t));
            assert_eq!(FeedType::parse(t.wire_name()), Some(*t));
            assert_eq!(FeedType::parse(&t.as_str().to_lowercase()), Some(*t));
        }
        assert_eq!(FeedType::parse("EXPLOIT_DB"), Some(FeedType::ExploitDb));
        assert_eq!(FeedType::parse("SYNC_SOURCE_TYPE_UNSPECIFIED"), None);
        assert_eq!(FeedType::parse("UNSPECIFIED"), None);
        assert_eq!(FeedType::parse("RSS"), None);
    }
}
