//! Opening container files (or one container of a built executable, named
//! `FILE#N`), and turning container errors into messages that name the file
//! and say what to do.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use pyembed::launcher::ExecutablePayload;
use pyembed::resources::{Container, ContainerError, FormatError, PackedResourcesSource, trailer};

/// Opens and validates the container at `path` (memory-mapped), or
/// container `N` (from 1) of a built executable named `FILE#N`.
pub fn open(path: &Path) -> anyhow::Result<Container<'static>> {
    if let Some((file, number)) = member(path) {
        let executable = open_executable(&file)?;
        let sources = executable.sources();
        let source = sources.get(number.wrapping_sub(1)).ok_or_else(|| {
            anyhow!(
                "{} has {} container(s); there is no #{number}",
                file.display(),
                sources.len()
            )
        })?;
        return Container::open_static(source).map_err(|error| anyhow!(open_failure(path, &error)));
    }
    if let Some(executable) = executable(path)? {
        anyhow::bail!(
            "{} is a built executable holding {} container(s)\nhint: name one as {}#1",
            path.display(),
            executable.sources().len(),
            path.display()
        );
    }
    Container::open(&PackedResourcesSource::MemoryMappedPath(path.to_owned()))
        .map_err(|error| anyhow!(open_failure(path, &error)))
}

/// `FILE#N` split into the file and `N`, when `FILE` exists and the whole
/// does not.
fn member(path: &Path) -> Option<(PathBuf, usize)> {
    if path.exists() {
        return None;
    }
    let text = path.to_str()?;
    let (file, number) = text.rsplit_once('#')?;
    let number = number.parse().ok()?;
    Path::new(file)
        .is_file()
        .then(|| (PathBuf::from(file), number))
}

/// The executable at `path` with its payload located, if the file ends
/// with a payload trailer; `Ok(None)` for any other file (or no file).
pub fn executable(path: &Path) -> anyhow::Result<Option<ExecutablePayload>> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(None);
    };
    let mut tail = [0u8; trailer::TRAILER_LEN];
    let has = file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() >= tail.len() as u64)
        && file.seek(SeekFrom::End(-(tail.len() as i64))).is_ok()
        && file.read_exact(&mut tail).is_ok()
        && trailer::has_trailer(&tail);
    if !has {
        return Ok(None);
    }
    open_executable(path).map(Some)
}

/// Maps the built executable at `path` and locates its payload.
pub fn open_executable(path: &Path) -> anyhow::Result<ExecutablePayload> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    ExecutablePayload::from_file(path.to_path_buf(), &file).map_err(|error| anyhow!("{error}"))
}

/// The names `FILE#1`, `FILE#2`, ... of an executable's containers.
pub fn members(path: &Path, executable: &ExecutablePayload) -> Vec<PathBuf> {
    (1..=executable.payload().containers.len())
        .map(|n| PathBuf::from(format!("{}#{n}", path.display())))
        .collect()
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
