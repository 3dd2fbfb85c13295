//! `pyembed verify`: check every byte, and list everything that is damaged.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pyembed::resources::{Audit, ContainerError};
use serde::Serialize;

use super::container::{self, describe};
use super::text::{count, print_json, printable};

/// Arguments of `pyembed verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The container file.
    file: PathBuf,
    /// Print a JSON report instead (stable, sorted keys).
    #[arg(long)]
    json: bool,
}

/// The `--json` report.
#[derive(Debug, Serialize)]
struct Report {
    file: String,
    intact: bool,
    /// `null` when the header itself cannot be trusted.
    content_digest: Option<String>,
    /// What was checked, when intact.
    checked: Option<Checked>,
    /// Failures of the header, the index, whole regions, chunks and groups.
    regions: Vec<Failure>,
    /// Every resource that cannot be read intact, by name.
    resources: Vec<Damaged>,
}

#[derive(Debug, Serialize)]
struct Checked {
    resources: usize,
    chunks: u32,
    groups: u32,
    bytes_hashed: u64,
}

#[derive(Debug, Serialize)]
struct Damaged {
    name: String,
    tier: u8,
    failures: Vec<Failure>,
}

#[derive(Debug, Serialize)]
struct Failure {
    /// `bytecode`, `source`, …; `null` for the resource as a whole or a region.
    field: Option<&'static str>,
    /// `digest_mismatch` or `malformed`.
    kind: &'static str,
    /// The span a failed digest covers.
    region: Option<String>,
    expected: Option<String>,
    actual: Option<String>,
    message: String,
}

impl Failure {
    fn of(field: Option<&'static str>, error: &ContainerError) -> Failure {
        let (kind, region, expected, actual) = match error {
            ContainerError::DigestMismatch {
                region,
                expected,
                actual,
                ..
            } => (
                "digest_mismatch",
                Some(region.to_string()),
                Some(expected.to_string()),
                Some(actual.to_string()),
            ),
            _ => ("malformed", None, None, None),
        };
        Failure {
            field,
            kind,
            region,
            expected,
            actual,
            message: describe(error),
        }
    }
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    // A built executable: its payload was located and checked on opening;
    // each container is verified in turn (one report, or one JSON document,
    // per container).
    if let Some(executable) = container::executable(&args.file)? {
        let mut intact = true;
        for member in container::members(&args.file, &executable) {
            let code = run(VerifyArgs {
                file: member,
                json: args.json,
            })?;
            intact &= code == ExitCode::SUCCESS;
        }
        return Ok(if intact {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let container = match container::open(&args.file) {
        Ok(container) => container,
        Err(error) if args.json => {
            print_json(&Report {
                file: args.file.display().to_string(),
                intact: false,
                content_digest: None,
                checked: None,
                regions: vec![Failure {
                    field: None,
                    kind: "unreadable",
                    region: None,
                    expected: None,
                    actual: None,
                    message: format!("{error:#}"),
                }],
                resources: Vec::new(),
            })?;
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    let audit = container.audit();
    let report = report(&args, &container.content_digest().to_string(), &audit);
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", human(&report, container.resource_count()));
    }
    if report.intact {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: {} failed verification: {} of {} damaged, {}\n\
             hint: the file was damaged or modified after it was built; rebuild it with `pyembed pack`",
            args.file.display(),
            report.resources.len(),
            count(container.resource_count() as u64, "resource", "resources"),
            count(
                report.regions.len() as u64,
                "damaged region",
                "damaged regions"
            ),
        );
        Ok(ExitCode::from(1))
    }
}

fn report(args: &VerifyArgs, digest: &str, audit: &Audit) -> Report {
    Report {
        file: args.file.display().to_string(),
        intact: audit.is_intact(),
        content_digest: Some(digest.to_owned()),
        checked: audit.report.map(|report| Checked {
            resources: report.resources,
            chunks: report.chunks,
            groups: report.groups,
            bytes_hashed: report.bytes_hashed,
        }),
        regions: audit
            .regions
            .iter()
            .map(|error| Failure::of(None, error))
            .collect(),
        resources: audit
            .resources
            .iter()
            .map(|resource| Damaged {
                name: resource.name.clone(),
                tier: resource.tier.number(),
                failures: resource
                    .failures
                    .iter()
                    .map(|failure| Failure::of(failure.field.map(|f| f.name()), &failure.error))
                    .collect(),
            })
            .collect(),
    }
}

fn human(report: &Report, resource_count: usize) -> String {
    let mut out = String::new();
    if let Some(checked) = &report.checked {
        let _ = writeln!(
            out,
            "{}: intact: {}, {} and {} verified ({} hashed); content digest {}",
            report.file,
            count(checked.resources as u64, "resource", "resources"),
            count(checked.chunks, "tier-0 chunk", "tier-0 chunks"),
            count(checked.groups, "tier-1 group", "tier-1 groups"),
            count(checked.bytes_hashed, "byte", "bytes"),
            report.content_digest.as_deref().unwrap_or("unknown"),
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{}: DAMAGED: {} of {} cannot be read intact",
        report.file,
        report.resources.len(),
        count(resource_count as u64, "resource", "resources")
    );
    if !report.regions.is_empty() {
        let _ = writeln!(out, "damaged regions:");
        for failure in &report.regions {
            let _ = writeln!(out, "  {}", failure.message);
        }
    }
    if !report.resources.is_empty() {
        let _ = writeln!(out, "damaged resources:");
        for resource in &report.resources {
            let _ = writeln!(
                out,
                "  {} (tier {})",
                printable(&resource.name),
                resource.tier
            );
            for failure in &resource.failures {
                let _ = writeln!(
                    out,
                    "    {}: {}",
                    failure.field.unwrap_or("resource"),
                    failure.message
                );
            }
        }
    }
    out
}
