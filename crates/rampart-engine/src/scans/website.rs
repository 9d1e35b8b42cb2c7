//! A website scan's fetching and detection. The target page and a bounded set of well-known
//! paths are fetched through the outbound guard (scheme, resolved addresses, connect and
//! request time limits), each redirect hop checked against the scan allow-list again, each
//! body read up to a byte limit. Technologies are identified from:
//! - headers, with Recog: `Server` (http_servers), `X-Powered-By` (http_xpoweredby),
//!   `Set-Cookie` names (http_cookies), `WWW-Authenticate` (http_wwwauth); plus
//!   `name/version` tokens of `Server` and `X-Powered-By` our table knows (PHP, OpenSSL, …);
//! - HTML: the `<title>` (Recog html_title), `<meta name="generator">`, and script/style
//!   assets: versions in file names (`jquery-3.4.1.min.js`), CDN paths
//!   (`/ajax/libs/jquery/3.4.1/`, `bootstrap@4.3.1`) and WordPress's `?ver=`.
//!
//! Each detection keeps its evidence (which header or pattern matched, on which path) and,
//! where known, its CPE (Recog's template or our table's vendor:product).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Instant;

use regex::Regex;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::recog::RecogLibrary;
use super::targets::{TargetPolicy, TargetRefusal};
use crate::sync::OutboundClient;

/// Paths fetched besides the target page (bounded: these and nothing else).
pub const WELL_KNOWN_PATHS: &[&str] = &["/robots.txt", "/readme.html", "/rampart-scan-404-probe"];

/// Script and style assets read from one page, at most.
const MAX_ASSETS: usize = 500;

/// Why a detection was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    /// `header`, `cookie`, `title`, `meta`, `asset` or `banner`.
    pub source: String,
    /// The header, cookie, element or URL that carried it.
    pub field: String,
    /// The text that matched (truncated to 300 characters).
    pub value: String,
    /// `recog:<database>` or our own rule (`meta generator`, `asset file name`, …).
    pub matched_by: String,
    /// The Recog pattern, when Recog matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The path fetched (website scans) or `address:port` (host scans).
    pub location: String,
}

/// A technology identified, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Technology {
    pub name: String,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    /// CPE 2.3 (with the version when known).
    pub cpe: Option<String>,
    pub category: String,
    pub evidence: Vec<Evidence>,
}

/// Time for the TLS handshake that reads an https target's certificate.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One fetched path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FetchedPage {
    pub path: String,
    pub url: String,
    pub status: Option<u16>,
    pub bytes: usize,
    pub truncated: bool,
    pub redirects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// What the fetch and detection found.
#[derive(Debug, Clone, Default)]
pub struct WebsiteObservation {
    pub pages: Vec<FetchedPage>,
    pub technologies: Vec<Technology>,
    pub https: bool,
    /// https targets: the certificate the server presented, or why it could not be read.
    pub tls: Option<Result<super::tls::TlsCertificate, String>>,
    pub fetch_ms: u64,
    pub detect_ms: u64,
}

/// The limits of one website scan.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    pub max_bytes: u64,
    pub max_redirects: usize,
}

/// An HTTP response, as detection reads it.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

/// The scan's target URL, as checked for the API: http(s), a host, no credentials.
pub fn parse_target(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is required".into());
    }
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "must be an http or https URL, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if text.len() > 2048 {
        return Err("is longer than 2048 characters".into());
    }
    Ok(url)
}

/// Resolves the URL's host and checks it against the allow-list.
pub async fn admit_url(policy: &TargetPolicy, url: &Url) -> Result<Vec<IpAddr>, AdmitError> {
    let port = url.port_or_known_default().unwrap_or(443);
    let (name, addresses) = match url.host() {
        Some(url::Host::Ipv4(v4)) => (None, vec![IpAddr::V4(v4)]),
        Some(url::Host::Ipv6(v6)) => (None, vec![IpAddr::V6(v6)]),
        Some(url::Host::Domain(host)) => {
            let addresses: Vec<IpAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| AdmitError::Resolve(format!("cannot resolve {host}: {e}")))?
                .map(|a| a.ip())
                .collect();
            (Some(host), addresses)
        }
        None => return Err(AdmitError::Resolve("the URL has no host".into())),
    };
    if addresses.is_empty() {
        return Err(AdmitError::Resolve(format!(
            "{} resolves to no address",
            name.unwrap_or_default()
        )));
    }
    policy
        .admit_host(name, &addresses)
        .map_err(AdmitError::Refused)?;
    Ok(addresses)
}

