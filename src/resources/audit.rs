//! Verification that does not stop at the first failure:
//! [`Container::audit`](super::Container::audit).

use super::{
    digest::Digest,
    error::{ContainerError, FormatError, Region},
    index::Tier,
    packed::DataField,
    reader::{Container, VerificationReport},
};

/// Everything [`Container::audit`] found.
#[derive(Debug)]
pub struct Audit {
    /// What was checked, when nothing is damaged.
    pub report: Option<VerificationReport>,
    /// Damaged spans that are not one resource's own: whole regions, tier-0
    /// chunks, tier-1 groups, the dictionary. Each reported once, in
    /// container order. Errors here carry no resource name.
    pub regions: Vec<ContainerError>,
    /// Every resource that cannot be read intact, sorted by name.
    pub resources: Vec<DamagedResource>,
}

impl Audit {
    /// Whether every byte of the container checked out.
    pub fn is_intact(&self) -> bool {
        self.report.is_some() && self.regions.is_empty() && self.resources.is_empty()
    }
}

/// A resource that cannot be read intact.
#[derive(Debug)]
pub struct DamagedResource {
    /// Its name (from the verified index, so it can be trusted).
    pub name: String,
    /// Its tier.
    pub tier: Tier,
    /// What failed, at least one entry.
    pub failures: Vec<ResourceFailure>,
}

/// One failure found while reading one resource.
#[derive(Debug)]
pub struct ResourceFailure {
    /// The field whose bytes failed, or `None` for the resource as a whole
    /// (its map and list fields, or its tier-1 group).
    pub field: Option<DataField>,
    /// What failed; it names the resource.
    pub error: ContainerError,
}

