//! The matcher's rules, each with a case that would pass if the rule were missing.

use chrono::DateTime;
use rampart_formats::vex::{
    Author, Disposition, DispositionState, DocumentMetadata, DocumentStatus, Justification,
    Statement, Subject, VexDocument, Vulnerability,
};

use super::*;

fn not_affected() -> Disposition {
    Disposition {
        justification: Some(Justification::CodeNotReachable),
        ..Disposition::new(DispositionState::NotAffected)
    }
}

fn subject(key: &str, purl: Option<&str>) -> Subject {
    Subject::from_identifier(key, purl, None)
}

fn release_subject() -> Subject {
    Subject {
        key: "the-release".into(),
        name: "Acme Shop".into(),
        version: Some("2.0".into()),
        ..Subject::default()
    }
}

fn document(
    products: Vec<Subject>,
    components: Vec<Subject>,
    statements: Vec<Statement>,
) -> VexDocument {
    VexDocument {
        metadata: DocumentMetadata {
            id: "https://vex.example.com/1".into(),
            version: 1,
            title: None,
            author: Author {
                name: "Acme".into(),
                namespace: None,
                role: None,
            },
            created: DateTime::UNIX_EPOCH,
            last_updated: DateTime::UNIX_EPOCH,
            status: DocumentStatus::Final,
            revision_history: Vec::new(),
            serial_number: None,
        },
        products,
        components,
        statements,
    }
}

fn statement(vulnerability: &str, products: &[&str], components: &[&str]) -> Statement {
    Statement {
        vulnerability: Vulnerability::from_ids([vulnerability]).unwrap(),
        products: products.iter().map(|p| p.to_string()).collect(),
        components: components.iter().map(|c| c.to_string()).collect(),
        disposition: not_affected(),
        timestamp: None,
    }
}

/// A release with one component per purl; finding `100 + i` is component `i` × `ids[i]`.
fn release(components: &[(&str, &[&str])]) -> Release {
    Release {
        identities: vec![release_subject()],
        bom_serial_numbers: vec!["urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79".into()],
        components: components
            .iter()
            .enumerate()
            .map(|(i, (purl, _))| ReleaseComponent {
                id: i as i64,
                name: format!("component {i}"),
                version: None,
                purl: Some(purl.to_string()),
                cpe: None,
                bom_ref: Some(format!("ref-{i}")),
            })
            .collect(),
        findings: components
            .iter()
            .enumerate()
            .map(|(i, (_, ids))| ReleaseFinding {
                id: 100 + i as i64,
                component_id: i as i64,
                vulnerability_ids: ids.iter().map(|id| id.to_string()).collect(),
            })
            .collect(),
    }
}

/// The findings a single-statement document decides about a product-only statement naming
/// `vex_purl`, against a release holding `sbom_purl` with CVE-2024-0001.
fn decided_by_purl(vex_purl: &str, sbom_purl: &str) -> Vec<i64> {
    let doc = document(
        vec![subject(vex_purl, Some(vex_purl))],
        Vec::new(),
        vec![statement("CVE-2024-0001", &[vex_purl], &[])],
    );
    let matched = match_document(&doc, &release(&[(sbom_purl, &["CVE-2024-0001"])]));
    matched.decisions().into_iter().map(|(f, _)| f).collect()
}

