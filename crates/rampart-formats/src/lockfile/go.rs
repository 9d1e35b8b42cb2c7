//! Go modules: `go.sum` and `go.mod`.
//!
//! `go.sum` has one line per hash: `module version h1:...` for the module's content and
//! `module version/go.mod h1:...` for its go.mod file alone. The build compiles the versions
//! whose content is hashed; versions with only a go.mod hash were read while resolving the
//! module graph and are listed as skipped. `go.mod` lists `require`d versions (marked
//! `// indirect` when no package of the main module imports them) and `replace` directives
//! that swap a module for another version, another module or a local directory.

use std::collections::HashMap;

use super::{purl, Collector, LockedPackage, LockfileError, Origin, GO};

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line.strip_suffix('\r').unwrap_or(line)))
}

/// 1-based column (in characters) of `part`, a subslice of `line`.
fn column_of(line: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize).saturating_sub(line.as_ptr() as usize);
    line.get(..offset).map_or(1, |s| s.chars().count() + 1)
}

pub(crate) fn parse_sum(text: &str, out: &mut Collector) -> Result<(), LockfileError> {
    // (module, version) in order of first appearance, and whether its content was hashed.
    let mut order: Vec<(&str, &str, usize)> = Vec::new();
    let mut content_hashed: HashMap<(&str, &str), bool> = HashMap::new();
    for (line_no, line) in lines(text) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] => continue,
            [module, version_field, hash] => {
                if !hash.contains(':') {
                    return Err(LockfileError::at(
                        line_no,
                        column_of(line, hash),
                        format!("expected a hash such as h1:..., found {hash:?}"),
                    ));
                }
                let (version, go_mod_only) = match version_field.strip_suffix("/go.mod") {
                    Some(version) => (version, true),
                    None => (*version_field, false),
                };
                check_version(line_no, line, version)?;
                check_module_path(line_no, line, module)?;
                let hashed = content_hashed.entry((module, version)).or_insert_with(|| {
                    order.push((module, version, line_no));
                    false
                });
                *hashed |= !go_mod_only;
            }
            _ => {
                return Err(LockfileError::at(
                    line_no,
                    1,
                    format!(
                        "expected \"module version hash\", found {} fields",
                        fields.len()
                    ),
                ))
            }
        }
    }
    for (module, version, line_no) in order {
        if content_hashed[&(module, version)] {
            out.push(package(module, version, Origin::Registry, None, None));
        } else {
            out.skip(
                Some(line_no),
                format!("{module} {version}"),
                "only its go.mod is hashed: read to resolve the module graph, not built",
            );
        }
    }
    Ok(())
}

fn package(
    module: &str,
    version: &str,
    origin: Origin,
    direct: Option<bool>,
    source: Option<String>,
) -> LockedPackage {
    LockedPackage {
        ecosystem: GO,
        name: module.to_string(),
        version: version.to_string(),
        purl: purl::golang(module, version),
        direct,
        dev: None,
        optional: None,
        origin,
        source,
    }
}

fn check_version(line_no: usize, line: &str, version: &str) -> Result<(), LockfileError> {
    let valid = version.len() > 1
        && version.starts_with('v')
        && version[1..].starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    if valid {
        Ok(())
    } else {
        Err(LockfileError::at(
            line_no,
            column_of(line, version),
            format!("expected a module version such as v1.2.3, found {version:?}"),
        ))
    }
}

fn check_module_path(line_no: usize, line: &str, module: &str) -> Result<(), LockfileError> {
    let valid = module
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '~' | '/' | '+'))
        && !module.starts_with('/')
        && !module.ends_with('/');
    if valid {
        Ok(())
    } else {
        Err(LockfileError::at(
            line_no,
            column_of(line, module),
            format!("invalid module path {module:?}"),
        ))
    }
}

struct Require<'a> {
    module: &'a str,
    version: &'a str,
    indirect: bool,
}

struct Replace<'a> {
    module: &'a str,
    version: Option<&'a str>,
    target: &'a str,
    target_version: Option<&'a str>,
}

