//! Every VEX document of the shared corpora (OpenVEX from go-vex, CSAF 2.0 examples and the
//! VEX profile, CycloneDX VEX use cases) imported over HTTP into a release built from its
//! products: the document's first product is the release (the SBOM's own component), its
//! other products and components are the release's components, and the knowledge base holds
//! each statement's vulnerability in the component it names. Then every statement with a
//! valid decision applies, and every other one comes back with its reason; none is lost.
//! Files of the corpora that are not VEX documents (schemas, feeds, provider metadata) are
//! refused with a 4xx naming the problem, and leave nothing behind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rampart_formats::vex::{self, Subject, VexDocument};
use rampart_test_support::backend_tests;
use rampart_versions::purl::Purl;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::findings::{ingest_osv, release};
use crate::products::{json_of, store_of};

/// The folders holding VEX documents, and the document files under them.
fn corpus_files(data: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["vex", "cyclonedx-bom-examples/VEX"] {
        let mut pending = vec![data.join(folder)];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "json" || e == "xml")
                    // The SBOMs the use cases link to are not VEX documents: they are
                    // what a release is built from.
                    && !path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("bom-"))
                {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

/// The CSAF conformance test documents are checked by the reader's own corpus test; here the
/// documents that a vendor or tool actually publishes.
fn is_published_document(path: &Path) -> bool {
    !path.to_string_lossy().contains("/test/validator/")
}

/// `urn:cdx:<serial>/<version>#<ref>` → (serial, ref).
fn bom_link(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("urn:cdx:")?;
    let (serial_version, reference) = rest.split_once('#')?;
    let (serial, _) = serial_version.split_once('/')?;
    Some((serial, reference))
}

/// One SBOM component (or the SBOM's own component) for a subject of the document; a subject
/// known only by name or CPE also gets an npm purl of its own so the test knowledge base can
/// give it a finding (the VEX matcher still finds it by the name, version and CPE it has).
struct Built {
    component: Value,
    /// The OSV package and version a finding of this subject is recorded under.
    osv: Option<OsvPackage>,
}

fn build_subject(subject: &Subject, position: usize) -> Built {
    let reference = bom_link(&subject.key).map_or(subject.key.as_str(), |(_, r)| r);
    let mut component = json!({
        "type": "library",
        "bom-ref": reference,
        "name": if subject.name.is_empty() { format!("subject-{position}") } else { subject.name.clone() },
    });
    let version = subject
        .version
        .clone()
        .filter(|v| !v.trim().is_empty() && !v.starts_with("vers:"));
    if let Some(version) = &version {
        component["version"] = json!(version);
    }
    if let Some(cpe) = &subject.cpe {
        component["cpe"] = json!(cpe);
    }
    let purl = subject
        .purl
        .as_deref()
        .or_else(|| {
            bom_link(&subject.key)
                .map(|(_, r)| r)
                .filter(|r| r.starts_with("pkg:"))
        })
        .and_then(|p| Purl::parse_lenient(p).ok());
    let osv = match purl
        .as_ref()
        .and_then(|p| Some((p.osv_package()?, p.osv_version()?)))
    {
        Some((package, osv_version)) => {
            component["purl"] = json!(purl.as_ref().unwrap().to_string());
            Some((package.ecosystem.to_string(), package.name, osv_version))
        }
        None => {
            if let Some(purl) = &purl {
                // A purl without an OSV ecosystem (oci, generic, …): kept for matching, no
                // finding can come from the knowledge base for it.
                component["purl"] = json!(purl.to_string());
                None
            } else {
                let name = format!("vex-corpus-subject-{position}");
                let synthetic = format!("pkg:npm/{name}@1.0.{position}");
                component["purl"] = json!(synthetic);
                Some(("npm".to_string(), name, format!("1.0.{position}")))
            }
        }
    };
    Built { component, osv }
}

/// Whether a subject names a component precisely enough to be found in a release: by purl,
/// CPE, or name with a version (a bare name could be anything).
fn identifiable(subject: &Subject) -> bool {
    subject.purl.is_some()
        || subject.cpe.is_some()
        || subject
            .version
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty() && !v.starts_with("vers:"))
}

/// (ecosystem, package, version) of an OSV `affected` entry.
type OsvPackage = (String, String, String);

/// What a document needs: the SBOM of the release built from it, and per vulnerability id
/// the (ecosystem, package, version) findings it must have.
struct Plan {
    sbom: Value,
    product_name: String,
    /// Statement positions expected to apply.
    expected_applied: BTreeSet<usize>,
    /// (vulnerability id, all its ids, where it is).
    affected: Vec<(String, Vec<String>, OsvPackage)>,
}

