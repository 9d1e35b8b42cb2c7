//! pip's `requirements.txt` (also what `pip freeze`, `pip-compile` and `uv pip compile`
//! write). Only exact pins (`name==1.2.3`, `name===1.2.3`) name one version; anything else
//! is listed in [`super::Lockfile::skipped`] with the reason. Lines continue with a trailing
//! `\`; `#` starts a comment at the start of a line or after whitespace (so `#egg=` in a URL
//! is not one); `--hash` and other per-requirement options follow the requirement.

use super::{purl, Collector, LockedPackage, LockfileError, Origin, PYPI};

/// A logical line: physical lines joined at `\`, with where each piece started.
struct LogicalLine {
    text: String,
    /// (byte offset in `text`, 1-based physical line) for each joined piece.
    pieces: Vec<(usize, usize)>,
}

impl LogicalLine {
    fn first_line(&self) -> usize {
        self.pieces[0].1
    }

    /// An error at byte `offset` of the logical line, located on its physical line.
    fn error_at(&self, offset: usize, message: impl Into<String>) -> LockfileError {
        let (start, line) = self
            .pieces
            .iter()
            .rev()
            .find(|(start, _)| *start <= offset)
            .copied()
            .unwrap_or(self.pieces[0]);
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        LockfileError::at(line, column, message)
    }
}

fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut lines = Vec::new();
    let mut current: Option<LogicalLine> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let physical = raw.strip_suffix('\r').unwrap_or(raw);
        let logical = current.get_or_insert_with(|| LogicalLine {
            text: String::new(),
            pieces: Vec::new(),
        });
        logical.pieces.push((logical.text.len(), index + 1));
        let continued = physical.ends_with('\\') && !physical.trim_start().starts_with('#');
        if continued {
            logical.text.push_str(&physical[..physical.len() - 1]);
        } else {
            logical.text.push_str(physical);
            lines.extend(current.take());
        }
    }
    lines.extend(current);
    lines
}

/// Splits off a comment: `#` at the start or after whitespace, as pip does. Returns the text
/// before it and the comment after the `#`.
fn split_comment(text: &str) -> (&str, Option<&str>) {
    let bytes = text.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'#' && (index == 0 || bytes[index - 1].is_ascii_whitespace()) {
            return (&text[..index], Some(&text[index + 1..]));
        }
    }
    (text, None)
}

/// Reads pip-compile / uv annotations (`# via -r requirements.in`, or `# via` followed by one
/// `#   source` line each): a package is direct when a requirements input or a project file
/// (`my-app (pyproject.toml)`) asks for it, indirect when only other packages do.
#[derive(Default)]
struct ViaAnnotations {
    /// The package the comments below a requirement describe.
    package: Option<usize>,
    in_list: bool,
}

impl ViaAnnotations {
    fn requirement(&mut self, package: Option<usize>) {
        self.package = package;
        self.in_list = false;
    }

    fn comment(&mut self, comment: &str, out: &mut Collector) {
        let Some(package) = self.package else { return };
        let text = comment.trim();
        if text == "via" {
            self.in_list = true;
            out.mark_direct(package, false);
        } else if let Some(source) = text.strip_prefix("via ") {
            self.in_list = false;
            out.mark_direct(package, is_project_input(source.trim()));
        } else if self.in_list && !text.is_empty() {
            out.mark_direct(package, is_project_input(text));
        } else {
            self.in_list = false;
        }
    }
}

fn is_project_input(source: &str) -> bool {
    source.starts_with("-r ") || (source.ends_with(')') && source.contains(" ("))
}

/// Global options that take a value (`-i URL`, `--index-url=URL`) or none. Requirement-level
/// options (`--hash`) are handled with the requirement.
const OPTIONS_WITH_VALUE: [&str; 13] = [
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--no-binary",
    "--only-binary",
    "--trusted-host",
    "--use-feature",
    "--progress-bar",
    "--global-option",
    "--config-settings",
    "--platform",
];
const FLAG_OPTIONS: [&str; 4] = ["--pre", "--no-index", "--prefer-binary", "--require-hashes"];