/// Splits a go.mod line into tokens (quoted strings unquoted) and whether its comment says
/// `indirect`.
fn tokens(line: &str) -> Result<(Vec<&str>, bool), usize> {
    let mut tokens = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok((tokens, false));
        }
        if let Some(comment) = rest.strip_prefix("//") {
            // As cmd/go reads it: `// indirect` or `// indirect; anything`.
            let comment = comment.trim();
            let indirect = comment == "indirect" || comment.starts_with("indirect;");
            return Ok((tokens, indirect));
        }
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '`');
        if let Some(quote) = quote {
            let Some(end) = rest[1..].find(quote) else {
                return Err(column_of(line, rest));
            };
            tokens.push(&rest[1..end + 1]);
            rest = &rest[end + 2..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (token, after) = rest.split_at(end);
            // `=>` may touch its neighbours only with spaces in between; split a glued `//`.
            match token.find("//") {
                Some(at) if at > 0 => {
                    tokens.push(&token[..at]);
                    rest = &rest[at..];
                }
                _ => {
                    tokens.push(token);
                    rest = after;
                }
            }
        }
    }
}

const DIRECTIVES: [&str; 10] = [
    "module",
    "go",
    "toolchain",
    "require",
    "replace",
    "exclude",
    "retract",
    "godebug",
    "tool",
    "ignore",
];

