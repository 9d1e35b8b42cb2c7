//! OSV ecosystem names (`affected[].package.ecosystem`), spelled exactly as the OSV schema
//! spells them, with the optional `:<suffix>` that scopes a record to a release or a
//! repository (`Debian:11`, `Alpine:v3.16`, `Ubuntu:Pro:18.04:LTS`, `Maven:https://…`).
//! Names OSV does not (yet) define are kept verbatim rather than rejected: new ecosystems
//! appear upstream faster than releases of this crate.

use std::fmt;
use std::str::FromStr;

use crate::{Scheme, VersionError};

/// Declares the known ecosystems once: variant, canonical OSV spelling.
macro_rules! ecosystems {
    ($($variant:ident => $name:literal,)*) => {
        /// The ecosystem part of an OSV ecosystem string, without its `:suffix`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EcosystemKind {
            $($variant,)*
            /// An ecosystem this crate does not know, kept as written.
            Other(String),
        }

        impl EcosystemKind {
            /// Every ecosystem OSV defines, in schema order.
            pub const KNOWN: &'static [EcosystemKind] = &[$(EcosystemKind::$variant,)*];

            /// The canonical OSV spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(EcosystemKind::$variant => $name,)*
                    EcosystemKind::Other(name) => name,
                }
            }

            /// Case-insensitive lookup of a base name (no suffix); unknown names become
            /// [`EcosystemKind::Other`].
            pub fn from_name(name: &str) -> EcosystemKind {
                $(if name.eq_ignore_ascii_case($name) {
                    return EcosystemKind::$variant;
                })*
                EcosystemKind::Other(name.to_string())
            }
        }
    };
}

ecosystems! {
    AlmaLinux => "AlmaLinux",
    Alpaquita => "Alpaquita",
    Alpine => "Alpine",
    Android => "Android",
    AzureLinux => "Azure Linux",
    BellSoftHardenedContainers => "BellSoft Hardened Containers",
    Bioconductor => "Bioconductor",
    Bitnami => "Bitnami",
    Chainguard => "Chainguard",
    CleanStart => "CleanStart",
    ConanCenter => "ConanCenter",
    Cran => "CRAN",
    CratesIo => "crates.io",
    Debian => "Debian",
    DockerHardenedImages => "Docker Hardened Images",
    Echo => "Echo",
    FreeBsd => "FreeBSD",
    Ghc => "GHC",
    GitHubActions => "GitHub Actions",
    Go => "Go",
    Hackage => "Hackage",
    Hex => "Hex",
    Julia => "Julia",
    Kubernetes => "Kubernetes",
    Linux => "Linux",
    Mageia => "Mageia",
    Maven => "Maven",
    MinimOs => "MinimOS",
    Npm => "npm",
    NuGet => "NuGet",
    Opam => "opam",
    OpenEuler => "openEuler",
    OpenSuse => "openSUSE",
    OssFuzz => "OSS-Fuzz",
    Packagist => "Packagist",
    PhotonOs => "Photon OS",
    Pub => "Pub",
    PyPI => "PyPI",
    RedHat => "Red Hat",
    RockyLinux => "Rocky Linux",
    Root => "Root",
    RubyGems => "RubyGems",
    Suse => "SUSE",
    SwiftUrl => "SwiftURL",
    TuxCare => "TuxCare",
    Ubuntu => "Ubuntu",
    VsCode => "VSCode",
    Wolfi => "Wolfi",
}

impl EcosystemKind {
    /// The version ordering this ecosystem's `ECOSYSTEM` ranges use. Ecosystems without a
    /// dedicated scheme (and unknown ones) fall back to [`Scheme::Generic`].
    pub fn scheme(&self) -> Scheme {
        use EcosystemKind as E;
        match self {
            E::CratesIo | E::Hex | E::SwiftUrl | E::GitHubActions => Scheme::Semver,
            E::Npm => Scheme::Npm,
            E::Go => Scheme::Go,
            E::Pub => Scheme::Pub,
            E::PyPI => Scheme::Pep440,
            E::Maven => Scheme::Maven,
            E::NuGet => Scheme::NuGet,
            E::RubyGems => Scheme::RubyGems,
            E::Packagist => Scheme::Composer,
            E::Debian | E::Ubuntu => Scheme::Dpkg,
            // RPM-based distributions: all order versions with rpmvercmp.
            E::RedHat
            | E::RockyLinux
            | E::AlmaLinux
            | E::Suse
            | E::OpenSuse
            | E::OpenEuler
            | E::AzureLinux
            | E::Mageia
            | E::PhotonOs => Scheme::Rpm,
            // apk-based distributions.
            E::Alpine | E::Wolfi | E::Chainguard | E::MinimOs => Scheme::Apk,
            // Bioconductor packages are R packages, versioned like CRAN's.
            E::Cran | E::Bioconductor => Scheme::Cran,
            E::Hackage => Scheme::Hackage,
            _ => Scheme::Generic,
        }
    }
}

impl fmt::Display for EcosystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A full OSV ecosystem string: the ecosystem and its optional release/repository suffix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ecosystem {
    kind: EcosystemKind,
    /// Everything after the first `:`, verbatim (it may itself contain `:`).
    suffix: Option<String>,
}

impl Ecosystem {
    pub fn new(kind: EcosystemKind, suffix: Option<String>) -> Self {
        Self {
            kind,
            suffix: suffix.filter(|s| !s.is_empty()),
        }
    }

