//! [`PythonResourcesState`]: one index over every container an importer
//! serves.
//!
//! An application may load several containers (the standard library, the
//! application, a plug-in added at run time). The importer asks one question
//! per `import` — *which container holds this name, and what is it?* — and
//! this index answers it with a single ordered-map lookup instead of a binary
//! search per container. Containers are indexed in order and **an earlier
//! container wins**: a name already indexed is not replaced by a later one,
//! so the configuration's order is the priority order.
//!
//! The state also records which module names the interpreter provides
//! itself — built in (`sys.builtin_module_names`) or frozen — because those
//! take priority over anything packed. Computing them needs the running
//! interpreter, so the importer supplies them; this module never calls
//! Python.
//!
//! Every container is held as `Arc<Container<'static>>`
//! ([`Container::open_static`]): the importer is a Python object that can
//! outlive the configuration it was built from, so it must own its bytes (a
//! memory map, a copy) or borrow only what lives as long as the process (the
//! executable's image).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    Container, ContainerError, DataField, PackedResourcesSource, ResourceFlags, ResourceSummary,
    Tier,
};

/// The importer's view of all its containers: which container holds each
/// name, and which names the interpreter provides itself.
///
/// Cloning is cheap in containers (they are shared) and copies the name
/// index; the importer clones to add a container while other threads keep
/// reading the previous state.
///
/// ```
/// use std::borrow::Cow;
/// use pyembed::resources::{
///     Container, ContainerWriter, DataField, PythonResourcesState, Tier, WriteOptions,
/// };
/// use python_packed_resources::Resource;
///
/// let container = |bytecode: &'static [u8]| -> Result<Container<'static>, Box<dyn std::error::Error>> {
///     let mut writer = ContainerWriter::new(WriteOptions::default());
///     let module = Resource {
///         name: Cow::Borrowed("app"),
///         is_python_module: true,
///         in_memory_bytecode: Some(Cow::Borrowed(bytecode)),
///         ..Resource::default()
///     };
///     writer.add(module, Tier::Raw)?;
///     Ok(Container::from_owned(writer.write()?)?)
/// };
/// let mut state = PythonResourcesState::new("/opt/app");
/// state.index_container("app.pyembed", container(b"first")?);
/// state.index_container("patch.pyembed", container(b"second")?);
/// // The first container listing a name wins.
/// assert_eq!(state.data("app", DataField::Bytecode)?, Some(&b"first"[..]));
/// let found = state.get("app").expect("indexed");
/// assert_eq!(found.source.description(), "app.pyembed");
/// assert!(found.entry.is_python_module() && !found.entry.is_package());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct PythonResourcesState {
    origin: PathBuf,
    sources: Vec<IndexedSource>,
    names: BTreeMap<Box<str>, IndexEntry>,
    builtin_modules: BTreeSet<String>,
    frozen_modules: BTreeSet<String>,
    interpreter_names_indexed: bool,
}

/// One indexed container and a description of where it came from.
#[derive(Clone, Debug)]
pub struct IndexedSource {
    description: String,
    container: Arc<Container<'static>>,
}

impl IndexedSource {
    /// Where the container came from: a file path, or a description of the
    /// memory it was read from. Error messages name it.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The container.
    pub fn container(&self) -> &Container<'static> {
        &self.container
    }

    /// A shared handle to the container, for keeping it alive elsewhere.
    pub fn shared_container(&self) -> Arc<Container<'static>> {
        Arc::clone(&self.container)
    }
}

/// Where a name is and what it is, without reading its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Position of the container in [`PythonResourcesState::sources`].
    pub source: usize,
    /// The tier its data is stored in.
    pub tier: Tier,
    /// Its `is_*` flags.
    pub flags: ResourceFlags,
}

impl IndexEntry {
    /// A Python module or package (including namespace packages).
    pub fn is_python_module(&self) -> bool {
        self.flags.contains(ResourceFlags::PYTHON_MODULE)
    }

    /// A package: regular or namespace.
    pub fn is_package(&self) -> bool {
        self.flags.contains(ResourceFlags::PYTHON_PACKAGE)
            || self.flags.contains(ResourceFlags::NAMESPACE_PACKAGE)
    }