pub(crate) fn parse_mod(text: &str, out: &mut Collector) -> Result<(), LockfileError> {
    let mut requires: Vec<Require> = Vec::new();
    let mut replaces: Vec<Replace> = Vec::new();
    let mut block: Option<&str> = None;
    for (line_no, line) in lines(text) {
        let (mut args, indirect) = tokens(line)
            .map_err(|column| LockfileError::at(line_no, column, "unterminated quoted string"))?;
        if args.is_empty() {
            continue;
        }
        let verb = match block {
            Some(_) if args == [")"] => {
                block = None;
                continue;
            }
            Some(verb) => verb,
            None => {
                let verb = args.remove(0);
                if !DIRECTIVES.contains(&verb) {
                    return Err(LockfileError::at(
                        line_no,
                        column_of(line, verb),
                        format!("unknown directive {verb:?}"),
                    ));
                }
                if args == ["("] {
                    block = Some(verb);
                    continue;
                }
                verb
            }
        };
        match verb {
            "require" => match args.as_slice() {
                [module, version] => {
                    check_module_path(line_no, line, module)?;
                    check_version(line_no, line, version)?;
                    requires.push(Require {
                        module,
                        version,
                        indirect,
                    });
                }
                _ => {
                    return Err(LockfileError::at(
                        line_no,
                        1,
                        "expected \"require module version\"",
                    ))
                }
            },
            "replace" => {
                let arrow = args.iter().position(|a| *a == "=>");
                let (old, new) = match arrow {
                    Some(at) => (&args[..at], &args[at + 1..]),
                    None => (&args[..], &[][..]),
                };
                let replace = match (old, new) {
                    ([module], [target]) => Replace {
                        module,
                        version: None,
                        target,
                        target_version: None,
                    },
                    ([module, version], [target]) => Replace {
                        module,
                        version: Some(version),
                        target,
                        target_version: None,
                    },
                    ([module], [target, target_version]) => Replace {
                        module,
                        version: None,
                        target,
                        target_version: Some(target_version),
                    },
                    ([module, version], [target, target_version]) => Replace {
                        module,
                        version: Some(version),
                        target,
                        target_version: Some(target_version),
                    },
                    _ => {
                        return Err(LockfileError::at(
                            line_no,
                            1,
                            "expected \"replace module [version] => target [version]\"",
                        ))
                    }
                };
                if let Some(version) = replace.target_version {
                    check_version(line_no, line, version)?;
                }
                replaces.push(replace);
            }
            _ => {}
        }
    }
    if block.is_some() {
        return Err(LockfileError::at_line(
            text.split('\n').count(),
            "unterminated block: missing ')'",
        ));
    }

    for require in requires {
        // A version-specific replacement wins over one for every version.
        let replacement = replaces
            .iter()
            .find(|r| r.module == require.module && r.version == Some(require.version))
            .or_else(|| {
                replaces
                    .iter()
                    .find(|r| r.module == require.module && r.version.is_none())
            });
        let direct = Some(!require.indirect);
        let locked = match replacement {
            Some(Replace {
                target,
                target_version: Some(target_version),
                ..
            }) => package(target, target_version, Origin::Registry, direct, None),
            Some(Replace { target, .. }) => package(
                require.module,
                require.version,
                Origin::Local,
                direct,
                Some(target.to_string()),
            ),
            None => package(
                require.module,
                require.version,
                Origin::Registry,
                direct,
                None,
            ),
        };
        out.push(locked);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_lockfile, Lockfile, LockfileKind};
    use super::*;

    fn sum(text: &str) -> Result<Lockfile, LockfileError> {
        parse_lockfile(LockfileKind::GoSum, text.as_bytes())
    }

    fn module(text: &str) -> Result<Lockfile, LockfileError> {
        parse_lockfile(LockfileKind::GoMod, text.as_bytes())
    }

    const GO_SUM: &str = "github.com/davecgh/go-spew v1.1.1 h1:vj9j/u1bqnvCEfJOwUhtlOARqs3+rkHYY13jYWTU97c=
github.com/davecgh/go-spew v1.1.1/go.mod h1:J7Y8YcW2NihsgmVo/mv3lAwl/skON4iLHjSsI+c5H38=
github.com/docker/docker v24.0.7+incompatible h1:Wo6l37AuwP3JaMnZa226lzVXGA3F9Ig1seQen0cKYlM=
github.com/docker/docker v24.0.7+incompatible/go.mod h1:eEKB0N0r5NX/I1kEveEz05bcu8tLC/8azJZsviup8Sk=
github.com/google/go-cmp v0.5.9/go.mod h1:17dUlkBOakJ0+DkrSSNjCkIjxS6bF9zb3elmeNGIjoY=
golang.org/x/crypto v0.0.0-20190308221718-c2843e01d9a2/go.mod h1:djNgcEr1/C05ACkg1iLfiJU5Ep61QUkGW8qpdssI0+w=
golang.org/x/crypto v0.21.0 h1:X31++rzVUdKhX5sWmSOFZxx8UW/ldWx55cbf08iNAMA=
golang.org/x/crypto v0.21.0/go.mod h1:0BP7YvVV9gBbVKyeTG0Gyn+gZm94bibOW5BjDEYAOMs=
gopkg.in/yaml.v3 v3.0.1 h1:fxVm/GzAzEWqLHuvctI91KS9hhNmmWOoWu0XTYJS7CA=
gopkg.in/yaml.v3 v3.0.1/go.mod h1:K4uyk7z7BCEPqu6E+C64Yfv1cQ7kz7rIZviUmN+EgEM=
";

    #[test]
    fn go_sum_reports_built_modules_once() {
        let lockfile = sum(GO_SUM).unwrap();
        let packages: Vec<(&str, &str, &str)> = lockfile
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
            .collect();
        assert_eq!(
            packages,
            vec![
                (
                    "github.com/davecgh/go-spew",
                    "v1.1.1",
                    "pkg:golang/github.com/davecgh/go-spew@v1.1.1"
                ),
                (
                    "github.com/docker/docker",
                    "v24.0.7+incompatible",
                    "pkg:golang/github.com/docker/docker@v24.0.7%2Bincompatible"
                ),
                (
                    "golang.org/x/crypto",
                    "v0.21.0",
                    "pkg:golang/golang.org/x/crypto@v0.21.0"
                ),
                (
                    "gopkg.in/yaml.v3",
                    "v3.0.1",
                    "pkg:golang/gopkg.in/yaml.v3@v3.0.1"
                ),
            ]
        );
        assert!(lockfile
            .packages
            .iter()
            .all(|p| p.ecosystem == "Go" && p.origin == Origin::Registry));
        let skipped: Vec<(Option<usize>, &str)> = lockfile
            .skipped
            .iter()
            .map(|s| (s.line, s.entry.as_str()))
            .collect();
        assert_eq!(
            skipped,
            vec![
                (Some(5), "github.com/google/go-cmp v0.5.9"),
                (
                    Some(6),
                    "golang.org/x/crypto v0.0.0-20190308221718-c2843e01d9a2"
                ),
            ]
        );
    }

    #[test]
    fn go_sum_pseudo_versions_crlf_bom_and_empty() {
        let text = "golang.org/x/exp v0.0.0-20240325151524-a685a6edb6d8 h1:aAcj0Da7eBAtrTp03QXWvm88pSyOt+UgdZw2BFZ+lEw=\r\n";
        let lockfile = sum(&format!("\u{feff}{text}")).unwrap();
        assert_eq!(
            lockfile.packages[0].version,
            "v0.0.0-20240325151524-a685a6edb6d8"
        );
        let crlf = GO_SUM.replace('\n', "\r\n");
        assert_eq!(sum(&crlf).unwrap(), sum(GO_SUM).unwrap());
        assert!(sum("").unwrap().packages.is_empty());
        assert!(sum("\n\n").unwrap().packages.is_empty());
    }

    #[test]
    fn go_sum_garbage_is_located() {
        let e = sum("github.com/a/b v1.0.0 h1:x=\nnot a go.sum line at all\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(1)), "{e}");
        let e = sum("github.com/a/b 1.0.0 h1:x=\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(16)), "{e}");
        let e = sum("github.com/a/b v1.0.0 deadbeef\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(23)), "{e}");
        let e = sum("{\"json\": true}\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
    }

    const GO_MOD: &str = r#"module example.com/service

go 1.22.1

toolchain go1.22.2

require (
	github.com/gin-gonic/gin v1.9.1
	github.com/google/uuid v1.6.0
	example.com/internal/auth v0.3.0
	golang.org/x/net v0.22.0 // indirect
	github.com/bytedance/sonic v1.11.3 // indirect; pinned for arm64
)

require github.com/stretchr/testify v1.9.0

replace example.com/internal/auth => ../auth

replace golang.org/x/net v0.22.0 => golang.org/x/net v0.23.0

exclude github.com/google/uuid v1.5.0

retract [v0.9.0, v0.9.5] // broken builds
"#;

    #[test]
    fn go_mod_requires_with_replacements() {
        let lockfile = module(GO_MOD).unwrap();
        let packages: Vec<(&str, &str, Option<bool>, Origin)> = lockfile
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.direct, p.origin))
            .collect();
        assert_eq!(
            packages,
            vec![
                (
                    "github.com/gin-gonic/gin",
                    "v1.9.1",
                    Some(true),
                    Origin::Registry
                ),
                (
                    "github.com/google/uuid",
                    "v1.6.0",
                    Some(true),
                    Origin::Registry
                ),
                (
                    "example.com/internal/auth",
                    "v0.3.0",
                    Some(true),
                    Origin::Local
                ),
                ("golang.org/x/net", "v0.23.0", Some(false), Origin::Registry),
                (
                    "github.com/bytedance/sonic",
                    "v1.11.3",
                    Some(false),
                    Origin::Registry
                ),
                (
                    "github.com/stretchr/testify",
                    "v1.9.0",
                    Some(true),
                    Origin::Registry
                ),
            ]
        );
        assert_eq!(lockfile.packages[2].source.as_deref(), Some("../auth"));
        let crlf = format!("\u{feff}{}", GO_MOD.replace('\n', "\r\n"));
        assert_eq!(module(&crlf).unwrap(), lockfile);
        assert!(module("").unwrap().packages.is_empty());
        assert!(module("module example.com/x\n\ngo 1.21\n")
            .unwrap()
            .packages
            .is_empty());
    }

    #[test]
    fn go_mod_garbage_is_located() {
        let e = module("module a\n\nrequire (\n\tgithub.com/a/b\n)\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        let e = module("module a\nfrobnicate x\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(1)), "{e}");
        let e = module("module a\nrequire (\n\tgithub.com/a/b v1.0.0\n").unwrap_err();
        assert!(e.message.contains("unterminated block"), "{e}");
        let e = module("module \"a\nrequire x v1\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(8)), "{e}");
        let e = module("require github.com/a/b latest\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(24)), "{e}");
    }
}
