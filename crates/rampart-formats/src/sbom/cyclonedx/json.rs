//! CycloneDX JSON. The document is deserialized in one pass straight into the model: each
//! top-level component is read, checked, flattened into `Sbom::components` and dropped, so a
//! large BOM is never held twice. Parts of the schema that the model does not keep
//! (vulnerabilities, compositions, formulation, ...) are skipped without being built.
//!
//! Validation is typed deserialization plus the targeted checks the CycloneDX conformance
//! suite exercises: required fields, enumerations, hash/serial/timestamp patterns, SPDX
//! licence identifiers, licence-choice shape, non-empty `bom-ref`s. A repeated `bom-ref` is
//! tolerated with a warning (see `super::super`).

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{
    check_enum, check_hash_content, check_purl, check_reference, check_serial_number,
    check_spdx_license_id, check_timestamp, spec_minor_version, ATTACHMENT_ENCODINGS,
    COMPONENT_TYPES, DATA_FLOWS, HASH_ALGORITHMS, ISSUE_TYPES, PATCH_TYPES, SCOPES,
};
use crate::sbom::json_support::{deserialize_tracked, deserialize_untracked};
use crate::sbom::{
    same_component, Component, Dependency, ErrorLocation, Hash, License, Relationship, Sbom,
    SbomError, SbomFormat, Warnings,
};

pub(crate) fn parse_str(text: &str) -> Result<Sbom, SbomError> {
    // Some rules differ between spec versions, and `specVersion` may come after the parts
    // they apply to, so the version is guessed from the text first. When the guess turns out
    // wrong, the document is read again under its real version.
    let guess = prescan_spec_minor_version(text).unwrap_or(6);
    let (mut result, mut state) = read_under_version(text, guess);
    let actual = match &result {
        Ok(root) => root.spec_minor,
        Err(_) => top_level_spec_minor_version(text),
    };
    if let Some(actual) = actual.filter(|&actual| actual != guess) {
        (result, state) = read_under_version(text, actual);
    }
    let root = result?;
    let spec_version = root
        .spec_version
        .ok_or_else(|| SbomError::at_pointer("", "missing field `specVersion`"))?;
    if !root.has_bom_format {
        return Err(SbomError::at_pointer("", "missing field `bomFormat`"));
    }
    let metadata = root.metadata.unwrap_or_default();
    let tools = metadata.tools.map(Tools::names).unwrap_or_default();
    let primary_component = metadata.component.map(|mut raw| {
        raw.components.clear();
        convert_component(raw, None)
    });
    Ok(Sbom {
        format: SbomFormat::CycloneDx,
        spec_version,
        serial_number: root.serial_number.map(|serial| serial.0),
        name: primary_component.as_ref().map(|c| c.name.clone()),
        created: metadata.timestamp.map(|timestamp| timestamp.0),
        tools,
        primary_component,
        components: state.components,
        dependencies: state.dependencies,
        warnings: state.warnings.finish(),
    })
}

/// Reads the document with version-dependent rules set for `minor`.
fn read_under_version(text: &str, minor: u8) -> (Result<Root, SbomError>, State) {
    let _version = SpecVersionScope::enter(minor);
    let mut state = State::default();
    if let Ok(root) = deserialize_untracked(text, RootSeed { state: &mut state }) {
        return (Ok(root), state);
    }
    // Read again, tracking the path, to say where the problem is.
    state = State::default();
    let result = deserialize_tracked(text, RootSeed { state: &mut state });
    let result = match state.precise_error.take() {
        Some(error) => Err(error),
        None => result,
    };
    (result, state)
}

/// The top-level `specVersion` of a document that failed to parse, read on its own.
fn top_level_spec_minor_version(text: &str) -> Option<u8> {
    #[derive(Deserialize)]
    struct VersionOnly {
        #[serde(rename = "specVersion")]
        spec_version: Option<String>,
    }
    let version: VersionOnly = serde_json::from_str(text).ok()?;
    spec_minor_version(&version.spec_version?).ok()
}