    /// Parses an OSV ecosystem string. The base name is matched case-insensitively; the
    /// suffix is kept as written. Only an empty or blank string is rejected.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let trimmed = input.trim();
        let (base, suffix) = match trimmed.split_once(':') {
            Some((base, suffix)) => (base, Some(suffix.to_string())),
            None => (trimmed, None),
        };
        if base.is_empty() {
            return Err(VersionError::new(
                "ecosystem",
                input,
                "empty ecosystem name",
            ));
        }
        Ok(Self::new(EcosystemKind::from_name(base), suffix))
    }

    pub fn kind(&self) -> &EcosystemKind {
        &self.kind
    }

    /// The release or repository after the first `:`, if any (`11` in `Debian:11`).
    pub fn suffix(&self) -> Option<&str> {
        self.suffix.as_deref()
    }

    /// The version ordering of this ecosystem (the suffix does not change it).
    pub fn scheme(&self) -> Scheme {
        self.kind.scheme()
    }

    /// The same ecosystem without its suffix (`Debian:11` → `Debian`).
    pub fn without_suffix(&self) -> Ecosystem {
        Ecosystem::new(self.kind.clone(), None)
    }
}

impl From<EcosystemKind> for Ecosystem {
    fn from(kind: EcosystemKind) -> Self {
        Ecosystem::new(kind, None)
    }
}

impl FromStr for Ecosystem {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ecosystem::parse(s)
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if let Some(suffix) = &self.suffix {
            write!(f, ":{suffix}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_canonical_spelling_with_suffix() {
        for (input, canonical) in [
            ("PyPI", "PyPI"),
            ("pypi", "PyPI"),
            ("CRATES.IO", "crates.io"),
            (
                "red hat:rhel_aus:8.4::appstream",
                "Red Hat:rhel_aus:8.4::appstream",
            ),
            ("Rocky Linux:9", "Rocky Linux:9"),
            ("Debian:11", "Debian:11"),
            ("Alpine:v3.16", "Alpine:v3.16"),
            ("Ubuntu:22.04:LTS", "Ubuntu:22.04:LTS"),
            (
                "Maven:https://maven.google.com",
                "Maven:https://maven.google.com",
            ),
            ("GitHub Actions", "GitHub Actions"),
        ] {
            assert_eq!(Ecosystem::parse(input).unwrap().to_string(), canonical);
        }
        let ubuntu = Ecosystem::parse("Ubuntu:Pro:18.04:LTS").unwrap();
        assert_eq!(ubuntu.kind(), &EcosystemKind::Ubuntu);
        assert_eq!(ubuntu.suffix(), Some("Pro:18.04:LTS"));
        assert_eq!(ubuntu.without_suffix().to_string(), "Ubuntu");
    }

    #[test]
    fn maps_ecosystems_to_their_ordering_scheme() {
        for (name, scheme) in [
            ("PyPI", Scheme::Pep440),
            ("npm", Scheme::Npm),
            ("crates.io", Scheme::Semver),
            ("Hex", Scheme::Semver),
            ("SwiftURL", Scheme::Semver),
            ("GitHub Actions", Scheme::Semver),
            ("Go", Scheme::Go),
            ("Pub", Scheme::Pub),
            ("Maven:https://maven.google.com", Scheme::Maven),
            ("NuGet", Scheme::NuGet),
            ("RubyGems", Scheme::RubyGems),
            ("Packagist", Scheme::Composer),
            ("Debian:11", Scheme::Dpkg),
            ("Ubuntu:22.04:LTS", Scheme::Dpkg),
            ("Red Hat:rhel_aus:8.4::appstream", Scheme::Rpm),
            ("Rocky Linux:9", Scheme::Rpm),
            ("AlmaLinux:8", Scheme::Rpm),
            ("SUSE:Linux Enterprise Server 15 SP5", Scheme::Rpm),
            ("openSUSE:Tumbleweed", Scheme::Rpm),
            ("Alpine:v3.16", Scheme::Apk),
            ("Wolfi", Scheme::Apk),
            ("Chainguard", Scheme::Apk),
            ("CRAN", Scheme::Cran),
            ("Hackage", Scheme::Hackage),
            ("Linux", Scheme::Generic),
            ("Nix:24.05", Scheme::Generic),
        ] {
            assert_eq!(Ecosystem::parse(name).unwrap().scheme(), scheme, "{name}");
        }
    }

    #[test]
    fn keeps_unknown_ecosystems_verbatim() {
        let other = Ecosystem::parse("Nix:24.05").unwrap();
        assert_eq!(other.kind(), &EcosystemKind::Other("Nix".into()));
        assert_eq!(other.to_string(), "Nix:24.05");
        assert!(Ecosystem::parse("").is_err());
        assert!(Ecosystem::parse(":11").is_err());
    }

    #[test]
    fn knows_every_ecosystem_in_the_osv_schema() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let text =
            std::fs::read_to_string(root.join("peer-tests/osv-schema/ecosystems.json")).unwrap();
        let listed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).unwrap();
        for name in listed.keys() {
            let parsed = Ecosystem::parse(name).unwrap();
            assert!(
                !matches!(parsed.kind(), EcosystemKind::Other(_)),
                "{name} not known"
            );
            assert_eq!(&parsed.to_string(), name);
        }
        assert_eq!(listed.len(), EcosystemKind::KNOWN.len());
    }
}
