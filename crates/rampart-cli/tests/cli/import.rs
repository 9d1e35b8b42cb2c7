//! `rampart import` as a user runs it: the real binary on the real corpora, on SQLite and
//! (when configured) PostgreSQL. Sources: a directory tree, a zip built on the fly, a single
//! file, and an http URL served by a local server.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

/// The database flags of one backend, plus what must outlive the runs (the temp dir or the
/// test database).
fn backends() -> Vec<(Vec<String>, Box<dyn std::any::Any>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut backends: Vec<(Vec<String>, Box<dyn std::any::Any>)> = vec![(
        vec!["--data-dir".to_string(), dir.path().display().to_string()],
        Box::new(dir),
    )];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if let Some(database) = runtime.block_on(rampart_test_support::fresh_postgres_database(false)) {
        backends.push((
            vec!["--database-url".to_string(), database.url().to_string()],
            Box::new(database),
        ));
    }
    backends
}

/// Runs `rampart import` of `sources`.
fn run_import(database: &[String], feed: &str, sources: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("import")
        .args(database)
        .args(["--type", feed, "--quiet"])
        .args(sources)
        .env_remove("RAMPART_DATABASE_URL")
        .env_remove("RAMPART_DATA_DIR")
        .output()
        .expect("run rampart import")
}

/// Runs `rampart import` and returns the numbers of its summary line:
/// (total, added, updated, unchanged, skipped).
fn import(database: &[String], feed: &str, source: &str) -> (u64, u64, u64, u64, u64) {
    import_all(database, feed, &[source])
}

fn import_all(database: &[String], feed: &str, sources: &[&str]) -> (u64, u64, u64, u64, u64) {
    let output = run_import(database, feed, sources);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "import failed: {stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("imported "))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    // "imported osv from X: N records: A added, U updated, C unchanged, S skipped in T s"
    let numbers: Vec<u64> = line
        .rsplit_once(": ")
        .map(|(head, tail)| {
            let total = head.rsplit(": ").next().unwrap().split(' ').next().unwrap();
            std::iter::once(total.to_string())
                .chain(
                    tail.split(", ")
                        .map(|part| part.split(' ').next().unwrap().to_string()),
                )
                .collect::<Vec<_>>()
        })
        .unwrap()
        .iter()
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("bad number {n:?} in {line}"))
        })
        .collect();
    (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4])
}

fn count_files(dir: &Path, extension: &str) -> u64 {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            count += count_files(&path, extension);
        } else if path.extension().is_some_and(|e| e == extension) {
            count += 1;
        }
    }
    count
}

#[test]
fn the_pypa_tree_imports_once_then_everything_is_unchanged() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let tree = root.join("osv-pypa/vulns");
    let files = count_files(&tree, "yaml");
    for (database, _dir) in backends() {
        let (total, added, updated, unchanged, skipped) =
            import(&database, "osv", tree.to_str().unwrap());
        assert_eq!(total, files, "one record per file");
        assert_eq!((added, updated, unchanged, skipped), (files, 0, 0, 0));
        let again = import(&database, "osv", tree.to_str().unwrap());
        assert_eq!(again, (files, 0, 0, files, 0), "re-import changes nothing");
    }
}

#[test]
fn several_sources_import_in_one_run_and_a_missing_one_stops_it_before_anything_is_written() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let pypa = root.join("osv-pypa/vulns");
    let rustsec = root.join("rustsec-advisory-db/osv/crates");
    let (pypa_files, rustsec_files) = (count_files(&pypa, "yaml"), count_files(&rustsec, "json"));
    let (pypa, rustsec) = (pypa.to_str().unwrap(), rustsec.to_str().unwrap());
    for (database, _dir) in backends() {
        let missing = run_import(&database, "osv", &[rustsec, "/no/such/feed", pypa]);
        assert!(!missing.status.success(), "a missing source fails the run");
        assert!(
            String::from_utf8_lossy(&missing.stderr).contains("/no/such/feed"),
            "the error names the missing source"
        );
        let files = pypa_files + rustsec_files;
        assert_eq!(
            import_all(&database, "osv", &[rustsec, pypa]),
            (files, files, 0, 0, 0),
            "both trees are added, and the failed run had written nothing"
        );
        assert_eq!(
            import(&database, "osv", pypa),
            (pypa_files, 0, 0, pypa_files, 0)
        );
    }
}

