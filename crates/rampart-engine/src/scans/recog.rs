//! The Recog databases scans use: the snapshot embedded in the binary (see `recog/README.md`
//! beside this crate for its origin and license), or the same files from a newer copy
//! (`--recog-dir`). Compiled once per process, on first use.

use std::collections::HashMap;
use std::path::Path;

use rampart_formats::recog::{parse_database, Identification, Matcher, SkippedPattern};

/// Every database scans use, with the embedded snapshot's text.
pub const DATABASES: &[(&str, &str)] = &[
    ("http_servers", include_str!("../../recog/http_servers.xml")),
    ("http_cookies", include_str!("../../recog/http_cookies.xml")),
    ("http_wwwauth", include_str!("../../recog/http_wwwauth.xml")),
    (
        "http_xpoweredby",
        include_str!("../../recog/http_xpoweredby.xml"),
    ),
    ("html_title", include_str!("../../recog/html_title.xml")),
    ("ssh_banners", include_str!("../../recog/ssh_banners.xml")),
    ("ftp_banners", include_str!("../../recog/ftp_banners.xml")),
    ("smtp_banners", include_str!("../../recog/smtp_banners.xml")),
    ("pop_banners", include_str!("../../recog/pop_banners.xml")),
    ("imap_banners", include_str!("../../recog/imap_banners.xml")),
    (
        "mysql_banners",
        include_str!("../../recog/mysql_banners.xml"),
    ),
];

/// The compiled databases, by name.
#[derive(Debug)]
pub struct RecogLibrary {
    matchers: HashMap<&'static str, Matcher>,
}

impl RecogLibrary {
    /// The embedded snapshot, or files of the same names in `dir` where present.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<RecogLibrary> {
        let mut matchers = HashMap::new();
        for (name, embedded) in DATABASES {
            let from_dir = match dir {
                Some(dir) => {
                    let path = dir.join(format!("{name}.xml"));
                    if path.is_file() {
                        Some(
                            std::fs::read_to_string(&path)
                                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?,
                        )
                    } else {
                        None
                    }
                }
                None => None,
            };
            let text = from_dir.as_deref().unwrap_or(embedded);
            let database = parse_database(name, text)?;
            matchers.insert(*name, Matcher::compile(database));
        }
        let skipped: usize = matchers.values().map(|m| m.skipped().len()).sum();
        if skipped > 0 {
            tracing::info!(
                skipped,
                "Recog fingerprints the regex engine cannot run were skipped (look-around, back-references)"
            );
        }
        Ok(RecogLibrary { matchers })
    }

    /// The first fingerprint of `database` matching `text`.
    pub fn identify(&self, database: &str, text: &[u8]) -> Option<Identification> {
        self.matchers.get(database)?.identify(text)
    }

    pub fn matcher(&self, database: &str) -> Option<&Matcher> {
        self.matchers.get(database)
    }

    /// Every fingerprint that was skipped, with its reason.
    pub fn skipped(&self) -> Vec<&SkippedPattern> {
        self.matchers.values().flat_map(|m| m.skipped()).collect()
    }
}
