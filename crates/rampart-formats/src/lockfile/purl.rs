//! Building package URLs (<https://github.com/package-url/purl-spec>) for locked packages:
//! each component percent-encoded, names normalised as the spec requires per type.

use std::fmt::Write;

/// `pkg:cargo/{name}@{version}`.
pub(crate) fn cargo(name: &str, version: &str) -> String {
    build("cargo", None, name, version, &[])
}

/// `pkg:npm/{scope}/{name}@{version}`; the scope keeps its `@` (encoded as `%40`). The spec
/// asks for lower case, which npm has required of new names since 2013.
pub(crate) fn npm(name: &str, version: &str) -> String {
    let lower = name.to_lowercase();
    match lower.split_once('/') {
        Some((scope, bare)) if scope.starts_with('@') => {
            build("npm", Some(scope), bare, version, &[])
        }
        _ => build("npm", None, &lower, version, &[]),
    }
}

/// `pkg:pypi/{name}@{version}` with the name lower-cased and `_` replaced by `-`.
pub(crate) fn pypi(name: &str, version: &str) -> String {
    let normalised = name.to_lowercase().replace('_', "-");
    build("pypi", None, &normalised, version, &[])
}

/// `pkg:golang/{module path up to the last /}/{last element}@{version}`.
pub(crate) fn golang(module: &str, version: &str) -> String {
    match module.rsplit_once('/') {
        Some((namespace, name)) => build("golang", Some(namespace), name, version, &[]),
        None => build("golang", None, module, version, &[]),
    }
}

/// `pkg:gem/{name}@{version}`, with `?platform=` for platform-specific gems.
pub(crate) fn gem(name: &str, version: &str, platform: Option<&str>) -> String {
    match platform {
        Some(platform) => build("gem", None, name, version, &[("platform", platform)]),
        None => build("gem", None, name, version, &[]),
    }
}

fn build(
    package_type: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut purl = format!("pkg:{package_type}/");
    if let Some(namespace) = namespace {
        for segment in namespace.split('/').filter(|s| !s.is_empty()) {
            encode_into(&mut purl, segment);
            purl.push('/');
        }
    }
    encode_into(&mut purl, name);
    if !version.is_empty() {
        purl.push('@');
        encode_into(&mut purl, version);
    }
    for (index, (key, value)) in qualifiers.iter().enumerate() {
        purl.push(if index == 0 { '?' } else { '&' });
        purl.push_str(key);
        purl.push('=');
        encode_into(&mut purl, value);
    }
    purl
}

/// Percent-encodes everything but ASCII letters, digits and `.-_~`.
fn encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_spec_examples() {
        assert_eq!(cargo("serde", "1.0.1"), "pkg:cargo/serde@1.0.1");
        assert_eq!(
            cargo("wasi", "0.11.0+wasi-snapshot-preview1"),
            "pkg:cargo/wasi@0.11.0%2Bwasi-snapshot-preview1"
        );
        assert_eq!(npm("@babel/core", "7.24.0"), "pkg:npm/%40babel/core@7.24.0");
        assert_eq!(npm("JSONStream", "1.3.5"), "pkg:npm/jsonstream@1.3.5");
        assert_eq!(
            pypi("Django_Allauth", "0.61.1"),
            "pkg:pypi/django-allauth@0.61.1"
        );
        assert_eq!(pypi("zope.interface", "6.2"), "pkg:pypi/zope.interface@6.2");
        assert_eq!(
            golang("github.com/gorilla/mux", "v1.8.1"),
            "pkg:golang/github.com/gorilla/mux@v1.8.1"
        );
        assert_eq!(
            golang("github.com/docker/docker", "v24.0.7+incompatible"),
            "pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible"
        );
        assert_eq!(gem("rails", "7.1.3", None), "pkg:gem/rails@7.1.3");
        assert_eq!(
            gem("nokogiri", "1.13.10", Some("x86_64-linux")),
            "pkg:gem/nokogiri@1.13.10?platform=x86_64-linux"
        );
    }

    #[test]
    fn encodes_non_ascii_and_separators() {
        assert_eq!(cargo("a b", "1/2"), "pkg:cargo/a%20b@1%2F2");
        assert_eq!(cargo("é", "1"), "pkg:cargo/%C3%A9@1");
    }
}
