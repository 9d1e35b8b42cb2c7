//! Bundler's `Gemfile.lock`.
//!
//! Sections start with an unindented upper-case header. Source sections (`GEM`, `GIT`,
//! `PATH`, `PLUGIN SOURCE`) carry `  remote:` (and for git `  revision:`) then `  specs:`,
//! with one gem per 4-space line, `name (version)` or `name (version-platform)` for
//! platform-specific builds, and its own requirements at 6 spaces. `DEPENDENCIES` lists what
//! the Gemfile asks for (`name!` when pinned to a git or path source). `PLATFORMS`,
//! `RUBY VERSION`, `CHECKSUMS` and `BUNDLED WITH` name no gems to scan.

use std::collections::HashSet;

use super::{purl, Collector, LockedPackage, LockfileError, Origin, RUBYGEMS};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Source(Origin),
    Plugin,
    Dependencies,
    Other,
}

struct Spec {
    name: String,
    version: String,
    platform: Option<String>,
    origin: Origin,
    source: Option<String>,
}

pub(crate) fn parse(text: &str, out: &mut Collector) -> Result<(), LockfileError> {
    let mut specs: Vec<Spec> = Vec::new();
    let mut declared: HashSet<String> = HashSet::new();
    let mut has_dependencies = false;
    let mut section: Option<Section> = None;
    let mut remotes: Vec<String> = Vec::new();
    let mut revision: Option<String> = None;

    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent == 0 {
            if !line
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == ' ' || c == '_')
            {
                return Err(LockfileError::at(
                    line_no,
                    1,
                    format!(
                        "expected a section header such as GEM or DEPENDENCIES, found {line:?}"
                    ),
                ));
            }
            section = Some(match line {
                "GEM" => Section::Source(Origin::Registry),
                "GIT" => Section::Source(Origin::Git),
                "PATH" => Section::Source(Origin::Local),
                "PLUGIN SOURCE" => Section::Plugin,
                "DEPENDENCIES" => {
                    has_dependencies = true;
                    Section::Dependencies
                }
                _ => Section::Other,
            });
            remotes.clear();
            revision = None;
            continue;
        }
        let Some(current) = section else {
            return Err(LockfileError::at(
                line_no,
                indent + 1,
                "indented line before any section header",
            ));
        };
        let content = line.trim();
        match current {
            Section::Source(_) | Section::Plugin if indent == 2 => {
                if let Some(remote) = content.strip_prefix("remote:") {
                    remotes.push(remote.trim().to_string());
                } else if let Some(commit) = content.strip_prefix("revision:") {
                    revision = Some(commit.trim().to_string());
                }
            }
            Section::Source(origin) if indent == 4 => {
                let (name, version, platform) = name_version(content).ok_or_else(|| {
                    LockfileError::at(
                        line_no,
                        indent + 1,
                        format!("expected a gem as \"name (version)\", found {content:?}"),
                    )
                })?;
                let source = (!remotes.is_empty()).then(|| {
                    let remote = remotes.join(", ");
                    match (&revision, origin) {
                        (Some(commit), Origin::Git) => format!("{remote}#{commit}"),
                        _ => remote,
                    }
                });
                specs.push(Spec {
                    name: name.to_string(),
                    version: version.to_string(),
                    platform: platform.map(str::to_string),
                    origin,
                    source,
                });
            }
            Section::Plugin if indent == 4 => {
                out.skip(
                    Some(line_no),
                    content,
                    "Bundler plugin, not an application gem",
                );
            }
            Section::Dependencies if indent == 2 => {
                let name = content.split([' ', '!']).next().unwrap_or(content);
                declared.insert(name.to_string());
            }
            _ => {}
        }
    }

    for spec in specs {
        let direct = has_dependencies.then(|| declared.contains(&spec.name));
        out.push(LockedPackage {
            ecosystem: RUBYGEMS,
            purl: purl::gem(&spec.name, &spec.version, spec.platform.as_deref()),
            name: spec.name,
            version: spec.version,
            direct,
            dev: None,
            optional: None,
            origin: spec.origin,
            source: spec.source,
        });
    }
    Ok(())
}

