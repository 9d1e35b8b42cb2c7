//! The one gate for outbound requests (sync feeds today; webhooks and scans later): every
//! URL passes [`OutboundPolicy`] before a byte is sent.
//!
//! - Schemes: `http` and `https` only; `file://` and local paths only when the operator
//!   allowed local sources.
//! - Every address a host name resolves to is checked (one bad address refuses the host),
//!   and the connection is made to exactly those checked addresses (the resolver is ours,
//!   so DNS rebinding between check and connect is impossible). IP-literal hosts are
//!   checked directly. Redirects are re-checked the same way.
//! - Loopback, private, CGNAT and unique-local addresses are refused unless
//!   `allow_private_targets`; link-local (cloud metadata at 169.254.169.254), unspecified,
//!   multicast and reserved addresses are refused always, except inside an operator's
//!   `allowed_networks`, which admit any address they contain.
//! - Responses are bounded in size and time; no proxy from the environment is used.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::Url;

/// The operator's outbound rules.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Admit loopback and private-network targets (a mirror on the LAN; the tests).
    pub allow_private_targets: bool,
    /// Networks admitted whatever their class (e.g. `10.20.0.0/16` for an internal mirror).
    pub allowed_networks: Vec<IpNet>,
    /// Admit `file://` URLs and local paths as sources (air-gapped mirrors on disk).
    pub allow_local_paths: bool,
    /// Largest response body read, in bytes.
    pub max_response_bytes: u64,
    /// Whole-request time limit (connect, headers and body).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_redirects: usize,
    /// Read https answers whatever the certificate (website scans only: they report the
    /// certificate's problems apart, see `scans::tls`). Never for feeds or webhooks.
    pub accept_invalid_certificates: bool,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy {
            allow_private_targets: false,
            allowed_networks: Vec::new(),
            allow_local_paths: false,
            // The largest public feed archive (OSV npm/all.zip) is a few hundred MB.
            max_response_bytes: 2 * 1024 * 1024 * 1024,
            request_timeout: Duration::from_secs(30 * 60),
            connect_timeout: Duration::from_secs(30),
            max_redirects: 5,
            accept_invalid_certificates: false,
        }
    }
}

/// Why a target was refused.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("scheme `{0}` is not allowed for outbound requests (http and https only)")]
    Scheme(String),
    #[error("local paths and file:// URLs are not allowed as sources (the operator has not enabled local sync paths)")]
    LocalPathsDisabled,
    #[error(
        "{host} resolves to {address}, a {class} address, which outbound requests may not reach"
    )]
    Address {
        host: String,
        address: IpAddr,
        class: &'static str,
    },
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("URL has no host: {0}")]
    NoHost(String),
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

/// Where a source reads from after the guard admitted it.
#[derive(Debug, Clone)]
pub enum Location {
    Remote(Url),
    Local(PathBuf),
}

/// The class of an address that is not plainly public, or `None` for a public one.
fn restricted_class(address: IpAddr) -> Option<(&'static str, bool)> {
    // (class, admitted by allow_private_targets)
    match address {
        IpAddr::V4(v4) => restricted_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return restricted_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some(("loopback", true))
            } else if v6.is_unspecified() {
                Some(("unspecified", false))
            } else if first & 0xffc0 == 0xfe80 {
                Some(("link-local", false))
            } else if first & 0xfe00 == 0xfc00 {
                Some(("unique-local (private)", true))
            } else if v6.is_multicast() {
                Some(("multicast", false))
            } else if v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                // NAT64: the embedded IPv4 address decides.
                let [a, b] = v6.segments()[6].to_be_bytes();
                let [c, d] = v6.segments()[7].to_be_bytes();
                restricted_v4(Ipv4Addr::new(a, b, c, d))
            } else {
                None
            }
        }
    }
}

fn restricted_v4(v4: Ipv4Addr) -> Option<(&'static str, bool)> {
    let [a, b, ..] = v4.octets();
    if v4.is_loopback() {
        Some(("loopback", true))
    } else if v4.is_private() {
        Some(("private", true))
    } else if a == 100 && (64..128).contains(&b) {
        Some(("shared (CGNAT)", true))
    } else if v4.is_link_local() {
        Some(("link-local", false))
    } else if a == 0 {
        Some(("unspecified", false))
    } else if v4.is_multicast() || v4.is_broadcast() || a >= 240 {
        Some(("multicast or reserved", false))
    } else {
        None
    }
}

