//! Which targets a scan may touch. Scans reach inward (a host scan connects to every port it
//! lists), so beyond the outbound guard's rules an operator must name what may be scanned:
//! `--scan-allowed-targets`, CIDRs and host names (`*.example.com` for a domain's hosts).
//! Empty (the default) refuses every scan, naming the setting. Link-local addresses (cloud
//! metadata at 169.254.169.254 and fd00:ec2::254 included), unspecified, multicast and
//! broadcast addresses are refused always, whatever the list says.

use std::net::IpAddr;

use ipnet::IpNet;

/// The setting's name, as errors show it.
pub const SETTING: &str = "--scan-allowed-targets";

/// One entry of the allow-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedTarget {
    Network(IpNet),
    /// A host name, lower-case; `*.example.com` admits every name under `example.com`.
    Host(String),
}

impl std::str::FromStr for AllowedTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty scan target".into());
        }
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(AllowedTarget::Network(net));
        }
        if let Ok(address) = text.parse::<IpAddr>() {
            return Ok(AllowedTarget::Network(IpNet::from(address)));
        }
        let name = text.to_ascii_lowercase();
        let bare = name.strip_prefix("*.").unwrap_or(&name);
        if bare.is_empty()
            || !bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(format!(
                "{text:?} is neither a CIDR, an IP address nor a host name"
            ));
        }
        Ok(AllowedTarget::Host(name))
    }
}

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRefusal {
    /// Link-local / metadata / unspecified / multicast: never scanned.
    Never {
        address: IpAddr,
        class: &'static str,
    },
    /// The allow-list is empty.
    NothingAllowed,
    /// Not in the allow-list.
    NotAllowed { target: String },
}

impl std::fmt::Display for TargetRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetRefusal::Never { address, class } => write!(
                f,
                "{address} is a {class} address, which scans never reach (cloud metadata and link-local addresses are always refused)"
            ),
            TargetRefusal::NothingAllowed => write!(
                f,
                "scans are disabled on this server: the operator has not set {SETTING} (the CIDRs and host names scans may target)"
            ),
            TargetRefusal::NotAllowed { target } => write!(
                f,
                "{target} is not in the server's {SETTING} (the CIDRs and host names scans may target)"
            ),
        }
    }
}

