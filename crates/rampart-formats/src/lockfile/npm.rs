//! npm's `package-lock.json` / `npm-shrinkwrap.json`.
//!
//! lockfileVersion 1 (npm 5 and 6) nests a `dependencies` tree keyed by package name.
//! Versions 2 (npm 7 and 8, which also keep the v1 tree for old clients) and 3 (npm 9+) list
//! every installed package in a flat `packages` map keyed by its path: `""` is the project,
//! `node_modules/a/node_modules/@scope/b` a nested install, `packages/x` a workspace
//! directory, and an entry with `"link": true` points at a directory listed under its own key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{purl, Collector, LockedPackage, LockfileError, Origin, NPM};

#[derive(Deserialize)]
struct PackageLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<IgnoredAny>,
    packages: Option<Ordered<PackageEntry>>,
    dependencies: Option<Ordered<DependencyV1>>,
}

/// An entry of the v2/v3 `packages` map.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageEntry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    dev_optional: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, IgnoredAny>,
}

/// An entry of the v1 `dependencies` tree.
#[derive(Deserialize)]
struct DependencyV1 {
    version: String,
    resolved: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    dependencies: Option<Ordered<DependencyV1>>,
}

/// A JSON object read as key-value pairs in document order.
struct Ordered<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(PhantomData))
    }
}

pub(crate) fn parse(text: &str, out: &mut Collector) -> Result<(), LockfileError> {
    if text.trim().is_empty() {
        return Err(LockfileError::at(
            1,
            1,
            "empty file: expected a JSON object",
        ));
    }
    let lock = deserialize(text)?;
    match (lock.packages, lock.dependencies) {
        (Some(packages), _) => read_packages(packages, out),
        (None, Some(dependencies)) => read_tree(dependencies, out),
        (None, None) if lock.lockfile_version.is_some() => {}
        (None, None) => {
            return Err(LockfileError::at(
                1,
                1,
                "not a package-lock.json: no lockfileVersion, packages or dependencies",
            ))
        }
    }
    Ok(())
}

/// Deserializes the lockfile, locating an error by line, column and JSON pointer.
fn deserialize(text: &str) -> Result<PackageLock, LockfileError> {
    let mut json = serde_json::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let lock = PackageLock::deserialize(serde_path_to_error::Deserializer::new(
        &mut json, &mut track,
    ))
    .map_err(|error| {
        let pointer = crate::sbom::json_support::json_pointer(&track.path());
        json_error(&error, (!pointer.is_empty()).then_some(pointer))
    })?;
    json.end().map_err(|error| json_error(&error, None))?;
    Ok(lock)
}

fn json_error(error: &serde_json::Error, pointer: Option<String>) -> LockfileError {
    let full = error.to_string();
    // serde_json appends " at line L column C"; the location goes in the fields instead.
    let message = match full.rfind(" at line ") {
        Some(at) if error.line() > 0 => &full[..at],
        _ => &full,
    };
    let message = match pointer {
        Some(pointer) => format!("{pointer}: {message}"),
        None => message.to_string(),
    };
    if error.line() == 0 {
        return LockfileError::new(message);
    }
    // serde_json reports the column of the last byte read; 0 means the line's start.
    LockfileError::at(error.line(), error.column().max(1), message)
}

