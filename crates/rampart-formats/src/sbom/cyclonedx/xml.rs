//! CycloneDX XML, read with a pull parser. Only one top-level section (or one top-level
//! component) is materialised as a small element tree at a time, checked, converted and
//! dropped, so memory follows the largest component rather than the document.
//!
//! Elements outside the CycloneDX namespace are extensions the schema allows anywhere; they
//! are skipped. Checks mirror the JSON parser's (see `super`), with XSD specifics: the
//! namespace names the spec version, and licence choices may not repeat `id`/`name`.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::{
    check_enum, check_hash_content, check_purl, check_reference, check_serial_number,
    check_spdx_license_id, check_timestamp, spec_minor_version, ATTACHMENT_ENCODINGS,
    COMPONENT_TYPES, DATA_FLOWS, HASH_ALGORITHMS, ISSUE_TYPES, PATCH_TYPES, SCOPES,
};
use crate::sbom::{
    same_component, Component, Dependency, ErrorLocation, Hash, License, Relationship, Sbom,
    SbomError, SbomFormat, Warnings,
};

const NAMESPACE_PREFIX: &str = "http://cyclonedx.org/schema/bom/";

/// Deeper nesting than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 200;

pub(crate) fn parse_str(text: &str) -> Result<Sbom, SbomError> {
    let mut parser = Parser {
        text,
        reader: NsReader::from_str(text),
        namespace: String::new(),
        minor: 0,
        components: Vec::new(),
        dependencies: Vec::new(),
        references: HashMap::new(),
        warnings: Warnings::default(),
    };
    parser.reader.config_mut().expand_empty_elements = true;
    parser.parse()
}

/// A CycloneDX element with its CycloneDX-namespace children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
    offset: usize,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// Children of the child `container`, named `name`: `<hashes><hash/>...</hashes>`.
    fn items<'a>(
        &'a self,
        container: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children_named(container)
            .flat_map(move |list| list.children_named(name))
    }

    fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(|child| child.text.trim().to_owned())
    }
}

struct Parser<'t> {
    text: &'t str,
    reader: NsReader<&'t [u8]>,
    namespace: String,
    minor: u8,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
    /// Every component/service `bom-ref`, with the byte offset of its first use and, when
    /// that was a component of the list, its index.
    references: HashMap<String, (usize, Option<usize>)>,
    warnings: Warnings,
}

type Checked<T> = Result<T, SbomError>;

impl<'t> Parser<'t> {
    fn error_at(&self, offset: usize, message: impl Into<String>) -> SbomError {
        SbomError::at_offset(self.text, offset, message)
    }

