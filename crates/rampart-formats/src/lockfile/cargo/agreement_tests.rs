//! The fast reader finds exactly what the TOML reader finds, or declines: on the Cargo.lock
//! files Cargo wrote (this repository's, the fuzz crate's, the worst case built from the
//! RustSec advisories), on generated lockfiles in every spelling TOML allows, and on those
//! with bytes changed.

use std::fs;
use std::path::Path;

use proptest::prelude::*;

use super::super::{Collector, Lockfile, LockfileError, LockfileKind};
use super::{emit, fast, parse_with_toml, ByName, Entry};

fn by_toml(text: &str) -> Result<Lockfile, LockfileError> {
    let mut out = Collector::new(LockfileKind::CargoLock);
    parse_with_toml(text, &mut out)?;
    Ok(out.finish())
}

fn by_fast_reader(text: &str) -> Option<Lockfile> {
    let lock = fast::read(text)?;
    let mut out = Collector::new(LockfileKind::CargoLock);
    emit(&lock.entries(), &mut out);
    Some(out.finish())
}

/// Both readers agree, and the fast one did the reading (returns the packages found).
fn assert_read_alike(label: &str, text: &str) -> usize {
    let fast = by_fast_reader(text).unwrap_or_else(|| panic!("{label}: fast reader declined"));
    let general = by_toml(text).unwrap_or_else(|error| panic!("{label}: {error}"));
    assert_eq!(fast, general, "{label}");
    fast.packages.len()
}

#[test]
fn the_cargo_locks_cargo_wrote_are_read_alike_by_the_fast_reader() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for path in ["Cargo.lock", "fuzz/Cargo.lock"] {
        let text = fs::read_to_string(workspace.join(path)).unwrap();
        let packages = assert_read_alike(path, &text);
        assert!(packages > 50, "{path}: {packages} packages");
        // The same file as Windows checks it out.
        assert_read_alike(path, &text.replace('\n', "\r\n"));
    }
}

/// scripts/worst-case-cargo-lock.py, the benchmark's lockfile: every crate a RustSec advisory
/// names at a version its first range affects, then 1,000 crates no advisory names.
fn worst_case_lockfile(osv_crates: &Path) -> String {
    let mut paths: Vec<_> = fs::read_dir(osv_crates)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut chosen = std::collections::BTreeMap::new();
    for path in paths {
        let record: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        for affected in record["affected"].as_array().into_iter().flatten() {
            let package = &affected["package"];
            let Some(name) = package["name"].as_str() else {
                continue;
            };
            if package["ecosystem"] != "crates.io" || chosen.contains_key(name) {
                continue;
            }
            let introduced = affected["ranges"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|range| range["events"].as_array().into_iter().flatten())
                .find_map(|event| event["introduced"].as_str())
                .map(|v| if v == "0" { "0.0.0" } else { v });
            let version = introduced.or_else(|| affected["versions"][0].as_str());
            if let Some(version) = version {
                chosen.insert(name.to_string(), version.to_string());
            }
        }
    }
    let registry = "registry+https://github.com/rust-lang/crates.io-index";
    let clean = (0..1000).map(|n| (format!("clean-crate-{n:04}"), "1.0.0".to_string()));
    let mut text = "# Worst case\nversion = 3\n\n".to_string();
    for (name, version) in chosen.into_iter().chain(clean) {
        text += &format!(
            "[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"{registry}\"\n\n"
        );
    }
    text
}

#[test]
fn the_worst_case_lockfile_is_read_alike_by_the_fast_reader() {
    let Some(osv) = rampart_test_data::corpus("rustsec-advisory-db/osv/crates") else {
        return;
    };
    let text = worst_case_lockfile(&osv);
    let packages = assert_read_alike("worst case", &text);
    assert!(packages > 1_500, "{packages} packages");
}