/// A target that cannot be scanned.
#[derive(Debug, Clone)]
pub enum AdmitError {
    Refused(TargetRefusal),
    Resolve(String),
}

impl std::fmt::Display for AdmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdmitError::Refused(refusal) => refusal.fmt(f),
            AdmitError::Resolve(message) => f.write_str(message),
        }
    }
}

/// Fetches `url` following redirects itself (each hop admitted again), reading at most
/// `max_bytes` of the body.
async fn fetch_one(
    client: &OutboundClient,
    policy: &TargetPolicy,
    url: Url,
    path: &str,
    limits: FetchLimits,
) -> (FetchedPage, Option<Response>) {
    let started = Instant::now();
    let mut page = FetchedPage {
        path: path.to_string(),
        url: url.to_string(),
        status: None,
        bytes: 0,
        truncated: false,
        redirects: Vec::new(),
        error: None,
        duration_ms: 0,
    };
    let mut current = url;
    let outcome: Result<Response, String> = async {
        loop {
            admit_url(policy, &current)
                .await
                .map_err(|e| e.to_string())?;
            let mut response = client
                .get(current.clone())
                .send()
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = response.status();
            if status.is_redirection() {
                if let Some(location) = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                {
                    if page.redirects.len() >= limits.max_redirects {
                        return Err(format!("more than {} redirects", limits.max_redirects));
                    }
                    let next = current
                        .join(location)
                        .map_err(|e| format!("bad redirect {location:?}: {e}"))?;
                    if !matches!(next.scheme(), "http" | "https") {
                        return Err(format!("redirect to a {} URL", next.scheme()));
                    }
                    page.redirects.push(next.to_string());
                    current = next;
                    continue;
                }
            }
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| format!("reading the body failed: {e}"))?
            {
                let room = (limits.max_bytes as usize).saturating_sub(body.len());
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    page.truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Response {
                path: path.to_string(),
                status: status.as_u16(),
                headers,
                body,
            });
        }
    }
    .await;
    page.duration_ms = started.elapsed().as_millis() as u64;
    page.url = current.to_string();
    match outcome {
        Ok(response) => {
            page.status = Some(response.status);
            page.bytes = response.body.len();
            (page, Some(response))
        }
        Err(error) => {
            page.error = Some(error);
            (page, None)
        }
    }
}

/// Fetches the target and the well-known paths, then detects. The target itself must be
/// admitted (the caller checked it already; a refusal here is the scan's error).
pub async fn scan(
    client: &OutboundClient,
    policy: &TargetPolicy,
    recog: &RecogLibrary,
    target: &Url,
    limits: FetchLimits,
) -> Result<WebsiteObservation, String> {
    let addresses = admit_url(policy, target).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let tls = async {
        if target.scheme() != "https" {
            return None;
        }
        let port = target.port_or_known_default().unwrap_or(443);
        let host = target.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let address = std::net::SocketAddr::new(addresses[0], port);
        Some(super::tls::inspect(address, host, TLS_HANDSHAKE_TIMEOUT, chrono::Utc::now()).await)
    };
    let mut requests = vec![("/".to_string(), target.clone())];
    for path in WELL_KNOWN_PATHS {
        if let Ok(url) = target.join(path) {
            requests.push((path.to_string(), url));
        }
    }
    let fetches = requests
        .into_iter()
        .map(|(path, url)| async move { fetch_one(client, policy, url, &path, limits).await });
    let (results, tls) = tokio::join!(futures_join_all(fetches), tls);
    let fetch_ms = started.elapsed().as_millis() as u64;
    let (pages, responses): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    let responses: Vec<Response> = responses.into_iter().flatten().collect();
    if responses.is_empty() {
        let reason = pages
            .first()
            .and_then(|p| p.error.clone())
            .unwrap_or_else(|| "no response".into());
        let certificate = match &tls {
            Some(Ok(cert)) if !cert.trusted => {
                format!("; its TLS certificate: {}", cert.problems.join(", "))
            }
            Some(Err(error)) => format!("; {error}"),
            _ => String::new(),
        };
        return Err(format!(
            "the target could not be fetched: {reason}{certificate}"
        ));
    }
    let detect_started = Instant::now();
    let technologies = detect(recog, &responses);
    Ok(WebsiteObservation {
        pages,
        technologies,
        https: target.scheme() == "https",
        tls,
        fetch_ms,
        detect_ms: detect_started.elapsed().as_millis() as u64,
    })
}

