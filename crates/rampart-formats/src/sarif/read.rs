//! A tolerant reader of other tools' SARIF 2.1.0 logs (CodeQL, Semgrep, SpotBugs, gitleaks,
//! flawfinder, …): one [`CodeResult`] per result location, with what a code finding needs
//! (tool, rule with its help and CWE/OWASP tags, level and `security-severity` → severity,
//! message, file, region, snippet, code flows) and the identity that recognises the same
//! result in a later upload.
//!
//! Structural errors that leave a log unreadable (the schema's types and enums on what we
//! read: `runs` not a list, a tool without a driver name, a level SARIF does not define, a
//! region line below 1, …) are [`SarifError::Invalid`] naming the RFC 6901 pointer; the
//! caller stores nothing. Deviations real tools produce in parts that can still be read (a
//! result without a message, fingerprints nested in objects, SARIF 2.2's version) are
//! [`SarifWarning`]s with their pointer. The tests check the fatal errors against the OASIS
//! schema in the shared test data.
//!
//! ## Identity (deduplication that survives code motion)
//! A result's identity never uses a line number. With `fingerprints` or `partialFingerprints`
//! it is the tool plus the first scheme's value (fingerprints before partial ones, schemes
//! in name order) plus the location's file; every other scheme gives an alternate identity,
//! so a finding matches when any of them does. Without fingerprints it is the tool, rule,
//! file, the normalised snippet (whitespace collapsed) or else the message with digits
//! masked, the logical location, and the occurrence of that key in the file in line order
//! (two identical calls in one file stay two findings).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::advisory::SeverityBand;

/// What the uploader can be told went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SarifError {
    /// Not a SARIF log at all (not JSON, damaged gzip, no `runs`/`version`).
    #[error("{0}")]
    NotSarif(String),
    /// A SARIF log whose structure cannot be read at `pointer`.
    #[error("{pointer}: {message}")]
    Invalid { pointer: String, message: String },
    #[error("the SARIF log is larger than the {limit}-byte limit once decoded")]
    TooLarge { limit: usize },
    /// A run holds more results than allowed (GitHub code scanning's limit is 25,000).
    #[error("{pointer}: a run holds {count} results, more than the limit of {limit}")]
    TooManyResults {
        pointer: String,
        count: usize,
        limit: usize,
    },
}

fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> SarifError {
    SarifError::Invalid {
        pointer: pointer.into(),
        message: message.into(),
    }
}

/// A tolerated deviation, where it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SarifWarning {
    pub pointer: String,
    pub message: String,
}

/// A result that is not a finding (a `pass`, a `notApplicable`), counted with its reason.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedResult {
    pub pointer: String,
    pub reason: String,
}

/// Limits of one read.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    pub max_results_per_run: usize,
    /// Warnings kept; the rest are counted in the last one.
    pub max_warnings: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_results_per_run: 25_000,
            max_warnings: 100,
        }
    }
}

/// A log as read.
#[derive(Debug, Clone)]
pub struct SarifReport {
    pub version: String,
    pub runs: Vec<RunReport>,
    pub warnings: Vec<SarifWarning>,
    pub skipped: Vec<SkippedResult>,
}

impl SarifReport {
    pub fn result_count(&self) -> usize {
        self.runs.iter().map(|run| run.results.len()).sum()
    }
}

/// One run: the tool, where the code came from, its results.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub tool_name: String,
    pub tool_version: Option<String>,
    /// `versionControlProvenance[0]`.
    pub repository: Option<String>,
    pub revision: Option<String>,
    pub branch: Option<String>,
    pub results: Vec<CodeResult>,
}

/// A result at one location: one code finding.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeResult {
    /// Where the result is in the log (`/runs/0/results/3`).
    pub pointer: String,
    /// Hex SHA-256: see the module documentation.
    pub identity: String,
    /// Identities by the result's other fingerprint schemes.
    pub alternate_identities: Vec<String>,
    /// The fingerprints as given (scheme → value), partial ones prefixed `partial:`.
    pub fingerprints: BTreeMap<String, String>,
    pub rule_id: String,
    pub rule_name: Option<String>,
    /// The rule's help (text or markdown), else its full description.
    pub rule_help: Option<String>,
    pub help_uri: Option<String>,
    /// The rule's and result's tags.
    pub tags: Vec<String>,
    /// `CWE-79`, from tags (`external/cwe/cwe-079`, `CWE-89: …`) and CWE taxonomy relations.
    pub cwes: Vec<String>,
    /// OWASP categories named by tags (`A03:2021`, `OWASP-A1`).
    pub owasp: Vec<String>,
    /// `error`, `warning`, `note` or `none` (result, else the rule's default, else warning).
    pub level: &'static str,
    pub security_severity: Option<f64>,
    pub severity: SeverityBand,
    pub message: String,
    pub path: Option<String>,
    pub start_line: Option<i64>,
    pub start_column: Option<i64>,
    pub end_line: Option<i64>,
    pub end_column: Option<i64>,
    pub snippet: Option<String>,
    /// `codeFlows` as given: the evidence of a taint path.
    pub code_flows: Option<Value>,
    /// An accepted (or status-less) suppression applies.
    pub suppressed: bool,
    pub suppression_justification: Option<String>,
}

