//! The inverse of the [packer](super::packer): the file tree a container's
//! resources stand for.
//!
//! [`plan`] maps every resource to the files it would have come from, using
//! the packer's naming conventions, and checks every name before anything is
//! written. The caller writes the files; [`plan`] touches no file system.
//!
//! | resource | files (relative to the output directory) |
//! |---|---|
//! | module `a.b` | `a/b.py` (source), `a/__pycache__/b.cpython-311.pyc`, `….opt-1.pyc`, `….opt-2.pyc` |
//! | package `a.b` | `a/b/__init__.py`, `a/b/__pycache__/__init__.cpython-311.pyc`, … |
//! | namespace package `a.b` | the directory `a/b/` |
//! | package data `x/y.txt` of `a.b` | `a/b/x/y.txt` |
//! | extension module `a.b` | `a/b.cpython-311-x86_64-linux-gnu.so` (`a/b/__init__….so` for a package) |
//! | distribution `d-1.0.dist-info`, file `METADATA` | `d-1.0.dist-info/METADATA` |
//! | shared library `x.libs/liby.so` | `x.libs/liby.so` |
//! | embedded file data | the resource name as a path |
//!
//! Builtin and frozen modules have nothing to write; `relative_path_*`
//! fields point at files outside the container and are not followed.
//!
//! # Bytecode files
//!
//! Each `.pyc` gets a [PEP 552] header: the interpreter's magic number,
//! a flags word and 8 bytes. When the module's source is in the container
//! the pyc is *checked hash-based* (flags `0b11`) and the 8 bytes are the
//! source hash CPython's `importlib.util.source_hash` computes (SipHash-1-3
//! keyed with the magic number), so CPython validates the pyc against the
//! `.py` next to it and recompiles if the source is edited. Without source
//! the pyc is *unchecked hash-based* (flags `0b01`) with a zero hash: nothing
//! to check it against, and CPython's sourceless loader does not look.
//!
//! # Untrusted names
//!
//! Names come from the container, which may have been crafted. A module name
//! must be dots between non-empty components; a path (resource name of a
//! shared library or distribution, key of a package or distribution
//! resource) must be `/` between non-empty components. No component may be
//! `.` or `..` or contain NUL or a backslash, and no path may be absolute.
//! Two resources may not claim the same file, nor a file where another needs
//! a directory. [`plan`] refuses the whole container on the first violation,
//! naming the resource, so nothing is written for a hostile container.
//!
//! [PEP 552]: https://peps.python.org/pep-0552/

use std::collections::BTreeMap;

use python_packed_resources::Resource;

use super::packer::virtual_filename;
use super::target::Target;

/// What a planned file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// A module's source.
    Source,
    /// A module's bytecode at optimisation level 0, 1 or 2.
    Bytecode(u8),
    /// An extension module.
    ExtensionModule,
    /// A shared library.
    SharedLibrary,
    /// A package data file.
    PackageData,
    /// A distribution metadata file.
    DistributionFile,
    /// Embedded file data.
    FileData,
}

/// One file to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile<'r> {
    /// Path relative to the output directory, `/`-separated, checked.
    pub path: String,
    /// The resource it comes from.
    pub resource: &'r str,
    /// What it holds.
    pub kind: FileKind,
    /// Bytes to write before `data` (the pyc header), or empty.
    pub header: Vec<u8>,
    /// The contents, after `header`.
    pub data: &'r [u8],
    /// Whether to make the file executable.
    pub executable: bool,
}

/// One directory to create that no file implies (a namespace package).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedDirectory<'r> {
    /// Path relative to the output directory, `/`-separated, checked.
    pub path: String,
    /// The resource it comes from.
    pub resource: &'r str,
}

/// Everything [`plan`] decided, sorted by path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan<'r> {
    /// Directories to create.
    pub directories: Vec<PlannedDirectory<'r>>,
    /// Files to write.
    pub files: Vec<PlannedFile<'r>>,
}