/// Runs the futures concurrently (a handful: the target and the well-known paths).
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs = Vec::with_capacity(set.len());
    // Sequential awaits of already-started futures would not overlap; poll them together.
    let mut pending: Vec<Option<_>> = set.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => {
                        *result = Some(output);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for result in results {
        outputs.push(result.expect("every future finished"));
    }
    outputs
}

/// A known library or application: how our tables name it.
struct Known {
    name: &'static str,
    vendor: &'static str,
    product: &'static str,
    category: &'static str,
}

/// Script/style libraries by the names their files and CDN paths use (Recog has no
/// fingerprints for assets).
fn known_asset(name: &str) -> Option<Known> {
    let known = |name, vendor, product| Known {
        name,
        vendor,
        product,
        category: "JavaScript library",
    };
    Some(match name.to_ascii_lowercase().as_str() {
        "jquery" => known("jQuery", "jquery", "jquery"),
        "jquery-ui" | "jquery.ui" | "jqueryui" => known("jQuery UI", "jqueryui", "jquery_ui"),
        "jquery-migrate" => known("jQuery Migrate", "jquery", "jquery-migrate"),
        "bootstrap" | "twitter-bootstrap" => Known {
            name: "Bootstrap",
            vendor: "getbootstrap",
            product: "bootstrap",
            category: "UI framework",
        },
        "angular" | "angular.js" | "angularjs" => known("AngularJS", "angularjs", "angular.js"),
        "lodash" => known("Lodash", "lodash", "lodash"),
        "moment" | "moment.js" => known("Moment.js", "momentjs", "moment"),
        "vue" | "vue.js" => known("Vue.js", "vuejs", "vue.js"),
        "react" | "react-dom" => known("React", "facebook", "react"),
        "handlebars" => known("Handlebars", "handlebarsjs", "handlebars"),
        "underscore" | "underscore.js" => known("Underscore.js", "underscorejs", "underscore"),
        "dompurify" | "purify" => known("DOMPurify", "cure53", "dompurify"),
        "knockout" => known("Knockout", "knockoutjs", "knockout"),
        "backbone" => known("Backbone.js", "backbonejs", "backbone"),
        "prototype" => known("Prototype", "prototypejs", "prototype"),
        "swfobject" => known("SWFObject", "swfobject_project", "swfobject"),
        "font-awesome" | "fontawesome" => Known {
            name: "Font Awesome",
            vendor: "fontawesome",
            product: "font_awesome",
            category: "Font",
        },
        _ => return None,
    })
}

/// Applications by the name their `<meta name="generator">` gives.
fn known_generator(name: &str) -> Option<Known> {
    let cms = |name, vendor, product| Known {
        name,
        vendor,
        product,
        category: "CMS",
    };
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "wordpress" => cms("WordPress", "wordpress", "wordpress"),
        "drupal" => cms("Drupal", "drupal", "drupal"),
        "joomla!" | "joomla" => cms("Joomla!", "joomla", "joomla\\!"),
        "typo3" | "typo3 cms" => cms("TYPO3", "typo3", "typo3"),
        "mediawiki" => cms("MediaWiki", "mediawiki", "mediawiki"),
        "ghost" => cms("Ghost", "ghost", "ghost"),
        "woocommerce" => cms("WooCommerce", "woocommerce", "woocommerce"),
        "hugo" => Known {
            name: "Hugo",
            vendor: "gohugo",
            product: "hugo",
            category: "Static site generator",
        },
        "jekyll" => Known {
            name: "Jekyll",
            vendor: "jekyllrb",
            product: "jekyll",
            category: "Static site generator",
        },
        _ => return None,
    })
}

