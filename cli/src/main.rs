//! `deprov-audit`: run the auditor's checks from a terminal — on the demo org, on a snapshot file, or live.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shared::domain::{Finding, OrgSnapshot};
use shared::rules::{Policy, evaluate};

/// The demo org: an Okta + Identity Center org with the deprovisioning failures the auditor exists to catch.
const DEMO_ORG: &str = include_str!("../../events/demo/org.json");

#[derive(Debug, Parser)]
#[command(
    name = "deprov-audit",
    version,
    about = "Prove that Okta deprovisioning reaches AWS IAM Identity Center"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every rule on the embedded demo org (events/demo/org.json) and print the findings.
    Demo {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run every rule on an org snapshot file (as written by `snapshot`).
    Review {
        #[arg(long)]
        snapshot: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// A table for people.
    Table,
    /// A JSON array of findings, in the shape published to SNS.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { format } => review(DEMO_ORG, "the demo org", format),
        Command::Review { snapshot, format } => match std::fs::read_to_string(&snapshot) {
            Ok(text) => review(&text, &snapshot.display().to_string(), format),
            Err(e) => Err(format!("cannot read {}: {e}", snapshot.display())),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("deprov-audit: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Evaluates a snapshot as of the moment it was collected, so the same file always gives the same findings.
fn review(snapshot_json: &str, name: &str, format: Format) -> Result<(), String> {
    let snapshot: OrgSnapshot =
        serde_json::from_str(snapshot_json).map_err(|e| format!("{name} is not a valid org snapshot: {e}"))?;
    let findings = evaluate(&snapshot, &Policy::at(snapshot.collected_at));
    print_findings(&findings, format)
}

fn print_findings(findings: &[Finding], format: Format) -> Result<(), String> {
    match format {
        Format::Table => print!("{}", shared::report::findings_table(findings)),
        Format::Json => {
            let text = serde_json::to_string_pretty(findings).map_err(|e| format!("cannot encode findings: {e}"))?;
            println!("{text}");
        }
    }
    Ok(())
}