    fn xml_error(&self, error: impl std::fmt::Display) -> SbomError {
        let offset = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
        self.error_at(offset, format!("malformed XML: {error}"))
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    /// Reads the next event, noting whether a start tag is in the CycloneDX namespace.
    fn next(&mut self) -> Checked<(bool, Event<'t>, usize)> {
        let offset = self.position();
        let (resolved, event) = match self.reader.read_resolved_event() {
            Ok(pair) => pair,
            Err(error) => return Err(self.xml_error(error)),
        };
        let in_namespace = match &resolved {
            ResolveResult::Bound(namespace) => namespace.as_ref() == self.namespace.as_bytes(),
            _ => false,
        };
        Ok((in_namespace, event, offset))
    }

    fn parse(mut self) -> Checked<Sbom> {
        let (root, offset) = loop {
            let offset = self.position();
            let (namespace, event) = match self.reader.read_resolved_event() {
                Ok((ResolveResult::Bound(namespace), event)) => (
                    String::from_utf8_lossy(namespace.as_ref()).into_owned(),
                    event,
                ),
                Ok((_, event)) => (String::new(), event),
                Err(error) => return Err(self.xml_error(error)),
            };
            match event {
                Event::Start(start) => {
                    self.namespace = namespace;
                    break (start, offset);
                }
                Event::Eof => return Err(self.error_at(offset, "no root element")),
                _ => continue,
            }
        };
        let local_name = String::from_utf8_lossy(root.local_name().as_ref()).into_owned();
        let version = self.namespace.strip_prefix(NAMESPACE_PREFIX);
        let (Some(version), "bom") = (version, local_name.as_str()) else {
            return Err(self.error_at(
                offset,
                format!(
                    "expected a <bom> root element in the namespace {NAMESPACE_PREFIX}1.x, found <{local_name}> in \"{}\"",
                    self.namespace
                ),
            ));
        };
        let spec_version = version.to_owned();
        self.minor = spec_minor_version(&spec_version).map_err(|message| {
            self.error_at(
                offset,
                format!("namespace \"{}\": {message}", self.namespace),
            )
        })?;
        let attributes = self.attributes(&root, offset)?;
        let find = |name: &str| {
            attributes
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let serial_number = find("serialNumber");
        if let Some(serial) = &serial_number {
            check_serial_number(serial).map_err(|message| self.error_at(offset, message))?;
        }
        if let Some(version) = find("version") {
            if !version.trim().parse::<u64>().is_ok_and(|v| v >= 1) {
                return Err(self.error_at(
                    offset,
                    format!("invalid BOM version \"{version}\": expected an integer of 1 or more"),
                ));
            }
        }

        let mut metadata = None;
        loop {
            let (in_namespace, event, offset) = self.next()?;
            match event {
                Event::Start(start) if in_namespace => match start.local_name().as_ref() {
                    b"components" => {
                        self.read_each("components", b"component", |parser, element| {
                            parser.flatten(element, None)
                        })?
                    }
                    b"metadata" => {
                        let element = self.read_element(&start, offset, 1)?;
                        metadata = Some(self.metadata(&element)?);
                    }
                    b"services" => {
                        let element = self.read_element(&start, offset, 1)?;
                        self.services(&element)?;
                    }
                    b"dependencies" => {
                        self.read_each("dependencies", b"dependency", Self::dependency)?
                    }
                    _ => self.skip()?,
                },
                Event::Start(_) => self.skip()?,
                Event::End(_) => break,
                Event::Eof => {
                    return Err(self.error_at(offset, "unexpected end of document inside <bom>"))
                }
                _ => {}
            }
        }
        let metadata = metadata.unwrap_or_default();
        Ok(Sbom {
            format: SbomFormat::CycloneDx,
            spec_version,
            serial_number,
            name: metadata.component.as_ref().map(|c| c.name.clone()),
            created: metadata.timestamp,
            tools: metadata.tools,
            primary_component: metadata.component,
            components: self.components,
            dependencies: self.dependencies,
            warnings: self.warnings.finish(),
        })
    }

    /// The unprefixed attributes of a CycloneDX element (prefixed ones are extensions or
    /// namespace declarations).
    fn attributes(&self, start: &BytesStart, offset: usize) -> Checked<Vec<(String, String)>> {
        let mut attributes = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute
                .map_err(|error| self.error_at(offset, format!("malformed attribute: {error}")))?;
            if attribute.key.prefix().is_some() || attribute.key.as_ref() == b"xmlns" {
                continue;
            }
            // CycloneDX documents are XML 1.0.
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|error| {
                    self.error_at(offset, format!("malformed attribute value: {error}"))
                })?;
            attributes.push((
                String::from_utf8_lossy(attribute.key.as_ref()).into_owned(),
                value.into_owned(),
            ));
        }
        Ok(attributes)
    }

    /// Skips the rest of the element whose start tag was just read.
    fn skip(&mut self) -> Checked<()> {
        let mut depth = 1usize;
        while depth > 0 {
            let (_, event, offset) = self.next()?;
            match event {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth -= 1,
                Event::Eof => return Err(self.error_at(offset, "unexpected end of document")),
                _ => {}
            }
        }
        Ok(())
    }

    /// Builds the tree of the element whose start tag was just read.
    fn read_element(
        &mut self,
        start: &BytesStart,
        offset: usize,
        depth: usize,
    ) -> Checked<Element> {
        if depth > MAX_DEPTH {
            return Err(self.error_at(offset, format!("elements nested deeper than {MAX_DEPTH}")));
        }
        let mut element = Element {
            name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
            attributes: self.attributes(start, offset)?,
            children: Vec::new(),
            text: String::new(),
            offset,
        };
        loop {
            let (in_namespace, event, child_offset) = self.next()?;
            match event {
                Event::Start(child) if in_namespace => {
                    let child = self.read_element(&child, child_offset, depth + 1)?;
                    element.children.push(child);
                }
                Event::Start(_) => self.skip()?,
                Event::End(_) => return Ok(element),
                Event::Text(text) => {
                    let text = text.decode().map_err(|error| self.xml_error(error))?;
                    // Indentation before the first child would only be trimmed away later;
                    // skipping it spares an allocation for every element with children.
                    if !(element.text.is_empty() && text.trim().is_empty()) {
                        element.text.push_str(&text);
                    }
                }
                Event::CData(data) => {
                    let data = data.decode().map_err(|error| self.xml_error(error))?;
                    element.text.push_str(&data);
                }
                Event::GeneralRef(reference) => {
                    let resolved = if reference.is_char_ref() {
                        reference
                            .resolve_char_ref()
                            .map_err(|error| self.xml_error(error))?
                    } else {
                        match reference
                            .decode()
                            .map_err(|error| self.xml_error(error))?
                            .as_ref()
                        {
                            "lt" => Some('<'),
                            "gt" => Some('>'),
                            "amp" => Some('&'),
                            "apos" => Some('\''),
                            "quot" => Some('"'),
                            _ => None,
                        }
                    };
                    match resolved {
                        Some(c) => element.text.push(c),
                        None => return Err(self.error_at(child_offset, "unknown entity reference")),
                    }
                }
                Event::Eof => {
                    return Err(self.error_at(
                        child_offset,
                        format!("unexpected end of document inside <{}>", element.name),
                    ))
                }
                _ => {}
            }
        }
    }

