//! `rampart scan --server URL`: the knowledge base a scan needs, asked of a running Rampart
//! (key from `RAMPART_API_KEY`, scope `kb:read`) the way osv-scanner asks OSV.dev, so a CI
//! pipeline needs no local database:
//!
//! 1. `POST /v1/querybatch` with each package's purl (and version), following every
//!    `next_page_token`;
//! 2. for each record it names, `GET /api/v1/vulnerabilities/{id}` (its feed, alias group,
//!    KEV and EPSS) and `GET /v1/vulns/{id}` (the OSV record), and the same for the other
//!    records of its alias group (whose CVSS counts for the group's severity);
//! 3. those records go into a throw-away local database, and the offline scan runs on it
//!    unchanged: the same index, the same choice of one record per alias group, the same
//!    evidence, output formats, exit codes and `--vex`, hence the same findings. KEV and EPSS,
//!    which no OSV record carries, come from the server's answers.
//!
//! A 429 is waited out as its `Retry-After` says (at most 60 s, five times).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use rampart_formats::advisory::{parse_osv_json, Advisory};
use rampart_store::{ComponentIdentity, DatabaseLocation, Store};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Queries per `/v1/querybatch` request (osv.dev's limit, and Rampart's).
const BATCH: usize = 1000;
/// Retries of a request answered 429.
const RATE_LIMIT_RETRIES: usize = 5;

/// What the server said about the records of a scan, loaded into a local database.
pub struct ServerKnowledge {
    pub store: Store,
    /// The server's knowledge-base version.
    pub kb_version: i64,
    /// Per record id: the alias group's highest EPSS and whether CISA KEV lists it.
    pub enrichment: HashMap<String, (Option<f64>, bool)>,
    /// Holds the local database.
    _dir: tempfile::TempDir,
}

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    /// `method path` with `body`; the JSON answer, 404 as `None`. A 429 is waited out.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Option<Value>> {
        let url = format!("{}{path}", self.base);
        for attempt in 0..=RATE_LIMIT_RETRIES {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.key);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .with_context(|| format!("cannot reach {url}"))?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS && attempt < RATE_LIMIT_RETRIES {
                let wait = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 60);
                eprintln!("rate limited by {}: retrying in {wait} s", self.base);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let text = response.text().await.unwrap_or_default();
            if !status.is_success() {
                let message = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|e| e["error"]["message"].as_str().map(str::to_string))
                    .unwrap_or_else(|| text.chars().take(200).collect());
                bail!("{method} {url} answered {status}: {message}");
            }
            return serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("{method} {url} answered something other than JSON"));
        }
        Err(anyhow!(
            "{method} {url}: still rate limited after {RATE_LIMIT_RETRIES} retries"
        ))
    }
}

/// The OSV query of a component, as the offline scan looks it up: its purl, and its version
/// when the purl carries none. `None` when it has no purl to look up.
fn query_of(component: &ComponentIdentity) -> Option<Value> {
    let purl = component.purl.as_deref()?;
    rampart_engine::analysis::resolve(component)?;
    let parsed = rampart_versions::Purl::parse_lenient(purl).ok()?;
    let version = component
        .version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty() && parsed.version().is_none());
    Some(match version {
        Some(version) => json!({"package": {"purl": purl}, "version": version}),
        None => json!({"package": {"purl": purl}}),
    })
}

/// The ids of every record the server matches to the components (all pages).
async fn matched_ids(
    client: &Client,
    components: &[ComponentIdentity],
) -> anyhow::Result<BTreeSet<String>> {
    let mut pending: Vec<Value> = components.iter().filter_map(query_of).collect();
    let mut ids = BTreeSet::new();
    while !pending.is_empty() {
        let mut next = Vec::new();
        for chunk in pending.chunks(BATCH) {
            let answer = client
                .call(
                    Method::POST,
                    "/v1/querybatch",
                    Some(&json!({"queries": chunk})),
                )
                .await?
                .ok_or_else(|| anyhow!("the server has no /v1/querybatch"))?;
            let results = answer["results"]
                .as_array()
                .filter(|r| r.len() == chunk.len())
                .ok_or_else(|| anyhow!("/v1/querybatch answered without one result per query"))?;
            for (query, result) in chunk.iter().zip(results) {
                for vuln in result["vulns"].as_array().into_iter().flatten() {
                    if let Some(id) = vuln["id"].as_str() {
                        ids.insert(id.to_string());
                    }
                }
                if let Some(token) = result["next_page_token"].as_str() {
                    let mut query = query.clone();
                    query["page_token"] = json!(token);
                    next.push(query);
                }
            }
        }
        pending = next;
    }
    Ok(ids)
}