fn plan(document: &VexDocument, serial_hint: usize) -> Option<Plan> {
    let first = document.statements.first()?;
    let release_key = first.products.first()?.clone();
    let subjects: BTreeMap<&str, &Subject> = document
        .products
        .iter()
        .chain(&document.components)
        .map(|s| (s.key.as_str(), s))
        .collect();
    let release_subject = subjects.get(release_key.as_str())?;
    let mut built: BTreeMap<&str, Built> = BTreeMap::new();
    let mut serial = None;
    for (position, (key, subject)) in subjects.iter().enumerate() {
        if let Some((s, _)) = bom_link(key) {
            serial = Some(s.to_string());
        }
        if *key != release_key {
            built.insert(key, build_subject(subject, serial_hint * 1000 + position));
        }
    }
    // Statements about the release as a whole need a finding somewhere in it: one component
    // of its own carries them.
    let release_wide = Built {
        component: json!({"type": "library", "bom-ref": "release-wide", "name": format!("vex-corpus-release-{serial_hint}"),
            "version": "1.0.0", "purl": format!("pkg:npm/vex-corpus-release-{serial_hint}@1.0.0")}),
        osv: Some((
            "npm".into(),
            format!("vex-corpus-release-{serial_hint}"),
            "1.0.0".into(),
        )),
    };
    let mut expected_applied = BTreeSet::new();
    let mut affected = Vec::new();
    for (position, statement) in document.statements.iter().enumerate() {
        let about_release = statement.products.contains(&release_key);
        // Where the finding of the statement's vulnerability is: the components it names, the
        // release as a whole, or the other products it names (components of this release).
        let carriers: Vec<(&Built, bool)> = if !statement.components.is_empty() {
            statement
                .components
                .iter()
                .filter_map(|k| {
                    Some((
                        built.get(k.as_str())?,
                        identifiable(subjects.get(k.as_str())?),
                    ))
                })
                .collect()
        } else if about_release {
            vec![(&release_wide, true)]
        } else {
            statement
                .products
                .iter()
                .filter_map(|k| {
                    Some((
                        built.get(k.as_str())?,
                        identifiable(subjects.get(k.as_str())?),
                    ))
                })
                .collect()
        };
        // A statement about components of another product is not about this release.
        let product_ok =
            statement.components.is_empty() || statement.products.is_empty() || about_release;
        let ids: Vec<String> = std::iter::once(statement.vulnerability.id.clone())
            .chain(statement.vulnerability.aliases.iter().cloned())
            .collect();
        let mut found = false;
        for (carrier, can_be_found) in carriers {
            if let Some(osv) = &carrier.osv {
                affected.push((statement.vulnerability.id.clone(), ids.clone(), osv.clone()));
                found |= can_be_found;
            }
        }
        if found && product_ok && statement.disposition.validate().is_ok() {
            expected_applied.insert(position);
        }
    }
    let mut metadata_component = build_subject(release_subject, serial_hint * 1000 + 999).component;
    metadata_component["type"] = json!("application");
    let mut components: Vec<Value> = built.values().map(|b| b.component.clone()).collect();
    components.push(release_wide.component);
    let mut sbom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": metadata_component},
        "components": components,
    });
    if let Some(serial) = serial {
        sbom["serialNumber"] = json!(format!("urn:uuid:{serial}"));
    }
    Some(Plan {
        sbom,
        product_name: if release_subject.name.is_empty() {
            format!("vex-corpus-{serial_hint}")
        } else {
            format!("{} ({serial_hint})", release_subject.name)
        },
        expected_applied,
        affected,
    })
}

/// One OSV record per vulnerability id with every package version the corpus needs it in.
fn osv_records<'p>(plans: impl Iterator<Item = &'p Plan>) -> Vec<Value> {
    let mut by_id: BTreeMap<String, (BTreeSet<String>, BTreeSet<OsvPackage>)> = BTreeMap::new();
    for plan in plans {
        for (id, ids, package) in &plan.affected {
            let entry = by_id.entry(id.clone()).or_default();
            entry.0.extend(ids.iter().filter(|a| *a != id).cloned());
            entry.1.insert(package.clone());
        }
    }
    by_id
        .into_iter()
        .map(|(id, (aliases, packages))| {
            let affected: Vec<Value> = packages
                .into_iter()
                .map(|(ecosystem, name, version)| {
                    json!({"package": {"ecosystem": ecosystem, "name": name}, "versions": [version]})
                })
                .collect();
            json!({"id": id, "modified": "2024-01-01T00:00:00Z", "aliases": aliases,
                "summary": "vex corpus", "affected": affected})
        })
        .collect()
}