#[test]
fn parse_only_counts_the_records_and_writes_nothing() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let tree = root.join("osv-pypa/vulns");
    let files = count_files(&tree, "yaml");
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["import", "--parse-only", "--quiet", "--type", "osv"])
        .arg("--data-dir")
        .arg(&data_dir)
        .arg(&tree)
        .env_remove("RAMPART_DATABASE_URL")
        .env_remove("RAMPART_DATA_DIR")
        .output()
        .expect("run rampart import --parse-only");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("parsed osv from "))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    assert!(
        line.contains(&format!(": {files} records, 0 skipped in ")),
        "{line}"
    );
    assert!(line.ends_with("(nothing written)"), "{line}");
    assert!(!data_dir.exists(), "no database was created");
}

#[test]
fn a_zip_with_a_malformed_record_skips_and_counts_it() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let crates = root.join("rustsec-advisory-db/osv/crates");
    let work = tempfile::tempdir().unwrap();
    let zip_path = work.path().join("all.zip");
    let mut names: Vec<_> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for path in &names {
            zip.start_file(path.file_name().unwrap().to_str().unwrap(), options)
                .unwrap();
            zip.write_all(&std::fs::read(path).unwrap()).unwrap();
        }
        zip.start_file("BROKEN-1.json", options).unwrap();
        zip.write_all(b"{\"id\": \"BROKEN-1\", \"modified\": \"not a time\"}")
            .unwrap();
        zip.start_file("NOT-JSON.json", options).unwrap();
        zip.write_all(b"this is not json").unwrap();
        zip.finish().unwrap();
    }
    let records = names.len() as u64;
    for (database, _dir) in backends() {
        let (total, added, _, _, skipped) = import(&database, "osv", zip_path.to_str().unwrap());
        assert_eq!(
            skipped, 2,
            "the malformed record and the unreadable document"
        );
        assert_eq!(added, records);
        assert_eq!(total, records + 2);
    }
}

/// Serves one file over HTTP/1.1 on 127.0.0.1 for `requests` connections.
fn serve_file(bytes: Vec<u8>, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut buffer = [0u8; 4096];
            let mut request = Vec::new();
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buffer).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..n]);
            }
            let header = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            stream.write_all(header.as_bytes()).unwrap();
            stream.write_all(&bytes).unwrap();
        }
    });
    format!("http://{address}")
}

#[test]
fn kev_from_a_url_epss_and_nvd_from_files() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let kev = std::fs::read(root.join("cisa-kev/known_exploited_vulnerabilities.json")).unwrap();
    let declared = serde_json::from_slice::<serde_json::Value>(&kev).unwrap()["vulnerabilities"]
        .as_array()
        .unwrap()
        .len() as u64;
    let nvd = root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/cves-2023.json");
    let epss = root.join("epss/epss_scores-current.head60.csv");
    for (database, _dir) in backends() {
        let url = serve_file(kev.clone(), 2);
        let (_, added, _, _, _) = import(&database, "kev", &format!("{url}/kev.json"));
        assert_eq!(added, declared);
        let (_, _, _, unchanged, _) = import(&database, "kev", &format!("{url}/kev.json"));
        assert_eq!(unchanged, declared);
        let (total, added, ..) = import(&database, "nvd", nvd.to_str().unwrap());
        assert_eq!((total, added), (200, 200));
        let (_, added, ..) = import(&database, "epss", epss.to_str().unwrap());
        assert!(added > 50, "{added}");
    }
}