impl OutboundPolicy {
    /// Admits or refuses one resolved address of `host`.
    pub fn check_address(&self, host: &str, address: IpAddr) -> Result<(), GuardError> {
        if self
            .allowed_networks
            .iter()
            .any(|net| net.contains(&address))
        {
            return Ok(());
        }
        match restricted_class(address) {
            None => Ok(()),
            Some((_, true)) if self.allow_private_targets => Ok(()),
            Some((class, _)) => Err(GuardError::Address {
                host: host.to_string(),
                address,
                class,
            }),
        }
    }

    /// Whether the operator admitted `address` explicitly: inside an allowed network, or a
    /// private/loopback address while private targets are allowed. Webhooks may use plain
    /// `http` only to such targets.
    pub fn is_explicitly_allowed(&self, address: IpAddr) -> bool {
        if self
            .allowed_networks
            .iter()
            .any(|net| net.contains(&address))
        {
            return true;
        }
        matches!(restricted_class(address), Some((_, true))) && self.allow_private_targets
    }

    /// Every address `url`'s host resolves to (or its literal address), each checked.
    pub async fn resolve_checked(&self, url: &Url) -> Result<Vec<IpAddr>, GuardError> {
        self.check_url_static(url)?;
        match url.host() {
            None => Err(GuardError::NoHost(url.to_string())),
            Some(url::Host::Ipv4(v4)) => Ok(vec![IpAddr::V4(v4)]),
            Some(url::Host::Ipv6(v6)) => Ok(vec![IpAddr::V6(v6)]),
            Some(url::Host::Domain(host)) => {
                Ok(
                    resolve_checked(self, host, url.port_or_known_default().unwrap_or(443))
                        .await?
                        .into_iter()
                        .map(|a| a.ip())
                        .collect(),
                )
            }
        }
    }

