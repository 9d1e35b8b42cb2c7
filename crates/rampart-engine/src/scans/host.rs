//! A host threat scan's network side: a TCP connect scan of documented port sets, then banner
//! grabbing and light probes on the open ports, identified with Recog.
//!
//! Port sets per depth ([`ports_for`]):
//! - `quick`: the 24 ports of [`QUICK_PORTS`] (remote access, mail, web, file sharing, databases);
//! - `standard`: [`STANDARD_PORTS`], about 100 commonly exposed service ports;
//! - `deep`: every port 1–1024 plus the standard set (about 1,100).
//!
//! Probes (each bounded by the banner timeout and 4 KiB): services that speak first (SSH, FTP,
//! SMTP, POP3, IMAP, MySQL/MariaDB's handshake) are read; HTTP ports get `GET / HTTP/1.0`;
//! Redis gets `INFO server`; PostgreSQL gets an `SSLRequest` (PostgreSQL discloses no version
//! before authentication, so none is claimed). A port that sent nothing gets the HTTP probe.
//!
//! Severity of an exposed port ([`port_severity`], the documented risky-port policy):
//! - critical: unauthenticated-by-default data stores and remote daemons (Telnet 23, Redis
//!   6379, MongoDB 27017, Elasticsearch 9200, Docker API 2375, memcached 11211, rsh/rlogin
//!   512–514);
//! - high: file sharing, remote desktop and databases (FTP 21, RPC 135, NetBIOS 139, SMB 445,
//!   MSSQL 1433, MySQL 3306, RDP 3389, PostgreSQL 5432, VNC 5900, rpcbind 111, SNMP 161,
//!   LDAP 389, NFS 2049, Oracle 1521);
//! - medium: remote administration and mail (SSH 22, SMTP 25, DNS 53, POP3 110, IMAP 143,
//!   HTTP alternates 8080/8000/8888, and any port not listed);
//! - low: the web and mail over TLS (80, 443, 465, 587, 993, 995, 8443).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::recog::RecogLibrary;
use super::website::{cpe_of, from_recog, Evidence, Technology};

pub const QUICK_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 3306, 3389, 5432,
    5900, 6379, 8080, 8443, 27017,
];

pub const STANDARD_PORTS: &[u16] = &[
    7, 9, 13, 21, 22, 23, 25, 26, 37, 53, 79, 80, 81, 88, 106, 110, 111, 113, 119, 135, 139, 143,
    144, 161, 179, 199, 389, 427, 443, 444, 445, 465, 513, 514, 515, 543, 544, 548, 554, 587, 631,
    646, 873, 990, 993, 995, 1025, 1026, 1027, 1028, 1029, 1110, 1433, 1521, 1720, 1723, 1755,
    1900, 2000, 2001, 2049, 2121, 2375, 2717, 3000, 3128, 3306, 3389, 3986, 4899, 5000, 5009, 5051,
    5060, 5101, 5190, 5357, 5432, 5631, 5666, 5800, 5900, 6000, 6001, 6379, 6646, 7070, 8000, 8008,
    8009, 8080, 8081, 8443, 8888, 9100, 9200, 9999, 10000, 11211, 27017, 32768, 49152, 49153,
    49154, 49155, 49156, 49157,
];

/// PostgreSQL's `SSLRequest` (length 8, code 80877103): a server answers `S` or `N`.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// How much of the network a host scan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Depth {
    Quick,
    Standard,
    Deep,
}

impl Depth {
    pub fn parse(text: &str) -> Option<Depth> {
        match text.trim().to_ascii_lowercase().as_str() {
            "quick" => Some(Depth::Quick),
            "standard" => Some(Depth::Standard),
            "deep" => Some(Depth::Deep),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Depth::Quick => "quick",
            Depth::Standard => "standard",
            Depth::Deep => "deep",
        }
    }
}

