//! `pyembed diff`: what differs between two containers, field by field.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;
use pyembed::resources::{
    Blob, Change, Container, ContainerDiff, LayoutValue, ResourceEntry, ValueChange, diff,
};
use serde_json::{Value, json};

use super::container::{self, describe};
use super::text::{print_json, printable};

/// Arguments of `pyembed diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first container (the baseline).
    a: PathBuf,
    /// The second container.
    b: PathBuf,
    /// Print a JSON report instead (stable, sorted keys).
    #[arg(long)]
    json: bool,
}

pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let executables = (
        container::executable(&args.a)?,
        container::executable(&args.b)?,
    );
    match executables {
        (Some(a), Some(b)) => return run_executables(&args, &a, &b),
        (None, None) => {}
        _ => anyhow::bail!(
            "cannot compare a built executable with a container\nhint: name one container of \
             the executable as FILE#N"
        ),
    }
    let a = container::open(&args.a)?;
    let b = container::open(&args.b)?;
    let difference = diff(&a, &b).map_err(|error| {
        // Say which file is damaged: the error names the resource, and
        // reading it again from each side tells which one fails.
        let damaged = match error.resource() {
            Some(name) if a.resource(name).is_err() => &args.a,
            Some(_) => &args.b,
            None => &args.a,
        };
        let resource = error
            .resource()
            .map(|name| format!(" (resource {:?})", printable(name)))
            .unwrap_or_default();
        anyhow!(
            "cannot compare {} with {}: {} is damaged: {}{resource}\n\
             hint: run `pyembed verify {}` to list everything that is damaged",
            args.a.display(),
            args.b.display(),
            damaged.display(),
            describe(&error),
            damaged.display()
        )
    })?;
    if args.json {
        print_json(&json_report(&args, &difference))?;
    } else {
        print!("{}", human(&args, &a, &b, &difference));
    }
    Ok(if difference.is_identical() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Two built executables: their launchers (by SHA-256), build
/// configurations (line by line) and containers (pairwise, as `FILE#N`).
fn run_executables(
    args: &DiffArgs,
    a: &pyembed::launcher::ExecutablePayload,
    b: &pyembed::launcher::ExecutablePayload,
) -> anyhow::Result<ExitCode> {
    use pyembed::resources::Digest;
    let part = |exe: &pyembed::launcher::ExecutablePayload, range: std::ops::Range<usize>| {
        exe.bytes()[range].to_vec()
    };
    let (launcher_a, launcher_b) = (
        part(a, a.payload().launcher.clone()),
        part(b, b.payload().launcher.clone()),
    );
    let (config_a, config_b) = (
        String::from_utf8_lossy(&part(a, a.payload().config.clone())).into_owned(),
        String::from_utf8_lossy(&part(b, b.payload().config.clone())).into_owned(),
    );
    let launchers_same = launcher_a == launcher_b;
    let configs_same = config_a == config_b;
    let members_a = container::members(&args.a, a);
    let members_b = container::members(&args.b, b);
    let mut identical = launchers_same && configs_same && members_a.len() == members_b.len();
    if args.json {
        let mut containers = Vec::new();
        for (ma, mb) in members_a.iter().zip(&members_b) {
            let (ca, cb) = (container::open(ma)?, container::open(mb)?);
            let difference = diff(&ca, &cb).map_err(|e| {
                anyhow!(
                    "cannot compare {} with {}: {}",
                    ma.display(),
                    mb.display(),
                    describe(&e)
                )
            })?;
            identical &= difference.is_identical();
            let member_args = DiffArgs {
                a: ma.clone(),
                b: mb.clone(),
                json: true,
            };
            containers.push(json_report(&member_args, &difference));
        }
        print_json(&json!({
            "identical": identical,
            "launcher": {
                "identical": launchers_same,
                "a": Digest::of(&launcher_a).to_string(),
                "b": Digest::of(&launcher_b).to_string(),
            },
            "build_config": {"identical": configs_same, "a": config_a, "b": config_b},
            "container_count": {"a": members_a.len(), "b": members_b.len()},
            "containers": containers,
        }))?;
    } else {
        if launchers_same {
            println!("launcher: identical ({} bytes)", launcher_a.len());
        } else {
            println!(
                "launcher: differs: {} bytes sha256:{} vs {} bytes sha256:{}",
                launcher_a.len(),
                Digest::of(&launcher_a),
                launcher_b.len(),
                Digest::of(&launcher_b)
            );
        }
        if configs_same {
            println!("build configuration: identical");
        } else {
            println!("build configuration: differs");
            for line in config_a
                .lines()
                .filter(|l| !config_b.lines().any(|m| m == *l))
            {
                println!("  - {line}");
            }
            for line in config_b
                .lines()
                .filter(|l| !config_a.lines().any(|m| m == *l))
            {
                println!("  + {line}");
            }
        }
        if members_a.len() != members_b.len() {
            println!("containers: {} vs {}", members_a.len(), members_b.len());
        }
        for (ma, mb) in members_a.iter().zip(&members_b) {
            let code = run(DiffArgs {
                a: ma.clone(),
                b: mb.clone(),
                json: false,
            })?;
            identical &= code == ExitCode::SUCCESS;
        }
    }
    Ok(if identical {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn tier(tier: pyembed::resources::Tier) -> u8 {
    tier.number()
}

fn blob_text(blob: &Blob) -> String {
    let unit = if blob.length == 1 { "byte" } else { "bytes" };
    format!("{} {unit} sha256:{}", blob.length, blob.digest)
}

fn value_text(change: &ValueChange) -> String {
    match change {
        ValueChange::Added(blob) => format!("added ({})", blob_text(blob)),
        ValueChange::Removed(blob) => format!("removed ({})", blob_text(blob)),
        ValueChange::Changed {
            a,
            b,
            first_difference,
        } => format!(
            "changed, first difference at byte {first_difference}\n        a: {}\n        b: {}",
            blob_text(a),
            blob_text(b)
        ),
    }
}

fn layout_text(value: &LayoutValue) -> String {
    match value {
        LayoutValue::Number(number) => number.to_string(),
        LayoutValue::Digest(digest) => digest.to_string(),
        LayoutValue::Flags(flags) if flags.is_empty() => "none".to_owned(),
        LayoutValue::Flags(flags) => flags.join(","),
        other => format!("{other:?}"),
    }
}

fn optional_text(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "(none)".to_owned(), |v| format!("{:?}", printable(v)))
}

fn entry_text(entry: &ResourceEntry) -> String {
    let flags: Vec<_> = entry.flags.names().collect();
    format!(
        "{} (tier {}; {})",
        printable(&entry.name),
        tier(entry.tier),
        if flags.is_empty() {
            "no flags".to_owned()
        } else {
            flags.join(", ")
        }
    )
}

fn change_text(change: &Change) -> String {
    match change {
        Change::Tier { a, b } => format!("tier: {} -> {}", tier(*a), tier(*b)),
        Change::Flags { added, removed } => {
            let added = added.names().map(|name| format!("+{name}"));
            let removed = removed.names().map(|name| format!("-{name}"));
            format!(
                "flags: {}",
                added.chain(removed).collect::<Vec<_>>().join(" ")
            )
        }
        Change::Data { field, change } => format!("{}: {}", field.name(), value_text(change)),
        Change::PackageResource { key, change } => format!(
            "package resource {:?}: {}",
            printable(key),
            value_text(change)
        ),
        Change::DistributionResource { key, change } => format!(
            "distribution resource {:?}: {}",
            printable(key),
            value_text(change)
        ),
        Change::SharedLibraryDependencies { a, b } => format!(
            "shared_library_dependency_names: {:?} -> {:?}",
            a.iter().map(|n| printable(n)).collect::<Vec<_>>(),
            b.iter().map(|n| printable(n)).collect::<Vec<_>>()
        ),
        Change::Path { field, key, a, b } => format!(
            "{field}{}: {} -> {}",
            key.as_deref()
                .map(|key| format!("[{:?}]", printable(key)))
                .unwrap_or_default(),
            optional_text(a),
            optional_text(b)
        ),
        other => format!("{other:?}"),
    }
}

fn human(args: &DiffArgs, a: &Container<'_>, b: &Container<'_>, diff: &ContainerDiff) -> String {
    let mut out = String::new();
    if diff.is_identical() {
        let _ = writeln!(
            out,
            "identical: {} and {} have content digest {}",
            args.a.display(),
            args.b.display(),
            diff.a
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} and {} differ\n  a: content digest {}, {} resources\n  b: content digest {}, {} resources",
        args.a.display(),
        args.b.display(),
        diff.a,
        a.resource_count(),
        diff.b,
        b.resource_count()
    );
    if !diff.layout.is_empty() {
        let _ = writeln!(out, "layout:");
        for change in &diff.layout {
            let _ = writeln!(
                out,
                "  {}: {} -> {}",
                change.field,
                layout_text(&change.a),
                layout_text(&change.b)
            );
        }
    }
    for (title, sign, entries) in [("added", '+', &diff.added), ("removed", '-', &diff.removed)] {
        if !entries.is_empty() {
            let _ = writeln!(out, "{title} ({}):", entries.len());
            for entry in entries {
                let _ = writeln!(out, "  {sign} {}", entry_text(entry));
            }
        }
    }
    if !diff.changed.is_empty() {
        let _ = writeln!(out, "changed ({}):", diff.changed.len());
        for resource in &diff.changed {
            let _ = writeln!(out, "  ~ {}", printable(&resource.name));
            for change in &resource.changes {
                let _ = writeln!(out, "      {}", change_text(change));
            }
        }
    }
    let _ = writeln!(
        out,
        "{} added, {} removed, {} changed{}",
        diff.added.len(),
        diff.removed.len(),
        diff.changed.len(),
        if diff.added.is_empty() && diff.removed.is_empty() && diff.changed.is_empty() {
            "; every resource is equal, the layout differs"
        } else {
            ""
        }
    );
    out
}

fn blob_json(blob: &Blob) -> Value {
    json!({ "length": blob.length, "sha256": blob.digest.to_string() })
}

/// `{"change": "added"|"removed"|"changed", "a": …, "b": …, "first_difference": …}`.
fn value_json(change: &ValueChange) -> serde_json::Map<String, Value> {
    let value = match change {
        ValueChange::Added(blob) => json!({ "change": "added", "a": null, "b": blob_json(blob) }),
        ValueChange::Removed(blob) => {
            json!({ "change": "removed", "a": blob_json(blob), "b": null })
        }
        ValueChange::Changed {
            a,
            b,
            first_difference,
        } => json!({
            "change": "changed",
            "a": blob_json(a),
            "b": blob_json(b),
            "first_difference": first_difference,
        }),
    };
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

fn change_json(change: &Change) -> Value {
    let keyed = |field: &str, key: Option<&str>, change: &ValueChange| {
        let mut map = value_json(change);
        map.insert("field".into(), json!(field));
        if let Some(key) = key {
            map.insert("key".into(), json!(key));
        }
        Value::Object(map)
    };
    match change {
        Change::Tier { a, b } => json!({ "field": "tier", "a": tier(*a), "b": tier(*b) }),
        Change::Flags { added, removed } => json!({
            "field": "flags",
            "added": added.names().collect::<Vec<_>>(),
            "removed": removed.names().collect::<Vec<_>>(),
        }),
        Change::Data { field, change } => keyed(field.name(), None, change),
        Change::PackageResource { key, change } => keyed("package_resource", Some(key), change),
        Change::DistributionResource { key, change } => {
            keyed("distribution_resource", Some(key), change)
        }
        Change::SharedLibraryDependencies { a, b } => json!({
            "field": "shared_library_dependency_names", "a": a, "b": b,
        }),
        Change::Path { field, key, a, b } => json!({
            "field": field, "key": key, "a": a, "b": b,
        }),
        other => json!({ "field": "unknown", "debug": format!("{other:?}") }),
    }
}

fn entry_json(entry: &ResourceEntry) -> Value {
    json!({
        "name": entry.name,
        "tier": tier(entry.tier),
        "flags": entry.flags.names().collect::<Vec<_>>(),
    })
}

fn file_json(path: &Path, digest: &pyembed::resources::Digest) -> Value {
    json!({ "file": path.display().to_string(), "content_digest": digest.to_string() })
}

fn json_report(args: &DiffArgs, diff: &ContainerDiff) -> Value {
    json!({
        "identical": diff.is_identical(),
        "a": file_json(&args.a, &diff.a),
        "b": file_json(&args.b, &diff.b),
        "layout": diff.layout.iter().map(|change| {
            let value = |v: &LayoutValue| match v {
                LayoutValue::Number(n) => json!(n),
                LayoutValue::Digest(d) => json!(d.to_string()),
                LayoutValue::Flags(f) => json!(f),
                other => json!(format!("{other:?}")),
            };
            json!({ "field": change.field, "a": value(&change.a), "b": value(&change.b) })
        }).collect::<Vec<_>>(),
        "added": diff.added.iter().map(entry_json).collect::<Vec<_>>(),
        "removed": diff.removed.iter().map(entry_json).collect::<Vec<_>>(),
        "changed": diff.changed.iter().map(|resource| json!({
            "name": resource.name,
            "changes": resource.changes.iter().map(change_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