/// Reads a decoded log.
pub fn read_sarif(bytes: &[u8], limits: ReadLimits) -> Result<SarifReport, SarifError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let document: Value = serde_json::from_slice(bytes).map_err(|error| {
        SarifError::NotSarif(format!(
            "not well-formed JSON at line {} column {}: {error}",
            error.line(),
            error.column()
        ))
    })?;
    let mut reader = Reader {
        warnings: Vec::new(),
        dropped_warnings: 0,
        skipped: Vec::new(),
        limits,
    };
    let report = reader.log(&document)?;
    Ok(report)
}

struct Reader {
    warnings: Vec<SarifWarning>,
    dropped_warnings: usize,
    skipped: Vec<SkippedResult>,
    limits: ReadLimits,
}

/// A result location before its identity is known.
struct Pending {
    result: CodeResult,
    base_key: Option<String>,
    sort_line: (i64, i64),
}

fn object<'a>(value: &'a Value, pointer: &str) -> Result<&'a Map<String, Value>, SarifError> {
    value
        .as_object()
        .ok_or_else(|| invalid(pointer, "must be an object"))
}

/// An optional member that must be a list when present (`null` counts as absent).
fn optional_array<'a>(
    parent: &'a Map<String, Value>,
    name: &str,
    pointer: &str,
) -> Result<&'a [Value], SarifError> {
    match parent.get(name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid(format!("{pointer}/{name}"), "must be an array")),
    }
}

fn optional_object<'a>(
    parent: &'a Map<String, Value>,
    name: &str,
    pointer: &str,
) -> Result<Option<&'a Map<String, Value>>, SarifError> {
    match parent.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(invalid(format!("{pointer}/{name}"), "must be an object")),
    }
}

fn optional_string<'a>(
    parent: &'a Map<String, Value>,
    name: &str,
    pointer: &str,
) -> Result<Option<&'a str>, SarifError> {
    match parent.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(invalid(format!("{pointer}/{name}"), "must be a string")),
    }
}

/// A 1-based line or column: an integer of at least 1 when present.
fn optional_position(
    parent: &Map<String, Value>,
    name: &str,
    pointer: &str,
) -> Result<Option<i64>, SarifError> {
    match parent.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_i64() {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(invalid(
                format!("{pointer}/{name}"),
                "must be an integer of at least 1",
            )),
        },
    }
}