/// The class of an address no scan may reach, if it is one.
pub fn never_scanned(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => {
            let v4_class = |v4: std::net::Ipv4Addr| {
                if v4.is_link_local() {
                    Some("link-local (cloud metadata)")
                } else if v4.is_unspecified() || v4.octets()[0] == 0 {
                    Some("unspecified")
                } else if v4.is_multicast() || v4.is_broadcast() {
                    Some("multicast or broadcast")
                } else {
                    None
                }
            };
            v4_class(v4)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return never_scanned(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] {
                Some("cloud metadata")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

/// Whether a network overlaps a never-scanned range (checked for CIDR targets).
pub fn network_never_scanned(net: &IpNet) -> Option<(IpAddr, &'static str)> {
    let forbidden: [&str; 6] = [
        "169.254.0.0/16",
        "0.0.0.0/8",
        "224.0.0.0/4",
        "255.255.255.255/32",
        "fe80::/10",
        "ff00::/8",
    ];
    for range in forbidden {
        let range: IpNet = range.parse().expect("constant CIDR");
        if range.contains(net) || net.contains(&range) || range.contains(&net.network()) {
            let address = if net.contains(&range.network()) {
                range.network()
            } else {
                net.network()
            };
            return Some((address, never_scanned(address).unwrap_or("link-local")));
        }
    }
    None
}

/// The allow-list.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    pub allowed: Vec<AllowedTarget>,
}

impl TargetPolicy {
    fn host_listed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed.iter().any(|entry| match entry {
            AllowedTarget::Host(name) => match name.strip_prefix("*.") {
                Some(domain) => host.ends_with(&format!(".{domain}")),
                None => *name == host,
            },
            AllowedTarget::Network(_) => false,
        })
    }

    fn address_listed(&self, address: IpAddr) -> bool {
        self.allowed.iter().any(|entry| match entry {
            AllowedTarget::Network(net) => net.contains(&address),
            AllowedTarget::Host(_) => false,
        })
    }

    /// A host (`name`, `None` for an IP literal) and every address it resolved to.
    pub fn admit_host(
        &self,
        name: Option<&str>,
        addresses: &[IpAddr],
    ) -> Result<(), TargetRefusal> {
        for &address in addresses {
            if let Some(class) = never_scanned(address) {
                return Err(TargetRefusal::Never { address, class });
            }
        }
        if self.allowed.is_empty() {
            return Err(TargetRefusal::NothingAllowed);
        }
        if name.is_some_and(|name| self.host_listed(name)) {
            return Ok(());
        }
        match addresses.iter().find(|a| !self.address_listed(**a)) {
            None if !addresses.is_empty() => Ok(()),
            None => Err(TargetRefusal::NotAllowed {
                target: name.unwrap_or_default().to_string(),
            }),
            Some(address) => Err(TargetRefusal::NotAllowed {
                target: match name {
                    Some(name) => format!("{name} ({address})"),
                    None => address.to_string(),
                },
            }),
        }
    }

    /// A CIDR target: every address must be allowed.
    pub fn admit_network(&self, net: &IpNet) -> Result<(), TargetRefusal> {
        if let Some((address, class)) = network_never_scanned(net) {
            return Err(TargetRefusal::Never { address, class });
        }
        if self.allowed.is_empty() {
            return Err(TargetRefusal::NothingAllowed);
        }
        let covered = self.allowed.iter().any(|entry| match entry {
            AllowedTarget::Network(allowed) => allowed.contains(net),
            AllowedTarget::Host(_) => false,
        });
        if covered {
            Ok(())
        } else {
            Err(TargetRefusal::NotAllowed {
                target: net.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(list: &[&str]) -> TargetPolicy {
        TargetPolicy {
            allowed: list.iter().map(|t| t.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn empty_list_refuses_and_names_the_setting() {
        let refused = policy(&[])
            .admit_host(None, &["127.0.0.1".parse().unwrap()])
            .unwrap_err();
        assert_eq!(refused, TargetRefusal::NothingAllowed);
        assert!(refused.to_string().contains(SETTING));
    }

    #[test]
    fn metadata_is_refused_even_when_listed() {
        let policy = policy(&["0.0.0.0/0", "169.254.0.0/16"]);
        assert!(matches!(
            policy.admit_host(None, &["169.254.169.254".parse().unwrap()]),
            Err(TargetRefusal::Never { .. })
        ));
        assert!(matches!(
            policy.admit_network(&"169.254.169.0/24".parse().unwrap()),
            Err(TargetRefusal::Never { .. })
        ));
        assert!(matches!(
            policy.admit_network(&"0.0.0.0/0".parse().unwrap()),
            Err(TargetRefusal::Never { .. })
        ));
    }

    #[test]
    fn networks_and_names_admit_what_they_cover() {
        let policy = policy(&["127.0.0.0/8", "*.example.com", "intranet"]);
        assert!(policy
            .admit_host(Some("localhost"), &["127.0.0.1".parse().unwrap()])
            .is_ok());
        assert!(policy
            .admit_host(Some("www.example.com"), &["93.184.215.14".parse().unwrap()])
            .is_ok());
        assert!(policy
            .admit_host(Some("example.org"), &["93.184.215.14".parse().unwrap()])
            .is_err());
        assert!(policy
            .admit_network(&"127.0.0.0/24".parse().unwrap())
            .is_ok());
        assert!(policy
            .admit_network(&"10.0.0.0/24".parse().unwrap())
            .is_err());
    }
}