    /// Reads the children named `item` of the list element just opened (`<components>`,
    /// `<dependencies>`) one at a time, handing each tree to `handle` and dropping it.
    fn read_each(
        &mut self,
        list: &str,
        item: &[u8],
        mut handle: impl FnMut(&mut Self, &Element) -> Checked<()>,
    ) -> Checked<()> {
        loop {
            let (in_namespace, event, offset) = self.next()?;
            match event {
                Event::Start(start) if in_namespace && start.local_name().as_ref() == item => {
                    let element = self.read_element(&start, offset, 2)?;
                    handle(self, &element)?;
                }
                Event::Start(_) => self.skip()?,
                Event::End(_) => return Ok(()),
                Event::Eof => {
                    return Err(self.error_at(
                        offset,
                        format!("unexpected end of document inside <{list}>"),
                    ))
                }
                _ => {}
            }
        }
    }

    /// The element's `bom-ref`, remembered with where it is first used (`component`: its
    /// index in the list). A repeat is tolerated and recorded as a warning naming both lines.
    fn register_reference(
        &mut self,
        element: &Element,
        component: Option<usize>,
        outcome: &str,
    ) -> Checked<Option<String>> {
        let Some(reference) = element.attribute("bom-ref") else {
            return Ok(None);
        };
        check_reference(reference).map_err(|message| self.error_at(element.offset, message))?;
        if let Some(&(first, _)) = self.references.get(reference) {
            let (first_line, first_column) = crate::sbom::text::line_column(self.text, first);
            let (line, column) = crate::sbom::text::line_column(self.text, element.offset);
            self.warnings.push(
                Some(ErrorLocation::LineColumn { line, column }),
                format!("duplicate bom-ref \"{reference}\" (first used at line {first_line}, column {first_column}): {outcome}"),
            );
        } else {
            self.references
                .insert(reference.to_owned(), (element.offset, component));
        }
        Ok(Some(reference.to_owned()))
    }

    /// Appends the component and its nested components to the flat list. A component that
    /// repeats an earlier component's `bom-ref` is merged into it when identical (its nested
    /// components then hang below the first) and otherwise kept without the reference.
    fn flatten(&mut self, element: &Element, parent: Option<usize>) -> Checked<()> {
        let mut component = self.component(element)?;
        component.parent = parent;
        let repeat_of = element
            .attribute("bom-ref")
            .and_then(|reference| self.references.get(reference))
            .and_then(|(_, first)| *first);
        let merged_into = repeat_of.filter(|first| {
            let mut candidate = component.clone();
            candidate.bom_ref = self.components[*first].bom_ref.clone();
            same_component(&self.components[*first], &candidate)
        });
        let outcome = match (repeat_of, merged_into) {
            (_, Some(_)) => "merged into the identical first component",
            (Some(_), None) => "kept as a separate component without the bom-ref",
            (None, None) => "kept",
        };
        let index = self.components.len();
        let bom_ref = self.register_reference(element, Some(index), outcome)?;
        let children_parent = match merged_into {
            Some(first) => first,
            None => {
                component.bom_ref = if repeat_of.is_some() { None } else { bom_ref };
                self.components.push(component);
                index
            }
        };
        for child in element.items("components", "component") {
            self.flatten(child, Some(children_parent))?;
        }
        Ok(())
    }

