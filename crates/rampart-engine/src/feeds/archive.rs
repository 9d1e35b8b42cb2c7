//! Zip archives of feed documents (OSV's `all.zip`, the GHSA dump, an operator's bundle),
//! read with every entry bounded. Sync runs and `rampart import` both read through
//! [`BoundedZip`], so a forged or hostile archive meets the same limit everywhere.
//!
//! The sizes in a zip's headers are claims, not facts: a 200-byte archive can declare a
//! terabyte (preallocating it aborts the process) and a 2 MB one can inflate to gigabytes.
//! So the declared size is checked against the limit, and the read itself stops one byte past
//! the limit whatever the header said.

use std::io::{Read, Seek};

/// The largest document read from an archive. A real advisory is kilobytes and the largest
/// feed document (an NVD response page) a few MiB; an entry past this is an archive to refuse.
pub const MAX_ARCHIVE_ENTRY_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a readable zip archive: {0}")]
    NotAZip(#[source] zip::result::ZipError),
    #[error("zip entry {index}: {source}")]
    Entry {
        index: usize,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("{name}: cannot read the entry: {source}")]
    Read {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{name}: the entry unpacks to more than {} MiB (its header declares {declared} bytes): \
         a corrupt or hostile archive (zip bomb), refused",
        limit / (1024 * 1024)
    )]
    TooLarge {
        name: String,
        declared: u64,
        limit: u64,
    },
}

impl ArchiveError {
    /// Whether the whole archive must be refused (rather than one damaged entry skipped).
    pub fn refuses_the_archive(&self) -> bool {
        matches!(
            self,
            ArchiveError::NotAZip(_) | ArchiveError::TooLarge { .. }
        )
    }
}

/// One document read from an archive.
#[derive(Debug)]
pub struct ArchiveEntry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A zip archive whose entries are read at most `limit` bytes each.
pub struct BoundedZip<R> {
    archive: zip::ZipArchive<R>,
    limit: u64,
}

impl<R: Read + Seek> BoundedZip<R> {
    /// Opens an archive with the [`MAX_ARCHIVE_ENTRY_BYTES`] limit.
    pub fn new(reader: R) -> Result<Self, ArchiveError> {
        Self::with_limit(reader, MAX_ARCHIVE_ENTRY_BYTES)
    }

    pub fn with_limit(reader: R, limit: u64) -> Result<Self, ArchiveError> {
        let archive = zip::ZipArchive::new(reader).map_err(ArchiveError::NotAZip)?;
        Ok(BoundedZip { archive, limit })
    }

    /// Number of entries (files and directories).
    pub fn len(&self) -> usize {
        self.archive.len()
    }

    pub fn is_empty(&self) -> bool {
        self.archive.is_empty()
    }

    /// Reads entry `index` when it is a file whose name `wanted` accepts (`Ok(None)` for
    /// directories and other files, which are not read at all).
    pub fn read(
        &mut self,
        index: usize,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Option<ArchiveEntry>, ArchiveError> {
        let limit = self.limit;
        let entry = self
            .archive
            .by_index(index)
            .map_err(|source| ArchiveError::Entry { index, source })?;
        if !entry.is_file() || !wanted(entry.name()) {
            return Ok(None);
        }
        let name = entry.name().to_string();
        let declared = entry.size();
        let too_large = |name: String| ArchiveError::TooLarge {
            name,
            declared,
            limit,
        };
        if declared > limit {
            return Err(too_large(name));
        }
        // `declared` is at most the limit here, but it may still understate the content: the
        // read stops one byte past the limit, which tells a too-large entry from one that fits.
        let mut bytes = Vec::with_capacity(declared as usize);
        if let Err(source) = entry.take(limit + 1).read_to_end(&mut bytes) {
            return Err(ArchiveError::Read { name, source });
        }
        if bytes.len() as u64 > limit {
            return Err(too_large(name));
        }
        Ok(Some(ArchiveEntry { name, bytes }))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn entries_within_the_limit_are_read_and_others_are_refused() {
        let big = vec![b' '; 1001];
        let archive = zip_of(&[
            ("a.json", b"{}"),
            ("README", b"not wanted"),
            ("big.json", &big),
        ]);
        let mut zip = BoundedZip::with_limit(Cursor::new(archive), 1000).unwrap();
        let wanted = |name: &str| name.ends_with(".json");
        let first = zip.read(0, wanted).unwrap().unwrap();
        assert_eq!(
            (first.name.as_str(), first.bytes.as_slice()),
            ("a.json", &b"{}"[..])
        );
        assert!(zip.read(1, wanted).unwrap().is_none());
        let error = zip.read(2, wanted).unwrap_err();
        assert!(error.refuses_the_archive());
        assert!(matches!(
            error,
            ArchiveError::TooLarge { ref name, declared: 1001, limit: 1000 } if name == "big.json"
        ));
    }

    #[test]
    fn not_a_zip_refuses_the_archive() {
        let error = BoundedZip::new(Cursor::new(b"PK\x03\x04 nothing else".to_vec()))
            .err()
            .unwrap();
        assert!(error.refuses_the_archive());
        assert!(error.to_string().starts_with("not a readable zip archive"));
    }
}
