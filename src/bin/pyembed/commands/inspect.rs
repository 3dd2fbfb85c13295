//! `pyembed inspect`: what a container holds and how it is laid out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;
use pyembed::resources::{
    Container, DataField, RegionDescriptor, ResourceFlags, Tier, header::FORMAT_VERSION,
    header::HEADER_LEN,
};
use python_packed_resources::Resource;
use serde::Serialize;

use super::container::{self, describe};
use super::text::{Align, Table, count, print_json, printable};

/// Arguments of `pyembed inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The container file.
    file: PathBuf,
    /// Print a JSON report instead (stable, sorted keys; always lists every resource).
    #[arg(long)]
    json: bool,
    /// Also list every resource with its tier, kinds and sizes.
    #[arg(long)]
    resources: bool,
}

/// The whole report; its JSON form is the `--json` output.
#[derive(Debug, Serialize)]
struct Report {
    file: String,
    format_version: u32,
    flags: Vec<&'static str>,
    chunk_size: u32,
    content_digest: String,
    container_length: u64,
    regions: Regions,
    counts: Counts,
    sizes: Sizes,
    resources: Vec<Row>,
}

#[derive(Debug, Serialize)]
struct Regions {
    header: Span,
    index: Span,
    padding: Span,
    tier0: Span,
    dictionary: Span,
    tier1: Span,
}

#[derive(Debug, Default, Serialize)]
struct Span {
    offset: u64,
    length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunks: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decompressed_length: Option<u64>,
}

impl Span {
    fn of(region: &RegionDescriptor) -> Span {
        Span {
            offset: region.offset,
            length: region.length,
            // An absent region's digest is all zeros by definition.
            sha256: (region.length > 0).then(|| region.digest.to_string()),
            ..Span::default()
        }
    }
}

/// Resources by kind and by tier. A resource can be of several kinds (an
/// extension module that is a package is counted under both).
#[derive(Debug, Default, Serialize)]
struct Counts {
    resources: usize,
    tier0: usize,
    tier1: usize,
    modules: usize,
    packages: usize,
    namespace_packages: usize,
    extension_modules: usize,
    builtin_extension_modules: usize,
    frozen_modules: usize,
    shared_libraries: usize,
    distributions: usize,
    distribution_files: usize,
    package_data_files: usize,
    file_data: usize,
}

/// Total bytes of each kind of data.
#[derive(Debug, Default, Serialize)]
struct Sizes {
    source: u64,
    bytecode: u64,
    bytecode_opt1: u64,
    bytecode_opt2: u64,
    extension_modules: u64,
    shared_libraries: u64,
    package_data: u64,
    distribution_files: u64,
    file_data: u64,
}

/// One resource.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    tier: u8,
    kinds: Vec<&'static str>,
    flags: Vec<&'static str>,
    source: Option<u64>,
    bytecode: Option<u64>,
    bytecode_opt1: Option<u64>,
    bytecode_opt2: Option<u64>,
    extension_module: Option<u64>,
    shared_library: Option<u64>,
    file_data: Option<u64>,
    package_resources: Option<BTreeMap<String, u64>>,
    distribution_resources: Option<BTreeMap<String, u64>>,
}

impl Row {
    /// Bytes other than source and bytecode.
    fn data(&self) -> Option<u64> {
        let maps = [&self.package_resources, &self.distribution_resources]
            .into_iter()
            .flatten()
            .map(|map| map.values().sum::<u64>());
        [self.extension_module, self.shared_library, self.file_data]
            .into_iter()
            .flatten()
            .chain(maps)
            .reduce(|a, b| a + b)
    }
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    if let Some(executable) = container::executable(&args.file)? {
        return run_executable(&args, &executable);
    }
    let container = container::open(&args.file)?;
    let report = report(&args, &container)?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", human(&report, args.resources));
    }
    Ok(ExitCode::SUCCESS)
}