/// Splits `name (version)` or `name (version-platform)`: as Bundler does, the version ends at
/// the first `-` (RubyGems versions spell pre-releases with letters, not dashes).
fn name_version(content: &str) -> Option<(&str, &str, Option<&str>)> {
    let (name, rest) = content.split_once(" (")?;
    let inside = rest.strip_suffix(')')?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let (version, platform) = match inside.split_once('-') {
        Some((version, platform)) => (version, Some(platform)),
        None => (inside, None),
    };
    let valid_version = !version.is_empty()
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.');
    if !valid_version || platform.is_some_and(str::is_empty) {
        return None;
    }
    Some((name, version, platform))
}

#[cfg(test)]
mod tests {
    use super::super::{parse_lockfile, Lockfile, LockfileKind};
    use super::*;

    fn read(text: &str) -> Result<Lockfile, LockfileError> {
        parse_lockfile(LockfileKind::GemfileLock, text.as_bytes())
    }

    /// As Bundler 2.5 writes it for a Rails app with a git and a path gem.
    const GEMFILE_LOCK: &str = "GIT
  remote: https://github.com/rails/rails.git
  revision: 4fa56814f18fd3da49c83931fa773caa727d8096
  branch: main
  specs:
    activesupport (7.2.0.alpha)
      concurrent-ruby (~> 1.0, >= 1.0.2)
      i18n (>= 1.6, < 2)

PATH
  remote: engines/billing
  specs:
    billing (0.1.0)
      activesupport

GEM
  remote: https://rubygems.org/
  specs:
    concurrent-ruby (1.2.3)
    i18n (1.14.4)
      concurrent-ruby (~> 1.0)
    mini_portile2 (2.8.5)
    nokogiri (1.16.3)
      mini_portile2 (~> 2.8.2)
      racc (~> 1.4)
    nokogiri (1.16.3-arm64-darwin)
      racc (~> 1.4)
    nokogiri (1.16.3-x86_64-linux)
      racc (~> 1.4)
    racc (1.7.3)
    rake (13.1.0)

PLATFORMS
  arm64-darwin-23
  ruby
  x86_64-linux

DEPENDENCIES
  activesupport!
  billing!
  nokogiri (~> 1.16)
  rake

CHECKSUMS
  nokogiri (1.16.3-x86_64-linux) sha256=3b7e9f39ebb6bd7fb5fc9d5d1aef95e4c2a9d4e0b2d6b44c4fa4d3ec9d4d5d0e

RUBY VERSION
   ruby 3.3.0p0

BUNDLED WITH
   2.5.6
";