/// Finds the first `"specVersion": "1.x"` in the text without parsing the document.
fn prescan_spec_minor_version(text: &str) -> Option<u8> {
    let after_key = &text[text.find("\"specVersion\"")? + "\"specVersion\"".len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = value.strip_prefix('"')?;
    let value = &value[..value.find('"')?];
    spec_minor_version(value).ok()
}

thread_local! {
    /// Minor spec version of the document being parsed on this thread. serde gives
    /// `Deserialize` impls no context, and threading a seed through every nested type would
    /// double this module; the scope guard below keeps it correct under nesting.
    static SPEC_MINOR_VERSION: Cell<u8> = const { Cell::new(6) };
}

struct SpecVersionScope {
    previous: u8,
}

impl SpecVersionScope {
    fn enter(minor: u8) -> Self {
        SpecVersionScope {
            previous: SPEC_MINOR_VERSION.with(|cell| cell.replace(minor)),
        }
    }
}

impl Drop for SpecVersionScope {
    fn drop(&mut self) {
        SPEC_MINOR_VERSION.with(|cell| cell.set(self.previous));
    }
}

fn spec_minor() -> u8 {
    SPEC_MINOR_VERSION.with(Cell::get)
}

/// A string checked as it is deserialized, so that a bad value is reported at its own path.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        #[allow(dead_code)] // Some are read only to be checked.
        struct $name(String);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value).map_err(de::Error::custom)?;
                Ok($name(value))
            }
        }
    };
}

checked_string!(SpecVersion, |v| spec_minor_version(v).map(drop));
checked_string!(BomFormat, |v| check_enum("bomFormat", v, &["CycloneDX"]));
checked_string!(SerialNumber, check_serial_number);
checked_string!(Timestamp, |v| check_timestamp(v, true));
checked_string!(ComponentType, |v| check_enum(
    "component type",
    v,
    COMPONENT_TYPES
));
checked_string!(Scope, |v| check_enum("scope", v, SCOPES));
checked_string!(HashAlgorithm, |v| check_enum(
    "hash algorithm",
    v,
    HASH_ALGORITHMS
));
checked_string!(HashContent, check_hash_content);
checked_string!(Reference, check_reference);
checked_string!(Purl, check_purl);
checked_string!(LicenseId, check_spdx_license_id);
checked_string!(PatchType, |v| check_enum("patch type", v, PATCH_TYPES));
checked_string!(IssueType, |v| check_enum("issue type", v, ISSUE_TYPES));
checked_string!(DataFlow, |v| check_enum("data flow", v, DATA_FLOWS));
checked_string!(AttachmentEncoding, |v| check_enum(
    "attachment encoding",
    v,
    ATTACHMENT_ENCODINGS
));

#[derive(Debug, Deserialize)]
struct RawComponent {
    #[serde(rename = "type")]
    component_type: ComponentType,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<Reference>,
    name: String,
    version: Option<String>,
    group: Option<String>,
    purl: Option<Purl>,
    cpe: Option<String>,
    #[serde(default)]
    hashes: Vec<RawHash>,
    licenses: Option<LicenseChoice>,
    supplier: Option<OrganizationalEntity>,
    scope: Option<Scope>,
    // Read only to be checked.
    #[allow(dead_code)]
    swid: Option<Swid>,
    #[allow(dead_code)]
    pedigree: Option<Box<Pedigree>>,
    #[serde(default)]
    #[allow(dead_code)]
    properties: Vec<Property>,
    #[serde(default)]
    components: Vec<RawComponent>,
}

#[derive(Debug, Deserialize)]
struct RawHash {
    alg: HashAlgorithm,
    content: HashContent,
}

