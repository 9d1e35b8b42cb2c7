//! `rampart scan`'s index file: a [`ScanSnapshot`] of the whole knowledge base, written beside
//! a SQLite data directory's `rampart.db`, from which a scan takes the packages it names
//! without a query.
//!
//! Reading the named packages' rows, references, ratings and alias groups out of SQLite was
//! the largest part of a worst-case scan (8–15 of 38 ms, BENCHMARKS.md); the file is memory
//! mapped and only the named packages' entries are decoded. It is valid for one state of one
//! database: the knowledge base's version and the random stamp each version bump draws
//! (migration 0033), both read from `rampart.db` before the file is used. A file of another
//! state is stale and is not used; a file that fails its checksum or its bounds is damaged and
//! is not used either (the scan says so and reads the database).
//!
//! Layout, integers little-endian:
//! `MAGIC` · crc32 of everything after it (u32) · header length (u64) · postcard [`Header`] ·
//! one (name end, entry end) pair of u64 per package name, names sorted · the names' bytes ·
//! one postcard [`Entry`] per name. An entry holds its rows as the match index takes them
//! (ranges and listed versions decoded, times as integers): a scan decodes them and compiles
//! them, and parses no JSON and no date.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use rampart_core::match_index::AffectedInput;
use rampart_formats::advisory::AffectedRange;
use serde::{Deserialize, Serialize};

use crate::{MatchedRecordView, ScanSnapshot, StoreError, VulnerabilityRef};

/// The index file's name inside a data directory.
pub const SCAN_INDEX_FILE: &str = "scan-index";

/// The file's kind and format version: an index of another version (an older rampart's) is
/// stale, and the next scan writes it anew.
const MAGIC: &[u8; 8] = b"RMPSCAN\x02";
/// MAGIC, the checksum and the header's length.
const PREFIX_LEN: usize = MAGIC.len() + 4 + 8;
/// One name's (name end, entry end).
const TABLE_ROW_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ScanIndexError {
    #[error("cannot read or write the scan index: {0}")]
    Io(#[from] std::io::Error),
    #[error("the scan index is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    kb_version: i64,
    kb_stamp: String,
    names: u64,
}

/// What the index holds for one normalised package name: its affected-package rows with their
/// positions in the whole knowledge base's id order, and the records among them.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Entry {
    affected: Vec<(u64, IndexedInput)>,
    references: Vec<IndexedReference>,
    views: Vec<MatchedRecordView>,
    group_identifiers: Vec<(i64, Vec<String>)>,
}

/// An [`AffectedInput`] as the file holds it. Its ranges never carry `database_specific`
/// (which [`AffectedInput::from`] drops), so postcard can read them back.
#[derive(Debug, Serialize, Deserialize)]
struct IndexedInput {
    vulnerability_id: i64,
    vuln_id: String,
    modified: Timestamp,
    withdrawn: bool,
    informational: Option<String>,
    ecosystem: String,
    name: String,
    ranges: Vec<AffectedRange>,
    versions: Vec<String>,
}

/// A [`VulnerabilityRef`] as the file holds it.
#[derive(Debug, Serialize, Deserialize)]
struct IndexedReference {
    internal_id: i64,
    vuln_id: String,
    group_id: i64,
    source: String,
    published: Option<Timestamp>,
}

/// A time as seconds and nanoseconds since the epoch: exact, and read without parsing text.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Timestamp(i64, u32);

impl From<DateTime<Utc>> for Timestamp {
    fn from(time: DateTime<Utc>) -> Self {
        Timestamp(time.timestamp(), time.timestamp_subsec_nanos())
    }
}

impl Timestamp {
    fn time(self) -> Result<DateTime<Utc>, ScanIndexError> {
        DateTime::from_timestamp(self.0, self.1)
            .ok_or_else(|| ScanIndexError::Damaged(format!("a time out of range: {self:?}")))
    }
}