fn read_packages(packages: Ordered<PackageEntry>, out: &mut Collector) {
    // What the project ("") and each workspace directory declare. An installed package is
    // direct when it sits in the node_modules of a project path that declares it, or is
    // hoisted to the root node_modules for a workspace that has no nested copy of its own.
    let mut declared: HashMap<&str, HashSet<&str>> = HashMap::new();
    let keys: HashSet<&str> = packages.0.iter().map(|(path, _)| path.as_str()).collect();
    for (path, entry) in &packages.0 {
        if split_installed(path).is_none() && !entry.link {
            let names = declared.entry(path.trim_end_matches('/')).or_default();
            for map in [
                &entry.dependencies,
                &entry.dev_dependencies,
                &entry.optional_dependencies,
                &entry.peer_dependencies,
            ] {
                names.extend(map.keys().map(String::as_str));
            }
        }
    }
    let has_root = declared.contains_key("");
    let is_direct = |parent: &str, key_name: &str| {
        let parent = parent.trim_end_matches('/');
        if declared
            .get(parent)
            .is_some_and(|names| names.contains(key_name))
        {
            return true;
        }
        parent.is_empty()
            && declared.iter().any(|(workspace, names)| {
                !workspace.is_empty()
                    && names.contains(key_name)
                    && !keys.contains(format!("{workspace}/node_modules/{key_name}").as_str())
            })
    };

    for (path, entry) in &packages.0 {
        if entry.link {
            let target = entry.resolved.as_deref().unwrap_or("?");
            out.skip(
                None,
                path.clone(),
                format!("link to {target}: the package is listed under that path"),
            );
            continue;
        }
        let installed = split_installed(path);
        let (name, origin) = match installed {
            Some((_, key_name)) => (
                entry.name.as_deref().unwrap_or(key_name),
                origin_of(entry.resolved.as_deref()),
            ),
            None => match entry.name.as_deref() {
                Some(name) => (name, Origin::Local),
                // The project itself may have no name; a workspace directory always does.
                None if path.is_empty() => continue,
                None => (path.rsplit('/').next().unwrap_or(path), Origin::Local),
            },
        };
        let Some(version) = entry.version.as_deref().filter(|v| !v.is_empty()) else {
            if !path.is_empty() {
                out.skip(None, path.clone(), "no version");
            }
            continue;
        };
        if name.is_empty() {
            out.skip(None, path.clone(), "no package name");
            continue;
        }
        let direct = match installed {
            Some((parent, key_name)) if has_root => Some(is_direct(parent, key_name)),
            // The project or a workspace directory; or no project entry to say what it declares.
            _ => None,
        };
        out.push(LockedPackage {
            ecosystem: NPM,
            name: name.to_string(),
            version: version.to_string(),
            purl: purl::npm(name, version),
            direct,
            dev: Some(entry.dev),
            optional: Some(entry.optional || entry.dev_optional),
            origin,
            source: entry.resolved.clone(),
        });
    }
}

fn read_tree(dependencies: Ordered<DependencyV1>, out: &mut Collector) {
    // Depth-first, parents before children, without recursion on the call stack.
    let mut stack: Vec<(String, DependencyV1)> = dependencies.0.into_iter().rev().collect();
    while let Some((key, dependency)) = stack.pop() {
        let DependencyV1 {
            version,
            resolved,
            dev,
            optional,
            dependencies: children,
        } = dependency;
        if let Some(children) = children {
            stack.extend(children.0.into_iter().rev());
        }
        let spec = version.as_str();
        let (name, version, origin) = if let Some(alias) = spec.strip_prefix("npm:") {
            // `"string-width-cjs": {"version": "npm:string-width@4.2.3"}`
            match alias.rsplit_once('@').filter(|(name, _)| !name.is_empty()) {
                Some((name, version)) => (name.to_string(), version.to_string(), Origin::Registry),
                None => {
                    out.skip(None, key, format!("alias {spec:?} without a version"));
                    continue;
                }
            }
        } else if is_git(spec) {
            // A git dependency's version is the commit it resolved to.
            let commit = spec.rsplit_once('#').map_or(spec, |(_, commit)| commit);
            (key.clone(), commit.to_string(), Origin::Git)
        } else if spec.starts_with("file:") || spec.contains("://") {
            out.skip(
                None,
                key,
                format!("{spec}: not from a registry and no version"),
            );
            continue;
        } else {
            (
                key.clone(),
                spec.to_string(),
                origin_of(resolved.as_deref()),
            )
        };
        if version.is_empty() || name.is_empty() {
            out.skip(None, key, "no package name or version");
            continue;
        }
        let source = resolved.or_else(|| (origin == Origin::Git).then(|| spec.to_string()));
        out.push(LockedPackage {
            ecosystem: NPM,
            purl: purl::npm(&name, &version),
            name,
            version,
            direct: None,
            dev: Some(dev),
            optional: Some(optional),
            origin,
            source,
        });
    }
}