    /// Checks and converts one component, not its nested components.
    fn component(&self, element: &Element) -> Checked<Component> {
        let at = |message: String| self.error_at(element.offset, message);
        let component_type = element
            .attribute("type")
            .ok_or_else(|| at("<component> is missing the required attribute `type`".into()))?;
        check_enum("component type", component_type, COMPONENT_TYPES).map_err(at)?;
        if let Some(reference) = element.attribute("bom-ref") {
            check_reference(reference).map_err(at)?;
        }
        let name = element
            .child_text("name")
            .ok_or_else(|| at("<component> is missing the required element <name>".into()))?;
        let purl = element.child_text("purl");
        if let Some(purl) = &purl {
            check_purl(purl).map_err(|message| {
                self.error_at(
                    element.child("purl").map_or(element.offset, |p| p.offset),
                    message,
                )
            })?;
        }
        let scope = element.child_text("scope");
        if let Some(scope) = &scope {
            check_enum("scope", scope, SCOPES).map_err(at)?;
        }
        let mut hashes = Vec::new();
        for hash in element.items("hashes", "hash") {
            hashes.push(self.hash(hash)?);
        }
        let licenses = match element.child("licenses") {
            Some(licenses) => self.licenses(licenses)?,
            None => Vec::new(),
        };
        if let Some(swid) = element.child("swid") {
            for required in ["tagId", "name"] {
                if swid.attribute(required).is_none() {
                    return Err(self.error_at(
                        swid.offset,
                        format!("<swid> is missing the required attribute `{required}`"),
                    ));
                }
            }
        }
        if let Some(pedigree) = element.child("pedigree") {
            self.pedigree(pedigree)?;
        }
        self.properties(element)?;
        Ok(Component {
            bom_ref: element.attribute("bom-ref").map(str::to_owned),
            parent: None,
            name,
            version: element.child_text("version"),
            group: element.child_text("group"),
            purl,
            cpe: element.child_text("cpe"),
            hashes,
            licenses,
            supplier: element.child("supplier").and_then(|s| s.child_text("name")),
            component_type: Some(component_type.to_owned()),
            scope,
        })
    }

    fn hash(&self, element: &Element) -> Checked<Hash> {
        let at = |message: String| self.error_at(element.offset, message);
        let algorithm = element
            .attribute("alg")
            .ok_or_else(|| at("<hash> is missing the required attribute `alg`".into()))?;
        check_enum("hash algorithm", algorithm, HASH_ALGORITHMS).map_err(at)?;
        let value = element.text.trim();
        check_hash_content(value).map_err(at)?;
        Ok(Hash {
            algorithm: algorithm.to_owned(),
            value: value.to_owned(),
        })
    }

    /// `<licenses>` holds any number of `<license>`s or exactly one `<expression>`.
    fn licenses(&self, element: &Element) -> Checked<Vec<License>> {
        let has_expression = element.children_named("expression").next().is_some();
        let entries = element
            .children
            .iter()
            .filter(|c| c.name == "license" || c.name == "expression")
            .count();
        if has_expression && entries > 1 {
            return Err(self.error_at(
                element.offset,
                "<licenses> holds either <license> elements or a single <expression>",
            ));
        }
        let mut licenses = Vec::new();
        for entry in &element.children {
            match entry.name.as_str() {
                "expression" => licenses.push(License::Expression(entry.text.trim().to_owned())),
                "license" => licenses.push(self.license(entry)?),
                _ => {}
            }
        }
        Ok(licenses)
    }

    fn license(&self, element: &Element) -> Checked<License> {
        let at = |message: &str| self.error_at(element.offset, message);
        let ids: Vec<&Element> = element.children_named("id").collect();
        let names: Vec<&Element> = element.children_named("name").collect();
        if let Some(text) = element.child("text") {
            if let Some(encoding) = text.attribute("encoding") {
                check_enum("attachment encoding", encoding, ATTACHMENT_ENCODINGS)
                    .map_err(|message| self.error_at(text.offset, message))?;
            }
        }
        self.properties(element)?;
        match (ids.as_slice(), names.as_slice()) {
            ([id], []) => {
                let id = id.text.trim();
                check_spdx_license_id(id).map_err(|message| at(&message))?;
                Ok(License::Id(id.to_owned()))
            }
            ([], [name]) => Ok(License::Name(name.text.trim().to_owned())),
            ([], []) => Err(at("<license> needs an <id> or a <name>")),
            _ => Err(at("<license> holds exactly one <id> or one <name>")),
        }
    }