/// A message's text: `text`, else `markdown`, else the rule's message string `id`, with
/// `{0}`-style arguments filled in.
fn message_text(message: &Map<String, Value>, rule: Option<&Map<String, Value>>) -> Option<String> {
    let template = message
        .get("text")
        .and_then(Value::as_str)
        .or_else(|| message.get("markdown").and_then(Value::as_str))
        .map(str::to_string)
        .or_else(|| {
            let id = message.get("id")?.as_str()?;
            let strings = rule?.get("messageStrings")?.as_object()?;
            let entry = strings.get(id)?.as_object()?;
            entry
                .get("text")
                .or_else(|| entry.get("markdown"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })?;
    let arguments: Vec<&str> = message
        .get("arguments")
        .and_then(Value::as_array)
        .map(|args| args.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if arguments.is_empty() {
        return Some(template);
    }
    let mut text = template;
    for (index, argument) in arguments.iter().enumerate() {
        text = text.replace(&format!("{{{index}}}"), argument);
    }
    Some(text)
}

/// For a result whose message cannot be read: the rule's description, else its id.
fn fallback_message(rule: Option<&Map<String, Value>>, rule_id: &str) -> String {
    rule.and_then(|r| text_of(r.get("shortDescription")))
        .or_else(|| rule.and_then(|r| text_of(r.get("fullDescription"))))
        .unwrap_or_else(|| rule_id.to_string())
}

fn text_of(value: Option<&Value>) -> Option<String> {
    let map = value?.as_object()?;
    map.get("text")
        .or_else(|| map.get("markdown"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// GitHub code scanning's bands of `security-severity`: above 9.0 critical, 7.0 to 8.9 high,
/// 4.0 to 6.9 medium, 0.1 to 3.9 low.
pub fn band_of_security_severity(score: f64) -> SeverityBand {
    if score > 9.0 {
        SeverityBand::Critical
    } else if score >= 7.0 {
        SeverityBand::High
    } else if score >= 4.0 {
        SeverityBand::Medium
    } else if score > 0.0 {
        SeverityBand::Low
    } else {
        SeverityBand::None
    }
}

/// Without a `security-severity`: error → high, warning → medium, note → low, none → none.
pub fn band_of_level(level: &str) -> SeverityBand {
    match level {
        "error" => SeverityBand::High,
        "warning" => SeverityBand::Medium,
        "note" => SeverityBand::Low,
        _ => SeverityBand::None,
    }
}

fn level_name(level: &str) -> Option<&'static str> {
    ["none", "note", "warning", "error"]
        .into_iter()
        .find(|known| *known == level)
}

fn security_severity(properties: Option<&Value>) -> Option<f64> {
    let value = properties?.get("security-severity")?;
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .filter(|score: &f64| (0.0..=10.0).contains(score))
}

fn tags_of(properties: Option<&Value>) -> Vec<String> {
    properties
        .and_then(|p| p.get("tags"))
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `CWE-79` from `external/cwe/cwe-079`, `CWE-89: Improper …`, `cwe-22`.
pub fn cwe_of_tag(tag: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.rfind("cwe")?;
    let digits: String = lower[at + 3..]
        .trim_start_matches(['-', '_', ' ', '/', ':'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let number: u32 = digits.parse().ok()?;
    Some(format!("CWE-{number}"))
}

/// An OWASP category named by a tag: `A03:2021 - Injection` → `A03:2021`, `OWASP-A1` → `A1`.
pub fn owasp_of_tag(tag: &str) -> Option<String> {
    let upper = tag.to_ascii_uppercase();
    let mentions_owasp = upper.contains("OWASP");
    let bytes = upper.as_bytes();
    for start in 0..bytes.len() {
        if bytes[start] != b'A' || (start > 0 && bytes[start - 1].is_ascii_alphanumeric()) {
            continue;
        }
        let digits: String = upper[start + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if digits.is_empty() || digits.len() > 2 {
            continue;
        }
        let rest = &upper[start + 1 + digits.len()..];
        if let Some(year) = rest.strip_prefix(':') {
            let year: String = year.chars().take_while(char::is_ascii_digit).collect();
            if year.len() == 4 {
                return Some(format!("A{digits}:{year}"));
            }
        }
        if mentions_owasp {
            return Some(format!("A{digits}"));
        }
    }
    None
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_digits = false;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(ch);
        }
    }
    collapse_whitespace(&out)
}

fn hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex_encode(&hasher.finalize())
}

fn hex_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0xf)] as char);
    }
    out
}

/// A repository-relative path: `file://` and leading `./` removed, backslashes as slashes.
fn normalise_path(uri: &str) -> String {
    let mut path = uri.trim();
    if let Some(rest) = path.strip_prefix("file://") {
        path = rest;
    }
    let mut path = path.replace('\\', "/");
    while let Some(rest) = path.strip_prefix("./") {
        path = rest.to_string();
    }
    path
}

impl Reader {
    fn warn(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        if self.warnings.len() < self.limits.max_warnings {
            self.warnings.push(SarifWarning {
                pointer: pointer.into(),
                message: message.into(),
            });
        } else {
            self.dropped_warnings += 1;
        }
    }

    fn log(&mut self, document: &Value) -> Result<SarifReport, SarifError> {
        let log = document.as_object().ok_or_else(|| {
            SarifError::NotSarif("a SARIF log is a JSON object with `version` and `runs`".into())
        })?;
        let version = match log.get("version") {
            Some(Value::String(version)) => version.clone(),
            Some(_) => return Err(invalid("/version", "must be the string \"2.1.0\"")),
            None if !log.contains_key("runs") => {
                return Err(SarifError::NotSarif(
                    "not a SARIF log: no `version` and no `runs`".into(),
                ))
            }
            None => return Err(invalid("/version", "is required (\"2.1.0\")")),
        };
        match version.as_str() {
            "2.1.0" => {}
            // 2.2 keeps the object model this reader uses.
            "2.2" => self.warn(
                "/version",
                "SARIF 2.2 read as 2.1.0 (the parts read here did not change)",
            ),
            other => {
                return Err(invalid(
                    "/version",
                    format!("SARIF {other:?} is not supported; upload SARIF 2.1.0"),
                ))
            }
        }
        if !log.contains_key("runs") {
            return Err(invalid("/runs", "is required (an array of runs, or null)"));
        }
        let runs = optional_array(log, "runs", "")?;
        let mut read_runs = Vec::with_capacity(runs.len());
        for (index, run) in runs.iter().enumerate() {
            read_runs.push(self.run(run, &format!("/runs/{index}"))?);
        }
        if self.dropped_warnings > 0 {
            let dropped = self.dropped_warnings;
            self.warnings.push(SarifWarning {
                pointer: String::new(),
                message: format!("{dropped} more warnings not listed"),
            });
        }
        Ok(SarifReport {
            version,
            runs: read_runs,
            warnings: std::mem::take(&mut self.warnings),
            skipped: std::mem::take(&mut self.skipped),
        })
    }

    fn run(&mut self, run: &Value, pointer: &str) -> Result<RunReport, SarifError> {
        let run = object(run, pointer)?;
        let tool = run
            .get("tool")
            .ok_or_else(|| invalid(format!("{pointer}/tool"), "is required"))?;
        let tool = object(tool, &format!("{pointer}/tool"))?;
        let driver_pointer = format!("{pointer}/tool/driver");
        let driver = tool
            .get("driver")
            .ok_or_else(|| invalid(&driver_pointer, "is required"))?;
        let driver = object(driver, &driver_pointer)?;
        let tool_name = match driver.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_string(),
            _ => {
                return Err(invalid(
                    format!("{driver_pointer}/name"),
                    "is required (a non-empty string)",
                ))
            }
        };
        let tool_version = optional_string(driver, "semanticVersion", &driver_pointer)
            .ok()
            .flatten()
            .or(optional_string(driver, "version", &driver_pointer)?)
            .map(str::to_string);
        let driver_rules = optional_array(driver, "rules", &driver_pointer)?;
        let mut rules_by_id: HashMap<&str, &Map<String, Value>> = HashMap::new();
        for (index, rule) in driver_rules.iter().enumerate() {
            let rule_pointer = format!("{driver_pointer}/rules/{index}");
            let rule = object(rule, &rule_pointer)?;
            match rule.get("id") {
                Some(Value::String(id)) => {
                    rules_by_id.entry(id.as_str()).or_insert(rule);
                }
                _ => {
                    return Err(invalid(
                        format!("{rule_pointer}/id"),
                        "is required (a string)",
                    ))
                }
            }
        }
        let extensions = optional_array(tool, "extensions", &format!("{pointer}/tool"))?;
        let (repository, revision, branch) = self.provenance(run, pointer)?;
        let artifacts = optional_array(run, "artifacts", pointer)?;
        let results = optional_array(run, "results", pointer)?;
        if results.len() > self.limits.max_results_per_run {
            return Err(SarifError::TooManyResults {
                pointer: format!("{pointer}/results"),
                count: results.len(),
                limit: self.limits.max_results_per_run,
            });
        }
        let context = RunContext {
            driver_rules,
            rules_by_id,
            extensions,
            artifacts,
        };
        let mut pending = Vec::with_capacity(results.len());
        for (index, result) in results.iter().enumerate() {
            let result_pointer = format!("{pointer}/results/{index}");
            self.result(result, &result_pointer, &context, &mut pending)?;
        }
        Ok(RunReport {
            results: assign_identities(&tool_name, pending),
            tool_name,
            tool_version,
            repository,
            revision,
            branch,
        })
    }

    #[allow(clippy::type_complexity)]
    fn provenance(
        &mut self,
        run: &Map<String, Value>,
        pointer: &str,
    ) -> Result<(Option<String>, Option<String>, Option<String>), SarifError> {
        let entries = optional_array(run, "versionControlProvenance", pointer)?;
        let Some(first) = entries.first() else {
            return Ok((None, None, None));
        };
        let entry_pointer = format!("{pointer}/versionControlProvenance/0");
        let entry = object(first, &entry_pointer)?;
        let repository = optional_string(entry, "repositoryUri", &entry_pointer)?;
        if repository.is_none() {
            self.warn(
                format!("{entry_pointer}/repositoryUri"),
                "versionControlProvenance without repositoryUri",
            );
        }
        Ok((
            repository.map(str::to_string),
            optional_string(entry, "revisionId", &entry_pointer)?.map(str::to_string),
            optional_string(entry, "branch", &entry_pointer)?.map(str::to_string),
        ))
    }

    fn result(
        &mut self,
        result: &Value,
        pointer: &str,
        context: &RunContext<'_>,
        pending: &mut Vec<Pending>,
    ) -> Result<(), SarifError> {
        let result = object(result, pointer)?;
        if let Some(kind) = optional_string(result, "kind", pointer)? {
            if kind != "fail" {
                self.skipped.push(SkippedResult {
                    pointer: pointer.to_string(),
                    reason: format!("kind `{kind}` is not a finding"),
                });
                return Ok(());
            }
        }
        let rule = self.rule_of(result, pointer, context)?;
        let rule_id = optional_string(result, "ruleId", pointer)?
            .map(str::to_string)
            .or_else(|| {
                result
                    .get("rule")
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .or_else(|| {
                rule.and_then(|r| r.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        let rule_id = match rule_id {
            Some(id) => id,
            None => {
                self.warn(pointer, "result without ruleId: filed under rule `unknown`");
                "unknown".to_string()
            }
        };
        let default_level = rule
            .and_then(|r| r.get("defaultConfiguration"))
            .and_then(|c| c.get("level"))
            .and_then(Value::as_str)
            .and_then(level_name);
        let level = match optional_string(result, "level", pointer)? {
            Some(level) => level_name(level).ok_or_else(|| {
                invalid(
                    format!("{pointer}/level"),
                    format!("{level:?} is not a SARIF level (none, note, warning, error)"),
                )
            })?,
            None => default_level.unwrap_or("warning"),
        };
        let message = match optional_object(result, "message", pointer)? {
            Some(message) => match (message_text(message, rule), message.get("id")) {
                (Some(text), _) => text,
                (None, Some(Value::String(id))) => {
                    self.warn(
                        format!("{pointer}/message/id"),
                        format!("message string {id:?} is not among the rule's: the rule's description is used"),
                    );
                    fallback_message(rule, &rule_id)
                }
                (None, _) => {
                    return Err(invalid(
                        format!("{pointer}/message"),
                        "needs `text`, `markdown` or the `id` of a rule message string",
                    ))
                }
            },
            None => {
                self.warn(
                    format!("{pointer}/message"),
                    "result without a message: the rule's description is used",
                );
                fallback_message(rule, &rule_id)
            }
        };
        let rule_properties = rule.and_then(|r| r.get("properties"));
        let result_properties = result.get("properties");
        let score = security_severity(result_properties).or(security_severity(rule_properties));
        let severity = score.map_or_else(|| band_of_level(level), band_of_security_severity);
        let mut tags = tags_of(rule_properties);
        for tag in tags_of(result_properties) {
            push_unique(&mut tags, tag);
        }
        let mut cwes = Vec::new();
        let mut owasp = Vec::new();
        for tag in &tags {
            if let Some(cwe) = cwe_of_tag(tag) {
                push_unique(&mut cwes, cwe);
            }
            if let Some(category) = owasp_of_tag(tag) {
                push_unique(&mut owasp, category);
            }
        }
        let relations = rule
            .and_then(|r| r.get("relationships"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|relation| relation.get("target"));
        let taxa = result
            .get("taxa")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for target in relations.chain(taxa) {
            let component = target
                .get("toolComponent")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(id) = target.get("id").and_then(Value::as_str) {
                if component.eq_ignore_ascii_case("cwe") {
                    if let Some(cwe) = cwe_of_tag(&format!("CWE-{}", id.trim_start_matches("CWE-")))
                    {
                        push_unique(&mut cwes, cwe);
                    }
                } else if component.to_ascii_uppercase().contains("OWASP") {
                    push_unique(&mut owasp, id.to_string());
                }
            }
        }
        let (suppressed, suppression_justification) = self.suppression(result, pointer)?;
        let fingerprints = self.fingerprints(result, pointer)?;
        let code_flows = match result.get("codeFlows") {
            None | Some(Value::Null) => None,
            Some(Value::Array(flows)) if flows.is_empty() => None,
            Some(flows @ Value::Array(_)) => Some(flows.clone()),
            Some(_) => return Err(invalid(format!("{pointer}/codeFlows"), "must be an array")),
        };
        let logical = result
            .get("locations")
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .and_then(|l| l.get("logicalLocations"))
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .and_then(|l| l.get("fullyQualifiedName").or_else(|| l.get("name")))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let template = CodeResult {
            pointer: pointer.to_string(),
            identity: String::new(),
            alternate_identities: Vec::new(),
            fingerprints,
            rule_id,
            rule_name: rule
                .and_then(|r| r.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string),
            rule_help: rule
                .and_then(|r| text_of(r.get("help")).or_else(|| text_of(r.get("fullDescription")))),
            help_uri: rule
                .and_then(|r| r.get("helpUri"))
                .and_then(Value::as_str)
                .map(str::to_string),
            tags,
            cwes,
            owasp,
            level,
            security_severity: score,
            severity,
            message,
            path: None,
            start_line: None,
            start_column: None,
            end_line: None,
            end_column: None,
            snippet: None,
            code_flows,
            suppressed,
            suppression_justification,
        };
        let locations = optional_array(result, "locations", pointer)?;
        if locations.is_empty() {
            let base_key = template
                .fingerprints
                .is_empty()
                .then(|| base_key(&template, &logical));
            pending.push(Pending {
                result: template,
                base_key,
                sort_line: (0, 0),
            });
            return Ok(());
        }
        for (index, location) in locations.iter().enumerate() {
            let location_pointer = format!("{pointer}/locations/{index}");
            let mut located = template.clone();
            if locations.len() > 1 {
                located.pointer = location_pointer.clone();
            }
            self.locate(location, &location_pointer, context, &mut located)?;
            let base_key = located
                .fingerprints
                .is_empty()
                .then(|| base_key(&located, &logical));
            let sort_line = (
                located.start_line.unwrap_or(0),
                located.start_column.unwrap_or(0),
            );
            pending.push(Pending {
                result: located,
                base_key,
                sort_line,
            });
        }
        Ok(())
    }

    /// The rule a result names: `rule.index`/`ruleIndex` into the driver's (or an
    /// extension's) rules, else by id.
    fn rule_of<'a>(
        &mut self,
        result: &Map<String, Value>,
        pointer: &str,
        context: &RunContext<'a>,
    ) -> Result<Option<&'a Map<String, Value>>, SarifError> {
        let reference = optional_object(result, "rule", pointer)?;
        let index = result.get("ruleIndex").and_then(Value::as_i64).or_else(|| {
            reference
                .and_then(|r| r.get("index"))
                .and_then(Value::as_i64)
        });
        let extension = reference
            .and_then(|r| r.get("toolComponent"))
            .and_then(|c| c.get("index"))
            .and_then(Value::as_u64);
        let rules: &[Value] = match extension {
            Some(component) => context
                .extensions
                .get(component as usize)
                .and_then(|e| e.get("rules"))
                .and_then(Value::as_array)
                .map_or(&[], Vec::as_slice),
            None => context.driver_rules,
        };
        if let Some(index) = index.filter(|i| *i >= 0) {
            match rules.get(index as usize).and_then(Value::as_object) {
                Some(rule) => return Ok(Some(rule)),
                None => self.warn(
                    format!("{pointer}/ruleIndex"),
                    format!("rule index {index} names no rule of the tool"),
                ),
            }
        }
        let id = result
            .get("ruleId")
            .and_then(Value::as_str)
            .or_else(|| reference.and_then(|r| r.get("id")).and_then(Value::as_str));
        Ok(id.and_then(|id| {
            // `CA1000/1` names rule `CA1000` (§3.27.5: hierarchical ids).
            context
                .rules_by_id
                .get(id)
                .or_else(|| {
                    id.split('/')
                        .next()
                        .and_then(|base| context.rules_by_id.get(base))
                })
                .copied()
        }))
    }

    fn suppression(
        &mut self,
        result: &Map<String, Value>,
        pointer: &str,
    ) -> Result<(bool, Option<String>), SarifError> {
        let suppressions = optional_array(result, "suppressions", pointer)?;
        for (index, suppression) in suppressions.iter().enumerate() {
            let suppression_pointer = format!("{pointer}/suppressions/{index}");
            let suppression = object(suppression, &suppression_pointer)?;
            let status = optional_string(suppression, "status", &suppression_pointer)?;
            match status {
                None | Some("accepted") => {
                    let justification =
                        optional_string(suppression, "justification", &suppression_pointer)?
                            .map(str::to_string);
                    return Ok((true, justification));
                }
                Some("underReview" | "rejected") => {}
                Some(other) => {
                    return Err(invalid(
                        format!("{suppression_pointer}/status"),
                        format!(
                        "{other:?} is not a suppression status (accepted, underReview, rejected)"
                    ),
                    ))
                }
            }
        }
        Ok((false, None))
    }

    fn fingerprints(
        &mut self,
        result: &Map<String, Value>,
        pointer: &str,
    ) -> Result<BTreeMap<String, String>, SarifError> {
        let mut out = BTreeMap::new();
        for (member, prefix) in [("fingerprints", ""), ("partialFingerprints", "partial:")] {
            let Some(map) = optional_object(result, member, pointer)? else {
                continue;
            };
            for (scheme, value) in map {
                let value = match value {
                    Value::String(text) => Some(text.clone()),
                    // Black Duck nests `{"value": …}`: read it, say so.
                    Value::Object(nested) => {
                        let inner = nested
                            .get("value")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        if inner.is_some() {
                            self.warn(
                                format!("{pointer}/{member}/{}", escape_pointer(scheme)),
                                "fingerprint nested in an object: its `value` is used",
                            );
                        }
                        inner
                    }
                    _ => None,
                };
                match value.filter(|v| !v.is_empty()) {
                    Some(value) => {
                        out.insert(format!("{prefix}{scheme}"), value);
                    }
                    None => self.warn(
                        format!("{pointer}/{member}/{}", escape_pointer(scheme)),
                        "fingerprint is not a string: ignored",
                    ),
                }
            }
        }
        Ok(out)
    }

    fn locate(
        &mut self,
        location: &Value,
        pointer: &str,
        context: &RunContext<'_>,
        into: &mut CodeResult,
    ) -> Result<(), SarifError> {
        let location = object(location, pointer)?;
        let Some(physical) = optional_object(location, "physicalLocation", pointer)? else {
            return Ok(());
        };
        let physical_pointer = format!("{pointer}/physicalLocation");
        if let Some(artifact) = optional_object(physical, "artifactLocation", &physical_pointer)? {
            let artifact_pointer = format!("{physical_pointer}/artifactLocation");
            let uri = match optional_string(artifact, "uri", &artifact_pointer)? {
                Some(uri) => Some(uri.to_string()),
                None => artifact
                    .get("index")
                    .and_then(Value::as_u64)
                    .and_then(|i| context.artifacts.get(i as usize))
                    .and_then(|a| a.get("location"))
                    .and_then(|l| l.get("uri"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            into.path = uri.as_deref().map(normalise_path);
        }
        if let Some(region) = optional_object(physical, "region", &physical_pointer)? {
            let region_pointer = format!("{physical_pointer}/region");
            into.start_line = optional_position(region, "startLine", &region_pointer)?;
            into.start_column = optional_position(region, "startColumn", &region_pointer)?;
            into.end_line = optional_position(region, "endLine", &region_pointer)?;
            into.end_column = optional_position(region, "endColumn", &region_pointer)?;
            into.snippet = text_of(region.get("snippet"));
        }
        if into.snippet.is_none() {
            if let Some(context_region) =
                optional_object(physical, "contextRegion", &physical_pointer)?
            {
                into.snippet = text_of(context_region.get("snippet"));
            }
        }
        Ok(())
    }
}

struct RunContext<'a> {
    driver_rules: &'a [Value],
    rules_by_id: HashMap<&'a str, &'a Map<String, Value>>,
    extensions: &'a [Value],
    artifacts: &'a [Value],
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The identity material of a result without fingerprints, before its occurrence number.
fn base_key(result: &CodeResult, logical: &str) -> String {
    let evidence = match &result.snippet {
        Some(snippet) if !snippet.trim().is_empty() => {
            format!("s:{}", collapse_whitespace(snippet))
        }
        _ => format!("m:{}", mask_digits(&result.message)),
    };
    hash(&[
        &result.rule_id,
        result.path.as_deref().unwrap_or_default(),
        &evidence,
        logical,
    ])
}

/// Fills in identities: by fingerprint schemes, else by base key and occurrence in line order.
fn assign_identities(tool: &str, pending: Vec<Pending>) -> Vec<CodeResult> {
    let mut order: Vec<usize> = (0..pending.len()).collect();
    order.sort_by_key(|&i| pending[i].sort_line);
    let mut occurrences: HashMap<&str, usize> = HashMap::new();
    let mut occurrence_of = vec![0usize; pending.len()];
    for &index in &order {
        if let Some(key) = pending[index].base_key.as_deref() {
            let seen = occurrences.entry(key).or_insert(0);
            occurrence_of[index] = *seen;
            *seen += 1;
        }
    }
    pending
        .into_iter()
        .zip(occurrence_of)
        .map(
            |(
                Pending {
                    mut result,
                    base_key,
                    ..
                },
                occurrence,
            )| {
                let path = result.path.clone().unwrap_or_default();
                match base_key {
                    Some(key) => {
                        result.identity = hash(&[tool, "k", &key, &occurrence.to_string()]);
                    }
                    None => {
                        let mut identities = result
                            .fingerprints
                            .iter()
                            // `fingerprints` before `partial:` ones (BTreeMap order puts them
                            // by name, so sort partial ones last explicitly).
                            .map(|(scheme, value)| (scheme.starts_with("partial:"), scheme, value))
                            .collect::<Vec<_>>();
                        identities.sort();
                        let mut hashes = identities
                            .into_iter()
                            .map(|(_, scheme, value)| hash(&[tool, "f", scheme, value, &path]));
                        result.identity = hashes.next().expect("fingerprints are not empty");
                        result.alternate_identities = hashes.collect();
                    }
                }
                result
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(log: &Value) -> Result<SarifReport, SarifError> {
        read_sarif(log.to_string().as_bytes(), ReadLimits::default())
    }

    fn log_with(results: Value) -> Value {
        json!({"version": "2.1.0", "runs": [{
            "tool": {"driver": {"name": "demo", "version": "1.0", "rules": [
                {"id": "R1", "name": "Injection", "help": {"text": "Use parameters"},
                 "defaultConfiguration": {"level": "error"},
                 "properties": {"tags": ["security", "external/cwe/cwe-089", "OWASP-A1"],
                                "security-severity": "9.8"}}]}},
            "versionControlProvenance": [{"repositoryUri": "https://git.example/app", "revisionId": "abc", "branch": "main"}],
            "results": results}]})
    }

    fn result_at(line: i64, snippet: &str) -> Value {
        json!({"ruleId": "R1", "message": {"text": format!("bad call on line {line}")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "./src/a.py"},
                "region": {"startLine": line, "snippet": {"text": snippet}}}}]})
    }

    #[test]
    fn a_result_becomes_a_code_finding_with_its_rule_and_severity() {
        let report = read(&log_with(json!([result_at(3, "run(x)")]))).unwrap();
        let run = &report.runs[0];
        assert_eq!(run.tool_name, "demo");
        assert_eq!(run.repository.as_deref(), Some("https://git.example/app"));
        assert_eq!(run.branch.as_deref(), Some("main"));
        let result = &run.results[0];
        assert_eq!(result.rule_id, "R1");
        assert_eq!(result.rule_name.as_deref(), Some("Injection"));
        assert_eq!(result.rule_help.as_deref(), Some("Use parameters"));
        assert_eq!(result.level, "error");
        assert_eq!(result.severity, SeverityBand::Critical);
        assert_eq!(result.cwes, ["CWE-89"]);
        assert_eq!(result.owasp, ["A1"]);
        assert_eq!(result.path.as_deref(), Some("src/a.py"));
        assert_eq!(result.start_line, Some(3));
        assert_eq!(result.snippet.as_deref(), Some("run(x)"));
    }

    #[test]
    fn identity_ignores_line_numbers_but_not_the_code() {
        let first = read(&log_with(json!([result_at(3, "run(x)")]))).unwrap();
        let moved = read(&log_with(json!([result_at(13, "run(x)  ")]))).unwrap();
        let other = read(&log_with(json!([result_at(3, "run(y)")]))).unwrap();
        let id = |r: &SarifReport| r.runs[0].results[0].identity.clone();
        assert_eq!(id(&first), id(&moved));
        assert_ne!(id(&first), id(&other));
    }

    #[test]
    fn identical_results_in_one_file_are_told_apart_by_occurrence() {
        let report = read(&log_with(json!([
            result_at(9, "run(x)"),
            result_at(3, "run(x)")
        ])))
        .unwrap();
        let results = &report.runs[0].results;
        assert_ne!(results[0].identity, results[1].identity);
        // The same two, shifted: the same two identities.
        let shifted = read(&log_with(json!([
            result_at(19, "run(x)"),
            result_at(13, "run(x)")
        ])))
        .unwrap();
        assert_eq!(shifted.runs[0].results[0].identity, results[0].identity);
    }

    #[test]
    fn without_a_snippet_the_message_counts_with_its_digits_masked() {
        let mut a = result_at(3, "");
        a["locations"][0]["physicalLocation"]["region"] = json!({"startLine": 3});
        let mut b = a.clone();
        b["locations"][0]["physicalLocation"]["region"] = json!({"startLine": 40});
        b["message"]["text"] = json!("bad call on line 40");
        let (a, b) = (
            read(&log_with(json!([a]))).unwrap(),
            read(&log_with(json!([b]))).unwrap(),
        );
        assert_eq!(a.runs[0].results[0].identity, b.runs[0].results[0].identity);
    }

    #[test]
    fn fingerprints_give_the_identity_and_every_scheme_an_alternate() {
        let mut result = result_at(3, "run(x)");
        result["fingerprints"] = json!({"v2": "bbb", "v1": "aaa"});
        result["partialFingerprints"] = json!({"primaryLocationLineHash": "ccc:1"});
        let report = read(&log_with(json!([result]))).unwrap();
        let result = &report.runs[0].results[0];
        assert_eq!(result.alternate_identities.len(), 2);
        let mut only_v2 = result_at(50, "changed");
        only_v2["fingerprints"] = json!({"v2": "bbb"});
        let later = read(&log_with(json!([only_v2]))).unwrap();
        assert!(result
            .alternate_identities
            .contains(&later.runs[0].results[0].identity));
    }

    #[test]
    fn one_finding_per_location() {
        let mut result = result_at(3, "a()");
        let second = result["locations"][0].clone();
        result["locations"].as_array_mut().unwrap().push(second);
        result["locations"][1]["physicalLocation"]["artifactLocation"]["uri"] = json!("src/b.py");
        let report = read(&log_with(json!([result]))).unwrap();
        let results = &report.runs[0].results;
        assert_eq!(results.len(), 2);
        assert_eq!(results[1].pointer, "/runs/0/results/0/locations/1");
        assert_ne!(results[0].identity, results[1].identity);
    }

    #[test]
    fn accepted_suppressions_suppress_and_rejected_ones_do_not() {
        let mut accepted = result_at(3, "a()");
        accepted["suppressions"] = json!([{"kind": "inSource", "justification": "test code"}]);
        let mut rejected = result_at(4, "b()");
        rejected["suppressions"] = json!([{"kind": "external", "status": "rejected"}]);
        let report = read(&log_with(json!([accepted, rejected]))).unwrap();
        let results = &report.runs[0].results;
        assert!(results[0].suppressed);
        assert_eq!(
            results[0].suppression_justification.as_deref(),
            Some("test code")
        );
        assert!(!results[1].suppressed);
    }

    #[test]
    fn structural_errors_name_their_pointer() {
        let cases = [
            (json!({"version": "2.1.0", "runs": {}}), "/runs"),
            (
                json!({"version": "2.1.0", "runs": [{"tool": {}}]}),
                "/runs/0/tool/driver",
            ),
            (
                json!({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}),
                "/runs/0/tool/driver/name",
            ),
            (json!({"version": "1.0.0", "runs": []}), "/version"),
            (json!({"runs": []}), "/version"),
        ];
        for (log, pointer) in cases {
            match read(&log) {
                Err(SarifError::Invalid { pointer: at, .. }) => assert_eq!(at, pointer, "{log}"),
                other => panic!("{log}: {other:?}"),
            }
        }
        let mut bad_level = result_at(3, "a()");
        bad_level["level"] = json!("fatal");
        let mut bad_line = result_at(3, "a()");
        bad_line["locations"][0]["physicalLocation"]["region"]["startLine"] = json!(0);
        for (result, pointer) in [
            (bad_level, "/runs/0/results/0/level"),
            (
                bad_line,
                "/runs/0/results/0/locations/0/physicalLocation/region/startLine",
            ),
            (json!("x"), "/runs/0/results/0"),
        ] {
            match read(&log_with(json!([result]))) {
                Err(SarifError::Invalid { pointer: at, .. }) => assert_eq!(at, pointer),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            read_sarif(b"{", ReadLimits::default()),
            Err(SarifError::NotSarif(_))
        ));
    }

    #[test]
    fn too_many_results_in_a_run_are_refused() {
        let log = log_with(json!([result_at(1, "a"), result_at(2, "b")]));
        let limits = ReadLimits {
            max_results_per_run: 1,
            ..ReadLimits::default()
        };
        let error = read_sarif(log.to_string().as_bytes(), limits).unwrap_err();
        assert!(matches!(error, SarifError::TooManyResults { count: 2, .. }));
    }

    #[test]
    fn non_failures_are_skipped_and_counted() {
        let mut pass = result_at(1, "a");
        pass["kind"] = json!("pass");
        let report = read(&log_with(json!([pass, result_at(2, "b")]))).unwrap();
        assert_eq!(report.result_count(), 1);
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].pointer, "/runs/0/results/0");
    }

    #[test]
    fn severity_bands_follow_github_code_scanning() {
        assert_eq!(band_of_security_severity(9.1), SeverityBand::Critical);
        assert_eq!(band_of_security_severity(9.0), SeverityBand::High);
        assert_eq!(band_of_security_severity(7.0), SeverityBand::High);
        assert_eq!(band_of_security_severity(6.9), SeverityBand::Medium);
        assert_eq!(band_of_security_severity(0.1), SeverityBand::Low);
        assert_eq!(band_of_security_severity(0.0), SeverityBand::None);
        assert_eq!(band_of_level("note"), SeverityBand::Low);
    }

    #[test]
    fn cwe_and_owasp_tags_are_recognised() {
        assert_eq!(
            cwe_of_tag("external/cwe/cwe-079").as_deref(),
            Some("CWE-79")
        );
        assert_eq!(
            cwe_of_tag("CWE-89: Improper Neutralization").as_deref(),
            Some("CWE-89")
        );
        assert_eq!(cwe_of_tag("security"), None);
        assert_eq!(
            owasp_of_tag("A03:2021 - Injection").as_deref(),
            Some("A03:2021")
        );
        assert_eq!(owasp_of_tag("OWASP-A1").as_deref(), Some("A1"));
        assert_eq!(owasp_of_tag("A1"), None);
    }

    #[test]
    fn message_strings_and_arguments_fill_the_message() {
        let log = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": [
            {"id": "R", "messageStrings": {"default": {"text": "{0} is bad in {1}"}}}]}},
            "results": [{"ruleId": "R", "message": {"id": "default", "arguments": ["x", "f"]}}]}]});
        let report = read(&log).unwrap();
        assert_eq!(report.runs[0].results[0].message, "x is bad in f");
    }
}