pub(crate) fn parse(text: &str, out: &mut Collector) -> Result<(), LockfileError> {
    let mut via = ViaAnnotations::default();
    for line in logical_lines(text) {
        let (content, comment) = split_comment(&line.text);
        let start = content.len() - content.trim_start().len();
        let content = content.trim();
        if content.starts_with('-') {
            read_option(&line, content, out);
            via.requirement(None);
        } else if !content.is_empty() {
            via.requirement(read_requirement(&line, start, content, out)?);
        } else if comment.is_none() {
            // A blank line ends the annotations of the requirement above.
            via.requirement(None);
        }
        if let Some(comment) = comment {
            via.comment(comment, out);
        }
    }
    Ok(())
}

fn read_option(line: &LogicalLine, content: &str, out: &mut Collector) {
    let (option, value) = match content.split_once(|c: char| c == '=' || c.is_whitespace()) {
        Some((option, value)) => (option, value.trim()),
        None => (content, ""),
    };
    // Short options may carry their value without a space: `-rbase.txt`.
    let (option, value) = match option.char_indices().nth(2) {
        Some((second_end, _)) if !option.starts_with("--") => {
            (&option[..second_end], content[second_end..].trim())
        }
        _ => (option, value),
    };
    let line_no = Some(line.first_line());
    match option {
        "-r" | "--requirement" => {
            out.include(value);
            out.skip(
                line_no,
                content,
                format!("includes {value}: listed in `includes`, not read here"),
            );
        }
        "-c" | "--constraint" => out.skip(
            line_no,
            content,
            format!("constraints file {value}: limits versions, installs nothing"),
        ),
        "-e" | "--editable" => out.skip(
            line_no,
            content,
            "editable install of a local project or VCS checkout: no registry version",
        ),
        _ if OPTIONS_WITH_VALUE.contains(&option) || FLAG_OPTIONS.contains(&option) => {}
        _ => out.skip(line_no, content, format!("unknown option {option}")),
    }
}

/// Reads `name[extras] specifiers ; markers --hash=...` starting at byte `start` of the
/// logical line.
fn read_requirement(
    line: &LogicalLine,
    start: usize,
    content: &str,
    out: &mut Collector,
) -> Result<Option<usize>, LockfileError> {
    let line_no = Some(line.first_line());
    // Per-requirement options (`--hash=sha256:...`) come after whitespace.
    let requirement = match content.find(" --").or_else(|| content.find("\t--")) {
        Some(at) => content[..at].trim_end(),
        None => content,
    };
    if is_direct_reference(requirement) {
        out.skip(
            line_no,
            requirement,
            "direct URL reference: no registry version",
        );
        return Ok(None);
    }
    if looks_like_url_or_path(requirement) {
        out.skip(
            line_no,
            requirement,
            "a URL or path, not a named requirement: no registry version",
        );
        return Ok(None);
    }

    let name_end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(requirement.len());
    let name = &requirement[..name_end];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(line.error_at(
            start,
            format!("expected a package name, found {requirement:?}"),
        ));
    }
    let mut rest = requirement[name_end..].trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        let Some(close) = after.find(']') else {
            let at = start + (requirement.len() - rest.len());
            return Err(line.error_at(at, "unclosed '[' in extras"));
        };
        rest = after[close + 1..].trim_start();
    }
    // Markers (`; python_version < "3.8"`) say where it applies, not which version.
    let specifiers = match rest.split_once(';') {
        Some((specifiers, _markers)) => specifiers.trim(),
        None => rest,
    };
    let specifiers = specifiers
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(specifiers)
        .trim();
    let specifiers_at = start + requirement.find(specifiers).unwrap_or(name_end);
    if specifiers.is_empty() {
        out.skip(line_no, requirement, "not pinned: no version specifier");
        return Ok(None);
    }

    let mut pins = Vec::new();
    let mut clauses = 0;
    for clause in specifiers.split(',') {
        clauses += 1;
        let trimmed = clause.trim();
        let Some(operator) = ["===", "==", "~=", "!=", "<=", ">=", "<", ">"]
            .into_iter()
            .find(|op| trimmed.starts_with(op))
        else {
            let at = specifiers_at + (trimmed.as_ptr() as usize - specifiers.as_ptr() as usize);
            return Err(line.error_at(
                at,
                format!("expected a version specifier (==, >=, ~=, ...), found {trimmed:?}"),
            ));
        };
        let version = trimmed[operator.len()..].trim();
        // PEP 440 characters (with `*` for prefix matches); `===` compares arbitrary text.
        let pep440 =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '!' | '+' | '_' | '-' | '*');
        if version.is_empty()
            || version.contains(char::is_whitespace)
            || (operator != "===" && !version.chars().all(pep440))
        {
            let at = specifiers_at + (trimmed.as_ptr() as usize - specifiers.as_ptr() as usize);
            return Err(line.error_at(at, format!("invalid version in {trimmed:?}")));
        }
        if operator == "===" || (operator == "==" && !version.contains('*')) {
            pins.push(version);
        }
    }
    match pins.as_slice() {
        [version] if clauses == 1 => Ok(Some(out.push(LockedPackage {
            ecosystem: PYPI,
            name: name.to_string(),
            version: version.to_string(),
            purl: purl::pypi(name, version),
            direct: None,
            dev: None,
            optional: None,
            origin: Origin::Registry,
            source: None,
        }))),
        _ => {
            out.skip(
                line_no,
                requirement,
                format!("not pinned to one version: {specifiers}"),
            );
            Ok(None)
        }
    }
}