    fn pedigree(&self, element: &Element) -> Checked<()> {
        // Ancestors, descendants and variants are checked, not added to the inventory.
        for list in ["ancestors", "descendants", "variants"] {
            for component in element.items(list, "component") {
                self.component(component)?;
            }
        }
        for patch in element.items("patches", "patch") {
            let patch_type = patch.attribute("type").ok_or_else(|| {
                self.error_at(
                    patch.offset,
                    "<patch> is missing the required attribute `type`",
                )
            })?;
            check_enum("patch type", patch_type, PATCH_TYPES)
                .map_err(|message| self.error_at(patch.offset, message))?;
            for issue in patch.items("resolves", "issue") {
                let issue_type = issue.attribute("type").ok_or_else(|| {
                    self.error_at(
                        issue.offset,
                        "<issue> is missing the required attribute `type`",
                    )
                })?;
                check_enum("issue type", issue_type, ISSUE_TYPES)
                    .map_err(|message| self.error_at(issue.offset, message))?;
            }
        }
        Ok(())
    }

    /// 1.6 requires every `<property>` to have a `name`.
    fn properties(&self, element: &Element) -> Checked<()> {
        if self.minor < 6 {
            return Ok(());
        }
        for property in element.items("properties", "property") {
            if property.attribute("name").is_none() {
                return Err(self.error_at(
                    property.offset,
                    "<property> is missing the required attribute `name`",
                ));
            }
        }
        Ok(())
    }

    fn metadata(&mut self, element: &Element) -> Checked<XmlMetadata> {
        let timestamp = element.child_text("timestamp");
        if let (Some(timestamp), Some(child)) = (&timestamp, element.child("timestamp")) {
            check_timestamp(timestamp, false)
                .map_err(|message| self.error_at(child.offset, message))?;
        }
        let mut tools = Vec::new();
        if let Some(list) = element.child("tools") {
            for tool in list.children_named("tool") {
                let parts: Vec<String> = ["vendor", "name", "version"]
                    .iter()
                    .filter_map(|part| tool.child_text(part))
                    .collect();
                tools.push(parts.join(" "));
            }
            for component in list.items("components", "component") {
                let component = self.component(component)?;
                let parts: Vec<&str> = [
                    component.group.as_deref(),
                    Some(&component.name),
                    component.version.as_deref(),
                ]
                .into_iter()
                .flatten()
                .collect();
                tools.push(parts.join(" "));
            }
            for service in list.items("services", "service") {
                if let Some(name) = service.child_text("name") {
                    tools.push(name);
                }
            }
        }
        let component = match element.child("component") {
            Some(child) => {
                let bom_ref = self.register_reference(child, None, "kept")?;
                let mut component = self.component(child)?;
                component.bom_ref = bom_ref;
                Some(component)
            }
            None => None,
        };
        if let Some(licenses) = element.child("licenses") {
            self.licenses(licenses)?;
        }
        self.properties(element)?;
        Ok(XmlMetadata {
            timestamp,
            tools,
            component,
        })
    }

    fn services(&mut self, element: &Element) -> Checked<()> {
        for service in element.children_named("service") {
            self.register_reference(service, None, "kept")?;
            if service.child("name").is_none() {
                return Err(self.error_at(
                    service.offset,
                    "<service> is missing the required element <name>",
                ));
            }
            self.properties(service)?;
            if let Some(data) = service.child("data") {
                self.data_flows(data)?;
            }
            if let Some(nested) = service.child("services") {
                self.services(nested)?;
            }
        }
        Ok(())
    }

    /// Every `flow` attribute under a service's `<data>` must be a known direction.
    fn data_flows(&self, element: &Element) -> Checked<()> {
        if let Some(flow) = element.attribute("flow") {
            check_enum("data flow", flow, DATA_FLOWS)
                .map_err(|message| self.error_at(element.offset, message))?;
        }
        for child in &element.children {
            self.data_flows(child)?;
        }
        Ok(())
    }

    /// One `<dependency ref="…">` with its `<dependency ref="…"/>` targets.
    fn dependency(&mut self, dependency: &Element) -> Checked<()> {
        let from = self.dependency_ref(dependency)?;
        for target in dependency.children_named("dependency") {
            let to = self.dependency_ref(target)?;
            self.dependencies.push(Dependency {
                from: from.clone(),
                to,
                relationship: Relationship::DependsOn,
            });
        }
        Ok(())
    }

    fn dependency_ref(&self, element: &Element) -> Checked<String> {
        let reference = element.attribute("ref").ok_or_else(|| {
            self.error_at(
                element.offset,
                "<dependency> is missing the required attribute `ref`",
            )
        })?;
        check_reference(reference).map_err(|message| self.error_at(element.offset, message))?;
        Ok(reference.to_owned())
    }
}