    /// A namespace package: a package without `__init__`.
    pub fn is_namespace_package(&self) -> bool {
        self.flags.contains(ResourceFlags::NAMESPACE_PACKAGE)
    }

    /// An extension module (a shared library to load).
    pub fn is_extension_module(&self) -> bool {
        self.flags.contains(ResourceFlags::EXTENSION_MODULE)
    }

    /// Anything importable: a Python module, package or extension module.
    pub fn is_module(&self) -> bool {
        self.is_python_module() || self.is_extension_module()
    }
}

/// A name found in the index, with the container that holds it.
#[derive(Clone, Copy, Debug)]
pub struct Found<'s> {
    /// What and where it is.
    pub entry: IndexEntry,
    /// The container holding it.
    pub source: &'s IndexedSource,
}

impl PythonResourcesState {
    /// An empty index. `origin` is the directory virtual module paths
    /// (`__file__`) are rooted at: the executable's directory.
    pub fn new(origin: impl Into<PathBuf>) -> PythonResourcesState {
        PythonResourcesState {
            origin: origin.into(),
            sources: Vec::new(),
            names: BTreeMap::new(),
            builtin_modules: BTreeSet::new(),
            frozen_modules: BTreeSet::new(),
            interpreter_names_indexed: false,
        }
    }

    /// The directory virtual module paths are rooted at.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Opens `source` ([`Container::open_static`]) and indexes it after the
    /// containers already present. Returns how many names it added (names an
    /// earlier container already holds are not).
    pub fn index_source(
        &mut self,
        source: &PackedResourcesSource<'_>,
    ) -> Result<usize, ContainerError> {
        let container = Container::open_static(source)?;
        Ok(self.index_container(source.description(), container))
    }