#[test]
fn every_layout_in_the_unit_tests_is_read_alike_by_the_fast_reader() {
    let old_root = "[root]\nname = \"old\"\nversion = \"0.1.0\"\ndependencies = [\n \"log 0.3.8 (registry+https://github.com/rust-lang/crates.io-index)\",\n]\n\n\
        [[package]]\nname = \"log\"\nversion = \"0.3.8\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
    let unused_patch = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n\
        [[patch.unused]]\nname = \"openssl-sys\"\nversion = \"0.9.90\"\nsource = \"git+https://e.com/o#0123\"\n";
    for (label, text) in [
        ("v4", super::tests::V4),
        ("v1", super::tests::V1),
        ("root", old_root),
        ("patch.unused", unused_patch),
        ("empty", ""),
        ("blank", "  \n\t\r\n"),
    ] {
        assert_read_alike(label, text);
    }
}

/// What the TOML reader refuses, the fast reader must decline (it would otherwise report
/// packages for a file the scan rejects today).
#[test]
fn the_fast_reader_declines_what_toml_refuses_or_it_does_not_handle() {
    let package = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n";
    let cases = [
        format!("{package}name = \"b\"\n"),
        format!("{package}\"name\" = \"b\"\n"),
        format!("{package}version = 1\n"),
        "[[package]]\nname = \"a\"\n".to_string(),
        "[[package]]\nname = \"a b\"\nversion = \"1\"\n".to_string(),
        "[[package]]\nname = \"\"\nversion = \"1\"\n".to_string(),
        format!("[root]\nname = \"r\"\nversion = \"1\"\n[root]\n{package}"),
        format!("[metadata]\n[metadata]\n{package}"),
        format!("package = 1\n{package}"),
        format!("\"patch\" = 1\n{package}[[patch.unused]]\n"),
        format!("version = 4\nversion = 4\n{package}"),
        format!("version = 99999999999999999999\n{package}"),
        format!("version = 04\n{package}"),
        format!("version = 4.0\n{package}"),
        format!("{package}source = \"a\\u0062\"\n"),
        format!("{package}source = 'literal'\n"),
        format!("{package}source = \"\"\"x\"\"\"\n"),
        format!("{package}dependencies = [\"a\" # c\n]\n"),
        format!("{package}dependencies = [,]\n"),
        format!("{package}dependencies = [\"a\" \"b\"]\n"),
        format!("{package}dependencies = \"a\"\n"),
        format!("{package}x = {{ a = 1 }}\n"),
        format!("{package}name.x = \"b\"\n"),
        format!("{package}x = \"a\" y = \"b\"\n"),
        format!("{package}x = \"a\tb\x01\"\n"),
        format!("{package}# a \x07 bell\n"),
        format!("{package}\rx = 1\n"),
        "[[ package ]]\nname = \"a\"\nversion = \"1\"\n".to_string(),
        "[package]\nname = \"a\"\nversion = \"1\"\n".to_string(),
        format!("{package}[[package.x]]\n"),
        format!("\u{feff}{package}"),
        format!("{package}x = \"\u{7f}\"\n"),
        // Valid, but not worth a check for overflow.
        format!("version = 9223372036854775807\n{package}"),
    ];
    for text in &cases {
        assert!(by_fast_reader(text).is_none(), "accepted {text:?}");
    }
}

const NAMES: [&str; 8] = ["serde", "rand", "a-b_c", "é", " pad", "a b", "", "x\"y"];
const VERSIONS: [&str; 7] = [
    "1.0.0",
    "0.8.5",
    "0.11.0+wasi-snapshot-preview1",
    "1.0.0-alpha.1",
    "",
    "1 0",
    "1\\2",
];
const SOURCES: [Option<&str>; 6] = [
    None,
    Some("registry+https://github.com/rust-lang/crates.io-index"),
    Some("sparse+https://index.crates.io/"),
    Some("git+https://github.com/a/b?branch=main#0123abcd"),
    Some("path+file:///src/x"),
    Some("weird"),
];

#[derive(Debug, Clone)]
struct GeneratedPackage {
    name: usize,
    version: usize,
    source: usize,
    /// (which package, how: `name`, `name version` or `name version (source)`)
    dependencies: Vec<(usize, u8)>,
}