/// Why a container cannot be unpacked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    /// A name or path from the container could leave the output directory
    /// or is not a valid name.
    #[error(
        "refusing to extract resource {resource:?}: {what} {value:?} {reason}; \
         hint: names must stay inside the output directory, so this container was crafted \
         or damaged before it was written"
    )]
    UnsafeName {
        /// The resource.
        resource: String,
        /// Which name: `its name`, `package resource`, `distribution resource`.
        what: &'static str,
        /// The offending name or path.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two resources claim the same path, or one needs as a directory what
    /// another writes as a file.
    #[error(
        "resources {first:?} and {second:?} both extract to {path:?}; \
         hint: the container holds names that no single directory tree can represent"
    )]
    Collision {
        /// The path.
        path: String,
        /// The resource that claimed it first.
        first: String,
        /// The resource that claimed it again.
        second: String,
    },
    /// No bytecode header is known for the target interpreter.
    #[error("no pyc magic number is known for CPython 3.{minor}")]
    UnsupportedPython {
        /// The target's minor version.
        minor: u8,
    },
}

/// The pyc magic number of CPython 3.`minor`
/// (`importlib.util.MAGIC_NUMBER`), for the versions this crate links.
pub fn pyc_magic(minor: u8) -> Option<[u8; 4]> {
    match minor {
        // 3495, the final 3.11 magic.
        11 => Some([0xa7, 0x0d, 0x0d, 0x0a]),
        // 3531, the final 3.12 magic.
        12 => Some([0xcb, 0x0d, 0x0d, 0x0a]),
        // 3571, the final 3.13 magic.
        13 => Some([0xf3, 0x0d, 0x0d, 0x0a]),
        _ => None,
    }
}

/// `importlib.util.source_hash(source)` for an interpreter whose pyc magic
/// is `magic`: SipHash-1-3 keyed with (the magic as a little-endian integer,
/// 0), as CPython's `_Py_KeyedHash`.
pub fn source_hash(magic: [u8; 4], source: &[u8]) -> [u8; 8] {
    let key = u64::from(u32::from_le_bytes(magic));
    siphash13(key, 0, source).to_le_bytes()
}

/// The 16-byte PEP 552 header of a hash-based pyc: checked with the source
/// hash when `source` is known, unchecked with a zero hash otherwise.
pub fn pyc_header(magic: [u8; 4], source: Option<&[u8]>) -> [u8; 16] {
    let mut header = [0u8; 16];
    header[..4].copy_from_slice(&magic);
    let (flags, hash) = match source {
        Some(source) => (0b11u32, source_hash(magic, source)),
        None => (0b01, [0; 8]),
    };
    header[4..8].copy_from_slice(&flags.to_le_bytes());
    header[8..].copy_from_slice(&hash);
    header
}

/// Maps `resources` to files; see the [module docs](self).
pub fn plan<'r>(
    resources: &'r [Resource<'_, u8>],
    target: Target,
) -> Result<Plan<'r>, UnpackError> {
    let minor = target.python_minor();
    let magic = pyc_magic(minor).ok_or(UnpackError::UnsupportedPython { minor })?;
    let tag = format!("cpython-3{minor}");
    let mut planner = Planner::default();
    for resource in resources {
        plan_resource(resource, magic, &tag, &target, &mut planner)?;
    }
    Ok(planner.finish())
}