    /// Indexes an open container after those already present, under
    /// `description` (used in error messages). Returns how many names it
    /// added.
    ///
    /// When the environment variable `PYEMBED_UNSAFE_SKIP_VERIFICATION` is
    /// `1`, the container's lazy verification is turned off
    /// ([`Container::skip_lazy_verification`]) and a warning is printed to
    /// standard error once per process. That switch exists to measure what
    /// verification costs (`benches/compare.sh`); never set it in
    /// production.
    pub fn index_container(
        &mut self,
        description: impl Into<String>,
        container: Container<'static>,
    ) -> usize {
        if skip_verification_requested() {
            container.skip_lazy_verification();
        }
        let source = self.sources.len();
        let entry_of = |summary: &ResourceSummary<'_>| IndexEntry {
            source,
            tier: summary.tier,
            flags: summary.flags,
        };
        let added = if self.names.is_empty() {
            // The common case, the first container: its names come sorted
            // and unique, so the map is built in bulk rather than searched
            // once per name (most of indexing's share of start-up).
            self.names = container
                .summaries()
                .map(|summary| (Box::<str>::from(summary.name), entry_of(&summary)))
                .collect();
            self.names.len()
        } else {
            let mut added = 0;
            for summary in container.summaries() {
                if !self.names.contains_key(summary.name) {
                    self.names.insert(summary.name.into(), entry_of(&summary));
                    added += 1;
                }
            }
            added
        };
        self.sources.push(IndexedSource {
            description: description.into(),
            container: Arc::new(container),
        });
        added
    }

    /// Starts verification ahead of use: for each indexed container not
    /// already doing so, a background thread that verifies the tier-0
    /// chunks holding `field` (the bytecode the importer reads) in order,
    /// so that later imports find them verified instead of hashing them
    /// while the interpreter waits (see [`Container::verify_field_ahead`]).
    ///
    /// It trades CPU for wall time: it hashes the whole field, including
    /// modules never imported. The importer starts it only after a number
    /// of imports ([`verify_ahead_after`]), so short runs never pay for it.
    /// If a thread cannot be spawned, reads verify lazily as before.
    pub fn verify_ahead(&self, field: DataField) {
        for source in &self.sources {
            if !source.container.claim_verify_ahead() {
                continue;
            }
            let container = Arc::clone(&source.container);
            // The thread owns a handle to the container, so its bytes stay
            // mapped until it finishes.
            let _ = std::thread::Builder::new()
                .name(String::from("pyembed-verify"))
                .spawn(move || container.verify_field_ahead(field));
        }
    }

    /// The indexed containers, in priority order.
    pub fn sources(&self) -> &[IndexedSource] {
        &self.sources
    }

    /// The entry for `name`, if any container holds it.
    pub fn get(&self, name: &str) -> Option<Found<'_>> {
        let entry = *self.names.get(name)?;
        let source = self.sources.get(entry.source)?;
        Some(Found { entry, source })
    }

    /// One verified field of `name` (see [`Container::data`]); `Ok(None)` if
    /// no container holds the name or the resource lacks the field.
    pub fn data(&self, name: &str, field: DataField) -> Result<Option<&[u8]>, ContainerError> {
        match self.get(name) {
            Some(found) => found.source.container().data(name, field),
            None => Ok(None),
        }
    }

    /// Every indexed name and its entry, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, IndexEntry)> + '_ {
        self.names.iter().map(|(name, entry)| (&**name, *entry))
    }

    /// The indexed names directly inside package `package` (`None`: the
    /// top-level names), with their entries, sorted.
    ///
    /// A range lookup over the sorted index that jumps over each child's own
    /// descendants, so listing a package costs a logarithmic seek per direct
    /// child rather than a scan of every name. Non-module names (a
    /// distribution's metadata directory, say) are included; filter on the
    /// entry.
    ///
    /// ```
    /// # use std::borrow::Cow;
    /// # use pyembed::resources::{Container, ContainerWriter, PythonResourcesState, Tier, WriteOptions};
    /// # use python_packed_resources::Resource;
    /// # let mut writer = ContainerWriter::new(WriteOptions::default());
    /// # for name in ["a", "a.b", "a.b.c", "a.d", "ab", "z"] {
    /// #     writer.add(Resource { name: Cow::Borrowed(name), is_python_module: true,
    /// #         in_memory_bytecode: Some(Cow::Borrowed(b"")), ..Resource::default() }, Tier::Raw)?;
    /// # }
    /// # let mut state = PythonResourcesState::new("/");
    /// # state.index_container("test", Container::from_owned(writer.write()?)?);
    /// let names = |package| state.children(package).map(|(name, _)| name).collect::<Vec<_>>();
    /// assert_eq!(names(None), ["a", "ab", "z"]);
    /// assert_eq!(names(Some("a")), ["a.b", "a.d"]);
    /// assert_eq!(names(Some("a.b")), ["a.b.c"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn children<'s>(
        &'s self,
        package: Option<&str>,
    ) -> impl Iterator<Item = (&'s str, IndexEntry)> + 's {
        use std::ops::Bound;
        // Every name inside `package` starts with `prefix`.
        let prefix: String = package.map_or_else(String::new, |p| format!("{p}."));
        let mut next: Option<String> = Some(prefix.clone());
        std::iter::from_fn(move || {
            loop {
                let from = next.take()?;
                let (name, entry) = self
                    .names
                    .range::<str, _>((Bound::Included(from.as_str()), Bound::Unbounded))
                    .next()?;
                let rest = name.strip_prefix(prefix.as_str())?;
                match rest.find('.') {
                    // Deeper: skip the whole subtree of this child. Every
                    // name starting `child.` sorts before `child/`.
                    Some(dot) => {
                        next = Some(format!("{prefix}{}/", &rest[..dot]));
                    }
                    None => {
                        // The next name after this one.
                        next = Some(format!("{name}\0"));
                        if !rest.is_empty() {
                            return Some((&**name, *entry));
                        }
                    }
                }
            }
        })
    }

    /// Number of indexed names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Records the interpreter's built-in module names
    /// (`sys.builtin_module_names`), replacing any recorded before.
    pub fn set_builtin_modules<I, S>(&mut self, names: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.builtin_modules = names.into_iter().map(Into::into).collect();
    }

    /// Records module names that the interpreter has frozen into itself.
    ///
    /// CPython 3.11 offers no list of its frozen modules (it asks
    /// `_imp.is_frozen(name)` one name at a time), so the importer records
    /// the indexed names for which that answer is yes.
    pub fn add_frozen_modules<I, S>(&mut self, names: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.frozen_modules
            .extend(names.into_iter().map(Into::into));
    }

    /// Whether `name` is a built-in module of the interpreter.
    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin_modules.contains(name)
    }

    /// Whether `name` was recorded as frozen into the interpreter.
    pub fn is_frozen(&self, name: &str) -> bool {
        self.frozen_modules.contains(name)
    }

    /// The recorded built-in module names, sorted.
    pub fn builtin_modules(&self) -> impl Iterator<Item = &str> + '_ {
        self.builtin_modules.iter().map(String::as_str)
    }

    /// Marks the interpreter's built-in and frozen names as indexed in their
    /// own right (`OxidizedFinder.index_interpreter_builtins()`): listings
    /// then include those no container packs.
    pub fn mark_interpreter_names_indexed(&mut self) {
        self.interpreter_names_indexed = true;
    }

    /// Whether [`Self::mark_interpreter_names_indexed`] was called.
    pub fn interpreter_names_indexed(&self) -> bool {
        self.interpreter_names_indexed
    }

    /// The recorded frozen module names, sorted.
    pub fn frozen_modules(&self) -> impl Iterator<Item = &str> + '_ {
        self.frozen_modules.iter().map(String::as_str)
    }
}