impl Container<'_> {
    /// Verifies everything and reports every failure rather than the first.
    ///
    /// [`Container::verify_all`] answers "is every byte intact?" and returns the
    /// first failure it meets. That is what a program about to trust a container
    /// needs. Someone holding a damaged container needs more: *which* resources
    /// are affected, and what exactly failed for each. [`Container::audit`] runs
    /// `verify_all` and, only if it fails, checks everything again one piece at a
    /// time and keeps every failure:
    ///
    /// * the three whole-region digests (tier 0, dictionary, tier 1);
    /// * every tier-0 chunk;
    /// * every resource: for a tier-0 resource, each single-valued field
    ///   ([`DataField`]) separately and then the resource as a whole (its maps and
    ///   lists); for a tier-1 resource, its group;
    /// * every tier-1 group and the dictionary, once each, however many resources
    ///   they hold.
    ///
    /// Digests cover chunks and groups, not resources, so the unit of damage is a
    /// chunk (16 KiB by default) or a group: every resource with bytes in a
    /// damaged chunk is reported, even if the flipped byte belongs to its
    /// neighbour. That is the honest answer: those bytes can no longer be
    /// trusted.
    ///
    /// Damage in the header, the index or the tier-0 indices is found when the
    /// container is opened ([`Container::open`] fails); nothing can be read past
    /// it, so an audit needs an open container.
    ///
    /// An intact container costs one [`Container::verify_all`]. A damaged
    /// one is then read piece by piece; tier-1 groups read this way stay
    /// cached, like any other read.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use pyembed::resources::{Container, ContainerWriter, Tier, WriteOptions};
    /// use python_packed_resources::Resource;
    ///
    /// let mut bytecode = b"MARK".to_vec();
    /// bytecode.resize(100_000, 7);
    /// let mut writer = ContainerWriter::new(WriteOptions::default());
    /// writer.add(
    ///     Resource {
    ///         name: Cow::Borrowed("app"),
    ///         is_python_module: true,
    ///         in_memory_bytecode: Some(Cow::Owned(bytecode)),
    ///         ..Resource::default()
    ///     },
    ///     Tier::Raw,
    /// )?;
    /// let mut bytes = writer.write()?;
    /// // Damage the bytecode, 50 KB in: past the chunks opening checks.
    /// let at = bytes.windows(4).position(|w| w == b"MARK").expect("present");
    /// bytes[at + 50_000] ^= 1;
    ///
    /// let container = Container::from_bytes(&bytes)?;
    /// let audit = container.audit();
    /// assert!(!audit.is_intact());
    /// assert_eq!(audit.resources[0].name, "app");
    /// assert_eq!(
    ///     audit.resources[0].failures[0].field.map(|f| f.name()),
    ///     Some("bytecode")
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn audit(&self) -> Audit {
        let first = match self.verify_all() {
            Ok(report) => {
                return Audit {
                    report: Some(report),
                    regions: Vec::new(),
                    resources: Vec::new(),
                };
            }
            Err(error) => error,
        };
        let mut regions = Regions::default();
        self.audit_regions(&mut regions);
        let resources = self.audit_resources(&mut regions);
        if regions.errors.is_empty() && resources.is_empty() {
            // Whatever verify_all saw, the piecewise pass must report too.
            regions.push_detached(&first);
            if regions.errors.is_empty() {
                regions.errors.push(first);
            }
        }
        Audit {
            report: None,
            regions: regions.errors,
            resources,
        }
    }

    fn audit_regions(&self, regions: &mut Regions) {
        let layout = self.layout();
        let bytes = self.as_bytes();
        let tier0_chunks = || {
            let length = usize::try_from(layout.tier0.length).unwrap_or(usize::MAX);
            let size = self.chunk_size().max(1);
            (0..length)
                .step_by(size)
                .map(move |start| start..start.saturating_add(size).min(length))
        };
        for (region, descriptor) in [
            (Region::Tier0, &layout.tier0),
            (Region::Dictionary, &layout.dictionary),
            (Region::Tier1, &layout.tier1),
        ] {
            if descriptor.length > 0 {
                let span = usize::try_from(descriptor.offset)
                    .ok()
                    .zip(usize::try_from(descriptor.end()).ok())
                    .and_then(|(start, end)| bytes.get(start..end))
                    .unwrap_or_default();
                let actual = Digest::of(span);
                if actual != descriptor.digest {
                    regions.push(ContainerError::DigestMismatch {
                        resource: None,
                        region,
                        expected: descriptor.digest,
                        actual,
                    });
                }
            }
            if region == Region::Tier0 {
                for chunk in tier0_chunks() {
                    if let Err(error) = self.verified_slice(chunk) {
                        regions.push(error);
                    }
                }
            }
        }
    }

    fn audit_resources(&self, regions: &mut Regions) -> Vec<DamagedResource> {
        let mut damaged = Vec::new();
        for summary in self.summaries() {
            let failures = match summary.tier {
                Tier::Raw => self.audit_tier0(summary.name),
                Tier::Compressed => match self.resource(summary.name) {
                    Ok(_) => Vec::new(),
                    Err(error) => {
                        // Group, decompressed-group and dictionary digests
                        // are shared by every resource of a group.
                        if error.is_integrity_failure() {
                            regions.push_detached(&error);
                        }
                        vec![ResourceFailure { field: None, error }]
                    }
                },
            };
            if !failures.is_empty() {
                damaged.push(DamagedResource {
                    name: summary.name.to_owned(),
                    tier: summary.tier,
                    failures,
                });
            }
        }
        damaged
    }

    fn audit_tier0(&self, name: &str) -> Vec<ResourceFailure> {
        let mut failures: Vec<ResourceFailure> = DataField::ALL
            .into_iter()
            .filter_map(|field| {
                let error = self.data(name, field).err()?;
                Some(ResourceFailure {
                    field: Some(field),
                    error,
                })
            })
            .collect();
        if let Err(error) = self.resource(name) {
            let seen = failures
                .iter()
                .any(|failure| same_fault(&failure.error, &error));
            if !seen {
                failures.push(ResourceFailure { field: None, error });
            }
        }
        failures
    }
}

/// Region-level failures, each kept once.
#[derive(Default)]
struct Regions {
    errors: Vec<ContainerError>,
}

impl Regions {
    fn push(&mut self, error: ContainerError) {
        if !self.errors.iter().any(|seen| same_fault(seen, &error)) {
            self.errors.push(error);
        }
    }

    /// Records `error` without the resource it was found through.
    fn push_detached(&mut self, error: &ContainerError) {
        if let Some(error) = detached(error) {
            self.push(error);
        }
    }
}

/// What an error is about, regardless of the resource it was found through.
#[derive(PartialEq, Eq)]
enum Fault {
    Digest(Region),
    Format(FormatError),
}

fn fault(error: &ContainerError) -> Option<Fault> {
    match error {
        ContainerError::DigestMismatch { region, .. } => Some(Fault::Digest(*region)),
        ContainerError::Format { problem, .. } => Some(Fault::Format(*problem)),
        _ => None,
    }
}

fn same_fault(a: &ContainerError, b: &ContainerError) -> bool {
    fault(a).is_some_and(|fault_a| fault(b) == Some(fault_a))
}

