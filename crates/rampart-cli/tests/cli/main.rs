//! The command-line tool as a user runs it: the real binary, real files, real databases.

mod import;
mod scan;
mod serve;
mod sync_kill;
mod version_cli;