/// Asks the server at `base` about `components` and loads what it says into a local database.
pub async fn load(
    base: &str,
    key: Option<&str>,
    components: &[ComponentIdentity],
) -> anyhow::Result<ServerKnowledge> {
    let key = key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| anyhow!("--server needs an API key (scope kb:read) in RAMPART_API_KEY"))?;
    let base = base.trim().trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--server must be an http(s) URL, not {base:?}");
    }
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .context("cannot build an HTTP client")?,
        base: base.to_string(),
        key: key.to_string(),
    };
    let status = client
        .call(Method::GET, "/api/v1/kb/status", None)
        .await?
        .ok_or_else(|| anyhow!("{base} is not a Rampart server (no /api/v1/kb/status)"))?;
    let kb_version = status["kb_version"].as_i64().unwrap_or_default();

    // Every matched record and the other records of its alias group.
    let mut wanted: Vec<String> = matched_ids(&client, components)
        .await?
        .into_iter()
        .collect();
    let mut seen: BTreeSet<String> = wanted.iter().cloned().collect();
    let mut by_source: HashMap<String, Vec<Advisory>> = HashMap::new();
    let mut enrichment = HashMap::new();
    while let Some(id) = wanted.pop() {
        let encoded = url_segment(&id);
        let Some(detail) = client
            .call(
                Method::GET,
                &format!("/api/v1/vulnerabilities/{encoded}"),
                None,
            )
            .await?
        else {
            // Gone since the query (a sync replaced it): nothing to report about it.
            continue;
        };
        let epss = detail["epss"]["epss"].as_f64();
        let kev = !detail["kev"].is_null();
        enrichment.insert(id.clone(), (epss, kev));
        for related in detail["related_records"].as_array().into_iter().flatten() {
            if let Some(related) = related.as_str() {
                if seen.insert(related.to_string()) {
                    wanted.push(related.to_string());
                }
            }
        }
        let Some(record) = client
            .call(Method::GET, &format!("/v1/vulns/{encoded}"), None)
            .await?
        else {
            continue;
        };
        let parsed = parse_osv_json(record.to_string().as_bytes())
            .map_err(|e| anyhow!("{base}/v1/vulns/{id} is not an OSV record: {e}"))?;
        let source = detail["source"].as_str().unwrap_or("osv").to_string();
        by_source.entry(source).or_default().extend(parsed.records);
    }

    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let store = Store::connect(&DatabaseLocation::SqliteDir(dir.path().to_path_buf()))
        .await
        .context("cannot open the scan's local database")?;
    store
        .migrate()
        .await
        .context("cannot prepare the scan's local database")?;
    // NVD last, as a sync orders it: the feeds' own records name their groups first.
    let mut sources: Vec<String> = by_source.keys().cloned().collect();
    sources.sort_by_key(|s| (s == "nvd", s.clone()));
    for source in sources {
        for chunk in by_source[&source].chunks(1000) {
            store.ingest_advisories(&source, chunk).await?;
        }
    }
    Ok(ServerKnowledge {
        store,
        kb_version,
        enrichment,
        _dir: dir,
    })
}

/// What stays unencoded in a path segment: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A record id as one path segment.
fn url_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_the_purl_and_the_version_it_lacks() {
        let component = |purl: Option<&str>, version: Option<&str>| ComponentIdentity {
            id: 0,
            name: "x".into(),
            version: version.map(str::to_string),
            purl: purl.map(str::to_string),
            cpe: None,
            package: None,
        };
        assert_eq!(
            query_of(&component(Some("pkg:cargo/smallvec"), Some("0.6.0"))),
            Some(json!({"package": {"purl": "pkg:cargo/smallvec"}, "version": "0.6.0"}))
        );
        assert_eq!(
            query_of(&component(Some("pkg:cargo/smallvec@0.6.0"), Some("0.6.0"))),
            Some(json!({"package": {"purl": "pkg:cargo/smallvec@0.6.0"}}))
        );
        assert_eq!(query_of(&component(None, Some("1"))), None);
        assert_eq!(url_segment("GHSA-x/y z"), "GHSA-x%2Fy%20z");
    }
}