/// The environment variable that sets after how many imports verification
/// ahead of use starts (see [`verify_ahead_after`]).
pub const VERIFY_AHEAD_VARIABLE: &str = "PYEMBED_VERIFY_AHEAD_AFTER";

/// Imports after which the importer starts verifying ahead, unless
/// [`VERIFY_AHEAD_VARIABLE`] says otherwise.
pub const DEFAULT_VERIFY_AHEAD_AFTER: usize = 32;

/// After how many imports from packed resources the importer calls
/// [`PythonResourcesState::verify_ahead`]: `PYEMBED_VERIFY_AHEAD_AFTER` as
/// a count (`0`: from the first import), `off` for never, unset for
/// [`DEFAULT_VERIFY_AHEAD_AFTER`]. Any other value is an error naming the
/// variable.
pub fn verify_ahead_after() -> Result<Option<usize>, String> {
    match std::env::var(VERIFY_AHEAD_VARIABLE) {
        Err(std::env::VarError::NotPresent) => Ok(Some(DEFAULT_VERIFY_AHEAD_AFTER)),
        Ok(value) if value == "off" => Ok(None),
        Ok(value) => value.parse().map(Some).map_err(|_| {
            format!("{VERIFY_AHEAD_VARIABLE}={value:?}: expected a number of imports or \"off\"")
        }),
        Err(std::env::VarError::NotUnicode(value)) => Err(format!(
            "{VERIFY_AHEAD_VARIABLE}={value:?}: expected a number of imports or \"off\""
        )),
    }
}

/// The benchmark-only switch that turns lazy verification off.
const SKIP_VERIFICATION_VARIABLE: &str = "PYEMBED_UNSAFE_SKIP_VERIFICATION";

