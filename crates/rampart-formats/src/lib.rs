//! Parsers (tolerant) and writers (strict) for the formats Rampart reads and emits.
//! Pure: bytes in, typed records out; no I/O, no HTTP, no SQL.

pub mod advisory;
pub mod lockfile;
pub mod recog;
pub mod sarif;
pub mod sbom;
pub mod vex;