/// A copy of `error` naming no resource, for the errors that have one.
fn detached(error: &ContainerError) -> Option<ContainerError> {
    match error {
        ContainerError::DigestMismatch {
            region,
            expected,
            actual,
            ..
        } => Some(ContainerError::DigestMismatch {
            resource: None,
            region: *region,
            expected: *expected,
            actual: *actual,
        }),
        ContainerError::Format { problem, .. } => Some(ContainerError::Format {
            resource: None,
            problem: *problem,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use python_packed_resources::Resource;

    use super::*;
    use crate::resources::{ContainerWriter, DictionaryPolicy, WriteOptions};

    fn module(name: &str, marker: u8, len: usize) -> Resource<'static, u8> {
        Resource {
            name: Cow::Owned(name.to_owned()),
            is_python_module: true,
            in_memory_source: Some(Cow::Owned(format!("# {name}\n").into_bytes())),
            in_memory_bytecode: Some(Cow::Owned(vec![marker; len])),
            ..Resource::default()
        }
    }

    /// Three big tier-0 modules (each bytecode spans whole chunks of its
    /// own) and three small tier-1 ones.
    fn build() -> Vec<u8> {
        let mut writer = ContainerWriter::new(WriteOptions {
            chunk_size: 4096,
            dictionary: DictionaryPolicy::Never,
            group_target_size: 64,
            ..WriteOptions::default()
        });
        for (name, marker) in [("alpha", b'a'), ("beta", b'b'), ("gamma", b'g')] {
            writer
                .add(module(name, marker, 3 * 4096), Tier::Raw)
                .unwrap();
        }
        for (name, marker) in [("cold1", b'1'), ("cold2", b'2'), ("cold3", b'3')] {
            writer
                .add(module(name, marker, 200), Tier::Compressed)
                .unwrap();
        }
        writer.write().unwrap()
    }

    fn offset_of(bytes: &[u8], name: &str, field: DataField) -> usize {
        let container = Container::from_bytes(bytes).unwrap();
        let data = container.data(name, field).unwrap().unwrap();
        data.as_ptr() as usize - bytes.as_ptr() as usize
    }

    #[test]
    fn intact_container_has_a_report() {
        let bytes = build();
        let container = Container::from_bytes(&bytes).unwrap();
        let audit = container.audit();
        assert!(audit.is_intact(), "{audit:?}");
        assert_eq!(audit.report.unwrap().resources, 6);
    }

    #[test]
    fn every_damaged_resource_is_reported_with_its_field() {
        let mut bytes = build();
        let alpha = offset_of(&bytes, "alpha", DataField::Bytecode);
        let gamma = offset_of(&bytes, "gamma", DataField::Bytecode);
        bytes[alpha + 6000] ^= 0x40;
        bytes[gamma + 6000] ^= 0x40;
        let container = Container::from_bytes(&bytes).unwrap();
        let audit = container.audit();
        assert!(!audit.is_intact());
        let names: Vec<_> = audit.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["alpha", "gamma"]);
        for resource in &audit.resources {
            assert_eq!(resource.failures.len(), 1, "{resource:?}");
            let failure = &resource.failures[0];
            assert_eq!(failure.field, Some(DataField::Bytecode));
            assert_eq!(failure.error.resource(), Some(resource.name.as_str()));
            assert!(failure.error.is_integrity_failure());
        }
        // Whole tier 0 plus the two chunks.
        assert_eq!(audit.regions.len(), 3, "{:?}", audit.regions);
        assert!(matches!(
            audit.regions[0],
            ContainerError::DigestMismatch {
                region: Region::Tier0,
                ..
            }
        ));
        assert!(audit.regions.iter().all(|e| e.resource().is_none()));
    }

    #[test]
    fn a_damaged_group_is_reported_once_and_for_each_member() {
        let mut bytes = build();
        let container = Container::from_bytes(&bytes).unwrap();
        let layout = container.layout().clone();
        drop(container);
        assert!(layout.groups.len() >= 2, "{layout:?}");
        let group = layout.groups[0];
        let at = layout.tier1.offset + group.compressed_offset + group.compressed_length / 2;
        bytes[at as usize] ^= 1;
        let container = Container::from_bytes(&bytes).unwrap();
        let audit = container.audit();
        let damaged: Vec<_> = audit.resources.iter().map(|r| r.name.as_str()).collect();
        let expected: Vec<_> = container
            .summaries()
            .filter(|s| s.tier == Tier::Compressed)
            .take(group.resource_count as usize)
            .map(|s| s.name)
            .collect();
        assert_eq!(damaged, expected);
        let regions: Vec<_> = audit
            .regions
            .iter()
            .map(|error| match error {
                ContainerError::DigestMismatch { region, .. } => *region,
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert_eq!(
            regions,
            [Region::Tier1, Region::Tier1Group { group: 0 }],
            "{:?}",
            audit.regions
        );
    }
}
