//! One module per version scheme. Each exposes a parsed version type with
//! `parse(&str) -> Result<Self, VersionError>`, a total `Ord` equal to the ecosystem's own
//! tool, and a `Display` whose output parses back to an equal version.

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod generic;
pub mod go;
pub mod maven;
pub mod npm;
pub mod nuget;
pub mod numeral;
pub mod numeric_list;
pub mod pep440;
pub mod pub_semver;
pub mod rpm;
pub mod rubygems;
pub mod semantic;
pub mod semver;
pub(crate) mod support;