#[derive(Default)]
struct XmlMetadata {
    timestamp: Option<String>,
    tools: Vec<String>,
    component: Option<Component>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::ErrorLocation;

    const NESTED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" xmlns:ext="urn:example"
     serialNumber="urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" version="1">
  <metadata>
    <timestamp>2024-05-01T10:00:00Z</timestamp>
    <tools><tool><vendor>CycloneDX</vendor><name>cli</name><version>0.1</version></tool></tools>
    <component type="application" bom-ref="app"><name>shop</name></component>
  </metadata>
  <components>
    <component type="library" bom-ref="a">
      <supplier><name>Acme</name></supplier>
      <group>org.acme</group>
      <name>a &amp; b</name>
      <version>1.0</version>
      <scope>required</scope>
      <hashes><hash alg="SHA-1">e6b1000b94e835ffd37f4c6dcbdad43f4b48a02a</hash></hashes>
      <licenses><license><id>Apache-2.0</id></license><license><name>Custom</name></license></licenses>
      <cpe>cpe:2.3:a:acme:a:1.0:*:*:*:*:*:*:*</cpe>
      <purl><![CDATA[pkg:maven/org.acme/a@1.0]]></purl>
      <ext:note><ext:name>ignored extension</ext:name></ext:note>
      <components>
        <component type="library" bom-ref="a-inner">
          <name>inner</name>
          <licenses><expression>MIT OR Apache-2.0</expression></licenses>
          <components><component type="file"><name>deepest</name></component></components>
        </component>
      </components>
    </component>
    <component type="library" bom-ref="b"><name>b</name></component>
  </components>
  <dependencies>
    <dependency ref="app"><dependency ref="a"/><dependency ref="b"/></dependency>
    <dependency ref="a"><dependency ref="a-inner"/></dependency>
  </dependencies>
  <vulnerabilities><vulnerability><id>CVE-2024-0001</id></vulnerability></vulnerabilities>
</bom>
"#;

    #[test]
    fn flattens_nested_components_keeping_parents() {
        let sbom = parse_str(NESTED).unwrap();
        assert_eq!(sbom.spec_version, "1.5");
        assert_eq!(sbom.name.as_deref(), Some("shop"));
        assert_eq!(sbom.tools, vec!["CycloneDX cli 0.1".to_owned()]);
        let names: Vec<_> = sbom.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a & b", "inner", "deepest", "b"]);
        let parents: Vec<_> = sbom.components.iter().map(|c| c.parent).collect();
        assert_eq!(parents, [None, Some(0), Some(1), None]);
        let a = &sbom.components[0];
        assert_eq!(a.purl.as_deref(), Some("pkg:maven/org.acme/a@1.0"));
        assert_eq!(a.cpe.as_deref(), Some("cpe:2.3:a:acme:a:1.0:*:*:*:*:*:*:*"));
        assert_eq!(a.supplier.as_deref(), Some("Acme"));
        assert_eq!(a.hashes.len(), 1);
        assert_eq!(
            a.licenses,
            vec![
                License::Id("Apache-2.0".into()),
                License::Name("Custom".into())
            ]
        );
        let edges: Vec<_> = sbom
            .dependencies
            .iter()
            .map(|d| (d.from.as_str(), d.to.as_str()))
            .collect();
        assert_eq!(edges, [("app", "a"), ("app", "b"), ("a", "a-inner")]);
    }