#[test]
fn a_statement_never_matches_on_the_vulnerability_alone() {
    // DT#3554: the vulnerability is in two components; the statement names one of them.
    let doc = document(
        vec![release_subject()],
        vec![subject("gradio-a", Some("pkg:pypi/gradio@1.0.0a1"))],
        vec![statement("CVE-2023-41626", &["the-release"], &["gradio-a"])],
    );
    let release = release(&[
        ("pkg:pypi/gradio@1.0.0a1", &["CVE-2023-41626"]),
        ("pkg:pypi/gradio@0.1.01", &["CVE-2023-41626"]),
    ]);
    let matched = match_document(&doc, &release);
    assert_eq!(matched.decisions(), [(100, 0)]);

    // A component the release does not have: unmatched, not applied to the other finding.
    let doc = document(
        vec![release_subject()],
        vec![subject("other", Some("pkg:pypi/requests@2.0.0"))],
        vec![statement("CVE-2023-41626", &["the-release"], &["other"])],
    );
    let matched = match_document(&doc, &release);
    assert!(matched.decisions().is_empty());
    match &matched.statements[0].outcome {
        Outcome::Unmatched { detail } => {
            assert!(detail.contains("pkg:pypi/requests@2.0.0"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn any_alias_of_either_side_names_the_vulnerability() {
    let release = release(&[(
        "pkg:npm/lodash@4.17.20",
        &["CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"],
    )]);
    let by_ghsa = |name: &str, aliases: &[&str]| {
        let mut s = statement(name, &["pkg:npm/lodash@4.17.20"], &[]);
        s.vulnerability =
            Vulnerability::from_ids(std::iter::once(name).chain(aliases.iter().copied())).unwrap();
        let doc = document(
            vec![subject("pkg:npm/lodash@4.17.20", None)],
            Vec::new(),
            vec![s],
        );
        match_document(&doc, &release).decisions()
    };
    assert_eq!(by_ghsa("ghsa-35jh-r3h4-6jhm", &[]), [(100, 0)]);
    assert_eq!(
        by_ghsa("SNYK-JS-LODASH-1040724", &["CVE-2021-23337"]),
        [(100, 0)]
    );
    assert!(by_ghsa("CVE-2020-8203", &[]).is_empty());
}

#[test]
fn npm_scopes_meet_however_they_are_spelled() {
    for vex in [
        "pkg:npm/%40angular/core@12.3.1",
        "pkg:npm/@angular/core@12.3.1",
        "pkg:npm/angular/core@12.3.1",
        "pkg:npm/%40Angular/Core@12.3.1",
    ] {
        assert_eq!(
            decided_by_purl(vex, "pkg:npm/%40angular/core@12.3.1"),
            [100],
            "{vex}"
        );
    }
    assert!(decided_by_purl(
        "pkg:npm/%40angular/common@12.3.1",
        "pkg:npm/%40angular/core@12.3.1"
    )
    .is_empty());
}

#[test]
fn maven_groups_meet_written_as_paths_or_dots_but_keep_their_case() {
    let sbom = "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar";
    for vex in [
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
        "pkg:maven/org/apache/logging/log4j/log4j-core@2.14.1",
    ] {
        assert_eq!(decided_by_purl(vex, sbom), [100], "{vex}");
    }
    // Maven coordinates are case-sensitive; PyPI names are not.
    assert!(
        decided_by_purl("pkg:maven/org.apache.logging.log4j/Log4j-Core@2.14.1", sbom).is_empty()
    );
    assert_eq!(
        decided_by_purl("pkg:pypi/Django@4.0", "pkg:pypi/django@4.0"),
        [100]
    );
    assert_eq!(
        decided_by_purl("pkg:pypi/zope.interface@5.0", "pkg:pypi/Zope_Interface@5.0"),
        [100]
    );
}

#[test]
fn qualifiers_subpath_and_encoding_do_not_keep_a_statement_from_applying() {
    // grype#1836: the VEX says `docker.io` where the scanner says `index.docker.io`, and
    // encodes `:` in the digest.
    assert_eq!(
        decided_by_purl(
            "pkg:oci/alpine@sha256%3A124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126?repository_url=docker.io/library/alpine",
            "pkg:oci/alpine@sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126?repository_url=index.docker.io/library/alpine&tag=3.17"
        ),
        [100]
    );
    assert_eq!(
        decided_by_purl(
            "pkg:apk/alpine/libcrypto3@3.0.8-r3",
            "pkg:apk/alpine/libcrypto3@3.0.8-r3?arch=x86_64&upstream=openssl&distro=alpine-3.17.3"
        ),
        [100]
    );
    assert_eq!(
        decided_by_purl(
            "pkg:golang/github.com/gorilla/websocket@v1.5.0#examples",
            "pkg:golang/github.com/Gorilla/websocket@v1.5.0"
        ),
        [100]
    );
    // A digest that differs is another image.
    assert!(decided_by_purl(
        "pkg:oci/alpine@sha256%3A0000000000000000000000000000000000000000000000000000000000000000",
        "pkg:oci/alpine@sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126"
    )
    .is_empty());
}

#[test]
fn versions_decide_exactly_and_a_missing_version_means_every_version() {
    let sbom = "pkg:cargo/smallvec@1.6.0";
    assert_eq!(decided_by_purl("pkg:cargo/smallvec@1.6.0", sbom), [100]);
    assert!(decided_by_purl("pkg:cargo/smallvec@1.6.1", sbom).is_empty());
    assert_eq!(decided_by_purl("pkg:cargo/smallvec", sbom), [100]);
    // Equal in the ecosystem's order though spelled differently.
    assert_eq!(
        decided_by_purl(
            "pkg:golang/example.com/mod@1.2.0",
            "pkg:golang/example.com/mod@v1.2.0"
        ),
        [100]
    );
    // Trivy's epoch qualifier against the epoch written in the version.
    assert_eq!(
        decided_by_purl(
            "pkg:deb/debian/bsdutils@1:2.36.1-8+deb11u1",
            "pkg:deb/debian/bsdutils@2.36.1-8%2Bdeb11u1?arch=amd64&epoch=1&distro=debian-11.6"
        ),
        [100]
    );
}

#[test]
fn a_vers_range_names_the_versions_inside_it() {
    let in_range = |version: &str| {
        let mut ranged = subject("lib", Some("pkg:npm/left-pad"));
        ranged.version = Some("vers:npm/>=1.0.0|<1.3.0".into());
        let doc = document(
            vec![ranged],
            Vec::new(),
            vec![statement("CVE-2024-0001", &["lib"], &[])],
        );
        let purl = format!("pkg:npm/left-pad@{version}");
        let matched = match_document(&doc, &release(&[(&purl, &["CVE-2024-0001"])]));
        !matched.decisions().is_empty()
    };
    assert!(in_range("1.0.0"));
    assert!(in_range("1.2.9"));
    assert!(!in_range("1.3.0"));
    assert!(!in_range("0.9.0"));

    // CSAF `product_version_range` branches carry the range (`vers:all/*`: every version).
    let csaf = std::fs::read_to_string(
        rampart_test_data::root()
            .map(|root| {
                root.join("vex/csaf-2.0/csaf_2.0/examples/csaf/csaf_vex/2022-evd-uc-05-001.json")
            })
            .unwrap_or_default(),
    );
    if let Ok(csaf) = csaf {
        let read = rampart_formats::vex::read(csaf.as_bytes()).unwrap();
        let product = &read.document.products[0];
        assert_eq!(
            product.version.as_deref(),
            Some("vers:all/*"),
            "{product:?}"
        );
        assert!(matches!(
            VersionSpec::of(product.version.as_deref()),
            VersionSpec::Any
        ));
    }
}

#[test]
fn cpes_match_on_vendor_product_and_version() {
    let mut release = release(&[]);
    release.components.push(ReleaseComponent {
        id: 7,
        name: "freetype".into(),
        version: Some("2.11.1".into()),
        purl: None,
        cpe: Some("cpe:2.3:*:*:freetype:2.11.1:*:*:*:*:*:*:*".into()),
        bom_ref: None,
    });
    release.findings.push(ReleaseFinding {
        id: 70,
        component_id: 7,
        vulnerability_ids: vec!["CVE-2022-27404".into()],
    });
    let decided = |cpe: &str| {
        let doc = document(
            vec![Subject::from_identifier(cpe, None, Some(cpe))],
            Vec::new(),
            vec![statement("CVE-2022-27404", &[cpe], &[])],
        );
        match_document(&doc, &release).decisions()
    };
    assert_eq!(
        decided("cpe:2.3:a:freetype:freetype:2.11.1:*:*:*:*:*:*:*"),
        [(70, 0)]
    );
    assert_eq!(
        decided("cpe:2.3:a:freetype:freetype:*:*:*:*:*:*:*:*"),
        [(70, 0)]
    );
    assert!(decided("cpe:2.3:a:freetype:freetype:2.12.0:*:*:*:*:*:*:*").is_empty());
    assert!(decided("cpe:2.3:a:freetype:harfbuzz:2.11.1:*:*:*:*:*:*:*").is_empty());
}

#[test]
fn components_apply_only_when_a_product_is_this_release() {
    let release = release(&[("pkg:npm/qs@6.5.2", &["CVE-2022-24999"])]);
    let with_product = |product: Subject| {
        let key = product.key.clone();
        let doc = document(
            vec![product],
            vec![subject("qs", Some("pkg:npm/qs@6.5.2"))],
            vec![statement("CVE-2022-24999", &[&key], &["qs"])],
        );
        match_document(&doc, &release).statements.remove(0).outcome
    };
    assert!(matches!(
        with_product(release_subject()),
        Outcome::Applied {
            by_component: true,
            ..
        }
    ));
    // Name compared case-insensitively; a product without a version names every release.
    let mut by_name = release_subject();
    by_name.name = "ACME SHOP".into();
    by_name.version = None;
    assert!(matches!(with_product(by_name), Outcome::Applied { .. }));
    // A BOM-link into the release's SBOM.
    let link = subject("urn:cdx:3E671687-395b-41f5-a30f-a58921a69b79/1#root", None);
    assert!(matches!(with_product(link), Outcome::Applied { .. }));
    // A product that is one of the release's components (OpenVEX subcomponents of it).
    let parent = subject("pkg:npm/qs@6.5.2", Some("pkg:npm/qs@6.5.2"));
    assert!(matches!(with_product(parent), Outcome::Applied { .. }));
    // Another product: the supplier's decision about their product does not hold for ours.
    let mut other = release_subject();
    other.version = Some("3.0".into());
    match with_product(other) {
        Outcome::Skipped { reason, detail } => {
            assert_eq!(reason, SkipReason::ProductNotThisRelease);
            assert!(detail.contains("the-release"), "{detail}");
        }
        outcome => panic!("{outcome:?}"),
    }
    // A BOM-link naming a component by its bom-ref decides that component only.
    let two = super::Release {
        findings: vec![
            ReleaseFinding {
                id: 100,
                component_id: 0,
                vulnerability_ids: vec!["CVE-2022-24999".into()],
            },
            ReleaseFinding {
                id: 101,
                component_id: 1,
                vulnerability_ids: vec!["CVE-2022-24999".into()],
            },
        ],
        ..super::tests::release(&[("pkg:npm/qs@6.5.2", &[]), ("pkg:npm/qs@6.11.0", &[])])
    };
    let linked = "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#ref-1";
    let doc = document(
        vec![subject(linked, None)],
        Vec::new(),
        vec![statement("CVE-2022-24999", &[linked], &[])],
    );
    assert_eq!(match_document(&doc, &two).decisions(), [(101, 0)]);
    let unknown_link = subject("urn:cdx:00000000-0000-0000-0000-000000000000/1#root", None);
    assert!(matches!(
        with_product(unknown_link),
        Outcome::Skipped {
            reason: SkipReason::ProductNotThisRelease,
            ..
        }
    ));
}

#[test]
fn a_statement_about_the_release_decides_every_finding_of_its_vulnerability() {
    let release = release(&[
        ("pkg:npm/a@1.0.0", &["CVE-2024-0001"]),
        ("pkg:npm/b@1.0.0", &["CVE-2024-0001"]),
        ("pkg:npm/c@1.0.0", &["CVE-2024-0002"]),
    ]);
    let doc = document(
        vec![release_subject()],
        Vec::new(),
        vec![statement("CVE-2024-0001", &["the-release"], &[])],
    );
    let matched = match_document(&doc, &release);
    assert_eq!(matched.decisions(), [(100, 0), (101, 0)]);
    assert!(matches!(
        matched.statements[0].outcome,
        Outcome::Applied {
            by_component: false,
            ..
        }
    ));
    // Some other product named alone: neither the release nor a component of it.
    let doc = document(
        vec![subject("pkg:npm/zzz@1.0.0", Some("pkg:npm/zzz@1.0.0"))],
        Vec::new(),
        vec![statement("CVE-2024-0001", &["pkg:npm/zzz@1.0.0"], &[])],
    );
    assert!(matches!(
        match_document(&doc, &release).statements[0].outcome,
        Outcome::Unmatched { .. }
    ));
}

#[test]
fn invalid_decisions_and_absent_vulnerabilities_are_skipped_with_their_reason() {
    let release = release(&[("pkg:npm/a@1.0.0", &["CVE-2024-0001"])]);
    let mut affected = statement("CVE-2024-0001", &["pkg:npm/a@1.0.0"], &[]);
    affected.disposition = Disposition::new(DispositionState::Exploitable);
    let absent = statement("CVE-1999-0001", &["pkg:npm/a@1.0.0"], &[]);
    let doc = document(
        vec![subject("pkg:npm/a@1.0.0", None)],
        Vec::new(),
        vec![affected, absent],
    );
    let matched = match_document(&doc, &release);
    let skipped: Vec<(SkipReason, &str)> = matched
        .skipped()
        .map(|s| match &s.outcome {
            Outcome::Skipped { reason, detail } => (*reason, detail.as_str()),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0].0, SkipReason::InvalidDisposition);
    assert!(
        skipped[0].1.contains("action_statement"),
        "{}",
        skipped[0].1
    );
    assert_eq!(skipped[1].0, SkipReason::NoSuchVulnerability);
    assert!(skipped[1].1.contains("CVE-1999-0001"), "{}", skipped[1].1);
    assert_eq!(matched.applied().count(), 0);
    assert_eq!(
        SkipReason::ProductNotThisRelease.code(),
        "product_not_this_release"
    );
}

#[test]
fn a_component_statement_beats_a_release_wide_one_and_later_beats_earlier() {
    let release = release(&[
        ("pkg:npm/a@1.0.0", &["CVE-2024-0001"]),
        ("pkg:npm/b@1.0.0", &["CVE-2024-0001"]),
    ]);
    let doc = document(
        vec![release_subject()],
        vec![subject("a", Some("pkg:npm/a@1.0.0"))],
        vec![
            statement("CVE-2024-0001", &["the-release"], &["a"]),
            statement("CVE-2024-0001", &["the-release"], &[]),
            statement("CVE-2024-0001", &["the-release"], &["a"]),
        ],
    );
    let matched = match_document(&doc, &release);
    assert_eq!(matched.decisions(), [(100, 2), (101, 1)]);
}

#[test]
fn a_cyclonedx_vex_without_a_source_applies() {
    // DT#2977: a VEX whose vulnerabilities carry no `source` was dropped silently.
    let vex = br#"{"bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
      "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
      "components": [{"bom-ref": "ft", "type": "library", "name": "freetype", "version": "2.11.1",
                      "purl": "pkg:generic/freetype@2.11.1"}],
      "vulnerabilities": [{"id": "CVE-2022-27404",
        "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
        "affects": [{"ref": "ft"}]}]}"#;
    let read = rampart_formats::vex::read(vex).unwrap();
    let release = release(&[("pkg:generic/freetype@2.11.1", &["CVE-2022-27404"])]);
    let matched = match_document(&read.document, &release);
    assert_eq!(matched.decisions(), [(100, 0)]);
}

#[test]
fn a_subject_without_purl_or_cpe_matches_by_name_only_with_a_version() {
    let mut release = release(&[]);
    release.components.push(ReleaseComponent {
        id: 1,
        name: "OpenSSL".into(),
        version: Some("3.0.7".into()),
        purl: None,
        cpe: None,
        bom_ref: None,
    });
    release.findings.push(ReleaseFinding {
        id: 10,
        component_id: 1,
        vulnerability_ids: vec!["CVE-2023-0286".into()],
    });
    let decided = |version: Option<&str>| {
        let named = Subject {
            key: "ossl".into(),
            name: "openssl".into(),
            version: version.map(str::to_string),
            ..Subject::default()
        };
        let doc = document(
            vec![named],
            Vec::new(),
            vec![statement("CVE-2023-0286", &["ossl"], &[])],
        );
        match_document(&doc, &release).decisions()
    };
    assert_eq!(decided(Some("3.0.7")), [(10, 0)]);
    assert!(decided(Some("3.0.8")).is_empty());
    assert!(decided(None).is_empty());
}

#[test]
fn a_release_names_itself_by_name_and_version_and_by_a_generic_purl() {
    let named = super::release_subject("Acme Shop", "2.0");
    assert_eq!(named.purl.as_deref(), Some("pkg:generic/Acme%20Shop@2.0"));
    let mut release = release(&[("pkg:npm/qs@6.5.2", &["CVE-2022-24999"])]);
    release.identities = vec![named];
    // An OpenVEX product known only by its `@id`: the generic purl.
    let by_purl = Subject::from_identifier("pkg:generic/Acme%20Shop@2.0", None, None);
    let other = Subject::from_identifier("pkg:generic/Acme%20Shop@2.1", None, None);
    for (product, applies) in [(by_purl, true), (other, false)] {
        let key = product.key.clone();
        let doc = document(
            vec![product],
            vec![subject("qs", Some("pkg:npm/qs@6.5.2"))],
            vec![statement("CVE-2022-24999", &[&key], &["qs"])],
        );
        assert_eq!(
            !match_document(&doc, &release).decisions().is_empty(),
            applies,
            "{key}"
        );
    }
}

/// The matcher's throughput (a benchmark: prints, asserts only correctness). Run with
/// `cargo test --release -p rampart-core vex_match_throughput -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark: run explicitly with --release --ignored --nocapture"]
fn vex_match_throughput() {
    const N: usize = 10_000;
    let purls: Vec<String> = (0..N)
        .map(|i| format!("pkg:npm/%40scope{}/package-{i}@1.{}.0", i % 50, i % 7))
        .collect();
    let ids: Vec<[String; 2]> = (0..N)
        .map(|i| [format!("CVE-2098-{i:05}"), format!("GHSA-{i:04x}-bench")])
        .collect();
    let id_refs: Vec<[&str; 2]> = ids.iter().map(|[a, b]| [a.as_str(), b.as_str()]).collect();
    let entries: Vec<(&str, &[&str])> = purls
        .iter()
        .zip(&id_refs)
        .map(|(p, i)| (p.as_str(), &i[..]))
        .collect();
    let release = release(&entries);
    let components: Vec<Subject> = (0..N)
        .map(|i| {
            // The VEX spells the scope without `@` and names the GHSA alias.
            let purl = format!("pkg:npm/scope{}/package-{i}@1.{}.0", i % 50, i % 7);
            subject(&purl, Some(&purl))
        })
        .collect();
    let statements: Vec<Statement> = (0..N)
        .map(|i| {
            let key = components[i].key.clone();
            statement(&ids[i][1], &["the-release"], &[&key])
        })
        .collect();
    let doc = document(vec![release_subject()], components, statements);
    let start = std::time::Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        let matched = match_document(&doc, &release);
        assert_eq!(matched.decisions().len(), N);
    }
    let per_round = start.elapsed().as_secs_f64() / rounds as f64;
    println!(
        "vex_match: {N} statements against {N} components/findings: {:.1} ms per document, {:.0} statements/s",
        per_round * 1e3,
        N as f64 / per_round
    );
}