impl From<AffectedInput> for IndexedInput {
    fn from(input: AffectedInput) -> Self {
        IndexedInput {
            vulnerability_id: input.vulnerability_id,
            vuln_id: input.vuln_id,
            modified: input.modified.into(),
            withdrawn: input.withdrawn,
            informational: input.informational,
            ecosystem: input.ecosystem,
            name: input.name,
            ranges: input.ranges,
            versions: input.versions,
        }
    }
}

impl IndexedInput {
    fn into_input(self) -> Result<AffectedInput, ScanIndexError> {
        Ok(AffectedInput {
            vulnerability_id: self.vulnerability_id,
            vuln_id: self.vuln_id,
            modified: self.modified.time()?,
            withdrawn: self.withdrawn,
            informational: self.informational,
            ecosystem: self.ecosystem,
            name: self.name,
            ranges: self.ranges,
            versions: self.versions,
        })
    }
}

impl From<&VulnerabilityRef> for IndexedReference {
    fn from(reference: &VulnerabilityRef) -> Self {
        IndexedReference {
            internal_id: reference.internal_id,
            vuln_id: reference.vuln_id.clone(),
            group_id: reference.group_id,
            source: reference.source.clone(),
            published: reference.published.map(Timestamp::from),
        }
    }
}

impl IndexedReference {
    fn into_reference(self) -> Result<VulnerabilityRef, ScanIndexError> {
        Ok(VulnerabilityRef {
            internal_id: self.internal_id,
            vuln_id: self.vuln_id,
            group_id: self.group_id,
            source: self.source,
            published: self.published.map(Timestamp::time).transpose()?,
        })
    }
}

/// An open, checked index file.
pub struct ScanIndex {
    map: memmap2::Mmap,
    header: Header,
    /// Where the table, the names and the entries start.
    table_start: usize,
    names_start: usize,
    entries_start: usize,
}

/// The state of a data directory's index.
#[derive(Debug)]
pub enum IndexState {
    /// The index is of the state the database is in now.
    Current(ScanIndex),
    /// No index, or one of another state of the knowledge base (or of another database).
    Stale,
    /// An index that cannot be read, and why.
    Damaged(String),
}

/// The index in `data_dir`, when it is of the state `data_dir/rampart.db` is in now. The
/// database is only asked its version and stamp, on a read-only connection of its own (no
/// pool, no migration check: an index of the current stamp was written by a migrated
/// database).
pub fn current_index(data_dir: &Path) -> IndexState {
    let index = match ScanIndex::open(&data_dir.join(SCAN_INDEX_FILE)) {
        Ok(Some(index)) => index,
        Ok(None) => return IndexState::Stale,
        Err(error) => return IndexState::Damaged(error.to_string()),
    };
    if index.is_of(database_kb_state(data_dir).as_ref()) {
        IndexState::Current(index)
    } else {
        IndexState::Stale
    }
}

/// The knowledge base's version and stamp in `data_dir/rampart.db`, read on a read-only
/// connection of its own; `None` from a database this reader cannot ask (older schema,
/// locked, unreadable), which is the caller's to open and explain.
pub fn database_kb_state(data_dir: &Path) -> Option<(i64, String)> {
    sqlite_kb_stamp(&data_dir.join("rampart.db")).ok()
}

/// The knowledge base's version and stamp, read from a SQLite file opened read-only.
fn sqlite_kb_stamp(database: &Path) -> rusqlite::Result<(i64, String)> {
    let connection = rusqlite::Connection::open_with_flags(
        database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.query_row(
        "SELECT version, stamp FROM kb_state WHERE id = 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
}

impl std::fmt::Debug for ScanIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanIndex")
            .field("kb_version", &self.header.kb_version)
            .field("kb_stamp", &self.header.kb_stamp)
            .field("names", &self.header.names)
            .finish()
    }
}

