//! Comparing two containers: [`diff`](super::diff()).

use std::{borrow::Cow, cmp::Ordering, collections::BTreeMap, collections::HashMap, path::Path};

use python_packed_resources::Resource;

use super::{
    digest::Digest,
    error::ContainerError,
    index::{Layout, Tier},
    packed::{DataField, ResourceFlags},
    reader::{Container, ResourceSummary},
};

/// How two containers differ. Empty lists and equal digests mean identical.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerDiff {
    /// Content digest of the first container.
    pub a: Digest,
    /// Content digest of the second container.
    pub b: Digest,
    /// Header and index fields that differ, in a fixed order.
    pub layout: Vec<LayoutChange>,
    /// Resources only in the second container, by name.
    pub added: Vec<ResourceEntry>,
    /// Resources only in the first container, by name.
    pub removed: Vec<ResourceEntry>,
    /// Resources in both that differ, by name.
    pub changed: Vec<ResourceChange>,
}

impl ContainerDiff {
    /// Whether the containers are byte-for-byte identical (equal content
    /// digests).
    pub fn is_identical(&self) -> bool {
        self.a == self.b
    }
}

/// A header or index field that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutChange {
    /// Stable dotted name: `container_length`, `chunk_size`, `flags`,
    /// `index.length`, `tier0.length`, `tier0.chunks`, `tier0.digest`,
    /// `dictionary.length`, `dictionary.digest`, `tier1.length`,
    /// `tier1.groups`, `tier1.decompressed_length`, `tier1.digest`.
    pub field: &'static str,
    /// Its value in the first container.
    pub a: LayoutValue,
    /// Its value in the second container.
    pub b: LayoutValue,
}

/// The value of a [`LayoutChange`] field.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutValue {
    /// A length or count.
    Number(u64),
    /// A SHA-256 digest.
    Digest(Digest),
    /// Header flag names (`tier1`, `dictionary`).
    Flags(Vec<&'static str>),
}

/// A resource present in only one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceEntry {
    /// Its name.
    pub name: String,
    /// Its tier.
    pub tier: Tier,
    /// Its flags.
    pub flags: ResourceFlags,
}

/// A resource present in both containers, and how it differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceChange {
    /// Its name.
    pub name: String,
    /// What differs, at least one entry, in the order the fields are listed
    /// in the docs of [`diff`].
    pub changes: Vec<Change>,
}

/// One difference between two versions of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// It moved between tiers.
    Tier {
        /// Tier in the first container.
        a: Tier,
        /// Tier in the second container.
        b: Tier,
    },
    /// Its flags differ.
    Flags {
        /// Set only in the second container.
        added: ResourceFlags,
        /// Set only in the first container.
        removed: ResourceFlags,
    },
    /// A single-valued data field differs.
    Data {
        /// The field.
        field: DataField,
        /// How.
        change: ValueChange,
    },
    /// One entry of `in_memory_package_resources` differs.
    PackageResource {
        /// The entry's key (a `/`-separated path relative to the package).
        key: String,
        /// How.
        change: ValueChange,
    },
    /// One entry of `in_memory_distribution_resources` differs.
    DistributionResource {
        /// The entry's key (a path relative to the distribution directory).
        key: String,
        /// How.
        change: ValueChange,
    },
    /// `shared_library_dependency_names` differs.
    SharedLibraryDependencies {
        /// Names in the first container.
        a: Vec<String>,
        /// Names in the second container.
        b: Vec<String>,
    },
    /// A path field differs (`relative_path_*`, `file_data_utf8_relative_path`).
    Path {
        /// The `Resource` field name.
        field: &'static str,
        /// The map key, for map-valued path fields.
        key: Option<String>,
        /// Value in the first container (lossy UTF-8).
        a: Option<String>,
        /// Value in the second container (lossy UTF-8).
        b: Option<String>,
    },
}

/// How one byte value differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueChange {
    /// Only the second container has it.
    Added(Blob),
    /// Only the first container has it.
    Removed(Blob),
    /// Both have it, with different bytes.
    Changed {
        /// In the first container.
        a: Blob,
        /// In the second container.
        b: Blob,
        /// Offset of the first byte that differs (the shorter length if
        /// one is a prefix of the other).
        first_difference: u64,
    },
}

/// A byte value, summarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blob {
    /// Length in bytes.
    pub length: u64,
    /// SHA-256 of the bytes.
    pub digest: Digest,
}

