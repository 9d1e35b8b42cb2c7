//! Parse throughput on the largest real examples and on 300k-component documents generated
//! from them. Ignored by default (slow in debug builds); run with
//! `cargo test -p rampart-formats throughput -- --ignored --nocapture`.

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::parse;

const SYNTHETIC_COMPONENTS: usize = 300_000;

/// Resets the kernel's peak-RSS counter so the next reading covers one parse only.
fn reset_peak_memory() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory in MB since the last reset (Linux), if readable.
fn peak_memory_mb() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn measure(label: &str, bytes: &[u8], rounds: u32) {
    let mb = bytes.len() as f64 / 1_000_000.0;
    let input_mb = bytes.len() as f64 / (1024.0 * 1024.0);
    reset_peak_memory();
    let mut best = Duration::MAX;
    let mut components = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        let sbom = parse(bytes).unwrap_or_else(|error| panic!("{label}: {error}"));
        best = best.min(start.elapsed());
        components = sbom.components.len();
    }
    let peak = peak_memory_mb().map_or("?".to_owned(), |peak| {
        format!("{peak:.0} MiB (input {input_mb:.0} MiB)")
    });
    println!(
        "{label}: {mb:.1} MB, {components} components, best of {rounds}: {:.3} s, {:.1} MB/s, peak RSS {peak}",
        best.as_secs_f64(),
        mb / best.as_secs_f64()
    );
}

/// Repeats a document's `array` of objects until it has `target` entries, renaming the
/// identifier fields so every copy is distinct, and returns the new document as JSON text.
fn replicate_json(template: &Value, array: &str, renamed: &[&str], target: usize) -> String {
    let mut document = template.clone();
    let originals = document[array].as_array().cloned().unwrap_or_default();
    assert!(!originals.is_empty());
    document[array] = Value::Array(Vec::new());
    let head = serde_json::to_string(&document).unwrap();
    let marker = format!("\"{array}\":[]");
    let split = head.find(&marker).unwrap() + marker.len() - 1;
    let mut out = String::with_capacity(target * 1024);
    out.push_str(&head[..split]);
    for index in 0..target {
        let copy = index / originals.len();
        let mut entry = originals[index % originals.len()].clone();
        for field in renamed {
            if let Some(Value::String(value)) = entry.get_mut(*field) {
                *value = format!("{copy}/{value}");
            }
        }
        if index > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(&entry).unwrap());
    }
    out.push_str(&head[split..]);
    out
}

/// Repeats the `<components>` of a CycloneDX XML document, prefixing `bom-ref`s per copy.
fn replicate_xml(template: &str, target: usize, per_copy: usize) -> String {
    let open = template.find("<components>").unwrap() + "<components>".len();
    let close = template.rfind("</components>").unwrap();
    // Nested <components> close before the outer one, so the outer pair brackets them all.
    let inner = &template[open..close];
    let mut out = String::with_capacity(inner.len() * (target / per_copy + 1));
    out.push_str(&template[..open]);
    for copy in 0..target.div_ceil(per_copy) {
        out.push_str(&inner.replace("bom-ref=\"", &format!("bom-ref=\"{copy}/")));
    }
    out.push_str(&template[close..]);
    out
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn throughput() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let examples = root.join("cyclonedx-bom-examples/SBOM");
    let trivy_dir = root.join("spdx-examples/_tools-python/tests/spdx/data/invalid");
    let trivy = fs::read_dir(&trivy_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let keycloak_json = fs::read(examples.join("keycloak-10.0.2/bom.json")).unwrap();
    let keycloak_xml = fs::read(examples.join("keycloak-10.0.2/bom.xml")).unwrap();
    let juice_shop = fs::read(examples.join("juice-shop/via_npm/flat/bom.1.4.json")).unwrap();
    let trivy_json = fs::read(&trivy).unwrap();

    measure(
        "keycloak-10.0.2/bom.json (CycloneDX 1.2 JSON)",
        &keycloak_json,
        20,
    );
    measure(
        "keycloak-10.0.2/bom.xml (CycloneDX 1.2 XML)",
        &keycloak_xml,
        20,
    );
    measure(
        "juice-shop/via_npm/flat/bom.1.4.json (CycloneDX 1.4 JSON)",
        &juice_shop,
        20,
    );
    measure("trivy fluentd SPDX 2.2 JSON", &trivy_json, 20);

    let template: Value = serde_json::from_slice(&keycloak_json).unwrap();
    let big_json = replicate_json(
        &template,
        "components",
        &["bom-ref", "name"],
        SYNTHETIC_COMPONENTS,
    );
    measure(
        "synthetic CycloneDX JSON from keycloak",
        big_json.as_bytes(),
        3,
    );
    drop(big_json);

    let xml = String::from_utf8(keycloak_xml).unwrap();
    let per_copy = xml.matches("<component ").count();
    let big_xml = replicate_xml(&xml, SYNTHETIC_COMPONENTS, per_copy);
    measure(
        "synthetic CycloneDX XML from keycloak",
        big_xml.as_bytes(),
        3,
    );
    drop(big_xml);

    let template: Value = serde_json::from_slice(&trivy_json).unwrap();
    let big_spdx = replicate_json(
        &template,
        "packages",
        &["SPDXID", "name"],
        SYNTHETIC_COMPONENTS,
    );
    measure("synthetic SPDX JSON from trivy", big_spdx.as_bytes(), 3);
}