impl ScanIndex {
    /// Opens and checks the index at `path`; `None` when there is none.
    pub fn open(path: &Path) -> Result<Option<ScanIndex>, ScanIndexError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        // SAFETY: the index is only ever replaced by renaming a new file over it (`write`),
        // never written in place, so the mapped bytes do not change under the reader.
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        let kind = &MAGIC[..MAGIC.len() - 1];
        if map.len() >= MAGIC.len() && map.starts_with(kind) && !map.starts_with(MAGIC) {
            // Another version's index: as good as none.
            return Ok(None);
        }
        Self::from_map(map).map(Some)
    }

    fn from_map(map: memmap2::Mmap) -> Result<ScanIndex, ScanIndexError> {
        let damaged = |why: &str| ScanIndexError::Damaged(why.to_string());
        if map.len() < PREFIX_LEN || &map[..MAGIC.len()] != MAGIC {
            return Err(damaged("not a scan index of this version of rampart"));
        }
        let checksum = u32::from_le_bytes(map[8..12].try_into().expect("4 bytes"));
        if crc32fast::hash(&map[12..]) != checksum {
            return Err(damaged("checksum mismatch"));
        }
        let header_len = u64::from_le_bytes(map[12..20].try_into().expect("8 bytes"));
        let table_start = usize::try_from(header_len)
            .ok()
            .and_then(|len| PREFIX_LEN.checked_add(len))
            .filter(|end| *end <= map.len())
            .ok_or_else(|| damaged("header past the end"))?;
        let header: Header = postcard::from_bytes(&map[PREFIX_LEN..table_start])
            .map_err(|e| ScanIndexError::Damaged(format!("header: {e}")))?;
        let names_start = usize::try_from(header.names)
            .ok()
            .and_then(|n| n.checked_mul(TABLE_ROW_LEN))
            .and_then(|len| table_start.checked_add(len))
            .filter(|end| *end <= map.len())
            .ok_or_else(|| damaged("name table past the end"))?;
        let mut index = ScanIndex {
            map,
            header,
            table_start,
            names_start,
            entries_start: names_start,
        };
        let names_len = match index.header.names {
            0 => 0,
            n => index.table_row(n as usize - 1).0,
        };
        index.entries_start = names_start
            .checked_add(names_len)
            .filter(|end| *end <= index.map.len())
            .ok_or_else(|| damaged("names past the end"))?;
        Ok(index)
    }

    /// The knowledge-base version and stamp the index was written from.
    /// Whether the index was written from this state of the knowledge base (`None`: one
    /// that could not be read, of which no index is).
    pub fn is_of(&self, state: Option<&(i64, String)>) -> bool {
        state.is_some_and(|(version, stamp)| {
            *version == self.header.kb_version && *stamp == self.header.kb_stamp
        })
    }

    pub fn kb_state(&self) -> (i64, &str) {
        (self.header.kb_version, &self.header.kb_stamp)
    }

    /// Row `i` of the table: where name `i` and its entry end.
    fn table_row(&self, i: usize) -> (usize, usize) {
        let at = self.table_start + i * TABLE_ROW_LEN;
        let read = |at: usize| {
            let bytes: [u8; 8] = self.map[at..at + 8].try_into().expect("8 bytes");
            usize::try_from(u64::from_le_bytes(bytes)).unwrap_or(usize::MAX)
        };
        (read(at), read(at + 8))
    }

    /// Name `i` and its entry's bytes.
    fn row(&self, i: usize) -> Result<(&[u8], &[u8]), ScanIndexError> {
        let (name_start, entry_start) = if i == 0 {
            (0, 0)
        } else {
            self.table_row(i - 1)
        };
        let (name_end, entry_end) = self.table_row(i);
        let name = self
            .names_start
            .checked_add(name_start)
            .zip(self.names_start.checked_add(name_end))
            .filter(|(start, end)| start <= end && *end <= self.entries_start)
            .map(|(start, end)| &self.map[start..end]);
        let entry = self
            .entries_start
            .checked_add(entry_start)
            .zip(self.entries_start.checked_add(entry_end))
            .filter(|(start, end)| start <= end && *end <= self.map.len())
            .map(|(start, end)| &self.map[start..end]);
        match (name, entry) {
            (Some(name), Some(entry)) => Ok((name, entry)),
            _ => Err(ScanIndexError::Damaged(format!("row {i} out of bounds"))),
        }
    }

    /// The entry of one name, if the index has it.
    fn entry(&self, name: &str) -> Result<Option<Entry>, ScanIndexError> {
        let (mut low, mut high) = (0usize, self.header.names as usize);
        while low < high {
            let middle = low + (high - low) / 2;
            let (candidate, entry) = self.row(middle)?;
            match candidate.cmp(name.as_bytes()) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => {
                    return postcard::from_bytes(entry)
                        .map(Some)
                        .map_err(|e| ScanIndexError::Damaged(format!("entry of {name}: {e}")));
                }
            }
        }
        Ok(None)
    }

    /// What [`crate::Store::scan_snapshot`] reads for these names, from the index, with the
    /// rows ready for the match index.
    pub fn snapshot(
        &self,
        normalized_names: &[String],
    ) -> Result<ScanSnapshot<AffectedInput>, ScanIndexError> {
        let mut snapshot = ScanSnapshot {
            kb_version: self.header.kb_version,
            kb_stamp: self.header.kb_stamp.clone(),
            ..ScanSnapshot::default()
        };
        let mut affected = Vec::new();
        let mut names: Vec<&String> = normalized_names.iter().collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let Some(entry) = self.entry(name)? else {
                continue;
            };
            for (position, input) in entry.affected {
                affected.push((position, input.into_input()?));
            }
            for reference in entry.references {
                let reference = reference.into_reference()?;
                snapshot.references.insert(reference.internal_id, reference);
            }
            for view in entry.views {
                snapshot.views.insert(view.internal_id, view);
            }
            snapshot.group_identifiers.extend(entry.group_identifiers);
        }
        affected.sort_unstable_by_key(|(position, _)| *position);
        snapshot.affected = affected.into_iter().map(|(_, input)| input).collect();
        Ok(snapshot)
    }

    /// Writes the index of a whole knowledge base (a [`crate::Store::scan_snapshot_all`]) to
    /// `path`: to a new file beside it, renamed over it once complete, so a reader maps either
    /// the old index or the new one whole.
    pub fn write(path: &Path, all: &ScanSnapshot) -> Result<(), ScanIndexError> {
        let mut entries: BTreeMap<&str, Entry> = BTreeMap::new();
        for (position, row) in all.affected.iter().enumerate() {
            let entry = entries.entry(row.normalized_name.as_str()).or_default();
            let input = AffectedInput::from(row.clone());
            entry.affected.push((position as u64, input.into()));
        }
        for entry in entries.values_mut() {
            let mut records: Vec<i64> = entry
                .affected
                .iter()
                .map(|(_, row)| row.vulnerability_id)
                .collect();
            records.sort_unstable();
            records.dedup();
            entry.references = records
                .iter()
                .filter_map(|id| all.references.get(id).map(IndexedReference::from))
                .collect();
            entry.views = records
                .iter()
                .filter_map(|id| all.views.get(id).cloned())
                .collect();
            let mut groups: Vec<i64> = entry.references.iter().map(|r| r.group_id).collect();
            groups.sort_unstable();
            groups.dedup();
            entry.group_identifiers = groups
                .into_iter()
                .filter_map(|group| {
                    let identifiers = all.group_identifiers.get(&group)?;
                    Some((group, identifiers.clone()))
                })
                .collect();
        }

        let header = postcard::to_allocvec(&Header {
            kb_version: all.kb_version,
            kb_stamp: all.kb_stamp.clone(),
            names: entries.len() as u64,
        })
        .map_err(|e| ScanIndexError::Damaged(format!("header: {e}")))?;
        let mut table = Vec::with_capacity(entries.len() * TABLE_ROW_LEN);
        let mut names = Vec::new();
        let mut data = Vec::new();
        for (name, entry) in &entries {
            names.extend_from_slice(name.as_bytes());
            data = postcard::to_extend(entry, data)
                .map_err(|e| ScanIndexError::Damaged(format!("entry of {name}: {e}")))?;
            table.extend_from_slice(&(names.len() as u64).to_le_bytes());
            table.extend_from_slice(&(data.len() as u64).to_le_bytes());
        }
        let mut body =
            Vec::with_capacity(8 + header.len() + table.len() + names.len() + data.len());
        body.extend_from_slice(&(header.len() as u64).to_le_bytes());
        body.extend_from_slice(&header);
        body.extend_from_slice(&table);
        body.extend_from_slice(&names);
        body.extend_from_slice(&data);

        let directory = path.parent().unwrap_or_else(|| Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(directory)?;
        file.write_all(MAGIC)?;
        file.write_all(&crc32fast::hash(&body).to_le_bytes())?;
        file.write_all(&body)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The largest knowledge base (in affected-package rows) an index is written for. Past it
/// the whole-base read and the file cost more than the per-package queries they save.
pub const SCAN_INDEX_MAX_ROWS: i64 = 250_000;

impl crate::Store {
    /// Writes `data_dir`'s scan index from this store, which must be that directory's
    /// database, in one read of the whole knowledge base; `None` (and no index: a stale one is
    /// removed) when the base is larger than [`SCAN_INDEX_MAX_ROWS`]. Returns the rows the
    /// index holds.
    pub async fn write_scan_index(&self, data_dir: &Path) -> Result<Option<usize>, ScanIndexError> {
        let path = data_dir.join(SCAN_INDEX_FILE);
        if self.affected_package_count().await? > SCAN_INDEX_MAX_ROWS {
            match std::fs::remove_file(&path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(error.into())
                }
                _ => return Ok(None),
            }
        }
        let all = self.scan_snapshot_all().await?;
        ScanIndex::write(&path, &all)?;
        Ok(Some(all.affected.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AffectedPackageRow;
    use chrono::TimeZone;
    use std::collections::HashMap;

    fn keyed<T: Clone>(items: &[T], key: impl Fn(&T) -> i64) -> HashMap<i64, T> {
        items.iter().map(|item| (key(item), item.clone())).collect()
    }

    fn row(id: i64, name: &str, position: u8) -> AffectedPackageRow {
        AffectedPackageRow {
            vulnerability_id: id,
            vuln_id: format!("RUSTSEC-2020-{id:04}"),
            // Nanoseconds too: the index keeps times exact.
            modified: chrono::Utc
                .timestamp_opt(1_600_000_000 + i64::from(position), 123_456_789)
                .unwrap(),
            withdrawn: (id == 5).then(|| chrono::Utc.timestamp_opt(1_700_000_000, 0).unwrap()),
            informational: (id % 3 == 0).then(|| "unmaintained".to_string()),
            ecosystem: "crates.io".into(),
            name: name.to_uppercase(),
            normalized_name: name.into(),
            purl: Some(format!("pkg:cargo/{name}")),
            // As ingest stores them; `database_specific` is not kept in the index.
            ranges: format!(
                r#"[{{"kind":"SEMVER","repo":null,"events":[{{"introduced":"0"}},{{"fixed":"1.{position}.0"}}],"database_specific":{{"source":"x"}}}},{{"kind":"GIT","repo":"https://g/{name}","events":[{{"introduced":"abc"}}],"database_specific":null}}]"#
            ),
            versions: format!(r#"["0.{position}.1","0.{position}.2"]"#),
        }
    }

    fn reference(id: i64) -> VulnerabilityRef {
        VulnerabilityRef {
            internal_id: id,
            vuln_id: format!("RUSTSEC-2020-{id:04}"),
            group_id: id / 2,
            source: "osv".into(),
            published: (id % 2 == 1)
                .then(|| chrono::Utc.timestamp_opt(1_500_000_000 + id, 987).unwrap()),
        }
    }

    fn view(id: i64) -> MatchedRecordView {
        MatchedRecordView {
            internal_id: id,
            vuln_id: format!("RUSTSEC-2020-{id:04}"),
            group_id: id / 2,
            source: "osv".into(),
            summary: Some(format!("summary {id}")),
            cvss: (id % 2 == 0).then_some(7.5),
            severity: Some("high".into()),
            epss: None,
            epss_percentile: None,
            in_kev: id == 4,
        }
    }

    /// A knowledge base of four names; `b` has two records, record 4 affects `a` and `c`.
    fn whole() -> ScanSnapshot {
        let affected = vec![
            row(1, "a", 0),
            row(2, "b", 1),
            row(3, "b", 2),
            row(4, "c", 3),
            row(4, "a", 4),
            row(5, "d", 5),
        ];
        let references: Vec<VulnerabilityRef> = (1..=5).map(reference).collect();
        let views: Vec<MatchedRecordView> = (1..=5).filter(|id| *id != 5).map(view).collect();
        ScanSnapshot {
            kb_version: 7,
            kb_stamp: "0123abcd".into(),
            affected,
            references: keyed(&references, |r| r.internal_id),
            views: keyed(&views, |v| v.internal_id),
            group_identifiers: (0..=2)
                .map(|group| {
                    (
                        group,
                        vec![format!("CVE-2020-{group}"), format!("GHSA-{group}")],
                    )
                })
                .collect(),
        }
    }

    /// What a database read of `names` gives, computed from the whole snapshot, with its rows
    /// as the index gives them.
    fn expected(all: &ScanSnapshot, names: &[&str]) -> ScanSnapshot<AffectedInput> {
        let affected: Vec<AffectedPackageRow> = all
            .affected
            .iter()
            .filter(|row| names.contains(&row.normalized_name.as_str()))
            .cloned()
            .collect();
        let records: Vec<i64> = affected.iter().map(|r| r.vulnerability_id).collect();
        let references: HashMap<i64, VulnerabilityRef> = all
            .references
            .iter()
            .filter(|(id, _)| records.contains(id))
            .map(|(id, r)| (*id, r.clone()))
            .collect();
        let groups: Vec<i64> = references.values().map(|r| r.group_id).collect();
        ScanSnapshot {
            kb_version: all.kb_version,
            kb_stamp: all.kb_stamp.clone(),
            affected,
            views: all
                .views
                .iter()
                .filter(|(id, _)| records.contains(id))
                .map(|(id, v)| (*id, v.clone()))
                .collect(),
            references,
            group_identifiers: all
                .group_identifiers
                .iter()
                .filter(|(group, _)| groups.contains(group))
                .map(|(group, ids)| (*group, ids.clone()))
                .collect(),
        }
        .into_inputs()
    }

    fn written(all: &ScanSnapshot) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SCAN_INDEX_FILE);
        ScanIndex::write(&path, all).unwrap();
        (dir, path)
    }

    #[test]
    fn every_set_of_names_reads_back_as_the_database_would_give_it() {
        let all = whole();
        let (_dir, path) = written(&all);
        let index = ScanIndex::open(&path).unwrap().unwrap();
        assert_eq!(index.kb_state(), (7, "0123abcd"));
        let universe = ["a", "b", "c", "d", "e", ""];
        for mask in 0u32..(1 << universe.len()) {
            let names: Vec<&str> = (0..universe.len())
                .filter(|bit| mask & (1 << bit) != 0)
                .map(|bit| universe[bit])
                .collect();
            let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            assert_eq!(
                index.snapshot(&owned).unwrap(),
                expected(&all, &names),
                "{names:?}"
            );
        }
        // Repeated names are one name.
        let twice = vec!["c".to_string(), "a".to_string(), "c".to_string()];
        assert_eq!(index.snapshot(&twice).unwrap(), expected(&all, &["a", "c"]));
        // Not vacuous: the rows' ranges, listed versions and exact times come back.
        let every: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let read = index.snapshot(&every).unwrap();
        assert_eq!(read.affected.len(), all.affected.len());
        for (input, row) in read.affected.iter().zip(&all.affected) {
            assert_eq!(input.ranges.len(), 2, "{input:?}");
            assert_eq!(input.ranges[0].events.len(), 2, "{input:?}");
            assert!(input.ranges.iter().all(|r| r.database_specific.is_none()));
            assert_eq!(input.versions.len(), 2, "{input:?}");
            assert_eq!(input.modified, row.modified);
            assert_eq!(input.withdrawn, row.withdrawn.is_some());
        }
        assert!(read.references.values().any(|r| r.published.is_some()));
    }

    #[test]
    fn an_index_of_another_format_version_is_stale_not_damaged() {
        let (_dir, path) = written(&whole());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[MAGIC.len() - 1] = 0x01;
        std::fs::write(&path, &bytes).unwrap();
        assert!(ScanIndex::open(&path).unwrap().is_none());
    }

    #[test]
    fn an_empty_knowledge_base_has_an_index_with_nothing_in_it() {
        let all = ScanSnapshot {
            kb_version: 0,
            kb_stamp: "x".into(),
            ..ScanSnapshot::default()
        };
        let (_dir, path) = written(&all);
        let index = ScanIndex::open(&path).unwrap().unwrap();
        assert_eq!(
            index.snapshot(&["a".to_string()]).unwrap(),
            all.into_inputs()
        );
    }

    #[test]
    fn no_file_is_no_index() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ScanIndex::open(&dir.path().join(SCAN_INDEX_FILE))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_damaged_file_is_refused_and_never_read_wrong() {
        let all = whole();
        let (_dir, path) = written(&all);
        let good = std::fs::read(&path).unwrap();
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let check = |bytes: &[u8], what: &str| {
            std::fs::write(&path, bytes).unwrap();
            match ScanIndex::open(&path) {
                Err(ScanIndexError::Damaged(_)) => {}
                // The format's version byte changed: another version's index, never read.
                Ok(None) if bytes.len() == good.len() && bytes[..MAGIC.len()] != MAGIC[..] => {}
                Ok(index) => panic!(
                    "{what}: opened as {:?}",
                    index.map(|i| i.snapshot(&names).map(|s| s.affected.len()))
                ),
                Err(other) => panic!("{what}: {other}"),
            }
        };
        for len in 0..good.len() {
            check(&good[..len], &format!("cut at {len}"));
        }
        for at in 0..good.len() {
            for flip in [0x01u8, 0x80] {
                let mut bytes = good.clone();
                bytes[at] ^= flip;
                check(&bytes, &format!("byte {at} ^ {flip:#x}"));
            }
        }
    }

    #[test]
    fn bounds_are_checked_even_behind_a_valid_checksum() {
        // A file whose checksum matches but whose table points past the end (as a writer bug
        // would make): every read is an error, never a panic.
        let all = whole();
        let (_dir, path) = written(&all);
        let bytes = std::fs::read(&path).unwrap();
        let header_len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
        let table = PREFIX_LEN + header_len;
        for row in 0..4 {
            for half in [0, 8] {
                let mut broken = bytes.clone();
                let at = table + row * TABLE_ROW_LEN + half;
                broken[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
                let checksum = crc32fast::hash(&broken[12..]);
                broken[8..12].copy_from_slice(&checksum.to_le_bytes());
                std::fs::write(&path, &broken).unwrap();
                if let Some(index) = ScanIndex::open(&path).ok().flatten() {
                    let names = ["a", "b", "c", "d"].map(String::from).to_vec();
                    assert!(index.snapshot(&names).is_err(), "row {row} half {half}");
                }
            }
        }
    }
}
