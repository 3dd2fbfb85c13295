//! Opening container files, and turning container errors into messages that
//! name the file and say what to do.

use std::path::Path;

use anyhow::anyhow;
use pyembed::resources::{Container, ContainerError, FormatError, PackedResourcesSource};

/// Opens and validates the container at `path` (memory-mapped).
pub fn open(path: &Path) -> anyhow::Result<Container<'static>> {
    Container::open(&PackedResourcesSource::MemoryMappedPath(path.to_owned()))
        .map_err(|error| anyhow!(open_failure(path, &error)))
}

/// One-line description of a container error without the file name or a
/// hint: the region and digests of an integrity failure, the problem of a
/// format error.
pub fn describe(error: &ContainerError) -> String {
    match error {
        ContainerError::DigestMismatch {
            region,
            expected,
            actual,
            ..
        } => format!("{region}: expected SHA-256 {expected}, computed {actual}"),
        ContainerError::Format { problem, .. } => format!("malformed: {problem}"),
        other => other.to_string(),
    }
}

/// The message for a container that cannot be opened, with a hint.
fn open_failure(path: &Path, error: &ContainerError) -> String {
    let file = path.display();
    match error {
        ContainerError::Open { .. } | ContainerError::Map { .. } if path.is_dir() => {
            format!("{file} is a directory, not a container file")
        }
        ContainerError::Open { source, .. } | ContainerError::Map { source, .. } => {
            format!("{error}: {source}")
        }
        ContainerError::Format {
            problem:
                FormatError::Truncated {
                    what: "container",
                    needed,
                    available,
                    ..
                },
            ..
        } => format!(
            "{file} is truncated: its header declares {needed} bytes but the file has {available}\n\
             hint: the file was cut short while being copied or written; copy it again or rebuild it \
             with `pyembed pack`"
        ),
        ContainerError::Format {
            problem: problem @ FormatError::BadMagic { .. },
            ..
        } => format!(
            "{file} is not a pyembed container: {problem}\n\
             hint: containers are the files `pyembed pack` writes"
        ),
        ContainerError::Format {
            problem: problem @ FormatError::UnsupportedVersion { .. },
            ..
        } => format!(
            "cannot read {file}: {problem}\n\
             hint: read it with the pyembed release that wrote it"
        ),
        ContainerError::DigestMismatch { .. } => format!(
            "{file} is damaged: {}\n\
             hint: the file was modified after it was built; rebuild it with `pyembed pack`",
            describe(error)
        ),
        _ => format!(
            "{file} is not a valid container: {}\n\
             hint: rebuild it with `pyembed pack`",
            describe(error)
        ),
    }
}