/// The summary line's counts, or a panic naming the run's output.
fn expect_exit(output: &std::process::Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

#[test]
fn every_recorded_nvd_response_is_imported_or_named_as_another_api() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let corpus = root.join("nvd-cve-api-2.0");
    for (database, _dir) in backends() {
        let output = run_import(&database, "nvd", &[corpus.to_str().unwrap()]);
        let stderr = expect_exit(&output, 0);
        // 441 CVE entries in six files (pages of 200, 200, 38 and 1, and two single items),
        // CVE-2022-44006 twice: 440 CVEs. The six other JSON files are NVD's other APIs and
        // JSON schemas, each skipped with what it is.
        let (_, added, _, _, skipped) = import(&database, "nvd", corpus.to_str().unwrap());
        assert_eq!((added, skipped), (0, 6), "a re-import adds nothing");
        let first = String::from_utf8_lossy(&output.stdout);
        assert!(first.contains(": 440 added, "), "{first}");
        assert!(first.contains(", 6 skipped in "), "{first}");
        assert!(!stderr.contains("CVE-2022-44006"), "{stderr}");
        for (file, what) in [
            (
                "cpematch-CVE-2022-32223.json",
                "a Match Criteria API response",
            ),
            (
                "cvehistory-CVE-2019-1010218.json",
                "a CVE Change History API response",
            ),
            ("sources-20.json", "a Source API response"),
            ("cvss-v3.1.json", "not an NVD CVE API 2.0 document"),
        ] {
            assert!(
                stderr
                    .lines()
                    .any(|line| line.contains(file) && line.contains(what)),
                "{file} is skipped as {what}: {stderr}"
            );
        }
    }
}

/// CRC-32 (IEEE), for archives written by hand below.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A one-entry zip (stored) whose headers declare `declared` uncompressed bytes, written by
/// hand with ZIP64 size fields: the forged archive of a zip-bomb report (200 bytes declaring a
/// terabyte).
fn zip_declaring(name: &str, content: &[u8], declared: u64) -> Vec<u8> {
    let crc = crc32(content);
    let size = content.len() as u32;
    let name_length = name.len() as u16;
    let mut zip = Vec::new();
    // Local file header, ZIP64 extra field holding (uncompressed, compressed).
    zip.extend(0x0403_4b50u32.to_le_bytes());
    zip.extend(45u16.to_le_bytes()); // version needed: ZIP64
    zip.extend([0u8; 2]); // flags
    zip.extend(0u16.to_le_bytes()); // stored
    zip.extend([0u8; 4]); // time, date
    zip.extend(crc.to_le_bytes());
    zip.extend(u32::MAX.to_le_bytes()); // compressed: in the extra field
    zip.extend(u32::MAX.to_le_bytes()); // uncompressed: in the extra field
    zip.extend(name_length.to_le_bytes());
    zip.extend(20u16.to_le_bytes());
    zip.extend(name.as_bytes());
    zip.extend(1u16.to_le_bytes());
    zip.extend(16u16.to_le_bytes());
    zip.extend(declared.to_le_bytes());
    zip.extend(u64::from(size).to_le_bytes());
    zip.extend(content);
    // Central directory header: only the uncompressed size goes to the ZIP64 field.
    let central = zip.len() as u32;
    zip.extend(0x0201_4b50u32.to_le_bytes());
    zip.extend(45u16.to_le_bytes()); // made by
    zip.extend(45u16.to_le_bytes()); // needed
    zip.extend([0u8; 2]);
    zip.extend(0u16.to_le_bytes());
    zip.extend([0u8; 4]);
    zip.extend(crc.to_le_bytes());
    zip.extend(size.to_le_bytes());
    zip.extend(u32::MAX.to_le_bytes());
    zip.extend(name_length.to_le_bytes());
    zip.extend(12u16.to_le_bytes()); // extra field
    zip.extend([0u8; 2]); // comment
    zip.extend([0u8; 2]); // disk
    zip.extend([0u8; 2]); // internal attributes
    zip.extend([0u8; 4]); // external attributes
    zip.extend(0u32.to_le_bytes()); // local header offset
    zip.extend(name.as_bytes());
    zip.extend(1u16.to_le_bytes());
    zip.extend(8u16.to_le_bytes());
    zip.extend(declared.to_le_bytes());
    let central_size = zip.len() as u32 - central;
    // End of central directory.
    zip.extend(0x0605_4b50u32.to_le_bytes());
    zip.extend([0u8; 4]); // disk numbers
    zip.extend(1u16.to_le_bytes());
    zip.extend(1u16.to_le_bytes());
    zip.extend(central_size.to_le_bytes());
    zip.extend(central.to_le_bytes());
    zip.extend([0u8; 2]);
    zip
}

