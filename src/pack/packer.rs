//! From classified inputs to a container: compile, assemble resources, write.
//!
//! [`pack`] takes the entries a [`Policy`](super::policy::Policy) kept, reads
//! their files, compiles every module's source at the requested optimisation
//! levels (through a [`Backend`]: in-process or worker processes), turns each
//! entry into a `python-packed-resources` [`Resource`], and hands them to the
//! [`ContainerWriter`]. Everything that reaches the output is ordered by name,
//! so the container depends only on the inputs' contents and relative paths.
//!
//! Resource naming, which the importer relies on:
//!
//! | entry | resource name | fields |
//! |---|---|---|
//! | module / package | dotted name | `is_python_module`, `is_python_package`, source, bytecode per level |
//! | namespace package | dotted name | `is_python_module`, `is_python_package`, `is_python_namespace_package` |
//! | package data | the package's resource | `in_memory_package_resources[relative path]` |
//! | `.dist-info` file | the directory name (`six-1.16.0.dist-info`) | `in_memory_distribution_resources[relative path]` |
//! | extension module | dotted name | `is_python_extension_module`, `in_memory_extension_module_shared_library` |
//! | shared library | its path relative to the input (`foo.libs/libbar.so`) | `is_shared_library`, `in_memory_shared_library` |
//!
//! Package data of a package that is not itself packed (its `__init__.py`
//! excluded, say) is dropped with the package; data of a namespace package
//! attaches to the namespace package's resource.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use python_packed_resources::Resource;

use super::compile::{CompileError, CompileRequest, Compiled};
use super::inventory::{Entry, Inventory};
use super::policy::{Kept, Tier as PolicyTier};
use crate::BytecodeOptimizationLevel;
use crate::resources::{ContainerWriter, Tier, WriteError, WriteOptions};

/// Whether module source is stored next to bytecode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sources {
    /// Keep source: `inspect.getsource()` and traceback lines work.
    #[default]
    Keep,
    /// Bytecode only.
    Strip,
}

/// Which resources go to the compressed tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    /// As the stdlib policy says (rarely imported modules compressed).
    #[default]
    Auto,
    /// Everything compressed.
    All,
    /// Nothing compressed.
    None,
}

/// What to do with a module whose source does not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SyntaxErrors {
    /// Fail the pack, naming file and line.
    #[default]
    Fail,
    /// Keep the module as source only; importing it raises the SyntaxError.
    KeepSource,
}

/// Options of [`pack`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackOptions {
    /// Optimisation levels to compile (at least one).
    pub levels: Vec<BytecodeOptimizationLevel>,
    /// Keep or strip sources.
    pub sources: Sources,
    /// Tier assignment.
    pub compression: Compression,
    /// Handling of modules that do not compile.
    pub syntax_errors: SyntaxErrors,
    /// Container writer options.
    pub write: WriteOptions,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            levels: vec![BytecodeOptimizationLevel::Zero],
            sources: Sources::Keep,
            compression: Compression::Auto,
            syntax_errors: SyntaxErrors::Fail,
            write: WriteOptions::default(),
        }
    }
}

/// Why [`pack`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// An input file could not be read.
    #[error(transparent)]
    Scan(#[from] super::error::ScanError),
    /// One or more modules did not compile.
    #[error("{} module(s) failed to compile:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Compile(Vec<CompileError>),
    /// The compile backend failed as a whole.
    #[error(transparent)]
    Backend(CompileError),
    /// The container could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// No optimisation level was requested.
    #[error("no bytecode optimization level requested")]
    NoLevels,
}