    /// Scheme and, for an IP-literal host, the address. Names are checked when resolved.
    fn check_url_static(&self, url: &Url) -> Result<(), GuardError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(GuardError::Scheme(other.to_string())),
        }
        match url.host() {
            None => Err(GuardError::NoHost(url.to_string())),
            Some(url::Host::Ipv4(v4)) => self.check_address(&v4.to_string(), IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check_address(&v6.to_string(), IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    /// Turns a configured source location (URL, `file://` URL or path) into a [`Location`],
    /// refusing what the policy does not allow. Host names are resolved and checked.
    pub async fn admit(&self, location: &str) -> Result<Location, GuardError> {
        let location = location.trim();
        if location.starts_with('/') || location.starts_with("./") {
            return self.admit_local(PathBuf::from(location));
        }
        let url = Url::parse(location).map_err(|e| GuardError::InvalidUrl {
            url: location.to_string(),
            reason: e.to_string(),
        })?;
        if url.scheme() == "file" {
            let path = url.to_file_path().map_err(|()| GuardError::InvalidUrl {
                url: location.to_string(),
                reason: "not a local file path".to_string(),
            })?;
            return self.admit_local(path);
        }
        self.check_url_static(&url)?;
        if let Some(url::Host::Domain(host)) = url.host() {
            resolve_checked(self, host, url.port_or_known_default().unwrap_or(443)).await?;
        }
        Ok(Location::Remote(url))
    }

    /// The checks that need no DNS (scheme, local paths, IP-literal hosts): used when a
    /// source is configured; [`OutboundPolicy::admit`] repeats them with resolution per run.
    pub fn check_static(&self, location: &str) -> Result<(), GuardError> {
        let location = location.trim();
        if location.starts_with('/') || location.starts_with("./") {
            return self.admit_local(PathBuf::from(location)).map(drop);
        }
        let url = Url::parse(location).map_err(|e| GuardError::InvalidUrl {
            url: location.to_string(),
            reason: e.to_string(),
        })?;
        if url.scheme() == "file" {
            return self.admit_local(PathBuf::new()).map(drop);
        }
        self.check_url_static(&url)
    }

    fn admit_local(&self, path: PathBuf) -> Result<Location, GuardError> {
        if self.allow_local_paths {
            Ok(Location::Local(path))
        } else {
            Err(GuardError::LocalPathsDisabled)
        }
    }
}

/// Resolves `host` and checks every address; all must pass.
async fn resolve_checked(
    policy: &OutboundPolicy,
    host: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, GuardError> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| GuardError::Resolve {
            host: host.to_string(),
            reason: e.to_string(),
        })?
        .collect();
    if addresses.is_empty() {
        return Err(GuardError::Resolve {
            host: host.to_string(),
            reason: "no addresses".to_string(),
        });
    }
    for address in &addresses {
        policy.check_address(host, address.ip())?;
    }
    Ok(addresses)
}

/// reqwest's resolver, replaced: connections go only to addresses the policy admitted.
struct GuardedResolver(Arc<OutboundPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.0);
        Box::pin(async move {
            let addresses = resolve_checked(&policy, name.as_str(), 0).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

/// An HTTP client whose every request and redirect passes the policy.
#[derive(Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

impl OutboundClient {
    pub fn new(policy: OutboundPolicy) -> anyhow::Result<OutboundClient> {
        let policy = Arc::new(policy);
        let redirect_policy = Arc::clone(&policy);
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver(Arc::clone(&policy))))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                // `max_redirects: 0` hands redirects back to the caller (scans follow them
                // themselves, checking each hop against their own allow-list).
                if redirect_policy.max_redirects == 0 {
                    return attempt.stop();
                }
                if attempt.previous().len() >= redirect_policy.max_redirects {
                    return attempt.error("too many redirects");
                }
                match redirect_policy.check_url_static(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(refused) => attempt.error(refused),
                }
            }))
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .danger_accept_invalid_certs(policy.accept_invalid_certificates)
            .user_agent(concat!("rampart/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(OutboundClient { client, policy })
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// A GET request builder for an admitted URL.
    pub fn get(&self, url: Url) -> reqwest::RequestBuilder {
        self.client.get(url)
    }

    /// A POST request builder for an admitted URL (webhook deliveries).
    pub fn post(&self, url: Url) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    /// Reads a response body, refusing one larger than the policy's limit.
    pub async fn read_body(&self, mut response: reqwest::Response) -> anyhow::Result<Vec<u8>> {
        let limit = self.policy.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            anyhow::bail!("response larger than the {limit}-byte limit");
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                anyhow::bail!("response larger than the {limit}-byte limit");
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Streams a response body into an anonymous temporary file (archives can be large).
    pub async fn download(&self, mut response: reqwest::Response) -> anyhow::Result<std::fs::File> {
        let limit = self.policy.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            anyhow::bail!("response larger than the {limit}-byte limit");
        }
        let mut file = tempfile::tempfile()?;
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await? {
            written += chunk.len() as u64;
            if written > limit {
                anyhow::bail!("response larger than the {limit}-byte limit");
            }
            file.write_all(&chunk)?;
        }
        file.flush()?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OutboundPolicy {
        OutboundPolicy::default()
    }

    #[tokio::test]
    async fn refuses_metadata_private_and_local_targets_by_default() {
        let policy = policy();
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/feed.json",
            "http://127.0.0.1:8080/x",
            "http://[::1]/x",
            "http://[fe80::1]/x",
            "http://[::ffff:10.1.2.3]/x",
            "http://0.0.0.0/x",
            "http://192.168.1.1/x",
            "http://100.64.0.1/x",
        ] {
            let refused = policy.admit(url).await.unwrap_err();
            assert!(
                matches!(refused, GuardError::Address { .. }),
                "{url}: {refused}"
            );
        }
        for url in ["file:///etc/passwd", "/var/lib/osv"] {
            assert!(matches!(
                policy.admit(url).await.unwrap_err(),
                GuardError::LocalPathsDisabled
            ));
        }
        for url in ["ftp://example.com/x", "gopher://example.com/"] {
            assert!(matches!(
                policy.admit(url).await.unwrap_err(),
                GuardError::Scheme(_)
            ));
        }
        // A public literal address passes.
        assert!(policy.admit("https://93.184.215.14/x").await.is_ok());
    }

    #[tokio::test]
    async fn private_targets_need_the_operator_and_metadata_stays_refused() {
        let policy = OutboundPolicy {
            allow_private_targets: true,
            ..policy()
        };
        assert!(policy.admit("http://127.0.0.1:9/x").await.is_ok());
        assert!(policy.admit("http://10.0.0.1/x").await.is_ok());
        assert!(policy.admit("http://169.254.169.254/").await.is_err());
        // An explicit network admits anything inside it, and only that.
        let listed = OutboundPolicy {
            allowed_networks: vec!["169.254.10.0/24".parse().unwrap()],
            ..OutboundPolicy::default()
        };
        assert!(listed.admit("http://169.254.10.7/").await.is_ok());
        assert!(listed.admit("http://169.254.169.254/").await.is_err());
        assert!(listed.admit("http://10.0.0.1/").await.is_err());
    }

    #[tokio::test]
    async fn host_names_are_resolved_and_every_address_checked() {
        // `localhost` resolves to loopback without any network.
        let refused = policy().admit("http://localhost:9/x").await.unwrap_err();
        assert!(matches!(refused, GuardError::Address { .. }), "{refused}");
    }
}