/// A built executable: its payload, build configuration, and a report per
/// container (named `FILE#N`).
fn run_executable(
    args: &InspectArgs,
    executable: &pyembed::launcher::ExecutablePayload,
) -> anyhow::Result<ExitCode> {
    let payload = executable.payload();
    let config = String::from_utf8_lossy(&executable.bytes()[payload.config.clone()]).into_owned();
    let mut reports = Vec::new();
    for member in container::members(&args.file, executable) {
        let container = container::open(&member)?;
        let member_args = InspectArgs {
            file: member,
            json: args.json,
            resources: args.resources,
        };
        reports.push(report(&member_args, &container)?);
    }
    if args.json {
        print_json(&serde_json::json!({
            "file": args.file.display().to_string(),
            "launcher_length": payload.launcher.end,
            "payload_digest": payload.digest.to_string(),
            "build_config": config,
            "containers": reports,
        }))?;
    } else {
        println!(
            "{}: built executable: launcher {} bytes, {} container(s), payload digest {}",
            args.file.display(),
            payload.launcher.end,
            reports.len(),
            payload.digest
        );
        println!("build configuration:");
        for line in config.lines() {
            println!("  {line}");
        }
        for report in &reports {
            println!();
            print!("{}", human(report, args.resources));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report(args: &InspectArgs, container: &Container<'_>) -> anyhow::Result<Report> {
    let layout = container.layout();
    let header = &layout.header;
    let mut counts = Counts::default();
    let mut sizes = Sizes::default();
    let mut rows = Vec::with_capacity(container.resource_count());
    for (summary, resource) in container.summaries().zip(container.resources()) {
        let resource = resource.map_err(|error| {
            anyhow!(
                "cannot read {}: {}{}\nhint: run `pyembed verify {}` to list everything that is damaged",
                args.file.display(),
                describe(&error),
                error
                    .resource()
                    .map(|name| format!(" (resource {:?})", printable(name)))
                    .unwrap_or_default(),
                args.file.display()
            )
        })?;
        counts.resources += 1;
        match summary.tier {
            Tier::Raw => counts.tier0 += 1,
            Tier::Compressed => counts.tier1 += 1,
        }
        let row = row(&resource, summary.tier, summary.flags);
        tally(&row, &mut counts, &mut sizes);
        rows.push(row);
    }
    let index_end = HEADER_LEN as u64 + header.index_length;
    Ok(Report {
        file: args.file.display().to_string(),
        format_version: FORMAT_VERSION,
        flags: header.flags.names().collect(),
        chunk_size: header.chunk_size,
        content_digest: container.content_digest().to_string(),
        container_length: header.container_length,
        regions: Regions {
            header: Span {
                offset: 0,
                length: HEADER_LEN as u64,
                ..Span::default()
            },
            index: Span {
                offset: HEADER_LEN as u64,
                length: header.index_length,
                sha256: Some(header.index_digest.to_string()),
                ..Span::default()
            },
            padding: Span {
                offset: index_end,
                length: layout.tier0.offset.saturating_sub(index_end),
                ..Span::default()
            },
            tier0: Span {
                chunks: Some(layout.chunk_count),
                ..Span::of(&layout.tier0)
            },
            dictionary: Span::of(&layout.dictionary),
            tier1: Span {
                groups: Some(layout.groups.len()),
                decompressed_length: Some(
                    layout.groups.iter().map(|g| g.decompressed_length).sum(),
                ),
                ..Span::of(&layout.tier1)
            },
        },
        counts,
        sizes,
        resources: rows,
    })
}

/// What a resource is, from its flags and the data it holds.
fn kinds(resource: &Resource<'_, u8>) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if resource.is_python_module && !resource.is_python_package {
        kinds.push("module");
    }
    if resource.is_python_package && !resource.is_python_namespace_package {
        kinds.push("package");
    }
    if resource.is_python_namespace_package {
        kinds.push("namespace_package");
    }
    if resource.is_python_extension_module {
        kinds.push("extension_module");
    }
    if resource.is_python_builtin_extension_module {
        kinds.push("builtin_extension_module");
    }
    if resource.is_python_frozen_module {
        kinds.push("frozen_module");
    }
    if resource.is_shared_library {
        kinds.push("shared_library");
    }
    if resource.in_memory_distribution_resources.is_some() {
        kinds.push("distribution");
    }
    if resource.in_memory_package_resources.is_some() {
        kinds.push("package_data");
    }
    if resource.file_data_embedded.is_some() {
        kinds.push("file_data");
    }
    kinds
}

fn row(resource: &Resource<'_, u8>, tier: Tier, flags: ResourceFlags) -> Row {
    let size = |field: DataField| field.of(resource).map(|bytes| bytes.len() as u64);
    let map = |map: &Option<std::collections::HashMap<_, std::borrow::Cow<'_, [u8]>>>| {
        map.as_ref().map(|map| {
            map.iter()
                .map(|(key, value): (&std::borrow::Cow<'_, str>, _)| {
                    (key.to_string(), value.len() as u64)
                })
                .collect::<BTreeMap<_, _>>()
        })
    };
    Row {
        name: resource.name.to_string(),
        tier: tier.number(),
        kinds: kinds(resource),
        flags: flags.names().collect(),
        source: size(DataField::Source),
        bytecode: size(DataField::Bytecode),
        bytecode_opt1: size(DataField::BytecodeOpt1),
        bytecode_opt2: size(DataField::BytecodeOpt2),
        extension_module: size(DataField::ExtensionModule),
        shared_library: size(DataField::SharedLibrary),
        file_data: size(DataField::FileData),
        package_resources: map(&resource.in_memory_package_resources),
        distribution_resources: map(&resource.in_memory_distribution_resources),
    }
}

fn tally(row: &Row, counts: &mut Counts, sizes: &mut Sizes) {
    for kind in &row.kinds {
        match *kind {
            "module" => counts.modules += 1,
            "package" => counts.packages += 1,
            "namespace_package" => counts.namespace_packages += 1,
            "extension_module" => counts.extension_modules += 1,
            "builtin_extension_module" => counts.builtin_extension_modules += 1,
            "frozen_module" => counts.frozen_modules += 1,
            "shared_library" => counts.shared_libraries += 1,
            "distribution" => counts.distributions += 1,
            "file_data" => counts.file_data += 1,
            _ => {}
        }
    }
    let files = |map: &Option<BTreeMap<String, u64>>| {
        map.as_ref()
            .map_or((0, 0), |map| (map.len(), map.values().sum::<u64>()))
    };
    let (package_files, package_bytes) = files(&row.package_resources);
    let (distribution_files, distribution_bytes) = files(&row.distribution_resources);
    counts.package_data_files += package_files;
    counts.distribution_files += distribution_files;
    sizes.package_data += package_bytes;
    sizes.distribution_files += distribution_bytes;
    sizes.source += row.source.unwrap_or(0);
    sizes.bytecode += row.bytecode.unwrap_or(0);
    sizes.bytecode_opt1 += row.bytecode_opt1.unwrap_or(0);
    sizes.bytecode_opt2 += row.bytecode_opt2.unwrap_or(0);
    sizes.extension_modules += row.extension_module.unwrap_or(0);
    sizes.shared_libraries += row.shared_library.unwrap_or(0);
    sizes.file_data += row.file_data.unwrap_or(0);
}

fn human(report: &Report, list_resources: bool) -> String {
    let mut out = String::new();
    let flags = if report.flags.is_empty() {
        "none".to_owned()
    } else {
        report.flags.join(", ")
    };
    let mut fields = Table::new(&[("", Align::Left), ("", Align::Left)]);
    for (key, value) in [
        ("file", report.file.clone()),
        ("format version", report.format_version.to_string()),
        ("flags", flags),
        ("chunk size", report.chunk_size.to_string()),
        ("content digest", report.content_digest.clone()),
    ] {
        fields.row(vec![key.to_owned(), value]);
    }
    // Skip the empty header line of a key-value table.
    out.extend(
        fields
            .render("")
            .lines()
            .skip(1)
            .map(|line| format!("{line}\n")),
    );

    let regions = &report.regions;
    let mut table = Table::new(&[
        ("region", Align::Left),
        ("offset", Align::Right),
        ("bytes", Align::Right),
        ("", Align::Left),
    ]);
    let tier1_note = match (regions.tier1.groups, regions.tier1.decompressed_length) {
        (Some(groups), Some(length)) if groups > 0 => format!(
            "{}, {} decompressed",
            count(groups as u64, "group", "groups"),
            count(length, "byte", "bytes")
        ),
        _ => String::new(),
    };
    for (name, span, note) in [
        ("header", &regions.header, String::new()),
        ("index", &regions.index, String::new()),
        ("padding", &regions.padding, String::new()),
        (
            "tier 0",
            &regions.tier0,
            count(regions.tier0.chunks.unwrap_or(0), "chunk", "chunks"),
        ),
        ("dictionary", &regions.dictionary, String::new()),
        ("tier 1", &regions.tier1, tier1_note),
    ] {
        table.row(vec![
            name.to_owned(),
            span.offset.to_string(),
            span.length.to_string(),
            note,
        ]);
    }
    table.row(vec![
        "total".to_owned(),
        String::new(),
        report.container_length.to_string(),
        String::new(),
    ]);
    out.push('\n');
    out.push_str(&table.render(""));

    let counts = &report.counts;
    let mut table = Table::new(&[("resources", Align::Left), ("count", Align::Right)]);
    for (name, count) in [
        ("all", counts.resources),
        ("tier 0", counts.tier0),
        ("tier 1", counts.tier1),
        ("modules", counts.modules),
        ("packages", counts.packages),
        ("namespace packages", counts.namespace_packages),
        ("extension modules", counts.extension_modules),
        (
            "builtin extension modules",
            counts.builtin_extension_modules,
        ),
        ("frozen modules", counts.frozen_modules),
        ("shared libraries", counts.shared_libraries),
        ("distributions", counts.distributions),
        ("distribution files", counts.distribution_files),
        ("package data files", counts.package_data_files),
        ("file data", counts.file_data),
    ] {
        table.row(vec![name.to_owned(), count.to_string()]);
    }
    out.push('\n');
    out.push_str(&table.render(""));

    let sizes = &report.sizes;
    let mut table = Table::new(&[("data", Align::Left), ("bytes", Align::Right)]);
    for (name, size) in [
        ("source", sizes.source),
        ("bytecode", sizes.bytecode),
        ("bytecode opt 1", sizes.bytecode_opt1),
        ("bytecode opt 2", sizes.bytecode_opt2),
        ("extension modules", sizes.extension_modules),
        ("shared libraries", sizes.shared_libraries),
        ("package data", sizes.package_data),
        ("distribution files", sizes.distribution_files),
        ("file data", sizes.file_data),
    ] {
        table.row(vec![name.to_owned(), size.to_string()]);
    }
    out.push('\n');
    out.push_str(&table.render(""));

    if list_resources {
        let mut table = Table::new(&[
            ("name", Align::Left),
            ("tier", Align::Right),
            ("kinds", Align::Left),
            ("source", Align::Right),
            ("bytecode", Align::Right),
            ("opt 1", Align::Right),
            ("opt 2", Align::Right),
            ("data", Align::Right),
        ]);
        let size = |size: Option<u64>| size.map_or_else(|| "-".to_owned(), |s| s.to_string());
        for row in &report.resources {
            table.row(vec![
                printable(&row.name).into_owned(),
                row.tier.to_string(),
                row.kinds.join(","),
                size(row.source),
                size(row.bytecode),
                size(row.bytecode_opt1),
                size(row.bytecode_opt2),
                size(row.data()),
            ]);
        }
        out.push('\n');
        out.push_str(&table.render(""));
    } else {
        let _ = writeln!(
            out,
            "\n(pass --resources to list {})",
            count(counts.resources as u64, "resource", "resources")
        );
    }
    out
}