/// Whether [`SKIP_VERIFICATION_VARIABLE`] is `1`, read once per process;
/// warns on standard error the first time it is.
fn skip_verification_requested() -> bool {
    static REQUESTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REQUESTED.get_or_init(|| {
        let requested = std::env::var_os(SKIP_VERIFICATION_VARIABLE).is_some_and(|v| v == "1");
        if requested {
            eprintln!(
                "pyembed: warning: {SKIP_VERIFICATION_VARIABLE}=1: packed resources are NOT \
                 verified (a benchmarking switch; never use it in production)"
            );
        }
        requested
    })
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use python_packed_resources::Resource;

    use super::*;
    use crate::resources::{ContainerWriter, WriteOptions};

    fn container(modules: &[(&'static str, &'static [u8])]) -> Container<'static> {
        let mut writer = ContainerWriter::new(WriteOptions::default());
        for (name, bytecode) in modules {
            let resource = Resource {
                name: Cow::Borrowed(*name),
                is_python_module: true,
                is_python_package: !name.contains('.') && name.starts_with("pkg"),
                in_memory_bytecode: Some(Cow::Borrowed(*bytecode)),
                ..Resource::default()
            };
            writer.add(resource, Tier::Raw).unwrap();
        }
        Container::from_owned(writer.write().unwrap()).unwrap()
    }

    #[test]
    fn earlier_containers_win() {
        let mut state = PythonResourcesState::new("/opt/app");
        let first = container(&[("a", b"first a"), ("pkg", b"first pkg")]);
        let second = container(&[("a", b"second a"), ("b", b"second b")]);
        assert_eq!(state.index_container("first", first), 2);
        assert_eq!(state.index_container("second", second), 1);
        assert_eq!(state.len(), 3);
        assert_eq!(
            state.data("a", DataField::Bytecode).unwrap(),
            Some(&b"first a"[..])
        );
        assert_eq!(
            state.data("b", DataField::Bytecode).unwrap(),
            Some(&b"second b"[..])
        );
        let found = state.get("b").unwrap();
        assert_eq!(found.source.description(), "second");
        assert_eq!(found.entry.source, 1);
        assert!(state.get("pkg").unwrap().entry.is_package());
        assert!(!state.get("a").unwrap().entry.is_package());
        assert!(state.get("missing").is_none());
        assert_eq!(state.data("missing", DataField::Source).unwrap(), None);
        let names: Vec<_> = state.entries().map(|(name, _)| name).collect();
        assert_eq!(names, ["a", "b", "pkg"]);
    }

    #[test]
    fn children_are_listed_without_their_descendants() {
        let mut state = PythonResourcesState::new("/");
        let names: &[&'static str] = &[
            "a", "a-b", "a.b", "a.b.c", "a.b.c.d", "a.b0", "a.c", "a0", "b.x", "pkg", "pkg.m",
        ];
        let modules: Vec<(&'static str, &'static [u8])> =
            names.iter().map(|name| (*name, &b""[..])).collect();
        state.index_container("test", container(&modules));
        let list = |package: Option<&str>| -> Vec<&str> {
            state.children(package).map(|(name, _)| name).collect()
        };
        assert_eq!(list(None), ["a", "a-b", "a0", "pkg"]);
        assert_eq!(list(Some("a")), ["a.b", "a.b0", "a.c"]);
        assert_eq!(list(Some("a.b")), ["a.b.c"]);
        assert_eq!(list(Some("a.b.c")), ["a.b.c.d"]);
        assert_eq!(list(Some("b")), ["b.x"]);
        assert!(list(Some("missing")).is_empty());
        assert!(list(Some("a.c")).is_empty());
        // The same answer as a scan of every name.
        for package in [None, Some("a"), Some("a.b"), Some("pkg"), Some("b")] {
            let scanned: Vec<&str> = state
                .entries()
                .map(|(name, _)| name)
                .filter(|name| match package {
                    None => !name.contains('.'),
                    Some(p) => name
                        .strip_prefix(p)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|rest| !rest.is_empty() && !rest.contains('.')),
                })
                .collect();
            assert_eq!(list(package), scanned, "{package:?}");
        }
    }

    #[test]
    fn builtin_and_frozen_names_are_recorded() {
        let mut state = PythonResourcesState::new("/");
        state.set_builtin_modules(["sys", "_io"]);
        state.add_frozen_modules(["os"]);
        state.add_frozen_modules(["stat".to_string()]);
        assert!(state.is_builtin("sys") && !state.is_builtin("os"));
        assert!(state.is_frozen("os") && state.is_frozen("stat"));
        assert_eq!(state.frozen_modules().collect::<Vec<_>>(), ["os", "stat"]);
    }

    #[test]
    fn a_missing_file_fails_to_index() {
        let mut state = PythonResourcesState::new("/");
        let source = PackedResourcesSource::MemoryMappedPath("/nonexistent/c.pyembed".into());
        let error = state.index_source(&source).unwrap_err();
        assert!(matches!(error, ContainerError::Open { .. }), "{error}");
        assert!(state.sources().is_empty());
    }
}