#[test]
fn a_zip_entry_declaring_a_terabyte_is_refused_with_exit_2() {
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("forged.zip");
    let record = br#"{"id":"FORGED-1","modified":"2024-01-01T00:00:00Z"}"#;
    std::fs::write(&archive, zip_declaring("FORGED-1.json", record, 1 << 40)).unwrap();
    assert!(std::fs::metadata(&archive).unwrap().len() < 300);
    let database = [
        "--data-dir".to_string(),
        work.path().join("data").display().to_string(),
    ];
    // Before the bound, the declared size was preallocated: the process aborted.
    let stderr = expect_exit(
        &run_import(&database, "osv", &[archive.to_str().unwrap()]),
        2,
    );
    assert!(
        stderr.contains("forged.zip: FORGED-1.json: the entry unpacks to more than 64 MiB")
            && stderr.contains("declares 1099511627776 bytes"),
        "{stderr}"
    );
}

/// A deflated zip: one real record, then `bomb.json`, 64 MiB and one byte of zeros (64 KiB
/// compressed). With `understate`, the bomb's headers declare 100 bytes.
fn zip_bomb(understate: bool) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("GOOD-1.json", options).unwrap();
    zip.write_all(br#"{"id":"GOOD-1","modified":"2024-01-01T00:00:00Z"}"#)
        .unwrap();
    zip.start_file("bomb.json", options).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..64 {
        zip.write_all(&zeros).unwrap();
    }
    zip.write_all(&[0]).unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    if understate {
        // The uncompressed size sits at byte 22 of a local header and 24 of a central one.
        let declared = 64u32 * 1024 * 1024 + 1;
        let mut patched = 0;
        for (signature, offset) in [(0x0403_4b50u32, 22), (0x0201_4b50u32, 24)] {
            let mut at = 0;
            while at + 4 <= bytes.len() {
                let found = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
                let size_at = at + offset;
                if found == signature
                    && bytes.len() >= size_at + 4
                    && u32::from_le_bytes(bytes[size_at..size_at + 4].try_into().unwrap())
                        == declared
                {
                    bytes[size_at..size_at + 4].copy_from_slice(&100u32.to_le_bytes());
                    patched += 1;
                }
                at += 1;
            }
        }
        assert_eq!(patched, 2, "both headers of the bomb are patched");
    }
    assert!(bytes.len() < 200 * 1024, "{} bytes", bytes.len());
    bytes
}

#[test]
fn a_zip_bomb_is_refused_with_exit_2_whatever_its_headers_declare() {
    let work = tempfile::tempdir().unwrap();
    for understate in [false, true] {
        let archive = work.path().join(format!("bomb-{understate}.zip"));
        std::fs::write(&archive, zip_bomb(understate)).unwrap();
        let database = [
            "--data-dir".to_string(),
            work.path()
                .join(format!("data-{understate}"))
                .display()
                .to_string(),
        ];
        // Unbounded, the bomb was inflated whole, failed to parse and was skipped: exit 0.
        let stderr = expect_exit(
            &run_import(&database, "osv", &[archive.to_str().unwrap()]),
            2,
        );
        assert!(
            stderr.contains(&format!(
                "bomb-{understate}.zip: bomb.json: the entry unpacks to more than 64 MiB"
            )) && stderr.contains("zip bomb"),
            "{stderr}"
        );
    }
}

#[test]
fn bad_input_exits_2_and_says_what_and_where() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let database = [
        "--data-dir".to_string(),
        work.path().join("data").display().to_string(),
    ];
    let not_a_zip = work.path().join("all.zip");
    std::fs::write(&not_a_zip, b"<html>503 Service Unavailable</html>").unwrap();
    let empty_dir = work.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let sources_response = root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/sources-20.json");
    let cases: [(&str, &Path, &[&str]); 4] = [
        ("osv", &not_a_zip, &["all.zip: not a readable zip archive"]),
        (
            "osv",
            Path::new("/no/such/feed"),
            &["/no/such/feed: no such file or directory"],
        ),
        (
            "osv",
            &empty_dir,
            &["empty: no osv record found (is --type right?)"],
        ),
        (
            "nvd",
            &sources_response,
            &[
                "sources-20.json: unreadable document: unexpected document shape: a Source API response",
                "sources-20.json: nothing imported, all 1 records or documents were skipped",
            ],
        ),
    ];
    for (feed, path, messages) in cases {
        let stderr = expect_exit(&run_import(&database, feed, &[path.to_str().unwrap()]), 2);
        for message in messages {
            assert!(
                stderr.contains(message),
                "{path:?}: {message:?} in {stderr}"
            );
        }
    }
}