#[derive(Debug, Default, Deserialize)]
struct OrganizationalEntity {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Read to enforce the schema's required fields.
struct Swid {
    tag_id: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Pedigree {
    // Ancestors, descendants and variants are not part of this BOM's inventory; they are
    // read only to be checked.
    #[serde(default)]
    #[allow(dead_code)]
    ancestors: Vec<RawComponent>,
    #[serde(default)]
    #[allow(dead_code)]
    descendants: Vec<RawComponent>,
    #[serde(default)]
    #[allow(dead_code)]
    variants: Vec<RawComponent>,
    #[serde(default)]
    #[allow(dead_code)]
    patches: Vec<Patch>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Patch {
    #[serde(rename = "type")]
    patch_type: PatchType,
    #[serde(default)]
    resolves: Vec<Issue>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Issue {
    #[serde(rename = "type")]
    issue_type: IssueType,
}

/// A name-value property. 1.6 made `name` required and closed the object; earlier versions
/// accept anything here, so it is only checked, never kept.
#[derive(Debug)]
struct Property;

impl<'de> Deserialize<'de> for Property {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct StrictProperty {
            name: String,
            value: Option<String>,
        }
        if spec_minor() >= 6 {
            StrictProperty::deserialize(deserializer)?;
        } else {
            IgnoredAny::deserialize(deserializer)?;
        }
        Ok(Property)
    }
}

#[derive(Debug, Deserialize)]
#[serde(try_from = "RawLicense")]
enum NamedLicense {
    Id(String),
    Name(String),
}

#[derive(Debug, Deserialize)]
struct RawLicense {
    id: Option<LicenseId>,
    name: Option<String>,
    text: Option<Attachment>,
    #[serde(default)]
    #[allow(dead_code)]
    properties: Vec<Property>,
}

impl TryFrom<RawLicense> for NamedLicense {
    type Error = String;

    fn try_from(raw: RawLicense) -> Result<Self, String> {
        let _ = raw.text;
        match (raw.id, raw.name) {
            (Some(id), None) => Ok(NamedLicense::Id(id.0)),
            (None, Some(name)) => Ok(NamedLicense::Name(name)),
            (Some(_), Some(_)) => Err("a license has either `id` or `name`, not both".into()),
            (None, None) => Err("a license needs `id` or `name`".into()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Attachment {
    encoding: Option<AttachmentEncoding>,
}

/// One entry of a `licenses` array: `{"license": {...}}` or `{"expression": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(try_from = "RawLicenseEntry")]
enum LicenseEntry {
    License(NamedLicense),
    Expression(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicenseEntry {
    license: Option<NamedLicense>,
    expression: Option<String>,
    acknowledgement: Option<String>,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<Reference>,
}

impl TryFrom<RawLicenseEntry> for LicenseEntry {
    type Error = String;

    fn try_from(raw: RawLicenseEntry) -> Result<Self, String> {
        match (raw.license, raw.expression) {
            (Some(_), Some(_)) => {
                Err("a license choice holds either `license` or `expression`, not both".into())
            }
            (Some(license), None) if raw.acknowledgement.is_none() && raw.bom_ref.is_none() => {
                Ok(LicenseEntry::License(license))
            }
            (Some(_), None) => Err(
                "`acknowledgement` and `bom-ref` belong inside `license`, or beside `expression`"
                    .into(),
            ),
            (None, Some(expression)) => Ok(LicenseEntry::Expression(expression)),
            (None, None) => Err("a license choice needs `license` or `expression`".into()),
        }
    }
}

#[derive(Debug)]
struct LicenseChoice(Vec<LicenseEntry>);

impl<'de> Deserialize<'de> for LicenseChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<LicenseEntry>::deserialize(deserializer)?;
        // Since 1.5 the schema allows either any number of licenses or exactly one
        // expression; 1.4 judged each entry on its own.
        let has_expression = entries
            .iter()
            .any(|entry| matches!(entry, LicenseEntry::Expression(_)));
        if spec_minor() >= 5 && has_expression && entries.len() > 1 {
            return Err(de::Error::custom(
                "a license expression must be the only entry of `licenses`",
            ));
        }
        Ok(LicenseChoice(entries))
    }
}

impl LicenseChoice {
    fn into_licenses(self) -> Vec<License> {
        self.0
            .into_iter()
            .map(|entry| match entry {
                LicenseEntry::License(NamedLicense::Id(id)) => License::Id(id),
                LicenseEntry::License(NamedLicense::Name(name)) => License::Name(name),
                LicenseEntry::Expression(expression) => License::Expression(expression),
            })
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    timestamp: Option<Timestamp>,
    tools: Option<Tools>,
    component: Option<RawComponent>,
    #[allow(dead_code)]
    licenses: Option<LicenseChoice>,
    #[serde(default)]
    #[allow(dead_code)]
    properties: Vec<Property>,
}

/// 1.2–1.4 list tools as `{vendor, name, version}`; 1.5 made them components and services
/// (the old form stays allowed, deprecated).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Tools {
    Legacy(Vec<LegacyTool>),
    Modern(ModernTools),
}

#[derive(Debug, Deserialize)]
struct LegacyTool {
    vendor: Option<String>,
    name: Option<String>,
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ModernTools {
    #[serde(default)]
    components: Vec<RawComponent>,
    #[serde(default)]
    services: Vec<Service>,
}

impl Tools {
    fn names(self) -> Vec<String> {
        fn join(parts: &[Option<&str>]) -> String {
            parts
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        }
        match self {
            Tools::Legacy(tools) => tools
                .iter()
                .map(|t| join(&[t.vendor.as_deref(), t.name.as_deref(), t.version.as_deref()]))
                .collect(),
            Tools::Modern(tools) => tools
                .components
                .iter()
                .map(|c| join(&[c.group.as_deref(), Some(&c.name), c.version.as_deref()]))
                .chain(tools.services.iter().map(|s| s.name.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Service {
    #[serde(rename = "bom-ref")]
    bom_ref: Option<Reference>,
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    properties: Vec<Property>,
    #[allow(dead_code)]
    data: Option<Vec<ServiceData>>,
    #[serde(default)]
    services: Vec<Service>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct ServiceData {
    flow: DataFlow,
    classification: String,
}

#[derive(Debug, Deserialize)]
struct RawDependency {
    #[serde(rename = "ref")]
    reference: Reference,
    #[serde(rename = "dependsOn", default)]
    depends_on: Vec<Reference>,
}

#[derive(Default)]
struct State {
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
    /// Every `bom-ref` seen so far, with where it was first used.
    references: HashMap<String, FirstUse>,
    /// An error whose exact location this module knows better than the serde path does.
    precise_error: Option<SbomError>,
    warnings: Warnings,
}

/// Where a `bom-ref` was first used: a component by flat index and its path in the nested
/// arrays, or any other element by JSON pointer.
enum FirstUse {
    Component(usize, Box<[usize]>),
    Elsewhere(String),
}

/// Where a `bom-ref` is being used now.
enum Site<'p> {
    /// The component about to get flat index `index`, at `path` in the nested arrays.
    Component {
        index: usize,
        path: &'p [usize],
    },
    Elsewhere(String),
}

impl State {
    /// Remembers where `reference` is first used; a repeat is recorded as a warning naming
    /// both places.
    fn register_reference(&mut self, reference: &str, site: Site, outcome: &str) {
        let Some(first) = self.references.get(reference) else {
            let first = match site {
                Site::Component { index, path } => FirstUse::Component(index, path.into()),
                Site::Elsewhere(pointer) => FirstUse::Elsewhere(pointer),
            };
            self.references.insert(reference.to_owned(), first);
            return;
        };
        let first_pointer = match first {
            FirstUse::Component(_, path) => component_pointer(path) + "/bom-ref",
            FirstUse::Elsewhere(pointer) => pointer.clone(),
        };
        let here = match site {
            Site::Component { path, .. } => component_pointer(path) + "/bom-ref",
            Site::Elsewhere(pointer) => pointer,
        };
        self.warnings.push(
            Some(ErrorLocation::JsonPointer(here)),
            format!("duplicate bom-ref \"{reference}\" (first used at {first_pointer}): {outcome}"),
        );
    }

    /// Appends `raw` and its nested components to the flat list. `path` holds the indices
    /// from the top-level `components` array down to `raw`, to name it in a warning. A
    /// component repeating an earlier component's `bom-ref` is merged into it when identical
    /// (its nested components then hang below the first) and otherwise kept without the
    /// reference, so that references still name one component and no package is lost.
    fn flatten(&mut self, mut raw: RawComponent, parent: Option<usize>, path: &mut Vec<usize>) {
        let index = self.components.len();
        let children = std::mem::take(&mut raw.components);
        let mut component = convert_component(raw, parent);
        let repeat_of = match component.bom_ref.as_ref().map(|r| self.references.get(r)) {
            Some(Some(FirstUse::Component(first, _))) => Some(*first),
            _ => None,
        };
        let merged_into =
            repeat_of.filter(|first| same_component(&self.components[*first], &component));
        if let Some(reference) = component.bom_ref.clone() {
            let outcome = match (repeat_of, merged_into) {
                (_, Some(_)) => "merged into the identical first component",
                (Some(_), None) => "kept as a separate component without the bom-ref",
                (None, None) => "kept",
            };
            self.register_reference(&reference, Site::Component { index, path }, outcome);
        }
        let children_parent = match merged_into {
            Some(first) => first,
            None => {
                if repeat_of.is_some() {
                    component.bom_ref = None;
                }
                self.components.push(component);
                index
            }
        };
        for (child_index, child) in children.into_iter().enumerate() {
            path.push(child_index);
            self.flatten(child, Some(children_parent), path);
            path.pop();
        }
    }

    fn register_services(&mut self, services: &[Service], prefix: &str) {
        for (index, service) in services.iter().enumerate() {
            let pointer = format!("{prefix}/{index}");
            if let Some(reference) = &service.bom_ref {
                let site = Site::Elsewhere(format!("{pointer}/bom-ref"));
                self.register_reference(&reference.0, site, "kept");
            }
            self.register_services(&service.services, &format!("{pointer}/services"));
        }
    }
}

fn component_pointer(path: &[usize]) -> String {
    let mut pointer = String::from("/components");
    for (depth, index) in path.iter().enumerate() {
        if depth > 0 {
            pointer.push_str("/components");
        }
        pointer.push('/');
        pointer.push_str(&index.to_string());
    }
    pointer
}

fn convert_component(raw: RawComponent, parent: Option<usize>) -> Component {
    Component {
        bom_ref: raw.bom_ref.map(|r| r.0),
        parent,
        name: raw.name,
        version: raw.version,
        group: raw.group,
        purl: raw.purl.map(|p| p.0),
        cpe: raw.cpe,
        hashes: raw
            .hashes
            .into_iter()
            .map(|h| Hash {
                algorithm: h.alg.0,
                value: h.content.0,
            })
            .collect(),
        licenses: raw
            .licenses
            .map(LicenseChoice::into_licenses)
            .unwrap_or_default(),
        supplier: raw.supplier.and_then(|s| s.name),
        component_type: Some(raw.component_type.0),
        scope: raw.scope.map(|s| s.0),
    }
}

struct Root {
    has_bom_format: bool,
    spec_version: Option<String>,
    spec_minor: Option<u8>,
    serial_number: Option<SerialNumber>,
    metadata: Option<Metadata>,
}

struct RootSeed<'a> {
    state: &'a mut State,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_> {
    type Value = Root;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Root, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_> {
    type Value = Root;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CycloneDX BOM object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Root, A::Error> {
        let mut root = Root {
            has_bom_format: false,
            spec_version: None,
            spec_minor: None,
            serial_number: None,
            metadata: None,
        };
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "bomFormat" => {
                    map.next_value::<BomFormat>()?;
                    root.has_bom_format = true;
                }
                "specVersion" => {
                    let version = map.next_value::<SpecVersion>()?.0;
                    root.spec_minor = spec_minor_version(&version).ok();
                    root.spec_version = Some(version);
                }
                "serialNumber" => root.serial_number = Some(map.next_value()?),
                "version" => {
                    let version: u64 = map.next_value()?;
                    if version < 1 {
                        return Err(de::Error::custom(format!(
                            "BOM version must be 1 or more, got {version}"
                        )));
                    }
                }
                "metadata" => {
                    let metadata: Metadata = map.next_value()?;
                    if let Some(reference) =
                        metadata.component.as_ref().and_then(|c| c.bom_ref.as_ref())
                    {
                        let site = Site::Elsewhere("/metadata/component/bom-ref".into());
                        self.state.register_reference(&reference.0, site, "kept");
                    }
                    root.metadata = Some(metadata);
                }
                "components" => map.next_value_seed(ComponentsSeed {
                    state: &mut *self.state,
                })?,
                "services" => {
                    let services: Vec<Service> = map.next_value()?;
                    self.state.register_services(&services, "/services");
                }
                "dependencies" => map.next_value_seed(DependenciesSeed {
                    edges: &mut self.state.dependencies,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(root)
    }
}

/// Reads the `components` array one element at a time into the flat list.
struct ComponentsSeed<'a> {
    state: &'a mut State,
}

impl<'de> DeserializeSeed<'de> for ComponentsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ComponentsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of components")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut path = Vec::new();
        let mut index = 0;
        while let Some(raw) = seq.next_element::<RawComponent>()? {
            path.clear();
            path.push(index);
            self.state.flatten(raw, None, &mut path);
            index += 1;
        }
        Ok(())
    }
}

/// Reads the `dependencies` array one entry at a time into graph edges.
struct DependenciesSeed<'a> {
    edges: &'a mut Vec<Dependency>,
}

impl<'de> DeserializeSeed<'de> for DependenciesSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for DependenciesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of dependencies")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(entry) = seq.next_element::<RawDependency>()? {
            let from = entry.reference.0;
            for to in entry.depends_on {
                self.edges.push(Dependency {
                    from: from.clone(),
                    to: to.0,
                    relationship: Relationship::DependsOn,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::ErrorLocation;

    const NESTED: &str = r#"{
      "bomFormat": "CycloneDX", "specVersion": "1.6",
      "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", "version": 1,
      "metadata": {
        "timestamp": "2024-05-01T10:00:00Z",
        "tools": {"components": [{"type": "application", "group": "@cyclonedx", "name": "cdxgen", "version": "10.0.0"}]},
        "component": {"type": "application", "bom-ref": "app", "name": "shop", "version": "2.0"}
      },
      "components": [
        {"type": "library", "bom-ref": "a", "group": "org.acme", "name": "a", "version": "1.0",
         "purl": "pkg:maven/org.acme/a@1.0", "cpe": "cpe:2.3:a:acme:a:1.0:*:*:*:*:*:*:*",
         "supplier": {"name": "Acme"}, "scope": "required",
         "hashes": [{"alg": "SHA-1", "content": "e6b1000b94e835ffd37f4c6dcbdad43f4b48a02a"}],
         "licenses": [{"license": {"id": "Apache-2.0"}}, {"license": {"name": "Custom"}}],
         "components": [
           {"type": "library", "bom-ref": "a-inner", "name": "inner",
            "licenses": [{"expression": "MIT OR Apache-2.0"}],
            "components": [{"type": "file", "name": "deepest"}]}
         ]},
        {"type": "library", "bom-ref": "b", "name": "b"}
      ],
      "dependencies": [
        {"ref": "app", "dependsOn": ["a", "b"]},
        {"ref": "a", "dependsOn": ["a-inner"]},
        {"ref": "b"}
      ],
      "vulnerabilities": [{"id": "CVE-2024-0001"}]
    }"#;

    #[test]
    fn flattens_nested_components_keeping_parents() {
        let sbom = parse_str(NESTED).unwrap();
        assert_eq!(sbom.spec_version, "1.6");
        assert_eq!(sbom.name.as_deref(), Some("shop"));
        assert_eq!(sbom.created.as_deref(), Some("2024-05-01T10:00:00Z"));
        assert_eq!(sbom.tools, vec!["@cyclonedx cdxgen 10.0.0".to_owned()]);
        let names: Vec<_> = sbom.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "inner", "deepest", "b"]);
        let parents: Vec<_> = sbom.components.iter().map(|c| c.parent).collect();
        assert_eq!(parents, [None, Some(0), Some(1), None]);
        let a = &sbom.components[0];
        assert_eq!(a.purl.as_deref(), Some("pkg:maven/org.acme/a@1.0"));
        assert_eq!(a.group.as_deref(), Some("org.acme"));
        assert_eq!(a.supplier.as_deref(), Some("Acme"));
        assert_eq!(a.scope.as_deref(), Some("required"));
        assert_eq!(a.hashes[0].algorithm, "SHA-1");
        assert_eq!(
            a.licenses,
            vec![
                License::Id("Apache-2.0".into()),
                License::Name("Custom".into())
            ]
        );
        assert_eq!(
            sbom.components[1].licenses,
            vec![License::Expression("MIT OR Apache-2.0".into())]
        );
        let edges: Vec<_> = sbom
            .dependencies
            .iter()
            .map(|d| (d.from.as_str(), d.to.as_str()))
            .collect();
        assert_eq!(edges, [("app", "a"), ("app", "b"), ("a", "a-inner")]);
        assert_eq!(
            sbom.primary_component.unwrap().bom_ref.as_deref(),
            Some("app")
        );
    }

    fn warnings_of(text: &str) -> Vec<String> {
        let sbom = parse_str(text).unwrap_or_else(|e| panic!("refused: {e}"));
        sbom.warnings.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn repeated_bom_refs_are_tolerated_with_a_warning_naming_both_places() {
        // A different component under a reference already taken: kept, without the reference.
        let duplicate = NESTED.replace(r#""bom-ref": "b""#, r#""bom-ref": "a-inner""#);
        assert_eq!(
            warnings_of(&duplicate),
            ["/components/1/bom-ref: duplicate bom-ref \"a-inner\" (first used at /components/0/components/0/bom-ref): kept as a separate component without the bom-ref"]
        );
        let sbom = parse_str(&duplicate).unwrap();
        let refs: Vec<_> = sbom
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.bom_ref.as_deref()))
            .collect();
        assert_eq!(
            refs,
            [
                ("a", Some("a")),
                ("inner", Some("a-inner")),
                ("deepest", None),
                ("b", None)
            ]
        );
        // An identical repeat is merged into the first: one component, one warning.
        let third = NESTED.replace(
            r#"{"type": "library", "bom-ref": "b", "name": "b"}"#,
            r#"{"type": "library", "bom-ref": "b", "name": "b"}, {"type": "library", "bom-ref": "b", "name": "b"}"#,
        );
        assert_eq!(
            warnings_of(&third),
            ["/components/2/bom-ref: duplicate bom-ref \"b\" (first used at /components/1/bom-ref): merged into the identical first component"]
        );
        assert_eq!(parse_str(&third).unwrap().components.len(), 4);
        let deep_first = NESTED.replace(r#""bom-ref": "b""#, r#""bom-ref": "a-inner-2""#).replace(
            r#"{"type": "file", "name": "deepest"}"#,
            r#"{"type": "file", "name": "deepest"}, {"type": "file", "bom-ref": "a-inner-2", "name": "second"}"#,
        );
        assert_eq!(
            warnings_of(&deep_first),
            ["/components/1/bom-ref: duplicate bom-ref \"a-inner-2\" (first used at /components/0/components/0/components/1/bom-ref): kept as a separate component without the bom-ref"]
        );
        // The metadata component is not in the list: a component repeating its reference
        // keeps it, so the dependency graph still reaches it.
        let clash_with_metadata = NESTED.replace(r#""bom-ref": "b""#, r#""bom-ref": "app""#);
        assert_eq!(
            warnings_of(&clash_with_metadata),
            ["/components/1/bom-ref: duplicate bom-ref \"app\" (first used at /metadata/component/bom-ref): kept"]
        );
        assert!(warnings_of(NESTED).is_empty());
    }

    #[test]
    fn warnings_are_bounded() {
        let repeats: Vec<String> = (0..500)
            .map(|_| r#"{"type": "library", "bom-ref": "x", "name": "x"}"#.to_string())
            .collect();
        let text = format!(
            r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{}]}}"#,
            repeats.join(",")
        );
        let sbom = parse_str(&text).unwrap();
        assert_eq!(sbom.components.len(), 1);
        assert_eq!(sbom.warnings.len(), crate::sbom::MAX_WARNINGS);
        assert_eq!(
            sbom.warnings.last().unwrap().message,
            format!(
                "{} more warnings not listed",
                499 - (crate::sbom::MAX_WARNINGS - 1)
            )
        );
    }

    fn pointer_of(text: &str) -> String {
        match parse_str(text).unwrap_err().location {
            Some(ErrorLocation::JsonPointer(pointer)) => pointer,
            other => panic!("expected a JSON pointer, got {other:?}"),
        }
    }

    #[test]
    fn errors_point_at_the_offending_value() {
        let wrong_type = NESTED.replace(r#""name": "deepest""#, r#""name": 5"#);
        assert_eq!(
            pointer_of(&wrong_type),
            "/components/0/components/0/components/0/name"
        );
        let bad_purl = NESTED.replace("pkg:maven/org.acme/a@1.0", "maven/org.acme/a@1.0");
        assert_eq!(pointer_of(&bad_purl), "/components/0/purl");
        let empty_dependency = NESTED.replace(r#"{"ref": "b"}"#, r#"{"ref": ""}"#);
        assert_eq!(pointer_of(&empty_dependency), "/dependencies/2/ref");
        assert_eq!(pointer_of(&NESTED.replace("1.6", "1.7")), "/specVersion");
        assert_eq!(pointer_of(r#"{"specVersion": "1.5"}"#), "");
        assert_eq!(pointer_of("[1, 2]"), "");
    }

    #[test]
    fn version_specific_rules_follow_spec_version() {
        let nameless_property = NESTED.replace(
            r#""name": "b"}"#,
            r#""name": "b", "properties": [{"value": "no name"}]}"#,
        );
        assert_eq!(pointer_of(&nameless_property), "/components/1/properties/0");
        let as_15 = nameless_property.replace(r#""specVersion": "1.6""#, r#""specVersion": "1.5""#);
        assert!(parse_str(&as_15).is_ok());

        let mixed = NESTED.replace(
            r#"{"license": {"name": "Custom"}}"#,
            r#"{"expression": "MIT"}"#,
        );
        assert_eq!(pointer_of(&mixed), "/components/0/licenses");
        let as_14 = mixed.replace(r#""specVersion": "1.6""#, r#""specVersion": "1.4""#);
        let as_14 = as_14.replace(
            r#""tools": {"components": [{"type": "application", "group": "@cyclonedx", "name": "cdxgen", "version": "10.0.0"}]}"#,
            r#""tools": [{"vendor": "CycloneDX", "name": "cli", "version": "0.1"}]"#,
        );
        let sbom = parse_str(&as_14).unwrap();
        assert_eq!(sbom.tools, vec!["CycloneDX cli 0.1".to_owned()]);
    }

    #[test]
    fn spec_version_after_the_components_still_decides_the_rules() {
        // A 1.5 document whose first "specVersion" key belongs to something else.
        let document = r#"{"annotations": [{"specVersion": "1.6"}],
            "components": [{"type": "library", "name": "a",
            "properties": [{"value": "nameless is fine before 1.6"}]}],
            "bomFormat": "CycloneDX", "specVersion": "1.5"}"#;
        assert_eq!(prescan_spec_minor_version(document), Some(6));
        assert_eq!(parse_str(document).unwrap().spec_version, "1.5");
        let as_16 = document.replace(r#""specVersion": "1.5""#, r#""specVersion": "1.6""#);
        assert_eq!(pointer_of(&as_16), "/components/0/properties/0");
        // And the other way round: a 1.4-looking guess must not let a 1.6 document through.
        let misleading_14 =
            as_16.replace(r#"[{"specVersion": "1.6"}]"#, r#"[{"specVersion": "1.4"}]"#);
        assert_eq!(prescan_spec_minor_version(&misleading_14), Some(4));
        assert_eq!(pointer_of(&misleading_14), "/components/0/properties/0");
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_str(&deep).is_err());
        let nested_document = |depth: usize| {
            let mut nested = String::from(r#"{"type":"library","name":"leaf"}"#);
            for _ in 0..depth {
                nested = format!(r#"{{"type":"library","name":"n","components":[{nested}]}}"#);
            }
            format!(r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{nested}]}}"#)
        };
        assert_eq!(
            parse_str(&nested_document(50)).unwrap().components.len(),
            51
        );
        assert!(parse_str(&nested_document(10_000)).is_err());
    }
}