/// Something that compiles a batch of modules; results in request order.
pub trait Backend {
    /// Compile every request.
    fn compile_all(
        &mut self,
        requests: &[CompileRequest],
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<Result<Compiled, CompileError>>, CompileError>;
}

/// What [`pack`] produced.
#[derive(Debug)]
pub struct PackOutput {
    /// The container bytes.
    pub bytes: Vec<u8>,
    /// Resources written.
    pub resources: usize,
    /// Modules compiled.
    pub modules_compiled: usize,
    /// Modules kept as source only because they did not compile.
    pub source_only: Vec<CompileError>,
}

/// The stable virtual path of a module's source, used as `co_filename`:
/// `json/decoder.py`, `json/__init__.py`.
pub fn virtual_filename(name: &str, is_package: bool) -> String {
    let path = name.replace('.', "/");
    if is_package {
        format!("{path}/__init__.py")
    } else {
        format!("{path}.py")
    }
}

struct Building {
    resource: Resource<'static, u8>,
    tier: Tier,
}

fn tier_of(kept: &Kept, compression: Compression) -> Tier {
    match compression {
        Compression::All => Tier::Compressed,
        Compression::None => Tier::Raw,
        Compression::Auto => match kept.tier {
            PolicyTier::Raw => Tier::Raw,
            PolicyTier::Compressed => Tier::Compressed,
        },
    }
}

fn building(name: &str, tier: Tier) -> Building {
    Building {
        resource: Resource {
            name: Cow::Owned(name.to_string()),
            ..Resource::default()
        },
        tier,
    }
}

/// Pack `kept` entries (from `inventory`) into a container.
pub fn pack(
    inventory: &Inventory,
    kept: &[Kept],
    options: &PackOptions,
    backend: &mut dyn Backend,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<PackOutput, PackError> {
    if options.levels.is_empty() {
        return Err(PackError::NoLevels);
    }
    let mut reader = inventory.reader();
    let mut resources: BTreeMap<String, Building> = BTreeMap::new();
    let mut requests = Vec::new();
    let mut sources: Vec<(String, Vec<u8>)> = Vec::new();

    // Modules, packages and extension modules first, so data can attach.
    for item in kept {
        let tier = tier_of(item, options.compression);
        match &item.entry {
            Entry::Module {
                name,
                is_package,
                source,
            } => {
                let bytes = reader.read(source)?;
                let b = resources
                    .entry(name.clone())
                    .or_insert_with(|| building(name, tier));
                b.resource.is_python_module = true;
                b.resource.is_python_package = *is_package;
                requests.push(CompileRequest {
                    name: name.clone(),
                    filename: virtual_filename(name, *is_package),
                    source: bytes.clone(),
                    levels: options.levels.clone(),
                });
                sources.push((name.clone(), bytes));
            }
            Entry::NamespacePackage { name, .. } => {
                let b = resources
                    .entry(name.clone())
                    .or_insert_with(|| building(name, tier));
                b.resource.is_python_module = true;
                b.resource.is_python_package = true;
                b.resource.is_python_namespace_package = true;
            }
            Entry::ExtensionModule {
                name,
                is_package,
                data,
            } => {
                let bytes = reader.read(data)?;
                let b = resources
                    .entry(name.clone())
                    .or_insert_with(|| building(name, tier));
                b.resource.is_python_extension_module = true;
                b.resource.is_python_package |= *is_package;
                b.resource.in_memory_extension_module_shared_library = Some(Cow::Owned(bytes));
            }
            Entry::SharedLibrary { path, data } => {
                let bytes = reader.read(data)?;
                let b = resources
                    .entry(path.clone())
                    .or_insert_with(|| building(path, tier));
                b.resource.is_shared_library = true;
                b.resource.in_memory_shared_library = Some(Cow::Owned(bytes));
            }
            Entry::PackageData { .. } | Entry::DistributionFile { .. } => {}
        }
    }
    for item in kept {
        match &item.entry {
            Entry::PackageData {
                package,
                relative_name,
                data,
            } => {
                let Some(b) = resources.get_mut(package) else {
                    continue;
                };
                let bytes = reader.read(data)?;
                b.resource
                    .in_memory_package_resources
                    .get_or_insert_with(HashMap::new)
                    .insert(Cow::Owned(relative_name.clone()), Cow::Owned(bytes));
            }
            Entry::DistributionFile {
                distribution_dir,
                relative_name,
                data,
            } => {
                let bytes = reader.read(data)?;
                let tier = tier_of(item, options.compression);
                let b = resources
                    .entry(distribution_dir.clone())
                    .or_insert_with(|| building(distribution_dir, tier));
                b.resource
                    .in_memory_distribution_resources
                    .get_or_insert_with(HashMap::new)
                    .insert(Cow::Owned(relative_name.clone()), Cow::Owned(bytes));
            }
            _ => {}
        }
    }

    let results = backend
        .compile_all(&requests, progress)
        .map_err(PackError::Backend)?;
    let mut failures = Vec::new();
    let mut source_only = Vec::new();
    let mut compiled = 0;
    for ((request, result), (name, source)) in requests.iter().zip(results).zip(sources) {
        let b = resources
            .get_mut(&request.name)
            .expect("every request has a resource");
        match result {
            Ok(outputs) => {
                compiled += 1;
                for (level, data) in options.levels.iter().zip(outputs) {
                    let slot = match level {
                        BytecodeOptimizationLevel::Zero => &mut b.resource.in_memory_bytecode,
                        BytecodeOptimizationLevel::One => &mut b.resource.in_memory_bytecode_opt1,
                        BytecodeOptimizationLevel::Two => &mut b.resource.in_memory_bytecode_opt2,
                    };
                    *slot = Some(Cow::Owned(data));
                }
                if options.sources == Sources::Keep {
                    b.resource.in_memory_source = Some(Cow::Owned(source));
                }
            }
            Err(err @ CompileError::Syntax { .. })
                if options.syntax_errors == SyntaxErrors::KeepSource =>
            {
                debug_assert_eq!(name, request.name);
                b.resource.in_memory_source = Some(Cow::Owned(source));
                source_only.push(err);
            }
            Err(err) => failures.push(err),
        }
    }
    if !failures.is_empty() {
        return Err(PackError::Compile(failures));
    }

    let mut writer = ContainerWriter::new(options.write.clone());
    let count = resources.len();
    for (_, b) in resources {
        writer.add(b.resource, b.tier)?;
    }
    let bytes = writer.write()?;
    Ok(PackOutput {
        bytes,
        resources: count,
        modules_compiled: compiled,
        source_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_filenames_are_relative_and_stable() {
        assert_eq!(virtual_filename("json.decoder", false), "json/decoder.py");
        assert_eq!(virtual_filename("json", true), "json/__init__.py");
        assert_eq!(virtual_filename("os", false), "os.py");
    }
}