/// The ports a depth scans plus the operator's `extra` ones (`--scan-extra-ports`: services
/// on non-standard ports), ascending, without duplicates.
pub fn ports_for(depth: Depth, extra: &[u16]) -> Vec<u16> {
    let mut ports: Vec<u16> = match depth {
        Depth::Quick => QUICK_PORTS.to_vec(),
        Depth::Standard => STANDARD_PORTS.to_vec(),
        Depth::Deep => (1..=1024).chain(STANDARD_PORTS.iter().copied()).collect(),
    };
    ports.extend_from_slice(extra);
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The conventional service of a port, when it has one.
pub fn service_name(port: u16) -> Option<&'static str> {
    Some(match port {
        21 => "ftp",
        22 => "ssh",
        23 => "telnet",
        25 | 465 | 587 => "smtp",
        53 => "dns",
        80 | 8000 | 8008 | 8080 | 8081 | 8888 | 3000 | 5000 => "http",
        110 | 995 => "pop3",
        111 => "rpcbind",
        135 => "msrpc",
        139 => "netbios-ssn",
        143 | 993 => "imap",
        161 => "snmp",
        389 => "ldap",
        443 | 8443 => "https",
        445 => "microsoft-ds",
        512..=514 => "rsh",
        1433 => "mssql",
        1521 => "oracle",
        2049 => "nfs",
        2375 => "docker",
        3306 => "mysql",
        3389 => "rdp",
        5432 => "postgresql",
        5900 => "vnc",
        6379 => "redis",
        9200 => "elasticsearch",
        11211 => "memcached",
        27017 => "mongodb",
        _ => return None,
    })
}

/// The documented severity of an exposed port (see the module comment).
pub fn port_severity(port: u16) -> &'static str {
    match port {
        23 | 6379 | 27017 | 9200 | 2375 | 11211 | 512..=514 => "critical",
        21 | 135 | 139 | 445 | 1433 | 3306 | 3389 | 5432 | 5900 | 111 | 161 | 389 | 2049 | 1521 => {
            "high"
        }
        80 | 443 | 465 | 587 | 993 | 995 | 8443 => "low",
        _ => "medium",
    }
}

/// An open port and what answered on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenPort {
    pub address: String,
    pub port: u16,
    /// The service identified (`ssh`, `http`, …) or the port's conventional one.
    pub service: Option<String>,
    /// The first bytes it sent (printable, at most 300 characters).
    pub banner: Option<String>,
    pub technology: Option<Technology>,
}

/// What the network side of a host scan saw.
#[derive(Debug, Clone, Default)]
pub struct HostObservation {
    pub addresses_scanned: usize,
    pub ports_scanned: usize,
    pub open_ports: Vec<OpenPort>,
    pub duration_ms: u64,
}

/// Connection limits of one scan.
#[derive(Debug, Clone, Copy)]
pub struct ProbeLimits {
    pub connect_timeout: Duration,
    pub banner_timeout: Duration,
    pub parallel: usize,
}

/// Ports where the client speaks first (no banner to wait for).
fn client_speaks_first(port: u16) -> bool {
    matches!(
        port,
        80 | 81 | 443 | 3000 | 5000 | 5432 | 6379 | 8000 | 8008 | 8080 | 8081 | 8443 | 8888 | 9200
    )
}