backend_tests! {
    async fn every_vex_document_of_the_corpora_applies_to_a_release_built_from_its_products(app) {
        let Some(data) = rampart_test_data::root() else {
            return;
        };
        let files: Vec<PathBuf> = corpus_files(&data)
            .into_iter()
            .filter(|p| is_published_document(p))
            .collect();
        let mut documents = Vec::new();
        let mut refused = Vec::new();
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            match vex::read(&bytes) {
                Ok(read) => documents.push((path.clone(), bytes, read.document)),
                Err(_) => refused.push((path.clone(), bytes)),
            }
        }
        assert!(documents.len() >= 40, "{} documents read", documents.len());
        let plans: Vec<Option<Plan>> = documents
            .iter()
            .enumerate()
            .map(|(n, (_, _, document))| plan(document, n))
            .collect();
        let store = store_of(&app).await;
        ingest_osv(&store, &osv_records(plans.iter().flatten())).await;
        app.wait_for_index().await;

        let (mut applied, mut statements, mut other, mut beyond_plan) = (0, 0, 0, 0);
        // Every problem of every document, reported together.
        let mut problems: Vec<String> = Vec::new();
        for ((path, bytes, document), plan) in documents.iter().zip(&plans) {
            let Some(plan) = plan else {
                assert!(document.statements.is_empty(), "{}: no plan", path.display());
                continue;
            };
            let (_, release_id) = release(&app, &plan.product_name).await;
            let uploaded = app
                .post(&format!("/api/v1/releases/{release_id}/sboms?wait=true"))
                .header("content-type", "application/vnd.cyclonedx+json")
                .body(serde_json::to_vec(&plan.sbom).unwrap())
                .send()
                .await
                .unwrap();
            if uploaded.status() != StatusCode::CREATED {
                problems.push(format!("{}: the SBOM built from it was refused: {}", path.display(), uploaded.text().await.unwrap()));
                continue;
            }
            let response = app
                .post(&format!("/api/v1/releases/{release_id}/vex-imports"))
                .body(bytes.clone())
                .send()
                .await
                .unwrap();
            if response.status() != StatusCode::CREATED {
                problems.push(format!("{}: import refused: {}", path.display(), response.text().await.unwrap()));
                continue;
            }
            let outcome: Value = response.json().await.unwrap();
            let results: Vec<&Value> = ["applied", "skipped", "unmatched"]
                .iter()
                .flat_map(|group| outcome[group].as_array().unwrap_or_else(|| panic!("{}: {outcome}", path.display())))
                .collect();
            assert_eq!(results.len(), document.statements.len(), "{}: every statement has a result", path.display());
            for result in results {
                let position = result["statement"].as_u64().unwrap() as usize;
                statements += 1;
                let what = result["outcome"].as_str().unwrap();
                let name = path.strip_prefix(&data).unwrap_or(path).display();
                if plan.expected_applied.contains(&position) {
                    if what != "applied" || result["findings"].as_array().is_none_or(|f| f.is_empty()) {
                        problems.push(format!("{name} statement {position} not applied: {result}"));
                    }
                    applied += 1;
                } else if what == "applied" {
                    // The matcher knows more ways a subject names the release (a product
                    // without a version, a version range holding it) than this plan models.
                    beyond_plan += 1;
                } else {
                    other += 1;
                    if !(result["reason"].as_str().is_some_and(|r| !r.is_empty())
                        || result["detail"].as_str().is_some_and(|d| !d.is_empty()))
                    {
                        problems.push(format!("{name} statement {position} without a reason: {result}"));
                    }
                }
            }
            // What the import decided is what the findings now carry.
            let all = crate::findings::vulnerabilities(&app, release_id, "?include_suppressed=true&per_page=1").await;
            let untriaged = crate::findings::vulnerabilities(&app, release_id, "?include_suppressed=true&state=untriaged&per_page=1").await;
            let decided = all["total"].as_u64().unwrap() - untriaged["total"].as_u64().unwrap();
            if decided as usize != outcome["findings"].as_array().unwrap().len() {
                problems.push(format!("{}: {decided} findings decided, the import says {}", path.display(), outcome["findings"].as_array().unwrap().len()));
            }
        }
        assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
        println!("{} documents, {statements} statements: {applied} applied as planned, {beyond_plan} more applied, {other} not applied, each with its reason; {} files refused", documents.len(), refused.len());
        assert!(applied * 2 > statements, "most statements apply: {applied} of {statements}");
        // Only what is not a VEX document at all: JSON schemas, JSON-LD contexts, CSAF ROLIE
        // feeds, aggregator and provider metadata.
        for (path, _) in &refused {
            let text = path.to_string_lossy();
            assert!(
                ["schema", "context.json", "/ROLIE/", "/aggregator/", "/provider-metadata/"]
                    .iter()
                    .any(|kind| text.contains(kind)),
                "a VEX document was refused: {text}"
            );
        }

        // What is not a VEX document is refused, naming the problem, and stores nothing.
        let (_, release_id) = release(&app, "not-vex").await;
        for (path, bytes) in &refused {
            let response = app
                .post(&format!("/api/v1/releases/{release_id}/vex-imports"))
                .body(bytes.clone())
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert!(status.is_client_error(), "{}: {status} {body}", path.display());
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}: {body}", path.display());
        }
        let imports = json_of(
            app.get(&format!("/api/v1/releases/{release_id}/vex-imports")).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(imports["items"].as_array().map_or(0, Vec::len), 0, "{imports}");
    }
}
