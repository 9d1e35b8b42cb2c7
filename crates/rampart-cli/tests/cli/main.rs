//! The command-line tool as a user runs it: the real binary, real files, real databases.

mod export;
mod first_steps;
mod import;
mod notifier_kill;
mod purl_agreement;
mod sarif_upload;
mod scan;
mod scan_reading;
mod scan_vex;
mod serve;
mod sync_kill;
mod version_cli;
mod vex_cli;
mod webhook_kill;