/// Scans every address × port; open ports are probed.
pub async fn scan(
    addresses: &[IpAddr],
    ports: &[u16],
    recog: Arc<RecogLibrary>,
    limits: ProbeLimits,
) -> HostObservation {
    let started = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(limits.parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for &address in addresses {
        for &port in ports {
            let permit = Arc::clone(&semaphore)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let recog = Arc::clone(&recog);
            tasks.spawn(async move {
                let open = probe_port(address, port, &recog, limits).await;
                drop(permit);
                open
            });
        }
    }
    let mut open_ports = Vec::new();
    while let Some(result) = tasks.join_next().await {
        if let Ok(Some(open)) = result {
            open_ports.push(open);
        }
    }
    open_ports.sort_by(|a, b| {
        (a.address.parse::<IpAddr>().ok(), a.port).cmp(&(b.address.parse::<IpAddr>().ok(), b.port))
    });
    HostObservation {
        addresses_scanned: addresses.len(),
        ports_scanned: addresses.len() * ports.len(),
        open_ports,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

async fn probe_port(
    address: IpAddr,
    port: u16,
    recog: &RecogLibrary,
    limits: ProbeLimits,
) -> Option<OpenPort> {
    let socket = SocketAddr::new(address, port);
    let mut stream = tokio::time::timeout(limits.connect_timeout, TcpStream::connect(socket))
        .await
        .ok()?
        .ok()?;
    let location = socket.to_string();
    let mut banner = Vec::new();
    if !client_speaks_first(port) {
        banner = read_some(&mut stream, limits.banner_timeout).await;
    }
    let mut identified = if banner.is_empty() {
        None
    } else {
        identify_banner(recog, port, &banner, &location)
    };
    if banner.is_empty() {
        match port {
            6379 => {
                let _ = stream.write_all(b"INFO server\r\n").await;
                banner = read_some(&mut stream, limits.banner_timeout).await;
                identified = identify_redis(&banner, &location);
            }
            5432 => {
                // SSLRequest: a PostgreSQL server answers one byte, `S` or `N`.
                let _ = stream.write_all(&SSL_REQUEST).await;
                banner = read_some(&mut stream, limits.banner_timeout).await;
                identified = identify_postgres(&banner, &location);
            }
            _ => {
                // Nothing was said: ask as an HTTP client. A PostgreSQL server on another
                // port answers that with a protocol error, which names it too.
                let request = format!(
                    "GET / HTTP/1.0\r\nHost: {}\r\nUser-Agent: rampart-scan\r\n\r\n",
                    match address {
                        IpAddr::V6(v6) => format!("[{v6}]"),
                        IpAddr::V4(v4) => v4.to_string(),
                    }
                );
                let _ = stream.write_all(request.as_bytes()).await;
                banner = read_some(&mut stream, limits.banner_timeout).await;
                if !banner.is_empty() {
                    identified = identify_banner(recog, port, &banner, &location)
                        .or_else(|| identify_postgres(&banner, &location));
                } else if let Ok(Ok(mut again)) =
                    tokio::time::timeout(limits.connect_timeout, TcpStream::connect(socket)).await
                {
                    // Silence to HTTP too (PostgreSQL drops a malformed startup packet without
                    // a word): one more connection asks PostgreSQL's way.
                    let _ = again.write_all(&SSL_REQUEST).await;
                    let reply = read_some(&mut again, limits.banner_timeout).await;
                    identified = identify_postgres(&reply, &location);
                    if identified.is_some() {
                        banner = reply;
                    }
                }
            }
        }
    }
    let (service, technology) = match identified {
        Some((service, technology)) => (Some(service.to_string()), technology),
        None => (service_name(port).map(str::to_string), None),
    };
    Some(OpenPort {
        address: address.to_string(),
        port,
        service,
        banner: (!banner.is_empty()).then(|| printable(&banner)),
        technology,
    })
}

async fn read_some(stream: &mut TcpStream, timeout: Duration) -> Vec<u8> {
    let mut buffer = vec![0u8; 4096];
    let mut read = 0;
    let deadline = tokio::time::Instant::now() + timeout;
    while read < buffer.len() {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer[read..])).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                read += n;
                // A line-oriented banner is complete at its first line end (multi-line FTP
                // `220-` greetings continue).
                let text = &buffer[..read];
                if text.ends_with(b"\n")
                    && !text.starts_with(b"220-")
                    && !text.starts_with(b"HTTP/")
                {
                    break;
                }
                if text.starts_with(b"HTTP/") && text.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
                if read >= 5 && text[3] == 0 && text[4] == 0x0a {
                    // A MySQL handshake packet: complete when its length is read.
                    let length = usize::from(text[0])
                        | usize::from(text[1]) << 8
                        | usize::from(text[2]) << 16;
                    if read >= length + 4 {
                        break;
                    }
                }
            }
        }
    }
    buffer.truncate(read);
    buffer
}

fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\r' {
                '.'
            } else {
                c
            }
        })
        .take(300)
        .collect::<String>()
        .trim_end()
        .to_string()
}

fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines().next().unwrap_or("").trim_end().to_string()
}

fn banner_evidence(
    identification: &rampart_formats::recog::Identification,
    value: &str,
    location: &str,
) -> Evidence {
    Evidence {
        source: "banner".into(),
        field: "banner".into(),
        value: value.chars().take(300).collect(),
        matched_by: format!("recog:{}", identification.database),
        pattern: Some(identification.pattern.clone()),
        location: location.to_string(),
    }
}

/// A banner's service and, when a Recog fingerprint matches, its technology.
pub fn identify_banner(
    recog: &RecogLibrary,
    port: u16,
    banner: &[u8],
    location: &str,
) -> Option<(&'static str, Option<Technology>)> {
    let line = first_line(banner);
    let recognise = |database: &str, text: &str, category: &str| {
        recog
            .identify(database, text.as_bytes())
            .and_then(|identification| {
                from_recog(
                    &identification,
                    banner_evidence(&identification, &line, location),
                    category,
                )
            })
    };
    if let Some(rest) = line.strip_prefix("SSH-") {
        // `SSH-2.0-OpenSSH_7.4p1 Debian-10`: Recog reads what follows the protocol version.
        let software = rest.split_once('-').map(|(_, s)| s).unwrap_or(rest);
        return Some(("ssh", recognise("ssh_banners", software, "Remote access")));
    }
    if banner.starts_with(b"HTTP/") {
        let text = String::from_utf8_lossy(banner);
        let server = text.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("server")
                .then(|| value.trim().to_string())
        });
        let service = if port == 443 || port == 8443 {
            "https"
        } else {
            "http"
        };
        let technology = server.and_then(|server| {
            recog
                .identify("http_servers", server.as_bytes())
                .and_then(|identification| {
                    from_recog(
                        &identification,
                        Evidence {
                            source: "header".into(),
                            field: "Server".into(),
                            value: server.clone(),
                            matched_by: "recog:http_servers".into(),
                            pattern: Some(identification.pattern.clone()),
                            location: location.to_string(),
                        },
                        "Web server",
                    )
                })
        });
        return Some((service, technology));
    }
    if let Some(rest) = line
        .strip_prefix("220")
        .map(|r| r.trim_start_matches(['-', ' ']))
    {
        let ftp_first = port == 21 || line.to_ascii_uppercase().contains("FTP");
        let (first, second) = if ftp_first {
            (("ftp_banners", "ftp"), ("smtp_banners", "smtp"))
        } else {
            (("smtp_banners", "smtp"), ("ftp_banners", "ftp"))
        };
        for (database, service) in [first, second] {
            let category = if service == "ftp" {
                "File transfer"
            } else {
                "Mail server"
            };
            if let Some(technology) = recognise(database, rest, category) {
                return Some((service, Some(technology)));
            }
        }
        return Some((first.1, None));
    }
    if let Some(rest) = line.strip_prefix("+OK") {
        return Some(("pop3", recognise("pop_banners", rest.trim(), "Mail server")));
    }
    if let Some(rest) = line.strip_prefix("* OK") {
        return Some((
            "imap",
            recognise("imap_banners", rest.trim(), "Mail server"),
        ));
    }
    if banner.len() > 5 && banner[4] == 0x0a {
        // MySQL/MariaDB initial handshake: protocol 10, then the NUL-terminated version.
        let version_bytes = &banner[5..];
        let end = version_bytes.iter().position(|&b| b == 0)?;
        let version = String::from_utf8_lossy(&version_bytes[..end]).into_owned();
        let technology = recog
            .identify("mysql_banners", version.as_bytes())
            .and_then(|identification| {
                from_recog(
                    &identification,
                    banner_evidence(&identification, &version, location),
                    "Database",
                )
            });
        return Some(("mysql", technology));
    }
    None
}

