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
    let mut normalized = String::with_capacity(name.len());
    push_normalized_name(&mut normalized, ecosystem, name);
    normalized
}

/// [`normalize_package_name`] appended to `out`.
fn push_normalized_name(out: &mut String, ecosystem: &str, name: &str) {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
    let name = name.trim();
    if base.eq_ignore_ascii_case("PyPI") {
        let mut in_separator = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !in_separator {
                    out.push('-');
                }
                in_separator = true;
            } else {
                out.extend(c.to_lowercase());
                in_separator = false;
            }
        }
        return;
    }
    const CASE_INSENSITIVE: [&str; 7] =
        ["crates.io", "NuGet", "Packagist", "npm", "Hex", "Pub", "Go"];
    if CASE_INSENSITIVE
        .iter()
        .any(|known| base.eq_ignore_ascii_case(known))
    {
        push_lowercase(out, name);
    } else {
        out.push_str(name);
    }
}

/// `text` lower-cased, appended to `out` (ASCII in place; anything else as
/// [`str::to_lowercase`] spells it, final sigma included).
fn push_lowercase(out: &mut String, text: &str) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&text.to_lowercase());
    }
}

/// `lower(base ecosystem)/normalised name`: one string that two spellings of the same
/// package share (`PyPI:3.11`/`Zope_Interface` and `pypi`/`zope.interface`), for lookups in
/// the store and the match index. Built in one allocation: the match index makes one per
/// affected row and per query.
pub fn package_lookup_key(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem).trim();
    let mut key = String::with_capacity(base.len() + 1 + name.len());
    push_lowercase(&mut key, base);
    key.push('/');
    push_normalized_name(&mut key, ecosystem, name);
    key
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
    fn lookup_keys_join_the_lower_cased_base_ecosystem_and_the_normalised_name() {
        assert_eq!(
            package_lookup_key("PyPI:3.11", " Zope_Interface "),
            "pypi/zope-interface"
        );
        assert_eq!(package_lookup_key("crates.io", "Serde"), "crates.io/serde");
        assert_eq!(
            package_lookup_key("Maven", "org.Foo:Bar"),
            "maven/org.Foo:Bar"
        );
        // Non-ASCII names fold as `str::to_lowercase` does, final sigma included.
        assert_eq!(package_lookup_key("npm", "ΟΔΟΣ"), "npm/οδος");
        assert_eq!(
            package_lookup_key("npm", "ΟΔΟΣ"),
            format!("npm/{}", "ΟΔΟΣ".to_lowercase())
        );
        assert_eq!(package_lookup_key("Ubuntu:22.04", "Ä"), "ubuntu/Ä");
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