/// `name/version` tokens of `Server` and `X-Powered-By` that Recog's header databases do not
/// name separately (modules and languages behind the server).
fn known_token(name: &str) -> Option<Known> {
    let known = |name, vendor, product, category| Known {
        name,
        vendor,
        product,
        category,
    };
    Some(match name.to_ascii_lowercase().as_str() {
        "php" => known("PHP", "php", "php", "Programming language"),
        "openssl" => known("OpenSSL", "openssl", "openssl", "TLS library"),
        "mod_ssl" => known("mod_ssl", "modssl", "mod_ssl", "Web server module"),
        "express" => known("Express", "expressjs", "express", "Web framework"),
        "next.js" => known("Next.js", "vercel", "next.js", "Web framework"),
        "asp.net" => known("ASP.NET", "microsoft", "asp.net", "Web framework"),
        "perl" => known("Perl", "perl", "perl", "Programming language"),
        "python" => known("Python", "python", "python", "Programming language"),
        "mod_perl" => known("mod_perl", "apache", "mod_perl", "Web server module"),
        _ => return None,
    })
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a constant pattern"))
}

fn title_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, r"(?is)<title[^>]*>(.*?)</title>")
}

fn meta_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, r"(?is)<meta\b[^>]*>")
}

fn attribute_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?is)([a-z_:][-a-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#,
    )
}

fn asset_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, r"(?is)<(?:script|link)\b[^>]*>")
}

fn file_version_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r"(?i)^([a-z][a-z0-9_.]*?(?:-[a-z][a-z0-9_]*)*)[-._@]v?(\d+\.\d+(?:\.\d+)*(?:-(?:rc|beta|alpha)\.?\d*)?)(?:[.-](?:min|slim|bundle|umd|esm|production|development|full|pack))*\.(?:js|css)$",
    )
}

fn cdn_version_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r"(?i)/([a-z][a-z0-9_.-]*?)(?:/|@)v?(\d+\.\d+(?:\.\d+)*)/",
    )
}

fn generator_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r"^\s*([A-Za-z][A-Za-z0-9!._ -]*?)\s+v?(\d+(?:\.\d+)+[A-Za-z0-9.-]*)",
    )
}

fn token_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, r"([A-Za-z][A-Za-z0-9_.+-]*)/v?(\d+(?:\.\d+)*[a-z]?)")
}

/// Attributes of one tag, names lower-cased.
fn attributes(tag: &str) -> BTreeMap<String, String> {
    attribute_re()
        .captures_iter(tag)
        .map(|c| {
            let value = c
                .get(2)
                .or_else(|| c.get(3))
                .or_else(|| c.get(4))
                .map(|m| m.as_str())
                .unwrap_or("");
            (c[1].to_ascii_lowercase(), html_unescape(value))
        })
        .collect()
}

fn html_unescape(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#8211;", "–")
        .replace("&middot;", "·")
        .replace("&nbsp;", " ")
}

/// The CPE 2.3 of a vendor, product and (optional) version.
pub fn cpe_of(part: &str, vendor: &str, product: &str, version: Option<&str>) -> String {
    let escape = |text: &str| {
        text.chars()
            .flat_map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    vec![c]
                } else if c == '\\' {
                    vec!['\\']
                } else {
                    vec!['\\', c]
                }
            })
            .collect::<String>()
    };
    // Table entries are written already escaped (`joomla\!`).
    let keep = |text: &str| {
        if text.contains('\\') {
            text.to_string()
        } else {
            escape(text)
        }
    };
    format!(
        "cpe:2.3:{part}:{}:{}:{}:*:*:*:*:*:*:*",
        keep(vendor),
        keep(product),
        version.map(escape).unwrap_or_else(|| "*".into())
    )
}

/// Collects detections, merging those of one technology and version.
#[derive(Default)]
pub struct Detections {
    items: Vec<Technology>,
}