/// PEP 508 `name[extras] @ url`.
fn is_direct_reference(requirement: &str) -> bool {
    let Some((before, _)) = requirement.split_once('@') else {
        return false;
    };
    let name = before.split('[').next().unwrap_or(before).trim();
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn looks_like_url_or_path(requirement: &str) -> bool {
    let lower = requirement.to_ascii_lowercase();
    lower.contains("://")
        || [
            "./", "../", "/", "~", "file:", "git+", "hg+", "svn+", "bzr+",
        ]
        .iter()
        .any(|prefix| lower.starts_with(prefix))
        || [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
            .iter()
            .any(|suffix| lower.ends_with(suffix))
        || (lower.len() > 2 && lower.as_bytes()[1] == b':' && lower.as_bytes()[2] == b'\\')
}

#[cfg(test)]
mod tests {
    use super::super::{parse_lockfile, Lockfile, LockfileKind};
    use super::*;

    fn read(text: &str) -> Lockfile {
        parse_lockfile(LockfileKind::RequirementsTxt, text.as_bytes()).unwrap()
    }

    fn pins(lockfile: &Lockfile) -> Vec<(&str, &str)> {
        lockfile
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect()
    }

    fn error(text: &str) -> LockfileError {
        parse_lockfile(LockfileKind::RequirementsTxt, text.as_bytes()).unwrap_err()
    }

    /// As `pip-compile --generate-hashes` writes it.
    const PIP_COMPILE: &str = r#"#
# This file is autogenerated by pip-compile with Python 3.11
# by the following command:
#
#    pip-compile --generate-hashes requirements.in
#
--index-url https://pypi.org/simple
--extra-index-url https://download.pytorch.org/whl/cpu

certifi==2024.2.2 \
    --hash=sha256:0569859f95fc761b18b45ef421b1290a0f65f147e92a1e5eb3e635f9a5e4e66f \
    --hash=sha256:dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1
    # via requests
charset-normalizer==3.3.2 \
    --hash=sha256:06435b539f889b1f6f4ac1758871aae42dc3a8c0e24ac9e60c2384973ad73027
    # via requests
Flask[async]==3.0.2 ; python_version >= "3.8" \
    --hash=sha256:3232e0e9c850d781933cf0207523d1ece087eb8d87b23777ae38456e2fbe7c6e
    # via -r requirements.in
importlib-metadata==7.0.1 ; python_version < "3.10"
    # via flask
requests==2.31.0
    # via -r requirements.in
torch==2.2.1+cpu
typing_extensions===4.9.0
"#;

    #[test]
    fn reads_pip_compile_output() {
        let lockfile = read(PIP_COMPILE);
        assert_eq!(
            pins(&lockfile),
            vec![
                ("certifi", "2024.2.2"),
                ("charset-normalizer", "3.3.2"),
                ("Flask", "3.0.2"),
                ("importlib-metadata", "7.0.1"),
                ("requests", "2.31.0"),
                ("torch", "2.2.1+cpu"),
                ("typing_extensions", "4.9.0"),
            ]
        );
        let purls: Vec<&str> = lockfile.packages.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(purls[2], "pkg:pypi/flask@3.0.2");
        assert_eq!(purls[5], "pkg:pypi/torch@2.2.1%2Bcpu");
        assert_eq!(purls[6], "pkg:pypi/typing-extensions@4.9.0");
        assert!(lockfile
            .packages
            .iter()
            .all(|p| p.ecosystem == "PyPI" && p.origin == Origin::Registry));
        assert!(lockfile.skipped.is_empty(), "{:?}", lockfile.skipped);
        let direct: Vec<Option<bool>> = lockfile.packages.iter().map(|p| p.direct).collect();
        assert_eq!(
            direct,
            vec![
                Some(false),
                Some(false),
                Some(true),
                Some(false),
                Some(true),
                None,
                None
            ]
        );
    }

    #[test]
    fn via_annotations_in_every_style_say_what_is_direct() {
        // pip-compile's default split style, its line style, and uv's output for a pyproject.
        let text = "anyio==4.3.0\n    # via\n    #   httpx\n    #   starlette\n\
            fastapi==0.110.0\n    # via\n    #   -r requirements.in\n    #   my-app (pyproject.toml)\n\
            httpx==0.27.0  # via -r requirements.in\n\
            idna==3.6  # via anyio, httpx\n\
            starlette==0.36.3\n    # via my-app (pyproject.toml)\n\
            \n# The following packages are considered to be unsafe in a requirements file:\n\
            sniffio==1.3.1\n";
        let lockfile = read(text);
        let direct: Vec<(&str, Option<bool>)> = lockfile
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.direct))
            .collect();
        assert_eq!(
            direct,
            vec![
                ("anyio", Some(false)),
                ("fastapi", Some(true)),
                ("httpx", Some(true)),
                ("idna", Some(false)),
                ("starlette", Some(true)),
                ("sniffio", None),
            ]
        );
    }

    #[test]
    fn unpinned_urls_includes_and_editables_are_skipped_with_reasons() {
        let text = "-r base.txt\n-c constraints.txt\n--requirement=dev.txt\n-e .\n-e git+https://github.com/org/lib.git#egg=lib\n\
            django>=4.2,<5\nnumpy\nrequests~=2.31\npandas==2.*\nurllib3==2.2.1,!=2.2.0\n\
            mylib @ git+https://github.com/org/mylib.git@v1.0\n./vendor/pkg\n\
            https://files.example.com/simple-1.0-py3-none-any.whl\nsix==1.16.0\n--frobnicate\n";
        let lockfile = read(text);
        assert_eq!(pins(&lockfile), vec![("six", "1.16.0")]);
        let reasons: Vec<(usize, &str, &str)> = lockfile
            .skipped
            .iter()
            .map(|s| (s.line.unwrap(), s.entry.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(reasons.len(), 14, "{reasons:#?}");
        assert_eq!(lockfile.includes, vec!["base.txt", "dev.txt"]);
        assert_eq!(reasons[0].0, 1);
        assert!(reasons[0].2.contains("base.txt"));
        assert!(reasons[1].2.contains("constraints.txt"));
        assert!(reasons[2].2.contains("dev.txt"));
        assert!(reasons[3].2.starts_with("editable"));
        assert!(reasons[4].2.starts_with("editable"));
        assert_eq!(
            reasons[5],
            (6, "django>=4.2,<5", "not pinned to one version: >=4.2,<5")
        );
        assert_eq!(reasons[6], (7, "numpy", "not pinned: no version specifier"));
        assert!(reasons[7].2.starts_with("not pinned"));
        assert!(
            reasons[8].2.starts_with("not pinned"),
            "wildcards are ranges"
        );
        assert!(reasons[9].2.starts_with("not pinned"));
        assert!(reasons[10].2.starts_with("direct URL reference"));
        assert!(reasons[11].2.starts_with("a URL or path"));
        assert!(reasons[12].2.starts_with("a URL or path"));
        assert_eq!(
            reasons[13],
            (15, "--frobnicate", "unknown option --frobnicate")
        );
        // Short options glued to a value, including a non-ASCII one.
        let lockfile = read("-rbase.txt\n-é\n-éx\n");
        assert!(lockfile.skipped[0].reason.contains("base.txt"));
        assert_eq!(lockfile.skipped[1].reason, "unknown option -é");
        assert_eq!(lockfile.skipped[2].reason, "unknown option -é");
    }

    #[test]
    fn comments_need_whitespace_before_the_hash() {
        let lockfile = read("# header\nattrs==23.2.0  # pinned for py3.7\n\tzipp==3.17.0\t# tab\n");
        assert_eq!(
            pins(&lockfile),
            vec![("attrs", "23.2.0"), ("zipp", "3.17.0")]
        );
        // `#` glued to the version is part of it, and makes it invalid, as pip says.
        let e = error("attrs==23.2.0\nzipp==3.17.0#not-a-comment\n");
        assert_eq!((e.line, e.column), (Some(2), Some(5)), "{e}");
        assert!(e.message.contains("invalid version"), "{e}");
    }

    #[test]
    fn spaces_parentheses_and_markers() {
        let lockfile = read("Jinja2 == 3.1.3\nMarkupSafe (==2.1.5)\npywin32==306; sys_platform == \"win32\"\nuvloop==0.19.0 ; platform_system != 'Windows'\n");
        assert_eq!(
            pins(&lockfile),
            vec![
                ("Jinja2", "3.1.3"),
                ("MarkupSafe", "2.1.5"),
                ("pywin32", "306"),
                ("uvloop", "0.19.0")
            ]
        );
    }

    #[test]
    fn duplicates_merge_by_normalised_name() {
        let lockfile = read("PyYAML==6.0.1\npyyaml==6.0.1\nsix==1.16.0\nsix==1.15.0\n");
        assert_eq!(
            pins(&lockfile),
            vec![("PyYAML", "6.0.1"), ("six", "1.16.0"), ("six", "1.15.0")]
        );
    }

    #[test]
    fn crlf_bom_continuations_and_empty_files() {
        let crlf = format!("\u{feff}{}", PIP_COMPILE.replace('\n', "\r\n"));
        assert_eq!(read(&crlf).packages, read(PIP_COMPILE).packages);
        assert!(read("").packages.is_empty());
        assert!(read("\n\n# only comments\n").packages.is_empty());
        // A continuation on the last line ends the file.
        assert_eq!(pins(&read("six==1.16.0 \\")), vec![("six", "1.16.0")]);
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("six==1.16.0\r\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let packages = super::super::parse(LockfileKind::RequirementsTxt, &utf16).unwrap();
        assert_eq!(packages[0].version, "1.16.0");
    }

    #[test]
    fn garbage_is_an_error_with_line_and_column() {
        let e = error("six==1.16.0\nthis is not a requirement\n");
        assert_eq!((e.line, e.column), (Some(2), Some(6)), "{e}");
        let e = error("six==1.16.0\n  !!!\n");
        assert_eq!((e.line, e.column), (Some(2), Some(3)), "{e}");
        assert!(e.message.contains("package name"), "{e}");
        let e = error("a==1\nfoo[bar==1.0\n");
        assert_eq!(e.line, Some(2), "{e}");
        let e = error("a==1\nb=1.0\n");
        assert_eq!((e.line, e.column), (Some(2), Some(2)), "{e}");
        let e = error("a== \n");
        assert_eq!(e.line, Some(1), "{e}");
        // Located on the physical line of a continued requirement.
        let e = error("x==1\nfoo==1.0, \\\n  ^2.0\n");
        assert_eq!((e.line, e.column), (Some(3), Some(3)), "{e}");
    }
}