/// Splits `a/node_modules/@s/b` into the directory it is installed in (`a/`) and the name
/// it is installed under (`@s/b`); `None` for paths outside any `node_modules`.
fn split_installed(path: &str) -> Option<(&str, &str)> {
    const MARKER: &str = "node_modules/";
    let at = path
        .match_indices(MARKER)
        .map(|(at, _)| at)
        .filter(|&at| at == 0 || path.as_bytes()[at - 1] == b'/')
        .last()?;
    Some((&path[..at], &path[at + MARKER.len()..]))
}

fn is_git(spec: &str) -> bool {
    ["git+", "git:", "github:", "gitlab:", "bitbucket:", "gist:"]
        .iter()
        .any(|prefix| spec.starts_with(prefix))
}

/// Classifies a `resolved` value: registry tarballs have `/-/` in their path
/// (`https://registry.npmjs.org/ms/-/ms-2.1.3.tgz`); no value means the default registry.
fn origin_of(resolved: Option<&str>) -> Origin {
    match resolved {
        None => Origin::Registry,
        Some(r) if is_git(r) => Origin::Git,
        Some(r) if r.starts_with("http://") || r.starts_with("https://") => {
            if r.contains("/-/") {
                Origin::Registry
            } else {
                Origin::Url
            }
        }
        Some(_) => Origin::Local,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_lockfile, LockfileKind};
    use super::*;

    fn parse(text: &str) -> Result<Vec<LockedPackage>, LockfileError> {
        super::super::parse(LockfileKind::PackageLockJson, text.as_bytes())
    }

    type Row = (
        String,
        String,
        Option<bool>,
        Option<bool>,
        Option<bool>,
        Origin,
    );

    fn summary(packages: &[LockedPackage]) -> Vec<Row> {
        packages
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.direct,
                    p.dev,
                    p.optional,
                    p.origin,
                )
            })
            .collect()
    }

    fn row(
        name: &str,
        version: &str,
        direct: Option<bool>,
        dev: bool,
        optional: bool,
        origin: Origin,
    ) -> Row {
        (
            name.into(),
            version.into(),
            direct,
            Some(dev),
            Some(optional),
            origin,
        )
    }

    /// As npm 10 writes it: workspace, link, nested and scoped installs, an alias, a git
    /// dependency, dev/optional/devOptional flags, a duplicate version at two paths.
    const V3: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "shop",
      "version": "1.0.0",
      "license": "ISC",
      "workspaces": [
        "packages/*"
      ],
      "dependencies": {
        "@babel/runtime": "^7.24.0",
        "debug": "^2.6.9",
        "left-pad": "github:left-pad/left-pad#v1.3.0",
        "string-width-cjs": "npm:string-width@^4.2.0"
      },
      "devDependencies": {
        "jest": "^29.7.0"
      },
      "optionalDependencies": {
        "fsevents": "^2.3.3"
      }
    },
    "node_modules/@babel/runtime": {
      "version": "7.24.0",
      "resolved": "https://registry.npmjs.org/@babel/runtime/-/runtime-7.24.0.tgz",
      "integrity": "sha512-Chk32uHMg6TnQdvw2e9IlqPpFX/6NLuK0Ys2PqLb7/gL5uFn9mXvK715FGLlOLQrcO4qIkNHkvPGktzzXexsFw==",
      "dependencies": {
        "regenerator-runtime": "^0.14.0"
      },
      "engines": {
        "node": ">=6.9.0"
      }
    },
    "node_modules/debug": {
      "version": "2.6.9",
      "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz",
      "integrity": "sha512-bC7ElrdJaJnPbAP+1EotYvqZsb3ecl5wi6Bfi6BJTUcNowp6cvspg0jXznRTKDjm/E7AdgFBVeAPVMNcKGsHMA==",
      "dependencies": {
        "ms": "2.0.0"
      }
    },
    "node_modules/fsevents": {
      "version": "2.3.3",
      "resolved": "https://registry.npmjs.org/fsevents/-/fsevents-2.3.3.tgz",
      "integrity": "sha512-5xoDfX+fL7faATnagmWPpbFtwh/R77WmMMqqHGS65C3vvB0YHrgF+B1YmZ3441tMj5n63k0212XNoJwzlhffQw==",
      "hasInstallScript": true,
      "optional": true,
      "os": [
        "darwin"
      ],
      "engines": {
        "node": "^8.16.0 || ^10.6.0 || >=11.0.0"
      }
    },
    "node_modules/jest": {
      "version": "29.7.0",
      "resolved": "https://registry.npmjs.org/jest/-/jest-29.7.0.tgz",
      "integrity": "sha512-NIy3oAFp9shda19hy4HK0HRTWKtPJmGdnvywu01nOqNC2vZg+Z+fvJDxpMQA88eb2I9EcafcdjYgsDthnYTvGw==",
      "dev": true,
      "dependencies": {
        "ms": "^2.1.3"
      }
    },
    "node_modules/jest/node_modules/ms": {
      "version": "2.1.3",
      "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
      "integrity": "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==",
      "dev": true
    },
    "node_modules/left-pad": {
      "version": "1.3.0",
      "resolved": "git+ssh://git@github.com/left-pad/left-pad.git#5f2de8e9b0ec8af5b1bba2b8f3d9bdf6a3ab4c42",
      "license": "WTFPL"
    },
    "node_modules/ms": {
      "version": "2.0.0",
      "resolved": "https://registry.npmjs.org/ms/-/ms-2.0.0.tgz",
      "integrity": "sha512-Tpp60P6IUJDTuOq/5Z8cdskzJujfwqfOTkrwIwj7IRISpnkJnT6SyJ4PCPnGMoFjC9ddhal5KVIYtAt97ix05A=="
    },
    "node_modules/regenerator-runtime": {
      "version": "0.14.1",
      "resolved": "https://registry.npmjs.org/regenerator-runtime/-/regenerator-runtime-0.14.1.tgz",
      "integrity": "sha512-dYnhHh0nJoMfnkZs6GmmhFknAGRrLznOu5nc9ML+EJxGvrx6H7teuevqVqCuPcPK//3eDrrjQhehXVx9cnKGdw=="
    },
    "node_modules/shop-utils": {
      "resolved": "packages/utils",
      "link": true
    },
    "node_modules/string-width-cjs": {
      "name": "string-width",
      "version": "4.2.3",
      "resolved": "https://registry.npmjs.org/string-width/-/string-width-4.2.3.tgz",
      "integrity": "sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g==",
      "devOptional": true
    },
    "packages/utils": {
      "name": "shop-utils",
      "version": "0.2.0",
      "dependencies": {
        "ms": "^2.1.3"
      }
    },
    "packages/utils/node_modules/ms": {
      "version": "2.1.3",
      "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
      "integrity": "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=="
    }
  }
}
"#;

    #[test]
    fn reads_version_3_packages() {
        let lockfile = parse_lockfile(LockfileKind::PackageLockJson, V3.as_bytes()).unwrap();
        assert_eq!(
            summary(&lockfile.packages),
            vec![
                (
                    "shop".into(),
                    "1.0.0".into(),
                    None,
                    Some(false),
                    Some(false),
                    Origin::Local
                ),
                row(
                    "@babel/runtime",
                    "7.24.0",
                    Some(true),
                    false,
                    false,
                    Origin::Registry
                ),
                row("debug", "2.6.9", Some(true), false, false, Origin::Registry),
                row(
                    "fsevents",
                    "2.3.3",
                    Some(true),
                    false,
                    true,
                    Origin::Registry
                ),
                row("jest", "29.7.0", Some(true), true, false, Origin::Registry),
                // Once under jest (dev), once under the workspace (not dev, direct there).
                row("ms", "2.1.3", Some(true), false, false, Origin::Registry),
                row("left-pad", "1.3.0", Some(true), false, false, Origin::Git),
                row("ms", "2.0.0", Some(false), false, false, Origin::Registry),
                row(
                    "regenerator-runtime",
                    "0.14.1",
                    Some(false),
                    false,
                    false,
                    Origin::Registry
                ),
                row(
                    "string-width",
                    "4.2.3",
                    Some(true),
                    false,
                    true,
                    Origin::Registry
                ),
                (
                    "shop-utils".into(),
                    "0.2.0".into(),
                    None,
                    Some(false),
                    Some(false),
                    Origin::Local
                ),
            ]
        );
        let purls: Vec<&str> = lockfile.packages.iter().map(|p| p.purl.as_str()).collect();
        assert!(purls.contains(&"pkg:npm/%40babel/runtime@7.24.0"));
        assert!(purls.contains(&"pkg:npm/string-width@4.2.3"));
        assert_eq!(
            lockfile.packages[1].source.as_deref(),
            Some("https://registry.npmjs.org/@babel/runtime/-/runtime-7.24.0.tgz")
        );
        assert_eq!(lockfile.skipped.len(), 1);
        assert_eq!(lockfile.skipped[0].entry, "node_modules/shop-utils");
        assert!(lockfile.skipped[0].reason.contains("packages/utils"));
    }

    /// npm 6: the nested `dependencies` tree, with `requires`, an alias, git and file
    /// dependencies and a nested duplicate.
    const V1: &str = r#"{
  "name": "legacy",
  "version": "0.0.1",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "@types/node": {
      "version": "14.18.63",
      "resolved": "https://registry.npmjs.org/@types/node/-/node-14.18.63.tgz",
      "integrity": "sha512-fAtCfv4jJg+ExtXhvCkCqUKZ+4ok/JQk01qDKhL5BDDoS3AxKXhV5/MAVUZyQnSEd2GT92fkgZl0pz0Q0AzcIQ==",
      "dev": true
    },
    "accepts": {
      "version": "1.3.8",
      "resolved": "https://registry.npmjs.org/accepts/-/accepts-1.3.8.tgz",
      "integrity": "sha512-PYAthTa2m2VKxuvSD3DPC/Gy+U+sOA1LAuT8mkmRuvw+NACSaeXEQ+NHcVF7rONl6qcaxV3Uuemwawk+7+SJLw==",
      "requires": {
        "mime-types": "~2.1.34",
        "negotiator": "0.6.3"
      },
      "dependencies": {
        "negotiator": {
          "version": "0.6.3",
          "resolved": "https://registry.npmjs.org/negotiator/-/negotiator-0.6.3.tgz",
          "integrity": "sha512-+EUsqGPLsM+j/zdChZjsnX51g4XrHFOIXwfnCVPGlQk/k5giakcKsuxCObBRu6DSm9opw/O6slWbJdghQM4bBg=="
        }
      }
    },
    "colors": {
      "version": "git+https://github.com/Marak/colors.js.git#6bc50e79eeaa1d87369bb3e7e608ebed18c341d0",
      "from": "git+https://github.com/Marak/colors.js.git#v1.4.0"
    },
    "local-lib": {
      "version": "file:../local-lib"
    },
    "negotiator": {
      "version": "0.6.3",
      "resolved": "https://registry.npmjs.org/negotiator/-/negotiator-0.6.3.tgz",
      "integrity": "sha512-+EUsqGPLsM+j/zdChZjsnX51g4XrHFOIXwfnCVPGlQk/k5giakcKsuxCObBRu6DSm9opw/O6slWbJdghQM4bBg=="
    },
    "wrap-ansi-cjs": {
      "version": "npm:wrap-ansi@7.0.0",
      "resolved": "https://registry.npmjs.org/wrap-ansi/-/wrap-ansi-7.0.0.tgz",
      "integrity": "sha512-YVGIj2kamLSTxw6NsZjoBxfSwsn0ycdesmc4p+Q21c5zPuZ1pl+NfxVdxPtdHvmNVOQ6XSYG4AUtyt/Fi7D16Q==",
      "optional": true
    }
  }
}
"#;

    #[test]
    fn reads_version_1_tree() {
        let lockfile = parse_lockfile(LockfileKind::PackageLockJson, V1.as_bytes()).unwrap();
        let none = |name: &str, version: &str, dev: bool, optional: bool, origin| {
            (
                name.to_string(),
                version.to_string(),
                None,
                Some(dev),
                Some(optional),
                origin,
            )
        };
        assert_eq!(
            summary(&lockfile.packages),
            vec![
                none("@types/node", "14.18.63", true, false, Origin::Registry),
                none("accepts", "1.3.8", false, false, Origin::Registry),
                none("negotiator", "0.6.3", false, false, Origin::Registry),
                none(
                    "colors",
                    "6bc50e79eeaa1d87369bb3e7e608ebed18c341d0",
                    false,
                    false,
                    Origin::Git
                ),
                none("wrap-ansi", "7.0.0", false, true, Origin::Registry),
            ]
        );
        assert_eq!(lockfile.packages[0].purl, "pkg:npm/%40types/node@14.18.63");
        assert_eq!(
            lockfile.packages[3].source.as_deref(),
            Some("git+https://github.com/Marak/colors.js.git#6bc50e79eeaa1d87369bb3e7e608ebed18c341d0")
        );
        assert_eq!(lockfile.skipped.len(), 1);
        assert_eq!(lockfile.skipped[0].entry, "local-lib");
    }

    #[test]
    fn version_2_prefers_packages_over_the_legacy_tree() {
        let text = r#"{"name":"a","version":"1.0.0","lockfileVersion":2,"requires":true,
            "packages":{"":{"name":"a","version":"1.0.0","dependencies":{"ms":"^2.1.3"}},
              "node_modules/ms":{"version":"2.1.3","resolved":"https://registry.npmjs.org/ms/-/ms-2.1.3.tgz"}},
            "dependencies":{"ms":{"version":"2.1.2"}}}"#;
        let packages = parse(text).unwrap();
        assert_eq!(
            summary(&packages),
            vec![
                (
                    "a".into(),
                    "1.0.0".into(),
                    None,
                    Some(false),
                    Some(false),
                    Origin::Local
                ),
                row("ms", "2.1.3", Some(true), false, false, Origin::Registry),
            ]
        );
    }

    #[test]
    fn workspace_dependencies_hoisted_to_the_root_are_direct() {
        let text = r#"{"lockfileVersion":3,"packages":{
            "":{"name":"mono","workspaces":["packages/*"]},
            "node_modules/api":{"resolved":"packages/api","link":true},
            "node_modules/chalk":{"version":"5.3.0"},
            "node_modules/lodash":{"version":"4.17.21"},
            "node_modules/semver":{"version":"7.6.0"},
            "packages/api":{"name":"api","version":"1.0.0","dependencies":{"chalk":"^5","semver":"^6"}},
            "packages/api/node_modules/semver":{"version":"6.3.1"},
            "packages/web/node_modules/lodash":{"version":"4.17.20"},
            "packages/web":{"name":"web","version":"1.0.0","dependencies":{"lodash":"4.17.20"}}}}"#;
        let packages = parse(text).unwrap();
        let direct: Vec<(&str, &str, Option<bool>)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.direct))
            .collect();
        assert_eq!(
            direct,
            vec![
                ("chalk", "5.3.0", Some(true)),
                ("lodash", "4.17.21", Some(false)),
                ("semver", "7.6.0", Some(false)),
                ("api", "1.0.0", None),
                ("semver", "6.3.1", Some(true)),
                ("lodash", "4.17.20", Some(true)),
                ("web", "1.0.0", None),
            ]
        );
        assert_eq!(split_installed("node_modules/a"), Some(("", "a")));
        assert_eq!(
            split_installed("node_modules/a/node_modules/@s/b"),
            Some(("node_modules/a/", "@s/b"))
        );
        assert_eq!(split_installed("packages/my_node_modules/x"), None);
        assert_eq!(split_installed("packages/x"), None);
    }

    #[test]
    fn resolved_urls_classify_the_origin() {
        assert_eq!(origin_of(None), Origin::Registry);
        assert_eq!(
            origin_of(Some("https://npm.internal.example/@corp/ui/-/ui-1.0.0.tgz")),
            Origin::Registry
        );
        assert_eq!(
            origin_of(Some("https://example.com/archive/x.tar.gz")),
            Origin::Url
        );
        assert_eq!(
            origin_of(Some("git+ssh://git@github.com/a/b.git#0123")),
            Origin::Git
        );
        assert_eq!(origin_of(Some("file:../vendor/x-1.0.0.tgz")), Origin::Local);
    }

    #[test]
    fn entries_without_version_are_skipped_not_fatal() {
        let text = r#"{"lockfileVersion":3,"packages":{"":{"name":"p"},"node_modules/x":{"resolved":"https://registry.npmjs.org/x/-/x-1.0.0.tgz"}}}"#;
        let lockfile = parse_lockfile(LockfileKind::PackageLockJson, text.as_bytes()).unwrap();
        assert!(lockfile.packages.is_empty());
        assert_eq!(lockfile.skipped[0].entry, "node_modules/x");
    }

    #[test]
    fn crlf_bom_and_empty_lockfiles() {
        let crlf = format!("\u{feff}{}", V3.replace('\n', "\r\n"));
        assert_eq!(parse(&crlf).unwrap(), parse(V3).unwrap());
        assert_eq!(
            parse(r#"{"name":"a","lockfileVersion":3,"requires":true,"packages":{}}"#).unwrap(),
            vec![]
        );
        assert_eq!(
            parse(r#"{"name":"a","lockfileVersion":1}"#).unwrap(),
            vec![]
        );
        let error = parse("").unwrap_err();
        assert_eq!(error.line, Some(1), "{error}");
        let error = parse("\u{feff}\r\n  ").unwrap_err();
        assert!(error.message.contains("empty"), "{error}");
    }

    #[test]
    fn errors_name_line_column_and_pointer() {
        let text = "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"node_modules/ms\": {\n      \"version\": 2\n    }\n  }\n}\n";
        let error = parse(text).unwrap_err();
        assert_eq!(error.line, Some(5), "{error}");
        assert!(
            error
                .message
                .starts_with("/packages/node_modules~1ms/version: invalid type: integer `2`"),
            "{error}"
        );

        let error = parse("{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"a\": {\n  }\n")
            .unwrap_err();
        assert_eq!(error.line, Some(6), "{error}");
        assert!(error.message.contains("EOF"), "{error}");

        let error = parse("{\"lockfileVersion\": 3} trailing").unwrap_err();
        assert_eq!((error.line, error.column), (Some(1), Some(24)), "{error}");

        let error = parse("{\"name\": \"not-a-lockfile\"}").unwrap_err();
        assert!(error.message.contains("not a package-lock.json"), "{error}");

        let error = parse("<html>").unwrap_err();
        assert_eq!(error.line, Some(1), "{error}");

        // v1 entries must carry a version.
        let error = parse("{\"lockfileVersion\":1,\"dependencies\":{\n\"a\":{}}}").unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
        assert!(error.message.contains("missing field `version`"), "{error}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let depth = 5000;
        let mut text = String::from("{\"lockfileVersion\":1,\"dependencies\":");
        for _ in 0..depth {
            text.push_str("{\"a\":{\"version\":\"1.0.0\",\"dependencies\":");
        }
        text.push_str("{}");
        for _ in 0..depth {
            text.push_str("}}");
        }
        text.push('}');
        assert!(parse(&text).is_err());
    }
}