fn own_technology(
    name: &str,
    vendor: &str,
    product: &str,
    version: Option<String>,
    category: &str,
    evidence: Evidence,
) -> Technology {
    Technology {
        name: name.to_string(),
        vendor: Some(vendor.to_string()),
        product: Some(product.to_string()),
        cpe: Some(cpe_of("a", vendor, product, version.as_deref())),
        version,
        category: category.to_string(),
        evidence: vec![evidence],
    }
}

/// Redis answers `INFO server` with `redis_version:…`, or `-NOAUTH` when it needs a password.
fn identify_redis(reply: &[u8], location: &str) -> Option<(&'static str, Option<Technology>)> {
    let text = String::from_utf8_lossy(reply);
    let evidence = |value: &str| Evidence {
        source: "banner".into(),
        field: "INFO server".into(),
        value: value.chars().take(300).collect(),
        matched_by: "redis INFO reply".into(),
        pattern: None,
        location: location.to_string(),
    };
    if let Some(version) = text
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(|v| v.trim().to_string())
    {
        let technology = own_technology(
            "Redis",
            "redis",
            "redis",
            Some(version.clone()),
            "Database",
            evidence(&format!("redis_version:{version}")),
        );
        return Some(("redis", Some(technology)));
    }
    if text.starts_with("-NOAUTH") || text.starts_with("-ERR") || text.starts_with("-DENIED") {
        let line = text.lines().next().unwrap_or("");
        let technology =
            own_technology("Redis", "redis", "redis", None, "Database", evidence(line));
        return Some(("redis", Some(technology)));
    }
    None
}

/// A PostgreSQL server answers an `SSLRequest` with one byte: `S` (TLS offered) or `N`.
fn identify_postgres(reply: &[u8], location: &str) -> Option<(&'static str, Option<Technology>)> {
    // An ErrorResponse (`E`, length, then `S`everity/`C`ode fields) to a malformed startup
    // packet is PostgreSQL's too.
    let error_response = reply.first() == Some(&b'E')
        && reply.len() > 8
        && reply
            .windows(6)
            .any(|w| w == b"SFATAL" || w == b"C08P01" || w == b"C0A000");
    match reply {
        [b'S'] | [b'N'] => {}
        _ if error_response => {}
        _ => return None,
    }
    let technology = own_technology(
        "PostgreSQL",
        "postgresql",
        "postgresql",
        None,
        "Database",
        Evidence {
            source: "banner".into(),
            field: "SSLRequest reply".into(),
            value: format!(
                "{} (PostgreSQL discloses no version before authentication)",
                printable(&reply[..reply.len().min(60)])
            ),
            matched_by: "postgresql SSLRequest".into(),
            pattern: None,
            location: location.to_string(),
        },
    );
    Some(("postgresql", Some(technology)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_sets_grow_with_depth() {
        assert_eq!(ports_for(Depth::Quick, &[]).len(), 24);
        let standard = ports_for(Depth::Standard, &[]);
        assert!((95..=120).contains(&standard.len()), "{}", standard.len());
        let deep = ports_for(Depth::Deep, &[8]);
        assert!(ports_for(Depth::Quick, &[55432]).contains(&55432));
        assert!(deep.len() > 1024 && deep.len() < 1200);
        assert_eq!(port_severity(23), "critical");
        assert_eq!(port_severity(22), "medium");
        assert_eq!(port_severity(443), "low");
    }

    #[test]
    fn banners_are_identified() {
        let recog = RecogLibrary::load(None).unwrap();
        let (service, technology) =
            identify_banner(&recog, 22, b"SSH-2.0-OpenSSH_7.4\r\n", "x").unwrap();
        assert_eq!(service, "ssh");
        let technology = technology.unwrap();
        assert_eq!(technology.name, "OpenSSH");
        assert_eq!(technology.version.as_deref(), Some("7.4"));
        let (service, technology) = identify_banner(
            &recog,
            21,
            b"220 ProFTPD 1.3.5 Server (Debian) [127.0.0.1]\r\n",
            "x",
        )
        .unwrap();
        assert_eq!(service, "ftp");
        assert_eq!(technology.unwrap().version.as_deref(), Some("1.3.5"));
    }
}