    fn location_of(text: &str) -> (usize, usize) {
        match parse_str(text).unwrap_err().location {
            Some(ErrorLocation::LineColumn { line, column }) => (line, column),
            other => panic!("expected a line and column, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let bad_scope = NESTED.replace("<scope>required</scope>", "<scope>sometimes</scope>");
        assert_eq!(location_of(&bad_scope), (10, 5));
        let unclosed = NESTED.replace("</components>\n  <dependencies>", "\n  <dependencies>");
        assert!(parse_str(&unclosed).is_err());
        let mismatched = NESTED.replace("<version>1.0</version>", "<version>1.0</versio>");
        let (line, _) = location_of(&mismatched);
        assert_eq!(line, 14);
        let wrong_root = r#"<sbom xmlns="http://cyclonedx.org/schema/bom/1.5"/>"#;
        assert!(parse_str(wrong_root).unwrap_err().message.contains("<bom>"));
        let no_namespace = "<bom version=\"1\"><components/></bom>";
        assert_eq!(location_of(no_namespace), (1, 1));
        assert!(parse_str("").is_err());
        let unknown_entity = NESTED.replace("<name>b</name>", "<name>&bogus;</name>");
        let error = parse_str(&unknown_entity).unwrap_err();
        assert!(error.message.contains("unknown entity"), "{error}");
    }

    #[test]
    fn repeated_bom_refs_are_tolerated_with_a_warning_naming_both_lines() {
        let duplicate = NESTED.replace(r#"bom-ref="b""#, r#"bom-ref="a-inner""#);
        let sbom = parse_str(&duplicate).unwrap();
        let warnings: Vec<String> = sbom.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            ["line 29, column 5: duplicate bom-ref \"a-inner\" (first used at line 22, column 9): kept as a separate component without the bom-ref"]
        );
        let refs: Vec<_> = sbom
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.bom_ref.as_deref()))
            .collect();
        assert_eq!(
            refs,
            [
                ("a & b", Some("a")),
                ("inner", Some("a-inner")),
                ("deepest", None),
                ("b", None)
            ]
        );
        // An identical repeat (with its own nested component, identical too) merges.
        let b = r#"<component type="library" bom-ref="b"><name>b</name></component>"#;
        let repeated = NESTED.replace(b, &format!("{b}\n    {b}"));
        let sbom = parse_str(&repeated).unwrap();
        assert_eq!(sbom.components.len(), 4);
        assert_eq!(sbom.warnings.len(), 1);
        assert_eq!(
            sbom.warnings[0].to_string(),
            "line 30, column 5: duplicate bom-ref \"b\" (first used at line 29, column 5): merged into the identical first component"
        );
        assert!(parse_str(NESTED).unwrap().warnings.is_empty());
    }