impl Detections {
    pub fn add(&mut self, technology: Technology) {
        let key = |t: &Technology| {
            (
                match (&t.vendor, &t.product) {
                    (Some(v), Some(p)) => format!("{v}:{p}").to_ascii_lowercase(),
                    _ => t.name.to_ascii_lowercase(),
                },
                t.version.clone(),
            )
        };
        let wanted = key(&technology);
        // A versionless detection of something already known with a version adds evidence.
        if let Some(existing) = self.items.iter_mut().find(|t| {
            let k = key(t);
            k == wanted || (k.0 == wanted.0 && (wanted.1.is_none() || k.1.is_none()))
        }) {
            if existing.version.is_none() && technology.version.is_some() {
                existing.version = technology.version;
                existing.cpe = technology.cpe;
            }
            for evidence in technology.evidence {
                if !existing.evidence.contains(&evidence) && existing.evidence.len() < 20 {
                    existing.evidence.push(evidence);
                }
            }
            return;
        }
        self.items.push(technology);
    }

    pub fn into_vec(self) -> Vec<Technology> {
        self.items
    }
}

/// A Recog identification as a technology, when it names a product (or a vendor).
pub fn from_recog(
    identification: &rampart_formats::recog::Identification,
    evidence: Evidence,
    category: &str,
) -> Option<Technology> {
    let name = identification
        .get("service.product")
        .or_else(|| identification.get("service.family"))
        .or_else(|| identification.get("os.product"))
        .or_else(|| identification.get("hw.product"))
        .map(str::to_string)
        .or_else(|| {
            (!identification.description.is_empty()).then(|| identification.description.clone())
        })?;
    let version = identification.get("service.version").map(str::to_string);
    let cpe = identification.cpe23("service");
    let (vendor, product) = match cpe.as_deref().and_then(cpe_vendor_product) {
        Some((vendor, product)) => (Some(vendor), Some(product)),
        None => (
            identification.get("service.vendor").map(str::to_string),
            None,
        ),
    };
    // A template without the version (`cpe:/a:f5:nginx:-`) gets the version when known.
    let cpe = match (&vendor, &product) {
        (Some(v), Some(p)) => Some(cpe_of("a", v, p, version.as_deref())),
        _ => cpe,
    };
    Some(Technology {
        name,
        vendor,
        product,
        version,
        cpe,
        category: category.to_string(),
        evidence: vec![evidence],
    })
}

fn cpe_vendor_product(cpe: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = cpe.split(':').collect();
    if parts.len() < 5 || parts[0] != "cpe" || parts[1] != "2.3" || parts[3] == "*" {
        return None;
    }
    Some((parts[3].to_string(), parts[4].to_string()))
}

fn recog_evidence(
    identification: &rampart_formats::recog::Identification,
    source: &str,
    field: &str,
    value: &str,
    location: &str,
) -> Evidence {
    Evidence {
        source: source.to_string(),
        field: field.to_string(),
        value: truncate(value),
        matched_by: format!("recog:{}", identification.database),
        pattern: Some(identification.pattern.clone()),
        location: location.to_string(),
    }
}

fn own(known: &Known, version: Option<String>, evidence: Evidence) -> Technology {
    Technology {
        name: known.name.to_string(),
        vendor: Some(known.vendor.to_string()),
        product: Some(known.product.to_string()),
        cpe: Some(cpe_of("a", known.vendor, known.product, version.as_deref())),
        version,
        category: known.category.to_string(),
        evidence: vec![evidence],
    }
}

/// Every technology the responses reveal.
pub fn detect(recog: &RecogLibrary, responses: &[Response]) -> Vec<Technology> {
    let mut found = Detections::default();
    for response in responses {
        detect_headers(recog, response, &mut found);
        let is_html = response.headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type") && v.to_ascii_lowercase().contains("html")
        }) || response.body.starts_with(b"<!")
            || response.body.starts_with(b"<html");
        if is_html && response.status < 400 || response.path == "/" {
            detect_html(recog, response, &mut found);
        }
    }
    found.into_vec()
}