fn plan_resource<'r>(
    resource: &'r Resource<'_, u8>,
    magic: [u8; 4],
    tag: &str,
    target: &Target,
    planner: &mut Planner<'r>,
) -> Result<(), UnpackError> {
    let name: &'r str = resource.name.as_ref();
    let unsafe_name =
        |what: &'static str, value: &str, reason: &'static str| UnpackError::UnsafeName {
            resource: name.to_owned(),
            what,
            value: value.to_owned(),
            reason,
        };
    let file = |path: String, kind: FileKind, header: Vec<u8>, data: &'r [u8]| PlannedFile {
        path,
        resource: name,
        kind,
        header,
        data,
        executable: resource.file_executable,
    };
    let is_module = resource.is_python_module || resource.is_python_extension_module;
    let module_path = if is_module || resource.in_memory_package_resources.is_some() {
        let components =
            module_components(name).map_err(|reason| unsafe_name("its name", name, reason))?;
        Some(components.join("/"))
    } else {
        None
    };

    if let Some(path) = &module_path {
        let package = resource.is_python_package;
        if resource.is_python_namespace_package {
            planner.directory(path.clone(), name)?;
        }
        let source = resource.in_memory_source.as_deref();
        if resource.is_python_module {
            if let Some(source) = source {
                let path = virtual_filename(name, package);
                planner.file(file(path, FileKind::Source, Vec::new(), source))?;
            }
            let (directory, stem) = match (package, path.rsplit_once('/')) {
                (true, _) => (path.as_str(), "__init__"),
                (false, Some((directory, stem))) => (directory, stem),
                (false, None) => ("", path.as_str()),
            };
            let header = pyc_header(magic, source).to_vec();
            for (level, bytecode) in [
                (0u8, &resource.in_memory_bytecode),
                (1, &resource.in_memory_bytecode_opt1),
                (2, &resource.in_memory_bytecode_opt2),
            ] {
                let Some(bytecode) = bytecode.as_deref() else {
                    continue;
                };
                let optimization = match level {
                    0 => String::new(),
                    level => format!(".opt-{level}"),
                };
                let pyc = join(
                    directory,
                    &format!("__pycache__/{stem}.{tag}{optimization}.pyc"),
                );
                planner.file(file(
                    pyc,
                    FileKind::Bytecode(level),
                    header.clone(),
                    bytecode,
                ))?;
            }
        }
        if let Some(data) = resource
            .in_memory_extension_module_shared_library
            .as_deref()
        {
            let suffix = target.extension_suffix();
            let so = if package {
                format!("{path}/__init__{suffix}")
            } else {
                format!("{path}{suffix}")
            };
            planner.file(file(so, FileKind::ExtensionModule, Vec::new(), data))?;
        }
        for (key, data) in sorted(&resource.in_memory_package_resources) {
            let relative = relative_components(key)
                .map_err(|reason| unsafe_name("package resource", key, reason))?;
            let target = join(path, &relative.join("/"));
            planner.file(file(target, FileKind::PackageData, Vec::new(), data))?;
        }
    }

    let own_path = || -> Result<String, UnpackError> {
        relative_components(name)
            .map(|components| components.join("/"))
            .map_err(|reason| unsafe_name("its name", name, reason))
    };
    if resource.in_memory_distribution_resources.is_some() {
        let directory = own_path()?;
        for (key, data) in sorted(&resource.in_memory_distribution_resources) {
            let relative = relative_components(key)
                .map_err(|reason| unsafe_name("distribution resource", key, reason))?;
            let target = join(&directory, &relative.join("/"));
            planner.file(file(target, FileKind::DistributionFile, Vec::new(), data))?;
        }
    }
    if let Some(data) = resource.in_memory_shared_library.as_deref() {
        planner.file(file(own_path()?, FileKind::SharedLibrary, Vec::new(), data))?;
    }
    if let Some(data) = resource.file_data_embedded.as_deref() {
        planner.file(file(own_path()?, FileKind::FileData, Vec::new(), data))?;
    }
    Ok(())
}

fn join(directory: &str, relative: &str) -> String {
    if directory.is_empty() {
        relative.to_owned()
    } else {
        format!("{directory}/{relative}")
    }
}

