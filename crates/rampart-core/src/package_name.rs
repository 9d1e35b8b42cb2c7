//! The lookup key of a package name within its ecosystem, so that the spellings an ecosystem
//! treats as one package (`Django`/`django`, `zope.interface`/`zope-interface` on PyPI) meet.

/// Normalises `name` for lookups in `ecosystem` (an OSV ecosystem string, suffix allowed).
///
/// PyPI: PEP 503 (lower-case, runs of `-`, `_`, `.` become one `-`). Ecosystems whose
/// registries are case-insensitive (crates.io, NuGet, Packagist, npm, Hex, Pub) are
/// lower-cased. Go module paths are lower-cased too: Trivy writes them lower-cased in every
/// SBOM (`pkg:golang/github.com/masterminds/vcs`), and the hosts behind them (GitHub, GitLab)
/// ignore case, so paths differing only in case name one repository
/// (`github.com/Sirupsen/logrus`). Everything else (Maven coordinates, RubyGems, distros) is
/// case-sensitive and kept as written.
pub fn normalize_package_name(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
    let name = name.trim();
    if base.eq_ignore_ascii_case("PyPI") {
        let mut normalized = String::with_capacity(name.len());
        let mut in_separator = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !in_separator {
                    normalized.push('-');
                }
                in_separator = true;
            } else {
                normalized.extend(c.to_lowercase());
                in_separator = false;
            }
        }
        return normalized;
    }
    const CASE_INSENSITIVE: [&str; 7] =
        ["crates.io", "NuGet", "Packagist", "npm", "Hex", "Pub", "Go"];
    if CASE_INSENSITIVE
        .iter()
        .any(|known| base.eq_ignore_ascii_case(known))
    {
        return name.to_lowercase();
    }
    name.to_string()
}

/// `lower(base ecosystem)/normalised name`: one string that two spellings of the same
/// package share (`PyPI:3.11`/`Zope_Interface` and `pypi`/`zope.interface`), for lookups in
/// the store and the match index.
pub fn package_lookup_key(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
    format!(
        "{}/{}",
        base.to_lowercase(),
        normalize_package_name(ecosystem, name)
    )
}

/// The canonical spelling of an ecosystem's base name for lookups: case-insensitive match
/// against OSV's names would need the full list, so lookups compare lower-cased strings.
pub fn ecosystem_key(ecosystem: &str) -> String {
    ecosystem.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pypi_names_follow_pep_503() {
        assert_eq!(
            normalize_package_name("PyPI", "Zope.Interface"),
            "zope-interface"
        );
        assert_eq!(normalize_package_name("PyPI", "a__b-.c"), "a-b-c");
    }

    #[test]
    fn case_folding_follows_the_ecosystem() {
        assert_eq!(
            normalize_package_name("Go", "github.com/BurntSushi/toml"),
            "github.com/burntsushi/toml"
        );
        assert_eq!(normalize_package_name("crates.io", "Serde"), "serde");
        assert_eq!(
            normalize_package_name("Maven", "org.Foo:Bar"),
            "org.Foo:Bar"
        );
    }
}