impl Blob {
    /// Summarises `bytes`.
    pub fn of(bytes: &[u8]) -> Blob {
        Blob {
            length: bytes.len() as u64,
            digest: Digest::of(bytes),
        }
    }
}

/// Compares two containers: what a reproducibility check needs to know
/// when two builds disagree.
///
/// Two containers are identical exactly when their content digests are equal
/// (the digest commits to every byte; see `docs/format.md`), so [`diff`]
/// answers that first, without reading anything else. Otherwise it compares
/// the layouts recorded in the headers and indices, then walks both resource
/// lists in name order and, for each name in both, every field of the two
/// resources:
///
/// * tier and flags (`is_python_package`, …);
/// * each data field ([`DataField`]: source, bytecode at each optimisation
///   level, extension module, shared library, file data), by length, SHA-256
///   and the offset of the first differing byte;
/// * each package resource and distribution resource, by key;
/// * shared library dependency names and every relative-path field.
///
/// Resources are read through [`Container::resource`], so every byte
/// compared is verified first; damage is reported as an error, not as a
/// difference. When the resources are all equal but the digests are not,
/// the layout changes say why (chunk size, tier-1 grouping, dictionary,
/// compression).
///
/// ```
/// use std::borrow::Cow;
/// use pyembed::resources::{Change, Container, ContainerWriter, DataField, Tier, WriteOptions, diff};
/// use python_packed_resources::Resource;
///
/// let build = |source: &'static [u8]| {
///     let mut writer = ContainerWriter::new(WriteOptions::default());
///     writer.add(
///         Resource {
///             name: Cow::Borrowed("app"),
///             is_python_module: true,
///             in_memory_source: Some(Cow::Borrowed(source)),
///             ..Resource::default()
///         },
///         Tier::Raw,
///     )?;
///     writer.write()
/// };
/// let (a, b) = (build(b"x = 1\n")?, build(b"x = 2\n")?);
/// let (a, b) = (Container::from_bytes(&a)?, Container::from_bytes(&b)?);
/// let difference = diff(&a, &b)?;
/// assert!(!difference.is_identical());
/// assert_eq!(difference.changed[0].name, "app");
/// assert!(matches!(
///     difference.changed[0].changes[0],
///     Change::Data { field: DataField::Source, .. }
/// ));
/// assert!(diff(&a, &a)?.is_identical());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Fails if a resource read for the comparison is damaged or malformed; the
/// error names the resource (not the container, which the caller knows).
pub fn diff(a: &Container<'_>, b: &Container<'_>) -> Result<ContainerDiff, ContainerError> {
    let mut out = ContainerDiff {
        a: a.content_digest(),
        b: b.content_digest(),
        layout: Vec::new(),
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    if out.is_identical() {
        return Ok(out);
    }
    out.layout = layout_changes(a.layout(), b.layout());
    let mut left = a.summaries().peekable();
    let mut right = b.summaries().peekable();
    loop {
        let order = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => x.name.as_bytes().cmp(y.name.as_bytes()),
        };
        match order {
            Ordering::Less => {
                if let Some(summary) = left.next() {
                    out.removed.push(entry(summary));
                }
            }
            Ordering::Greater => {
                if let Some(summary) = right.next() {
                    out.added.push(entry(summary));
                }
            }
            Ordering::Equal => {
                let (Some(x), Some(y)) = (left.next(), right.next()) else {
                    break;
                };
                let changes = resource_changes(a, b, x, y)?;
                if !changes.is_empty() {
                    out.changed.push(ResourceChange {
                        name: x.name.to_owned(),
                        changes,
                    });
                }
            }
        }
    }
    Ok(out)
}

fn entry(summary: ResourceSummary<'_>) -> ResourceEntry {
    ResourceEntry {
        name: summary.name.to_owned(),
        tier: summary.tier,
        flags: summary.flags,
    }
}

