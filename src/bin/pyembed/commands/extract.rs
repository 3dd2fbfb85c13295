//! `pyembed extract`: a container's resources back as a directory tree.
//!
//! The mapping from resources to files, and the refusal of hostile names,
//! is [`pyembed::pack::unpack`]; this command reads and verifies every
//! resource, asks for the plan, and only then touches the output directory.
//! While writing it never follows a symlink: a directory in the way must be
//! a real directory, and files are opened with `O_NOFOLLOW`, so even a
//! `--force` into a directory someone prepared cannot write elsewhere.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use pyembed::pack::target::Target;
use pyembed::pack::unpack::{self, FileKind, Plan};

use super::container::{self, describe};
use super::text::{count, printable};

/// Arguments of `pyembed extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The container file.
    file: PathBuf,
    /// The directory to write to; created if missing.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Write into a non-empty directory, replacing files with the same names.
    #[arg(long)]
    force: bool,
}

pub fn run(args: ExtractArgs) -> anyhow::Result<ExitCode> {
    let container = container::open(&args.file)?;
    let resources = container
        .resources()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| {
            anyhow!(
                "cannot extract {}: it is damaged: {}{}\n\
                 hint: run `pyembed verify {}` to list everything that is damaged",
                args.file.display(),
                describe(&error),
                error
                    .resource()
                    .map(|name| format!(" (resource {:?})", printable(name)))
                    .unwrap_or_default(),
                args.file.display()
            )
        })?;
    // The interpreter `pyembed pack` packs for, so extension modules get
    // back the suffix they were found under.
    let plan = unpack::plan(&resources, Target::default())
        .with_context(|| format!("cannot extract {}", args.file.display()))?;
    prepare(&args.output, args.force)?;
    write(&args.output, &plan)?;
    println!(
        "extracted {} from {} into {}: {}",
        count(resources.len() as u64, "resource", "resources"),
        args.file.display(),
        args.output.display(),
        summary(&plan)
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates `output`, or checks that it is a directory we may write to.
fn prepare(output: &Path, force: bool) -> anyhow::Result<()> {
    match fs::metadata(output) {
        Ok(metadata) if metadata.is_dir() => {
            let mut entries = fs::read_dir(output)
                .with_context(|| format!("cannot list output directory {}", output.display()))?;
            if entries.next().is_some() && !force {
                bail!(
                    "output directory {} is not empty\n\
                     hint: choose an empty or new directory, or pass --force to write into it \
                     (files with the same names are replaced)",
                    output.display()
                );
            }
            Ok(())
        }
        Ok(_) => bail!(
            "output {} exists and is not a directory\nhint: pass a directory with -o",
            output.display()
        ),
        Err(error) if error.kind() == io::ErrorKind::NotFound => fs::create_dir_all(output)
            .with_context(|| format!("cannot create output directory {}", output.display())),
        Err(error) => {
            Err(error).with_context(|| format!("cannot use output directory {}", output.display()))
        }
    }
}

fn write(output: &Path, plan: &Plan<'_>) -> anyhow::Result<()> {
    for directory in &plan.directories {
        create_directories(output, &directory.path)?;
    }
    for file in &plan.files {
        let parent = file.path.rsplit_once('/').map_or("", |(parent, _)| parent);
        create_directories(output, parent)?;
        let path = output.join(&file.path);
        if fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.is_symlink()) {
            bail!(
                "refusing to write {} (from resource {:?}): it is a symlink\n\
                 hint: extract into an empty directory",
                path.display(),
                printable(file.resource)
            );
        }
        let mode = if file.executable { 0o755 } else { 0o644 };
        let mut handle = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot write {} (from resource {:?})",
                    path.display(),
                    printable(file.resource)
                )
            })?;
        handle
            .write_all(&file.header)
            .and_then(|()| handle.write_all(file.data))
            .and_then(|()| handle.set_permissions(fs::Permissions::from_mode(mode)))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Creates each directory of `relative` under `output`, refusing to pass
/// through anything that is not a real directory (a symlink above all).
fn create_directories(output: &Path, relative: &str) -> anyhow::Result<()> {
    let mut path = output.to_path_buf();
    for component in relative.split('/').filter(|c| !c.is_empty()) {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => bail!(
                "cannot create directory {}: a file or symlink is in the way\n\
                 hint: extract into an empty directory",
                path.display()
            ),
            Err(error) if error.kind() == io::ErrorKind::NotFound => fs::create_dir(&path)
                .with_context(|| format!("cannot create directory {}", path.display()))?,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot inspect {}", path.display()));
            }
        }
    }
    Ok(())
}

fn summary(plan: &Plan<'_>) -> String {
    let mut counts: BTreeMap<FileKind, u64> = BTreeMap::new();
    for file in &plan.files {
        let kind = match file.kind {
            FileKind::Bytecode(_) => FileKind::Bytecode(0),
            other => other,
        };
        *counts.entry(kind).or_default() += 1;
    }
    let mut parts = vec![count(plan.files.len() as u64, "file", "files")];
    for (kind, number) in counts {
        let (singular, plural) = match kind {
            FileKind::Source => ("source", "sources"),
            FileKind::Bytecode(_) => ("bytecode file", "bytecode files"),
            FileKind::ExtensionModule => ("extension module", "extension modules"),
            FileKind::SharedLibrary => ("shared library", "shared libraries"),
            FileKind::PackageData => ("package data file", "package data files"),
            FileKind::DistributionFile => ("distribution file", "distribution files"),
            FileKind::FileData => ("data file", "data files"),
        };
        parts.push(count(number, singular, plural));
    }
    if !plan.directories.is_empty() {
        parts.push(count(
            plan.directories.len() as u64,
            "namespace package directory",
            "namespace package directories",
        ));
    }
    parts.join(", ")
}
