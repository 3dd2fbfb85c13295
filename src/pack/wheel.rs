//! Wheels (PEP 427) as inputs, read in place.
//!
//! A wheel is a zip archive whose layout is what an installer copies into
//! `site-packages`, plus two special directories at its root:
//!
//! * `{name}-{version}.dist-info/`: metadata, packed as distribution files;
//! * `{name}-{version}.data/{scheme}/`: files an installer moves elsewhere.
//!   `purelib/` and `platlib/` go into `site-packages`, so their contents are
//!   read as if they were at the root; `scripts/`, `headers/` and `data/` go
//!   outside it and are reported as skipped.
//!
//! Only the central directory is read while scanning; member bytes are read
//! (and their CRC-32 checked) when a [`FileRef`] is read. Member names must
//! be UTF-8 (the wheel spec requires it) and relative, without `..` or `\`:
//! anything else is refused, since no installer would write it inside
//! `site-packages` either.
//!
//! The file name is checked before the archive is opened: a wheel tagged for
//! another interpreter or platform is an error that names the tag, see
//! [`Target::accepts_wheel_tags`].

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use zip::ZipArchive;

use super::error::ScanError;
use super::inventory::{SkipReason, Skipped};
use super::scan::{FileRef, InputId, ListedFile, Listing};
use super::target::Target;

/// The parts of a wheel's file name:
/// `{distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelName<'a> {
    /// Distribution name, with `-` escaped as `_`.
    pub distribution: &'a str,
    /// Version.
    pub version: &'a str,
    /// Optional build tag.
    pub build: Option<&'a str>,
    /// Python tag set, e.g. `py2.py3` or `cp311`.
    pub python: &'a str,
    /// ABI tag set, e.g. `none`, `abi3`, `cp311`.
    pub abi: &'a str,
    /// Platform tag set, e.g. `any` or
    /// `manylinux_2_17_x86_64.manylinux2014_x86_64`.
    pub platform: &'a str,
}

impl<'a> WheelName<'a> {
    /// Split a wheel file name (no directory) into its parts.
    pub fn parse(file_name: &'a str) -> Result<WheelName<'a>, &'static str> {
        let stem = file_name
            .strip_suffix(".whl")
            .ok_or("it does not end in `.whl`")?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (distribution, version, build, tags) = match parts.as_slice() {
            [distribution, version, tags @ ..] if tags.len() == 3 => {
                (*distribution, *version, None, tags)
            }
            [distribution, version, build, tags @ ..] if tags.len() == 3 => {
                (*distribution, *version, Some(*build), tags)
            }
            _ => return Err("it does not have five or six `-`-separated parts"),
        };
        if parts.iter().any(|part| part.is_empty()) {
            return Err("one of its `-`-separated parts is empty");
        }
        Ok(WheelName {
            distribution,
            version,
            build,
            python: tags[0],
            abi: tags[1],
            platform: tags[2],
        })
    }

    /// The `python-abi-platform` tag triple.
    pub fn tag(&self) -> String {
        format!("{}-{}-{}", self.python, self.abi, self.platform)
    }
}

/// Open a wheel's archive (reads its central directory).
pub(crate) fn open(path: &Path) -> Result<ZipArchive<BufReader<File>>, ScanError> {
    let file = File::open(path).map_err(|source| ScanError::Io {
        path: path.to_owned(),
        source,
    })?;
    ZipArchive::new(BufReader::new(file)).map_err(|source| ScanError::Wheel {
        path: path.to_owned(),
        source,
    })
}

/// Check the wheel's tags against `target`, then list its members.
pub(crate) fn list(id: InputId, path: &Path, target: &Target) -> Result<Listing, ScanError> {
    check_tags(path, target)?;
    let mut archive = open(path)?;
    let mut listing = Listing::default();
    for index in 0..archive.len() {
        let member = archive
            .by_index_raw(index)
            .map_err(|source| ScanError::Wheel {
                path: path.to_owned(),
                source,
            })?;
        let unsafe_member = || ScanError::UnsafeWheelMember {
            path: path.to_owned(),
            member: String::from_utf8_lossy(member.name_raw()).into_owned(),
        };
        let name = std::str::from_utf8(member.name_raw()).map_err(|_| unsafe_member())?;
        if member.is_dir() {
            continue;
        }
        let components: Vec<&str> = name.split('/').collect();
        let unsafe_name = name.contains('\\')
            || components
                .iter()
                .any(|c| c.is_empty() || *c == "." || *c == "..");
        if unsafe_name {
            return Err(unsafe_member());
        }
        if components.contains(&"__pycache__") {
            continue;
        }
        let file = FileRef {
            input: id,
            path: name.to_owned(),
        };
        if member.is_symlink() {
            listing.skipped.push(Skipped {
                file,
                reason: SkipReason::WheelSymlink,
            });
            continue;
        }
        let logical = match components.as_slice() {
            [data, scheme, rest @ ..] if data.ends_with(".data") && !rest.is_empty() => {
                if *scheme == "purelib" || *scheme == "platlib" {
                    rest.join("/")
                } else {
                    listing.skipped.push(Skipped {
                        file,
                        reason: SkipReason::WheelDataScheme {
                            scheme: (*scheme).to_owned(),
                        },
                    });
                    continue;
                }
            }
            _ => name.to_owned(),
        };
        listing.files.push(ListedFile { logical, file });
    }
    Ok(listing)
}

fn check_tags(path: &Path, target: &Target) -> Result<(), ScanError> {
    let file_name =
        path.file_name()
            .and_then(|name| name.to_str())
            .ok_or(ScanError::WheelFileName {
                path: path.to_owned(),
                reason: "it has no UTF-8 file name",
            })?;
    let name = WheelName::parse(file_name).map_err(|reason| ScanError::WheelFileName {
        path: path.to_owned(),
        reason,
    })?;
    match target.wheel_mismatch(name.python, name.abi, name.platform) {
        None => Ok(()),
        Some(reason) => Err(ScanError::IncompatibleWheel {
            path: path.to_owned(),
            tag: name.tag(),
            reason,
            python_minor: target.python_minor(),
            arch: target.arch(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wheel_names() {
        let name = WheelName::parse("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(
            (name.distribution, name.version, name.build),
            ("six", "1.16.0", None)
        );
        assert_eq!(name.tag(), "py2.py3-none-any");
        let name = WheelName::parse(
            "numpy-1.26.4-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(name.build, Some("1"));
        assert_eq!(name.abi, "cp311");
        assert!(WheelName::parse("six-1.16.0.whl").is_err());
        assert!(WheelName::parse("six-1.16.0-py3-none-any.zip").is_err());
        assert!(WheelName::parse("six--py3-none-any.whl").is_err());
    }
}