fn layout_changes(a: &Layout, b: &Layout) -> Vec<LayoutChange> {
    use LayoutValue::{Digest as D, Number as N};
    let decompressed =
        |layout: &Layout| -> u64 { layout.groups.iter().map(|g| g.decompressed_length).sum() };
    let fields: [(&'static str, LayoutValue, LayoutValue); 13] = [
        (
            "container_length",
            N(a.header.container_length),
            N(b.header.container_length),
        ),
        (
            "chunk_size",
            N(a.header.chunk_size.into()),
            N(b.header.chunk_size.into()),
        ),
        (
            "flags",
            LayoutValue::Flags(a.header.flags.names().collect()),
            LayoutValue::Flags(b.header.flags.names().collect()),
        ),
        (
            "index.length",
            N(a.header.index_length),
            N(b.header.index_length),
        ),
        ("tier0.length", N(a.tier0.length), N(b.tier0.length)),
        (
            "tier0.chunks",
            N(a.chunk_count.into()),
            N(b.chunk_count.into()),
        ),
        ("tier0.digest", D(a.tier0.digest), D(b.tier0.digest)),
        (
            "dictionary.length",
            N(a.dictionary.length),
            N(b.dictionary.length),
        ),
        (
            "dictionary.digest",
            D(a.dictionary.digest),
            D(b.dictionary.digest),
        ),
        ("tier1.length", N(a.tier1.length), N(b.tier1.length)),
        (
            "tier1.groups",
            N(a.groups.len() as u64),
            N(b.groups.len() as u64),
        ),
        (
            "tier1.decompressed_length",
            N(decompressed(a)),
            N(decompressed(b)),
        ),
        ("tier1.digest", D(a.tier1.digest), D(b.tier1.digest)),
    ];
    fields
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(field, a, b)| LayoutChange { field, a, b })
        .collect()
}

fn resource_changes(
    a: &Container<'_>,
    b: &Container<'_>,
    x: ResourceSummary<'_>,
    y: ResourceSummary<'_>,
) -> Result<Vec<Change>, ContainerError> {
    let mut changes = Vec::new();
    if x.tier != y.tier {
        changes.push(Change::Tier {
            a: x.tier,
            b: y.tier,
        });
    }
    if x.flags != y.flags {
        changes.push(Change::Flags {
            added: y.flags.difference(x.flags),
            removed: x.flags.difference(y.flags),
        });
    }
    let (Some(left), Some(right)) = (a.resource(x.name)?, b.resource(y.name)?) else {
        return Ok(changes);
    };
    compare_resources(&left, &right, &mut changes);
    Ok(changes)
}

/// Appends every difference between two resources' data and path fields
/// (not tier and flags, which the summaries carry).
fn compare_resources(a: &Resource<'_, u8>, b: &Resource<'_, u8>, changes: &mut Vec<Change>) {
    for field in DataField::ALL {
        if let Some(change) = value_change(field.of(a), field.of(b)) {
            changes.push(Change::Data { field, change });
        }
    }
    for (key, change) in map_changes(
        &a.in_memory_package_resources,
        &b.in_memory_package_resources,
    ) {
        changes.push(Change::PackageResource { key, change });
    }
    for (key, change) in map_changes(
        &a.in_memory_distribution_resources,
        &b.in_memory_distribution_resources,
    ) {
        changes.push(Change::DistributionResource { key, change });
    }
    let names = |resource: &Resource<'_, u8>| -> Vec<String> {
        resource
            .shared_library_dependency_names
            .iter()
            .flatten()
            .map(|name| name.to_string())
            .collect()
    };
    if a.shared_library_dependency_names != b.shared_library_dependency_names {
        changes.push(Change::SharedLibraryDependencies {
            a: names(a),
            b: names(b),
        });
    }
    type PathOf = for<'r> fn(&'r Resource<'_, u8>) -> Option<&'r Path>;
    let paths: [(&'static str, PathOf); 5] = [
        ("relative_path_module_source", |r| {
            r.relative_path_module_source.as_deref()
        }),
        ("relative_path_module_bytecode", |r| {
            r.relative_path_module_bytecode.as_deref()
        }),
        ("relative_path_module_bytecode_opt1", |r| {
            r.relative_path_module_bytecode_opt1.as_deref()
        }),
        ("relative_path_module_bytecode_opt2", |r| {
            r.relative_path_module_bytecode_opt2.as_deref()
        }),
        ("relative_path_extension_module_shared_library", |r| {
            r.relative_path_extension_module_shared_library.as_deref()
        }),
    ];
    for (field, of) in paths {
        let (x, y) = (of(a), of(b));
        if x != y {
            changes.push(Change::Path {
                field,
                key: None,
                a: x.map(lossy),
                b: y.map(lossy),
            });
        }
    }
    for (field, x, y) in [
        (
            "relative_path_package_resources",
            &a.relative_path_package_resources,
            &b.relative_path_package_resources,
        ),
        (
            "relative_path_distribution_resources",
            &a.relative_path_distribution_resources,
            &b.relative_path_distribution_resources,
        ),
    ] {
        let x = sorted(x);
        let y = sorted(y);
        let keys: std::collections::BTreeSet<&str> = x.keys().chain(y.keys()).copied().collect();
        for key in keys {
            let (left, right) = (x.get(key), y.get(key));
            if left != right {
                changes.push(Change::Path {
                    field,
                    key: Some(key.to_owned()),
                    a: left.map(|p| lossy(p)),
                    b: right.map(|p| lossy(p)),
                });
            }
        }
    }
    if a.file_data_utf8_relative_path != b.file_data_utf8_relative_path {
        changes.push(Change::Path {
            field: "file_data_utf8_relative_path",
            key: None,
            a: a.file_data_utf8_relative_path.as_deref().map(str::to_owned),
            b: b.file_data_utf8_relative_path.as_deref().map(str::to_owned),
        });
    }
}