fn detect_headers(recog: &RecogLibrary, response: &Response, found: &mut Detections) {
    for (name, value) in &response.headers {
        let lower = name.to_ascii_lowercase();
        let (database, source) = match lower.as_str() {
            "server" => ("http_servers", "header"),
            "x-powered-by" => ("http_xpoweredby", "header"),
            "www-authenticate" => ("http_wwwauth", "header"),
            "set-cookie" => ("http_cookies", "cookie"),
            _ => continue,
        };
        let field = if source == "cookie" {
            value.split('=').next().unwrap_or("").trim().to_string()
        } else {
            name.clone()
        };
        if let Some(identification) = recog.identify(database, value.as_bytes()) {
            let evidence = recog_evidence(&identification, source, &field, value, &response.path);
            if let Some(technology) = from_recog(&identification, evidence, category_of(database)) {
                found.add(technology);
            }
        }
        if matches!(lower.as_str(), "server" | "x-powered-by") {
            for token in token_re().captures_iter(value) {
                if let Some(known) = known_token(&token[1]) {
                    // Recog already named the server itself; tokens add what runs behind it.
                    found.add(own(
                        &known,
                        Some(token[2].to_string()),
                        Evidence {
                            source: "header".into(),
                            field: name.clone(),
                            value: truncate(value),
                            matched_by: "header product token".into(),
                            pattern: None,
                            location: response.path.clone(),
                        },
                    ));
                }
            }
            if lower == "x-powered-by" {
                if let Some(known) = known_token(value.split('/').next().unwrap_or("").trim()) {
                    if !value.contains('/') {
                        found.add(own(
                            &known,
                            None,
                            Evidence {
                                source: "header".into(),
                                field: name.clone(),
                                value: truncate(value),
                                matched_by: "header product token".into(),
                                pattern: None,
                                location: response.path.clone(),
                            },
                        ));
                    }
                }
            }
        }
    }
}

fn category_of(database: &str) -> &'static str {
    match database {
        "http_servers" => "Web server",
        "http_cookies" => "Web application",
        "http_wwwauth" => "Web application",
        "http_xpoweredby" => "Web framework",
        "html_title" => "Web application",
        _ => "Service",
    }
}

fn detect_html(recog: &RecogLibrary, response: &Response, found: &mut Detections) {
    let html = String::from_utf8_lossy(&response.body);
    let location = response.path.as_str();
    if let Some(title) = title_re().captures(&html) {
        let title = html_unescape(
            title[1]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .as_str(),
        );
        if let Some(identification) = recog.identify("html_title", title.as_bytes()) {
            let evidence = recog_evidence(&identification, "title", "<title>", &title, location);
            if let Some(technology) = from_recog(&identification, evidence, "Web application") {
                found.add(technology);
            }
        }
    }
    for tag in meta_re().find_iter(&html) {
        let attributes = attributes(tag.as_str());
        if !attributes
            .get("name")
            .is_some_and(|n| n.eq_ignore_ascii_case("generator"))
        {
            continue;
        }
        let Some(content) = attributes.get("content") else {
            continue;
        };
        let (name, version) = match generator_re().captures(content) {
            Some(c) => (c[1].trim().to_string(), Some(c[2].to_string())),
            None => (content.trim().to_string(), None),
        };
        let evidence = Evidence {
            source: "meta".into(),
            field: "<meta name=\"generator\">".into(),
            value: truncate(content),
            matched_by: "meta generator".into(),
            pattern: None,
            location: location.to_string(),
        };
        match known_generator(&name) {
            Some(known) => found.add(own(&known, version, evidence)),
            None if !name.is_empty() => found.add(Technology {
                name: truncate(&name),
                vendor: None,
                product: None,
                version,
                cpe: None,
                category: "Generator".into(),
                evidence: vec![evidence],
            }),
            None => {}
        }
    }
    for tag in asset_re().find_iter(&html).take(MAX_ASSETS) {
        let attributes = attributes(tag.as_str());
        let Some(reference) = attributes.get("src").or_else(|| attributes.get("href")) else {
            continue;
        };
        detect_asset(reference, location, found);
    }
}