fn packages(clean: bool) -> impl Strategy<Value = Vec<GeneratedPackage>> {
    // Clean values are those Cargo writes: no quote, backslash or space in a name or version.
    let (names, versions) = if clean {
        (4, 4)
    } else {
        (NAMES.len(), VERSIONS.len())
    };
    let package = (
        0..names,
        0..versions,
        0..SOURCES.len(),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
    )
        .prop_map(|(name, version, source, dependencies)| GeneratedPackage {
            name,
            version,
            source,
            dependencies,
        });
    prop::collection::vec(package, 0..8)
}

/// Writes a lockfile, each piece spelled as the next die says: 0 is how Cargo writes it,
/// others are other valid TOML (literal, escaped and multi-line strings, quoted keys, inline
/// arrays and tables, comments, CRLF), or small faults (duplicate or missing keys, clashing
/// tables) that the TOML reader refuses.
fn render(packages: &[GeneratedPackage], dice: &[u8]) -> String {
    let mut dice = dice.iter().copied().chain(std::iter::repeat(0));
    let mut roll = move |sides: u8| dice.next().unwrap() % sides;
    let mut text = String::new();
    match roll(12) {
        1 => text += "# This file is automatically @generated by Cargo.\n",
        2 => text += "version = 3 # lockfile version\n",
        3 => text += "version = +4\n",
        4 => text += "version = 0x4\n",
        5 => text += "version = 4_0\n",
        6 => text += "version = \"4\"\n",
        7 => text += "version = 4\nversion = 4\n",
        8 => text += "package = []\n",
        9 => text += "\"version\" = 4\n",
        _ => text += "version = 4\n\n",
    }
    let inline = roll(10) == 1;
    if inline {
        text += "package = [\n";
    }
    for (index, package) in packages.iter().enumerate() {
        let mut fields = vec![
            ("name", spell(NAMES[package.name], &mut roll)),
            ("version", spell(VERSIONS[package.version], &mut roll)),
        ];
        if let Some(source) = SOURCES[package.source] {
            fields.push(("source", spell(source, &mut roll)));
        }
        if !package.dependencies.is_empty() {
            let items: Vec<String> = package
                .dependencies
                .iter()
                .map(|&(target, form)| {
                    let target = &packages[target % packages.len()];
                    let reference = match (form % 3, SOURCES[target.source]) {
                        (0, _) => NAMES[target.name].to_string(),
                        (1, _) | (_, None) => {
                            format!("{} {}", NAMES[target.name], VERSIONS[target.version])
                        }
                        (_, Some(source)) => format!(
                            "{} {} ({source})",
                            NAMES[target.name], VERSIONS[target.version]
                        ),
                    };
                    spell(&reference, &mut roll)
                })
                .collect();
            let array = match roll(8) {
                1 => format!("[{}]", items.join(", ")),
                2 => format!("[ {} ]", items.join(",")),
                3 => format!("[ # the dependencies\n {},\n]", items.join(",\n ")),
                4 => format!("[\n\t{}\n\n]", items.join(" ,\n\t")),
                5 => format!("[\n {},\n, ]", items.join(",\n ")),
                _ => format!("[\n {},\n]", items.join(",\n ")),
            };
            fields.push(("dependencies", array));
        }
        match roll(10) {
            1 => fields.push(("checksum", "\"0123abcd\"".into())),
            2 => fields.push(("replace", "\"x 1.0.0\"".into())),
            3 => fields.push(("other", "true".into())),
            4 => fields.push(("other", "1979-05-27".into())),
            5 => fields.push(("other", "[1, \"a\"]".into())),
            6 => fields.push(("other", "{ a = 1 }".into())),
            7 => fields.swap(0, 1),
            8 if fields.len() > 2 => fields.swap(1, 2),
            _ => {}
        }
        match roll(24) {
            1 => fields.retain(|(key, _)| *key != "version"),
            2 => fields.push(fields[0].clone()),
            3 => fields.push(("name.x", "\"y\"".into())),
            _ => {}
        }
        if inline {
            let pairs: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("{key} = {value}"))
                .collect();
            text += &format!("  {{ {} }},\n", pairs.join(", "));
            continue;
        }
        text += match (index, roll(16)) {
            (0, 1) => "[root]\n",
            (_, 2) => "[[ package ]]\n",
            (_, 3) => "[[\"package\"]]\n",
            (_, 4) => "[[package]] # one package\n",
            (_, 5) => "  [[package]]\n",
            _ => "[[package]]\n",
        };
        for (key, value) in fields {
            let key = match roll(10) {
                1 => format!("\"{key}\""),
                2 => format!("'{key}'"),
                3 => format!("  {key}"),
                _ => key.to_string(),
            };
            let assign = match roll(8) {
                1 => "=",
                2 => "\t=  ",
                _ => " = ",
            };
            let comment = if roll(12) == 1 { " # note" } else { "" };
            text += &format!("{key}{assign}{value}{comment}\n");
        }
        if roll(3) == 0 {
            text += "\n";
        }
    }
    if inline {
        text += "]\n";
    }
    match roll(8) {
        1 => {
            text += "\n[metadata]\n";
            for package in packages {
                let key = format!(
                    "checksum {} {} (registry+https://github.com/rust-lang/crates.io-index)",
                    NAMES[package.name], VERSIONS[package.version]
                );
                text += &format!("{} = \"abc\"\n", spell(&key, &mut roll));
            }
        }
        2 => text += "\n[[patch.unused]]\nname = \"p\"\nversion = \"1.0.0\"\n",
        3 => text += "\n[patch]\n",
        4 => text += "\n[[package]]\nname = \"late\"\nversion = \"1.0.0\"\n[package.extra]\n",
        _ => {}
    }
    if roll(4) == 1 {
        text = text.replace('\n', "\r\n");
    }
    text
}

