//! No input makes a parser panic: random bytes, and valid documents with bytes flipped,
//! truncated or spliced, all end in a document or an error.

use proptest::prelude::*;

use super::{
    parse, parse_cyclonedx_json, parse_cyclonedx_xml, parse_spdx_json, parse_spdx_tag_value,
};

const CYCLONEDX_JSON: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79","metadata":{"timestamp":"2024-01-01T00:00:00Z","component":{"type":"application","bom-ref":"app","name":"app"}},"components":[{"type":"library","bom-ref":"a","name":"a","version":"1","purl":"pkg:npm/a@1","hashes":[{"alg":"SHA-1","content":"e6b1000b94e835ffd37f4c6dcbdad43f4b48a02a"}],"licenses":[{"license":{"id":"MIT"}}],"components":[{"type":"file","name":"f"}]}],"dependencies":[{"ref":"app","dependsOn":["a"]}]}"#;

const CYCLONEDX_XML: &str = r#"<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"><metadata><timestamp>2024-01-01T00:00:00Z</timestamp></metadata><components><component type="library" bom-ref="a"><name>a &amp; b</name><purl>pkg:npm/a@1</purl><hashes><hash alg="SHA-1">e6b1000b94e835ffd37f4c6dcbdad43f4b48a02a</hash></hashes><licenses><license><id>MIT</id></license></licenses><components><component type="file"><name>f</name></component></components></component></components><dependencies><dependency ref="a"><dependency ref="b"/></dependency></dependencies></bom>"#;

const SPDX_JSON: &str = r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"d","creationInfo":{"created":"2024-01-01T00:00:00Z","creators":["Tool: t"]},"packages":[{"SPDXID":"SPDXRef-a","name":"a","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/a@1"}]}],"relationships":[{"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"CONTAINS","relatedSpdxElement":"SPDXRef-a"}]}"#;

const SPDX_TAG_VALUE: &str = "SPDXVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: d\nDocumentComment: <text>multi\nline</text>\nPackageName: a\nSPDXID: SPDXRef-a\nExternalRef: PACKAGE-MANAGER purl pkg:npm/a@1\nPackageChecksum: SHA1: 85ed0817af83a24ad8da68c2b5094de69833983c\nRelationship: SPDXRef-DOCUMENT CONTAINS SPDXRef-a\n";

type Parser = fn(&[u8]) -> Result<super::Sbom, super::SbomError>;

const PARSERS: [(Parser, &str); 4] = [
    (parse_cyclonedx_json, CYCLONEDX_JSON),
    (parse_cyclonedx_xml, CYCLONEDX_XML),
    (parse_spdx_json, SPDX_JSON),
    (parse_spdx_tag_value, SPDX_TAG_VALUE),
];

#[test]
fn the_seed_documents_are_valid() {
    for (parser, document) in PARSERS {
        let sbom = parser(document.as_bytes()).unwrap();
        assert!(!sbom.components.is_empty());
        assert_eq!(parse(document.as_bytes()).unwrap(), sbom);
    }
}

fn mutate(document: &str, edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut bytes = document.as_bytes().to_vec();
    for &(position, value) in edits {
        let index = position % bytes.len();
        bytes[index] = value;
    }
    bytes.truncate(bytes.len() - cut % bytes.len());
    bytes
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for (parser, _) in PARSERS {
            let _ = parser(&bytes);
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_documents_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        for (parser, document) in PARSERS {
            let bytes = mutate(document, &edits, cut);
            if let Ok(sbom) = parser(&bytes) {
                let count = sbom.components.len();
                prop_assert!(sbom.components.iter().enumerate().all(|(i, c)| c.parent.is_none_or(|p| p < i && p < count)));
            }
            let _ = parse(&bytes);
        }
    }
}