/// One script or style URL.
pub fn detect_asset(reference: &str, location: &str, found: &mut Detections) {
    let (path, query) = match reference.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (reference, None),
    };
    let path = path.split('#').next().unwrap_or(path);
    if !(path.ends_with(".js")
        || path.ends_with(".css")
        || path.contains("/ajax/libs/")
        || path.contains('@'))
    {
        return;
    }
    let evidence = |matched_by: &str| Evidence {
        source: "asset".into(),
        field: "script/style URL".into(),
        value: truncate(reference),
        matched_by: matched_by.to_string(),
        pattern: None,
        location: location.to_string(),
    };
    let file = path.rsplit('/').next().unwrap_or(path);
    let ver = query.and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("ver="))
            .map(str::to_string)
            .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
    });
    if path.contains("/wp-content/") || path.contains("/wp-includes/") {
        let known = known_generator("wordpress").expect("in the table");
        found.add(own(&known, None, evidence("WordPress asset path")));
    }
    // 1. A version in the file name: `jquery-3.4.1.min.js`.
    if let Some(c) = file_version_re().captures(file) {
        if let Some(known) = known_asset(&c[1]) {
            found.add(own(
                &known,
                Some(c[2].to_string()),
                evidence("asset file name"),
            ));
            return;
        }
    }
    // 2. A CDN path: `/ajax/libs/jquery/3.4.1/…`, `/npm/bootstrap@4.3.1/…`.
    for c in cdn_version_re().captures_iter(path) {
        if let Some(known) = known_asset(&c[1]) {
            found.add(own(
                &known,
                Some(c[2].to_string()),
                evidence("asset CDN path"),
            ));
            return;
        }
    }
    // 3. A versionless file of a known library with `?ver=` (WordPress enqueues them so).
    let stem = file
        .trim_end_matches(".js")
        .trim_end_matches(".css")
        .trim_end_matches(".min")
        .trim_end_matches(".slim");
    if let Some(known) = known_asset(stem) {
        found.add(own(&known, ver, evidence("asset ver= parameter")));
        return;
    }
    // 4. WordPress core assets carry the WordPress version in `?ver=`.
    if path.contains("/wp-includes/") {
        if let Some(version) = ver {
            let known = known_generator("wordpress").expect("in the table");
            found.add(own(
                &known,
                Some(version),
                evidence("WordPress core asset ver= parameter"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assets(references: &[&str]) -> Vec<Technology> {
        let mut found = Detections::default();
        for reference in references {
            detect_asset(reference, "/", &mut found);
        }
        found.into_vec()
    }

    #[test]
    fn asset_versions_come_from_names_cdn_paths_and_ver() {
        let found = assets(&[
            "/static/jquery-3.4.1.min.js",
            "https://cdnjs.cloudflare.com/ajax/libs/lodash.js/4.17.11/lodash.min.js",
            "https://cdn.jsdelivr.net/npm/bootstrap@4.3.1/dist/js/bootstrap.min.js",
            "/wp-includes/js/jquery/jquery.min.js?ver=3.6.0",
            "/wp-includes/css/dist/block-library/style.min.css?ver=5.8.1",
            "/static/app.js",
        ]);
        let named = |name: &str| {
            found
                .iter()
                .filter(|t| t.name == name)
                .map(|t| t.version.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(named("jQuery"), vec!["3.4.1", "3.6.0"]);
        assert_eq!(named("Bootstrap"), vec!["4.3.1"]);
        assert_eq!(named("WordPress"), vec!["5.8.1"]);
        let jquery = found.iter().find(|t| t.name == "jQuery").unwrap();
        assert_eq!(
            jquery.cpe.as_deref(),
            Some("cpe:2.3:a:jquery:jquery:3.4.1:*:*:*:*:*:*:*")
        );
    }

    #[test]
    fn targets_are_http_urls_without_credentials() {
        assert!(parse_target("https://example.com").is_ok());
        assert_eq!(parse_target("example.com").unwrap().scheme(), "https");
        assert!(parse_target("ftp://example.com").is_err());
        assert!(parse_target("https://user:pw@example.com").is_err());
        assert!(parse_target("").is_err());
    }
}