fn sorted<'r>(
    map: &'r Option<
        std::collections::HashMap<std::borrow::Cow<'_, str>, std::borrow::Cow<'_, [u8]>>,
    >,
) -> BTreeMap<&'r str, &'r [u8]> {
    map.iter()
        .flatten()
        .map(|(key, value)| (key.as_ref(), value.as_ref()))
        .collect()
}

/// Problems every component is checked for.
fn check_component(component: &str) -> Result<(), &'static str> {
    if component.is_empty() {
        return Err("has an empty component");
    }
    if component == "." || component == ".." {
        return Err("has a `.` or `..` component");
    }
    Ok(())
}

fn check_characters(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("is empty");
    }
    if value.contains('\0') {
        return Err("contains a NUL character");
    }
    if value.contains('\\') {
        return Err("contains a backslash");
    }
    Ok(())
}

/// The components of a dotted module name, checked.
pub fn module_components(name: &str) -> Result<Vec<&str>, &'static str> {
    check_characters(name)?;
    if name.contains('/') {
        return Err("contains a `/`, which no module name has");
    }
    let components: Vec<&str> = name.split('.').collect();
    for component in &components {
        check_component(component)?;
    }
    Ok(components)
}

/// The components of a `/`-separated relative path, checked.
pub fn relative_components(path: &str) -> Result<Vec<&str>, &'static str> {
    check_characters(path)?;
    if path.starts_with('/') {
        return Err("is an absolute path");
    }
    let components: Vec<&str> = path.split('/').collect();
    for component in &components {
        check_component(component)?;
    }
    Ok(components)
}

/// What each path is claimed as, and by whom.
#[derive(Default)]
struct Planner<'r> {
    claims: BTreeMap<String, (bool, &'r str)>,
    directories: Vec<PlannedDirectory<'r>>,
    files: Vec<PlannedFile<'r>>,
}

impl<'r> Planner<'r> {
    fn directory(&mut self, path: String, resource: &'r str) -> Result<(), UnpackError> {
        self.claim(&path, false, resource)?;
        self.directories.push(PlannedDirectory { path, resource });
        Ok(())
    }

    fn file(&mut self, file: PlannedFile<'r>) -> Result<(), UnpackError> {
        self.claim(&file.path, true, file.resource)?;
        self.files.push(file);
        Ok(())
    }