fn lossy(path: &Path) -> String {
    String::from_utf8_lossy(path.as_os_str().as_encoded_bytes()).into_owned()
}

fn sorted<'m, V: ?Sized + ToOwned>(
    map: &'m Option<HashMap<Cow<'_, str>, Cow<'_, V>>>,
) -> BTreeMap<&'m str, &'m V> {
    map.iter()
        .flatten()
        .map(|(key, value)| (key.as_ref(), value.as_ref()))
        .collect()
}

fn map_changes(
    a: &Option<HashMap<Cow<'_, str>, Cow<'_, [u8]>>>,
    b: &Option<HashMap<Cow<'_, str>, Cow<'_, [u8]>>>,
) -> Vec<(String, ValueChange)> {
    let (x, y) = (sorted(a), sorted(b));
    let keys: std::collections::BTreeSet<&str> = x.keys().chain(y.keys()).copied().collect();
    keys.into_iter()
        .filter_map(|key| {
            let change = value_change(x.get(key).copied(), y.get(key).copied())?;
            Some((key.to_owned(), change))
        })
        .collect()
}

fn value_change(a: Option<&[u8]>, b: Option<&[u8]>) -> Option<ValueChange> {
    match (a, b) {
        (None, None) => None,
        (None, Some(b)) => Some(ValueChange::Added(Blob::of(b))),
        (Some(a), None) => Some(ValueChange::Removed(Blob::of(a))),
        (Some(a), Some(b)) if a == b => None,
        (Some(a), Some(b)) => {
            let first_difference = a
                .iter()
                .zip(b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            Some(ValueChange::Changed {
                a: Blob::of(a),
                b: Blob::of(b),
                first_difference: first_difference as u64,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{ContainerWriter, DictionaryPolicy, WriteOptions};

    fn resource(name: &str) -> Resource<'static, u8> {
        Resource {
            name: Cow::Owned(name.to_owned()),
            is_python_module: true,
            in_memory_source: Some(Cow::Owned(format!("# {name}\n").into_bytes())),
            in_memory_bytecode: Some(Cow::Owned(format!("bytecode of {name}").into_bytes())),
            ..Resource::default()
        }
    }

    fn write(resources: Vec<(Resource<'static, u8>, Tier)>, options: WriteOptions) -> Vec<u8> {
        let mut writer = ContainerWriter::new(options);
        for (resource, tier) in resources {
            writer.add(resource, tier).unwrap();
        }
        writer.write().unwrap()
    }

    fn base() -> Vec<(Resource<'static, u8>, Tier)> {
        let mut package = resource("pkg");
        package.is_python_package = true;
        package.in_memory_package_resources = Some(HashMap::from([
            (Cow::Borrowed("data/a.txt"), Cow::Borrowed(&b"aaa"[..])),
            (Cow::Borrowed("data/b.txt"), Cow::Borrowed(&b"bbb"[..])),
        ]));
        vec![
            (resource("app"), Tier::Raw),
            (package, Tier::Raw),
            (resource("pkg.cold"), Tier::Compressed),
            (resource("gone"), Tier::Raw),
        ]
    }

    fn compare(a: &[u8], b: &[u8]) -> ContainerDiff {
        let a = Container::from_bytes(a).unwrap();
        let b = Container::from_bytes(b).unwrap();
        diff(&a, &b).unwrap()
    }

    #[test]
    fn identical_containers_have_no_changes() {
        let bytes = write(base(), WriteOptions::default());
        let difference = compare(&bytes, &bytes.clone());
        assert!(difference.is_identical());
        assert_eq!(difference.layout, []);
        assert_eq!(difference.added, []);
        assert_eq!(difference.removed, []);
        assert_eq!(difference.changed, []);
    }

    #[test]
    fn every_kind_of_change_is_named() {
        let a = write(base(), WriteOptions::default());
        let mut resources = base();
        resources.retain(|(r, _)| r.name != "gone");
        resources.push((resource("new"), Tier::Raw));
        for (r, tier) in &mut resources {
            match r.name.as_ref() {
                "app" => r.in_memory_source = Some(Cow::Borrowed(b"# app, edited\n")),
                "pkg" => {
                    let data = r.in_memory_package_resources.as_mut().unwrap();
                    data.remove("data/a.txt");
                    data.insert(Cow::Borrowed("data/b.txt"), Cow::Borrowed(b"bbB"));
                    data.insert(Cow::Borrowed("data/c.txt"), Cow::Borrowed(b"c"));
                }
                "pkg.cold" => {
                    *tier = Tier::Raw;
                    r.is_python_package = true;
                    r.in_memory_bytecode_opt1 = Some(Cow::Borrowed(b"opt"));
                }
                _ => {}
            }
        }
        let b = write(resources, WriteOptions::default());
        let difference = compare(&a, &b);
        assert!(!difference.is_identical());
        assert_eq!(
            difference.added.iter().map(|e| &e.name).collect::<Vec<_>>(),
            ["new"]
        );
        assert_eq!(
            difference
                .removed
                .iter()
                .map(|e| &e.name)
                .collect::<Vec<_>>(),
            ["gone"]
        );
        let changed: Vec<_> = difference.changed.iter().map(|c| &c.name).collect();
        assert_eq!(changed, ["app", "pkg", "pkg.cold"]);

        let app = &difference.changed[0].changes;
        assert_eq!(app.len(), 1);
        let Change::Data {
            field: DataField::Source,
            change:
                ValueChange::Changed {
                    a,
                    b,
                    first_difference,
                },
        } = app[0]
        else {
            panic!("{app:?}");
        };
        assert_eq!((a.length, b.length, first_difference), (6, 14, 5));

        let pkg = &difference.changed[1].changes;
        let keys: Vec<_> = pkg
            .iter()
            .map(|change| match change {
                Change::PackageResource { key, change } => (key.as_str(), change),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(matches!(keys[0], ("data/a.txt", ValueChange::Removed(_))));
        assert!(matches!(
            keys[1],
            (
                "data/b.txt",
                ValueChange::Changed {
                    first_difference: 2,
                    ..
                }
            )
        ));
        assert!(matches!(keys[2], ("data/c.txt", ValueChange::Added(_))));

        let cold = &difference.changed[2].changes;
        assert_eq!(
            cold[0],
            Change::Tier {
                a: Tier::Compressed,
                b: Tier::Raw
            }
        );
        let Change::Flags { added, removed } = cold[1] else {
            panic!("{cold:?}");
        };
        assert_eq!(added.names().collect::<Vec<_>>(), ["is_python_package"]);
        assert!(removed.is_empty());
        assert!(matches!(
            cold[2],
            Change::Data {
                field: DataField::BytecodeOpt1,
                change: ValueChange::Added(_)
            }
        ));
        assert!(
            difference
                .layout
                .iter()
                .any(|change| change.field == "tier1.length")
        );
    }

    #[test]
    fn layout_explains_a_difference_with_equal_resources() {
        let a = write(base(), WriteOptions::default());
        let b = write(
            base(),
            WriteOptions {
                chunk_size: 4096,
                compression_level: 3,
                dictionary: DictionaryPolicy::Never,
                ..WriteOptions::default()
            },
        );
        let difference = compare(&a, &b);
        assert!(!difference.is_identical());
        assert_eq!(difference.changed, []);
        let fields: Vec<_> = difference.layout.iter().map(|c| c.field).collect();
        assert!(fields.contains(&"chunk_size"), "{fields:?}");
        assert_eq!(
            difference.layout[1],
            LayoutChange {
                field: "chunk_size",
                a: LayoutValue::Number(16384),
                b: LayoutValue::Number(4096),
            }
        );
    }
}