    /// Dependency-Track's release SBOM as cyclonedx-maven-plugin writes it (CycloneDX 1.5
    /// XML, every `bom-ref` the component's purl, the bundled frontend's npm components
    /// merged in), with the repeats it was refused for: the same library listed twice, once
    /// identical and once with another scope, and the application itself repeated as a
    /// component. The real 2,185-component file is not in the shared corpora; this keeps its
    /// shape.
    fn dependency_track_shaped_bom() -> String {
        let maven = |group: &str, name: &str, version: &str, scope: &str| {
            let purl = format!("pkg:maven/{group}/{name}@{version}?type=jar");
            format!(
                r#"    <component type="library" bom-ref="{purl}">
      <publisher>{group}</publisher>
      <group>{group}</group>
      <name>{name}</name>
      <version>{version}</version>
      <scope>{scope}</scope>
      <hashes>
        <hash alg="SHA-256">5f8a1b5e0f4ad4fd4d0e9ff0f3c4bc04a8b9b0f3d1fd1c6c4fa5e4b2f0c9d8e7</hash>
      </hashes>
      <licenses><license><id>Apache-2.0</id></license></licenses>
      <purl>{purl}</purl>
    </component>
"#
            )
        };
        let npm = |name: &str, version: &str| {
            let purl = format!("pkg:npm/{}@{version}", name.replace('@', "%40"));
            format!(
                r#"    <component type="library" bom-ref="{purl}">
      <name>{name}</name>
      <version>{version}</version>
      <purl>{purl}</purl>
    </component>
"#
            )
        };
        let app = "pkg:maven/org.dependencytrack/dependency-track@4.11.0?type=war";
        let mut components = String::new();
        components += &maven("alpine", "alpine-server", "2.2.5", "required");
        components += &maven(
            "com.fasterxml.jackson.core",
            "jackson-databind",
            "2.17.0",
            "required",
        );
        components += &maven("org.jdbi", "jdbi3-core", "3.45.1", "required");
        components += &npm("@babel/runtime", "7.24.4");
        components += &npm("axios", "1.6.8");
        // Repeats: identical, then a different scope under the same reference.
        components += &maven(
            "com.fasterxml.jackson.core",
            "jackson-databind",
            "2.17.0",
            "required",
        );
        components += &maven("org.jdbi", "jdbi3-core", "3.45.1", "optional");
        components += &npm("axios", "1.6.8");
        components += &format!(
            r#"    <component type="application" bom-ref="{app}">
      <group>org.dependencytrack</group>
      <name>dependency-track</name>
      <version>4.11.0</version>
      <purl>{app}</purl>
    </component>
"#
        );
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.5" serialNumber="urn:uuid:5a0b5de4-3f8a-4a5e-9c5c-2f7e2e3b8f1a" version="1">
  <metadata>
    <timestamp>2024-05-07T10:47:23Z</timestamp>
    <lifecycles><lifecycle><phase>build</phase></lifecycle></lifecycles>
    <tools>
      <components>
        <component type="library">
          <group>org.cyclonedx</group>
          <name>cyclonedx-maven-plugin</name>
          <version>2.8.0</version>
        </component>
      </components>
    </tools>
    <component type="application" bom-ref="{app}">
      <supplier><name>OWASP Foundation</name><url>https://owasp.org/</url></supplier>
      <group>org.dependencytrack</group>
      <name>dependency-track</name>
      <version>4.11.0</version>
      <licenses><license><id>Apache-2.0</id></license></licenses>
      <purl>{app}</purl>
    </component>
    <properties><property name="maven.goal">makeBom</property></properties>
  </metadata>
  <components>
{components}  </components>
  <dependencies>
    <dependency ref="{app}">
      <dependency ref="pkg:maven/alpine/alpine-server@2.2.5?type=jar"/>
      <dependency ref="pkg:maven/org.jdbi/jdbi3-core@3.45.1?type=jar"/>
    </dependency>
    <dependency ref="pkg:maven/alpine/alpine-server@2.2.5?type=jar">
      <dependency ref="pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.0?type=jar"/>
    </dependency>
  </dependencies>
</bom>
"#
        )
    }

    #[test]
    fn dependency_track_shaped_bom_with_repeated_refs_is_read_with_warnings() {
        let text = dependency_track_shaped_bom();
        let sbom = parse_str(&text).unwrap_or_else(|e| panic!("refused: {e}"));
        let listed: Vec<_> = sbom
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.scope.as_deref(), c.bom_ref.is_some()))
            .collect();
        assert_eq!(
            listed,
            [
                ("alpine-server", Some("required"), true),
                ("jackson-databind", Some("required"), true),
                ("jdbi3-core", Some("required"), true),
                ("@babel/runtime", None, true),
                ("axios", None, true),
                // The repeat with another scope stays, without the taken reference.
                ("jdbi3-core", Some("optional"), false),
                // The application listed again keeps its reference (the metadata component
                // is not in the list).
                ("dependency-track", None, true),
            ]
        );
        let warnings: Vec<String> = sbom.warnings.iter().map(ToString::to_string).collect();
        let line_of = |needle: &str, nth: usize| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| line.contains(needle))
                .nth(nth)
                .map(|(index, _)| index + 1)
                .unwrap()
        };
        let jackson =
            r#"bom-ref="pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.0?type=jar""#;
        let jdbi = r#"bom-ref="pkg:maven/org.jdbi/jdbi3-core@3.45.1?type=jar""#;
        let axios = r#"bom-ref="pkg:npm/axios@1.6.8""#;
        let app = r#"bom-ref="pkg:maven/org.dependencytrack/dependency-track@4.11.0?type=war""#;
        assert_eq!(
            warnings,
            [
                format!("line {}, column 5: duplicate bom-ref \"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.0?type=jar\" (first used at line {}, column 5): merged into the identical first component", line_of(jackson, 1), line_of(jackson, 0)),
                format!("line {}, column 5: duplicate bom-ref \"pkg:maven/org.jdbi/jdbi3-core@3.45.1?type=jar\" (first used at line {}, column 5): kept as a separate component without the bom-ref", line_of(jdbi, 1), line_of(jdbi, 0)),
                format!("line {}, column 5: duplicate bom-ref \"pkg:npm/axios@1.6.8\" (first used at line {}, column 5): merged into the identical first component", line_of(axios, 1), line_of(axios, 0)),
                format!("line {}, column 5: duplicate bom-ref \"pkg:maven/org.dependencytrack/dependency-track@4.11.0?type=war\" (first used at line {}, column 5): kept", line_of(app, 1), line_of(app, 0)),
            ]
        );
        assert_eq!(sbom.dependencies.len(), 3);
    }

    #[test]
    fn reads_utf16_documents() {
        let text = NESTED.replace("encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
        let bytes: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let sbom = crate::sbom::parse_cyclonedx_xml(&bytes).unwrap();
        assert_eq!(sbom.components.len(), 4);
        assert_eq!(sbom.components[0].name, "a & b");
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"><metadata>{}{}</metadata></bom>",
            "<x>".repeat(100_000),
            "</x>".repeat(100_000)
        );
        assert!(parse_str(&deep)
            .unwrap_err()
            .message
            .contains("nested deeper"));
    }
}