    /// Records `path` as a file or a directory, refusing clashes.
    fn claim(&mut self, path: &str, is_file: bool, resource: &'r str) -> Result<(), UnpackError> {
        let collision = |first: &str, path: &str| UnpackError::Collision {
            path: path.to_owned(),
            first: first.to_owned(),
            second: resource.to_owned(),
        };
        // Every ancestor must be a directory.
        for (end, _) in path.match_indices('/') {
            let ancestor = &path[..end];
            match self.claims.get(ancestor) {
                Some((true, first)) => return Err(collision(first, ancestor)),
                Some((false, _)) => {}
                None => {
                    self.claims.insert(ancestor.to_owned(), (false, resource));
                }
            }
        }
        match self.claims.get(path) {
            Some((true, first)) => return Err(collision(first, path)),
            // Something lives below `path`: it is a directory.
            Some((false, first)) if is_file => return Err(collision(first, path)),
            Some((false, _)) => {}
            None => {
                self.claims.insert(path.to_owned(), (is_file, resource));
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Plan<'r> {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.directories.sort_by(|a, b| a.path.cmp(&b.path));
        Plan {
            directories: self.directories,
            files: self.files,
        }
    }
}

/// SipHash-1-3 (one compression round, three finalisation rounds), as
/// CPython's `Python/pyhash.c` implements it.
fn siphash13(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    fn compress(v: &mut [u64; 4], word: u64) {
        v[3] ^= word;
        round(v);
        v[0] ^= word;
    }
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        compress(&mut v, u64::from_le_bytes(bytes));
    }
    let mut last = [0u8; 8];
    let tail = words.remainder();
    last[..tail.len()].copy_from_slice(tail);
    compress(
        &mut v,
        u64::from_le_bytes(last) | ((data.len() as u64 & 0xff) << 56),
    );
    v[2] ^= 0xff;
    for _ in 0..3 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::HashMap;

    use super::*;

    const MAGIC_311: [u8; 4] = [0xa7, 0x0d, 0x0d, 0x0a];

    #[test]
    fn magic_numbers_are_known_for_the_linked_versions_only() {
        // importlib.util.MAGIC_NUMBER of 3.11.2, 3.12 and 3.13.5.
        assert_eq!(pyc_magic(11), Some(MAGIC_311));
        assert_eq!(pyc_magic(12), Some([0xcb, 0x0d, 0x0d, 0x0a]));
        assert_eq!(pyc_magic(13), Some([0xf3, 0x0d, 0x0d, 0x0a]));
        assert!(pyc_magic(Target::LINKED.python_minor()).is_some());
        assert_eq!(pyc_magic(14), None);
        assert_eq!(
            UnpackError::UnsupportedPython { minor: 14 }.to_string(),
            "no pyc magic number is known for CPython 3.14"
        );
    }

    #[test]
    fn source_hash_matches_cpython_311() {
        // python3.11 -c 'import importlib.util as u; print(u.source_hash(b"").hex())'
        assert_eq!(
            source_hash(MAGIC_311, b""),
            [0x73, 0x8d, 0x9c, 0xd5, 0xd5, 0xe8, 0x7f, 0x73]
        );
        assert_eq!(
            source_hash(MAGIC_311, b"print(1)\n"),
            [0xda, 0x81, 0x2d, 0x7f, 0x40, 0x7a, 0x30, 0x59]
        );
    }

    #[test]
    fn pyc_headers_follow_pep_552() {
        let checked = pyc_header(MAGIC_311, Some(b"print(1)\n"));
        assert_eq!(&checked[..4], b"\xa7\r\r\n");
        assert_eq!(&checked[4..8], &[3, 0, 0, 0]);
        assert_eq!(&checked[8..], &source_hash(MAGIC_311, b"print(1)\n"));
        let unchecked = pyc_header(MAGIC_311, None);
        assert_eq!(&unchecked[4..], &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    fn module(name: &str, package: bool) -> Resource<'static, u8> {
        Resource {
            name: Cow::Owned(name.to_owned()),
            is_python_module: true,
            is_python_package: package,
            in_memory_source: Some(Cow::Borrowed(b"x = 1\n")),
            in_memory_bytecode: Some(Cow::Borrowed(b"code")),
            in_memory_bytecode_opt2: Some(Cow::Borrowed(b"code2")),
            ..Resource::default()
        }
    }

    fn paths(plan: &Plan<'_>) -> Vec<String> {
        plan.files.iter().map(|f| f.path.clone()).collect()
    }

    #[test]
    fn resources_map_to_the_files_they_came_from() {
        let mut package = module("pkg", true);
        package.in_memory_package_resources = Some(HashMap::from([(
            Cow::Borrowed("data/x.txt"),
            Cow::Borrowed(&b"x"[..]),
        )]));
        let resources = vec![
            module("app", false),
            package,
            module("pkg.sub", false),
            Resource {
                name: Cow::Borrowed("pkg.ns"),
                is_python_module: true,
                is_python_package: true,
                is_python_namespace_package: true,
                ..Resource::default()
            },
            Resource {
                name: Cow::Borrowed("pkg._speed"),
                is_python_extension_module: true,
                in_memory_extension_module_shared_library: Some(Cow::Borrowed(b"\x7fELF")),
                ..Resource::default()
            },
            Resource {
                name: Cow::Borrowed("d-1.0.dist-info"),
                in_memory_distribution_resources: Some(HashMap::from([(
                    Cow::Borrowed("METADATA"),
                    Cow::Borrowed(&b"Name: d"[..]),
                )])),
                ..Resource::default()
            },
            Resource {
                name: Cow::Borrowed("pkg.libs/libz.so.1"),
                is_shared_library: true,
                file_executable: true,
                in_memory_shared_library: Some(Cow::Borrowed(b"\x7fELF")),
                ..Resource::default()
            },
        ];
        let plan = plan(&resources, Target::CPYTHON_311_X86_64_LINUX_GNU).unwrap();
        assert_eq!(
            paths(&plan),
            [
                "__pycache__/app.cpython-311.opt-2.pyc",
                "__pycache__/app.cpython-311.pyc",
                "app.py",
                "d-1.0.dist-info/METADATA",
                "pkg.libs/libz.so.1",
                "pkg/__init__.py",
                "pkg/__pycache__/__init__.cpython-311.opt-2.pyc",
                "pkg/__pycache__/__init__.cpython-311.pyc",
                "pkg/__pycache__/sub.cpython-311.opt-2.pyc",
                "pkg/__pycache__/sub.cpython-311.pyc",
                "pkg/_speed.cpython-311-x86_64-linux-gnu.so",
                "pkg/data/x.txt",
                "pkg/sub.py",
            ]
        );
        assert_eq!(plan.directories[0].path, "pkg/ns");
        let library = plan
            .files
            .iter()
            .find(|f| f.path.ends_with(".so.1"))
            .unwrap();
        assert!(library.executable);
        let pyc = plan
            .files
            .iter()
            .find(|f| f.path == "__pycache__/app.cpython-311.pyc")
            .unwrap();
        assert_eq!(pyc.header, pyc_header(MAGIC_311, Some(b"x = 1\n")));
        assert_eq!(pyc.data, b"code");
    }

    #[test]
    fn hostile_names_are_refused() {
        let cases: [(Resource<'static, u8>, &str); 7] = [
            (module("..evil", false), "empty component"),
            (module("a/b", false), "`/`"),
            (module("a\\b", false), "backslash"),
            (module("a\0b", false), "NUL"),
            (
                Resource {
                    name: Cow::Borrowed("../evil.so"),
                    in_memory_shared_library: Some(Cow::Borrowed(b"")),
                    ..Resource::default()
                },
                "`..`",
            ),
            (
                Resource {
                    name: Cow::Borrowed("/etc/passwd"),
                    file_data_embedded: Some(Cow::Borrowed(b"")),
                    ..Resource::default()
                },
                "absolute",
            ),
            (
                Resource {
                    name: Cow::Borrowed("pkg"),
                    is_python_module: true,
                    in_memory_package_resources: Some(HashMap::from([(
                        Cow::Borrowed("data//x"),
                        Cow::Borrowed(&b""[..]),
                    )])),
                    ..Resource::default()
                },
                "empty component",
            ),
        ];
        for (resource, reason) in cases {
            let name = resource.name.to_string();
            let error = plan(&[resource], Target::default()).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(reason), "{name:?}: {message}");
            assert!(
                message.contains(&format!("{name:?}")),
                "{name:?}: {message}"
            );
        }
    }

    #[test]
    fn clashing_paths_are_refused() {
        let module = module("a", false);
        let library = Resource {
            name: Cow::Borrowed("a.py"),
            in_memory_shared_library: Some(Cow::Borrowed(b"")),
            ..Resource::default()
        };
        let error = plan(&[module.clone(), library], Target::default()).unwrap_err();
        assert!(
            matches!(&error, UnpackError::Collision { path, .. } if path == "a.py"),
            "{error}"
        );
        let below = Resource {
            name: Cow::Borrowed("a.py/x"),
            file_data_embedded: Some(Cow::Borrowed(b"")),
            ..Resource::default()
        };
        let error = plan(&[module, below], Target::default()).unwrap_err();
        assert!(
            matches!(&error, UnpackError::Collision { path, .. } if path == "a.py"),
            "{error}"
        );
    }
}