/// A TOML string holding `value`, spelled as the die says (0: a basic string, as Cargo).
fn spell(value: &str, roll: &mut impl FnMut(u8) -> u8) -> String {
    match roll(16) {
        1 => format!("'{value}'"),
        2 => format!("\"\"\"{value}\"\"\""),
        3 => format!("'''\n{value}'''"),
        4 => {
            // The first character as a \U escape.
            let mut chars = value.chars();
            match chars.next() {
                Some(first) => format!("\"\\U{:08X}{}\"", first as u32, chars.as_str()),
                None => "\"\"".to_string(),
            }
        }
        _ => format!("\"{value}\""),
    }
}

const MEANINGFUL: &[u8] = b"[]\"'=,#.\n\r\\ \t{}";

fn agree(text: &str) -> Result<(), TestCaseError> {
    if let Some(fast) = by_fast_reader(text) {
        prop_assert_eq!(Ok(fast), by_toml(text), "{:?}", text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_lockfiles_in_any_spelling_are_read_alike_or_declined(
        packages in packages(false),
        dice in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        agree(&render(&packages, &dice))?;
    }

    #[test]
    fn generated_lockfiles_with_bytes_changed_are_read_alike_or_declined(
        packages in packages(false),
        dice in prop::collection::vec(any::<u8>(), 0..64),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let mut bytes = render(&packages, &dice).into_bytes();
        if !bytes.is_empty() {
            for &(position, value) in &edits {
                let index = position % bytes.len();
                // Half the edits write a byte TOML gives meaning to.
                bytes[index] = match value % 2 {
                    0 => MEANINGFUL[usize::from(value / 2) % MEANINGFUL.len()],
                    _ => value,
                };
            }
            bytes.truncate(bytes.len() - cut % (bytes.len() + 1) / 4);
        }
        agree(&String::from_utf8_lossy(&bytes))?;
    }

    /// The name index finds, for every `dependencies` entry, the package the first-match scan
    /// of the list (the earlier way) found.
    #[test]
    fn resolving_by_name_finds_the_first_match_in_file_order(
        packages in prop::collection::vec((0..4usize, 0..3usize, 0..4usize), 0..24),
        references in prop::collection::vec((0..5usize, 0..3usize, 0..5usize, 0..3u8), 0..24),
    ) {
        let names = ["a", "b", "a-b", "é"];
        let versions = ["1.0.0", "2.0.0", "1.0.0+x"];
        let sources = [None, Some("registry+x"), Some("git+y#1"), Some("(odd)")];
        let entries: Vec<Entry<'_, String>> = packages
            .iter()
            .map(|&(name, version, source)| Entry {
                name: names[name],
                version: versions[version],
                source: sources[source],
                dependencies: &[],
            })
            .collect();
        let by_name = ByName::new(&entries);
        for (name, version, source, form) in references {
            let name = names.get(name).copied().unwrap_or("zz");
            let version = versions[version];
            let reference = match (form, sources.get(source).copied().flatten()) {
                (0, _) => name.to_string(),
                (1, _) | (_, None) => format!("{name} {version}"),
                (_, Some(source)) => format!("{name} {version} ({source})"),
            };
            let mut parts = reference.splitn(3, ' ');
            let (n, v) = (parts.next().unwrap(), parts.next());
            let s = parts.next().map(|s| s.trim_start_matches('(').trim_end_matches(')'));
            let scanned = entries.iter().position(|c| {
                c.name == n && v.is_none_or(|v| c.version == v) && s.is_none_or(|s| c.source == Some(s))
            });
            prop_assert_eq!(by_name.resolve(&reference), scanned, "{}", reference);
        }
    }

    /// Cargo's own spelling is what the fast reader is for: it must not decline it.
    #[test]
    fn lockfiles_as_cargo_writes_them_are_read_by_the_fast_reader(
        packages in packages(true),
    ) {
        let text = render(&packages, &[]);
        let fast = by_fast_reader(&text);
        prop_assert!(fast.is_some(), "declined {:?}", text);
        prop_assert_eq!(Ok(fast.unwrap()), by_toml(&text));
    }
}

/// A version 1 `[metadata]` has a key per package: past the short list, a set finds repeats.
#[test]
fn many_metadata_keys_are_read_alike_and_a_repeated_one_declined() {
    let keys: String = (0..40)
        .map(|n| format!("\"checksum c{n} 1.0.0 (registry+x)\" = \"{n:x}\"\n"))
        .collect();
    let text = format!("[[package]]\nname = \"a\"\nversion = \"1\"\n[metadata]\n{keys}");
    assert_read_alike("40 keys", &text);
    for repeated in [3, 30] {
        let text = format!("{text}\"checksum c{repeated} 1.0.0 (registry+x)\" = \"0\"\n");
        assert!(by_fast_reader(&text).is_none(), "key {repeated} repeated");
        assert!(by_toml(&text).is_err());
    }
}

/// Valid TOML that Cargo does not write but the fast reader takes: read alike.
#[test]
fn odd_spellings_the_fast_reader_takes_are_read_alike() {
    let package = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n";
    for text in [
        format!("version = 3#c\n{package}"),
        format!("version = 3\t#c\n{package}"),
        format!("version = 0\n{package}"),
        format!("version = 999999999999999999\n{package}"),
        "[[package]]#c\nname = \"a\"#c\nversion = \"1\"\n".to_string(),
        "\t[[package]]\n\tname = \"a\"\n  version\t=\"1\"\n".to_string(),
        format!("{package}dependencies = [\"a\"]#c\n"),
        format!("{package}dependencies = []\n"),
        format!("{package}dependencies = [\n]\n"),
        format!("{package}dependencies = [\r\n\"a\"\r\n,]\r\n"),
        format!("{package}\"\" = 1\n"),
        format!("{package}1 = 1\n-- = \"\"\n"),
        format!("{package}# \u{85} \u{2028}\n"),
        format!("{package}x = \"\u{85}\u{feff}\t\"\n"),
        format!("[metadata]\n\"a b\" = \"c\"\n\"b\" = \"c\"\n{package}"),
    ] {
        assert_read_alike(&text, &text);
    }
}
