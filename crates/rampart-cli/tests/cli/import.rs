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
    let Some(root) = rampart_test_support::test_data::root() else {
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
    let Some(root) = rampart_test_support::test_data::root() else {
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
    let Some(root) = rampart_test_support::test_data::root() else {
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
    let Some(root) = rampart_test_support::test_data::root() else {
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
    let Some(root) = rampart_test_support::test_data::root() else {
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