    #[test]
    fn reads_gem_git_and_path_sections() {
        let lockfile = read(GEMFILE_LOCK).unwrap();
        let rows: Vec<(&str, &str, Option<bool>, Origin, &str)> = lockfile
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.direct,
                    p.origin,
                    p.purl.as_str(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    "activesupport",
                    "7.2.0.alpha",
                    Some(true),
                    Origin::Git,
                    "pkg:gem/activesupport@7.2.0.alpha"
                ),
                (
                    "billing",
                    "0.1.0",
                    Some(true),
                    Origin::Local,
                    "pkg:gem/billing@0.1.0"
                ),
                (
                    "concurrent-ruby",
                    "1.2.3",
                    Some(false),
                    Origin::Registry,
                    "pkg:gem/concurrent-ruby@1.2.3"
                ),
                (
                    "i18n",
                    "1.14.4",
                    Some(false),
                    Origin::Registry,
                    "pkg:gem/i18n@1.14.4"
                ),
                (
                    "mini_portile2",
                    "2.8.5",
                    Some(false),
                    Origin::Registry,
                    "pkg:gem/mini_portile2@2.8.5"
                ),
                (
                    "nokogiri",
                    "1.16.3",
                    Some(true),
                    Origin::Registry,
                    "pkg:gem/nokogiri@1.16.3"
                ),
                (
                    "nokogiri",
                    "1.16.3",
                    Some(true),
                    Origin::Registry,
                    "pkg:gem/nokogiri@1.16.3?platform=arm64-darwin"
                ),
                (
                    "nokogiri",
                    "1.16.3",
                    Some(true),
                    Origin::Registry,
                    "pkg:gem/nokogiri@1.16.3?platform=x86_64-linux"
                ),
                (
                    "racc",
                    "1.7.3",
                    Some(false),
                    Origin::Registry,
                    "pkg:gem/racc@1.7.3"
                ),
                (
                    "rake",
                    "13.1.0",
                    Some(true),
                    Origin::Registry,
                    "pkg:gem/rake@13.1.0"
                ),
            ]
        );
        assert!(lockfile.packages.iter().all(|p| p.ecosystem == "RubyGems"));
        assert_eq!(
            lockfile.packages[0].source.as_deref(),
            Some("https://github.com/rails/rails.git#4fa56814f18fd3da49c83931fa773caa727d8096")
        );
        assert_eq!(
            lockfile.packages[1].source.as_deref(),
            Some("engines/billing")
        );
        assert_eq!(
            lockfile.packages[2].source.as_deref(),
            Some("https://rubygems.org/")
        );
        assert!(lockfile.skipped.is_empty());
    }

    #[test]
    fn older_lockfiles_with_several_remotes_and_no_dependencies_section() {
        let text = "GEM\n  remote: https://rubygems.org/\n  remote: https://gems.example.com/\n  specs:\n    json (2.7.1-java)\n    private_gem (0.4.2)\n";
        let lockfile = read(text).unwrap();
        assert_eq!(
            lockfile.packages[0].purl,
            "pkg:gem/json@2.7.1?platform=java"
        );
        assert_eq!(lockfile.packages[0].direct, None);
        assert_eq!(
            lockfile.packages[1].source.as_deref(),
            Some("https://rubygems.org/, https://gems.example.com/")
        );
    }

    #[test]
    fn plugin_sources_are_skipped() {
        let text = "PLUGIN SOURCE\n  remote: https://github.com/org/plugin.git\n  type: git\n  specs:\n    bundler-plugin (0.1.0)\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.0.9.1)\n";
        let lockfile = read(text).unwrap();
        assert_eq!(lockfile.packages.len(), 1);
        assert_eq!(lockfile.packages[0].version, "3.0.9.1");
        assert_eq!(lockfile.skipped[0].line, Some(5));
    }

    #[test]
    fn crlf_bom_empty_and_duplicates() {
        let crlf = format!("\u{feff}{}", GEMFILE_LOCK.replace('\n', "\r\n"));
        assert_eq!(read(&crlf).unwrap(), read(GEMFILE_LOCK).unwrap());
        assert!(read("").unwrap().packages.is_empty());
        assert!(read("\n\nBUNDLED WITH\n   2.4.22\n")
            .unwrap()
            .packages
            .is_empty());
        // The same gem from two GEM sections of the same remote is one package.
        let twice = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.1.0)\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    rake (13.1.0)\n";
        assert_eq!(read(twice).unwrap().packages.len(), 1);
    }

    #[test]
    fn garbage_is_located() {
        let e =
            read("GEM\n  remote: https://rubygems.org/\n  specs:\n    rake 13.1.0\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some(5)), "{e}");
        let e = read("GEM\n  specs:\n    rake ()\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = read("GEM\n  specs:\n    rake (-x86_64-linux)\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = read("    rake (13.1.0)\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        let e = read("this is not a lockfile\n").unwrap_err();
        assert_eq!((e.line, e.column), (Some(1), Some(1)), "{e}");
        let e = read("{\"a\": 1}").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
    }

    #[test]
    fn name_version_follows_bundler() {
        assert_eq!(
            name_version("rails (7.1.3)"),
            Some(("rails", "7.1.3", None))
        );
        assert_eq!(
            name_version("grpc (1.62.0-x86_64-linux-gnu)"),
            Some(("grpc", "1.62.0", Some("x86_64-linux-gnu")))
        );
        assert_eq!(
            name_version("sass-embedded (1.72.0-x64-mingw-ucrt)"),
            Some(("sass-embedded", "1.72.0", Some("x64-mingw-ucrt")))
        );
        assert_eq!(name_version("rails"), None);
        assert_eq!(name_version("rails (abc)"), None);
    }
}
