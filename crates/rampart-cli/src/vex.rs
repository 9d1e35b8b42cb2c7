//! `rampart vex convert --to openvex|cyclonedx|csaf [--xml] FILE`: converts a VEX document
//! between OpenVEX 0.2.0, CycloneDX 1.6 (JSON, or XML with `--xml`) and CSAF 2.0 (VEX
//! profile), offline. The input format is recognised from the content; the result goes to
//! stdout. What the input had that the target cannot say follows the mapping table of
//! `rampart_formats::vex::disposition`. Warnings and skipped parts of the input are listed on
//! stderr; an unreadable input or one the target format cannot express exits with code 2.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use rampart_formats::vex::{self, VexFormat};

#[derive(Args)]
pub struct VexArgs {
    #[command(subcommand)]
    command: VexCommand,
}

#[derive(Subcommand)]
enum VexCommand {
    /// Convert a VEX document (OpenVEX, CycloneDX JSON/XML or CSAF) to another format.
    Convert {
        /// The format to write.
        #[arg(long, value_enum)]
        to: Target,
        /// With `--to cyclonedx`: write XML instead of JSON.
        #[arg(long)]
        xml: bool,
        /// The document to convert (`-` for stdin).
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    Openvex,
    Cyclonedx,
    Csaf,
}

pub fn run(args: VexArgs) -> ExitCode {
    let VexCommand::Convert { to, xml, file } = args.command;
    match convert(to, xml, &file) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn convert(to: Target, xml: bool, file: &PathBuf) -> Result<(), String> {
    let format = match (to, xml) {
        (Target::Openvex, false) => VexFormat::OpenVex,
        (Target::Cyclonedx, false) => VexFormat::CycloneDxJson,
        (Target::Cyclonedx, true) => VexFormat::CycloneDxXml,
        (Target::Csaf, false) => VexFormat::Csaf,
        (_, true) => return Err("--xml goes with --to cyclonedx only".into()),
    };
    let name = file.display().to_string();
    let bytes = if name == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|error| format!("cannot read stdin: {error}"))?;
        bytes
    } else {
        std::fs::read(file).map_err(|error| format!("cannot read {name}: {error}"))?
    };
    let read = vex::read(&bytes).map_err(|error| format!("{name}: {error}"))?;
    for warning in &read.warnings {
        eprintln!("warning: {name}: {warning}");
    }
    for skipped in &read.skipped {
        eprintln!("skipped: {name}: {skipped}");
    }
    let written = vex::write(&read.document, format)
        .map_err(|error| format!("{name} cannot be written as {format}: {error}"))?;
    eprintln!(
        "{name}: {} → {format}, {} statements",
        read.format,
        read.document.statements.len()
    );
    std::io::stdout()
        .lock()
        .write_all(&written)
        .map_err(|error| format!("cannot write to stdout: {error}"))
}
