//! Where container bytes come from, and who keeps them alive.
//!
//! A [`PackedResourcesSource`] names the bytes: a slice already in memory
//! (typically `include_bytes!`, so `'static`) or a file to memory-map.
//! [`Backing`] is what a [`Container`](super::Container) holds to keep those
//! bytes valid for as long as it lives: the borrowed slice, or the mapping
//! itself. Everything the container hands out borrows from the container, so
//! the borrow checker, not a stretched lifetime, ties each `&[u8]` to the
//! bytes it points into.

use std::{fs::File, ops::Range, path::PathBuf, sync::Arc};

use super::error::ContainerError;

/// Where to find a container of packed resources.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serialization", derive(serde::Serialize))]
pub enum PackedResourcesSource<'a> {
    /// Bytes already in memory, for example from `include_bytes!`.
    ///
    /// Not serializable: borrowed bytes cannot be rebuilt from a
    /// configuration file, so serde skips this variant.
    #[cfg_attr(feature = "serialization", serde(skip))]
    Memory(&'a [u8]),
    /// A file to memory-map. Relative paths resolve against the current
    /// directory; configuration code expands `$ORIGIN` before this point.
    MemoryMappedPath(PathBuf),
    /// A range of bytes held by a shared owner, typically one container of
    /// several appended to an executable that is memory-mapped once (see
    /// [`crate::resources::trailer`]). The container keeps the owner alive
    /// and reads it in place: nothing is copied.
    ///
    /// Not serializable, like `Memory`.
    #[cfg_attr(feature = "serialization", serde(skip))]
    Shared(SharedBytes),
}

/// A range of bytes inside a shared, immutable owner (an `Arc`-held memory
/// map, a `Vec`), cheap to clone.
///
/// The owner's `as_ref()` must return the same bytes every time (true of
/// `memmap2::Mmap`, `Vec<u8>`, `Box<[u8]>`). Two values are equal when they
/// share the owner and name the same range.
#[derive(Clone)]
pub struct SharedBytes {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl SharedBytes {
    /// `range` of `owner`'s bytes; `None` when the range is out of bounds or
    /// reversed.
    pub fn new(owner: Arc<dyn AsRef<[u8]> + Send + Sync>, range: Range<usize>) -> Option<Self> {
        let len = (*owner).as_ref().len();
        (range.start <= range.end && range.end <= len).then_some(SharedBytes { owner, range })
    }

    /// All of `owner`'s bytes.
    pub fn whole(owner: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        let len = (*owner).as_ref().len();
        SharedBytes {
            owner,
            range: 0..len,
        }
    }

    /// The range within the owner's bytes.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        // In bounds: checked by the constructors, and the owner's bytes never
        // change.
        &(*self.owner).as_ref()[self.range.clone()]
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

impl std::fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBytes")
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.owner), Arc::as_ptr(&other.owner))
            && self.range == other.range
    }
}

impl Eq for SharedBytes {}

impl PackedResourcesSource<'_> {
    /// How error messages name this source: the file's path, or the size of
    /// the in-memory container.
    pub fn description(&self) -> String {
        match self {
            PackedResourcesSource::Memory(bytes) => {
                format!("in-memory container ({} bytes)", bytes.len())
            }
            PackedResourcesSource::MemoryMappedPath(path) => path.display().to_string(),
            PackedResourcesSource::Shared(shared) => format!(
                "shared container (bytes {}..{})",
                shared.range.start, shared.range.end
            ),
        }
    }
}

/// The deserializable variants of [`PackedResourcesSource`]. Going through
/// this type (rather than deriving) gives `Deserialize<'de>` for a source of
/// any lifetime: nothing is borrowed from the input, and the derive would
/// otherwise tie `'de` to the `Memory` variant's lifetime.
#[cfg(feature = "serialization")]
#[derive(serde::Deserialize)]
enum SerializedSource {
    MemoryMappedPath(PathBuf),
}

#[cfg(feature = "serialization")]
impl<'de> serde::Deserialize<'de> for PackedResourcesSource<'_> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let SerializedSource::MemoryMappedPath(path) = SerializedSource::deserialize(deserializer)?;
        Ok(PackedResourcesSource::MemoryMappedPath(path))
    }
}

/// The bytes of an open container, kept alive for the container's lifetime.
pub(crate) enum Backing<'a> {
    /// Borrowed from the caller.
    Borrowed(&'a [u8]),
    /// A read-only mapping of a file, owned.
    Mapped(memmap2::Mmap),
    /// Owned by the container: a copy, or an immutable object that holds the
    /// bytes at a fixed address (a Python `bytes`). `as_ref` must return the
    /// same bytes every time.
    Owned(Box<dyn AsRef<[u8]> + Send + Sync>),
}

impl<'a> Backing<'a> {
    /// Obtains the bytes named by `source`, mapping the file if there is one.
    pub(crate) fn open(source: &PackedResourcesSource<'a>) -> Result<Backing<'a>, ContainerError> {
        match source {
            PackedResourcesSource::Memory(bytes) => Ok(Backing::Borrowed(bytes)),
            PackedResourcesSource::MemoryMappedPath(path) => Backing::map(path),
            PackedResourcesSource::Shared(shared) => Ok(Backing::Owned(Box::new(shared.clone()))),
        }
    }

    /// Like [`Backing::open`], but independent of the source's lifetime:
    /// memory that lies in the executable's read-only image is borrowed for
    /// `'static` (see [`super::image`]), any other memory is copied.
    pub(crate) fn open_static(
        source: &PackedResourcesSource<'_>,
    ) -> Result<Backing<'static>, ContainerError> {
        match source {
            PackedResourcesSource::Memory(bytes) => {
                Ok(match super::image::static_image_slice(bytes) {
                    Some(bytes) => Backing::Borrowed(bytes),
                    None => Backing::Owned(Box::new(bytes.to_vec())),
                })
            }
            PackedResourcesSource::MemoryMappedPath(path) => Backing::map(path),
            PackedResourcesSource::Shared(shared) => Ok(Backing::Owned(Box::new(shared.clone()))),
        }
    }

    fn map(path: &std::path::Path) -> Result<Backing<'static>, ContainerError> {
        let file = File::open(path).map_err(|source| ContainerError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        // SAFETY: `Mmap::map` is unsafe because the mapped file could be
        // truncated or modified by another process while mapped, which would
        // change (or unmap) bytes we hold `&[u8]` to. The map is read-only and
        // private to this process; containers are build artifacts that are
        // replaced, not edited in place, and every byte is digest-checked
        // before it is handed out, so a modification made before a read is
        // reported as an integrity failure. A file truncated under a live
        // mapping can still raise SIGBUS, the same contract every mmap-based
        // loader (including the dynamic linker) has; see docs/format.md.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| ContainerError::Map {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Backing::Mapped(map))
    }

    /// The container bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Backing::Borrowed(bytes) => bytes,
            Backing::Mapped(map) => map,
            Backing::Owned(owner) => (**owner).as_ref(),
        }
    }

    /// Whether the bytes are a file mapping.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Backing::Mapped(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_names_the_path() {
        let path = PathBuf::from("/nonexistent/pyembed/resources.bin");
        let source = PackedResourcesSource::MemoryMappedPath(path.clone());
        match Backing::open(&source) {
            Err(ContainerError::Open { path: reported, .. }) => assert_eq!(reported, path),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("opened a missing file"),
        }
    }

    #[test]
    fn static_memory_is_borrowed_and_other_memory_copied() {
        static IN_IMAGE: [u8; 3] = *b"abc";
        let backing = Backing::open_static(&PackedResourcesSource::Memory(&IN_IMAGE)).unwrap();
        assert_eq!(backing.bytes().as_ptr(), IN_IMAGE.as_ptr());
        let heap = b"abc".to_vec();
        let backing = Backing::open_static(&PackedResourcesSource::Memory(&heap)).unwrap();
        assert_ne!(backing.bytes().as_ptr(), heap.as_ptr());
        assert_eq!(backing.bytes(), b"abc");
    }

    #[test]
    fn sources_are_described_for_errors() {
        assert_eq!(
            PackedResourcesSource::MemoryMappedPath("/x/y.pyembed".into()).description(),
            "/x/y.pyembed"
        );
        assert_eq!(
            PackedResourcesSource::Memory(b"abc").description(),
            "in-memory container (3 bytes)"
        );
    }

    #[test]
    fn shared_sources_read_in_place() {
        let owner: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(b"0123456789".to_vec());
        assert!(SharedBytes::new(Arc::clone(&owner), 4..11).is_none());
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = 5..4;
        assert!(SharedBytes::new(Arc::clone(&owner), reversed).is_none());
        let shared = SharedBytes::new(Arc::clone(&owner), 2..5).unwrap();
        let source = PackedResourcesSource::Shared(shared.clone());
        let backing = Backing::open_static(&source).unwrap();
        assert_eq!(backing.bytes(), b"234");
        assert_eq!(
            backing.bytes().as_ptr(),
            (*owner).as_ref()[2..].as_ptr(),
            "no copy"
        );
        assert_eq!(source.description(), "shared container (bytes 2..5)");
        assert_eq!(shared, SharedBytes::new(Arc::clone(&owner), 2..5).unwrap());
        assert_ne!(shared, SharedBytes::whole(owner));
    }

    #[test]
    fn memory_source_borrows() {
        let bytes = b"abc";
        let backing = Backing::open(&PackedResourcesSource::Memory(bytes)).unwrap();
        assert_eq!(backing.bytes().as_ptr(), bytes.as_ptr());
        assert!(!backing.is_mapped());
    }
}

#[cfg(all(test, feature = "serialization"))]
mod serde_tests {
    use super::*;

    #[test]
    fn paths_serialize_and_memory_does_not() {
        let source = PackedResourcesSource::MemoryMappedPath(PathBuf::from("$ORIGIN/resources"));
        let json = serde_json::to_string(&source).unwrap();
        assert_eq!(json, r#"{"MemoryMappedPath":"$ORIGIN/resources"}"#);
        let back: PackedResourcesSource<'static> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, source);
        assert!(serde_json::to_string(&PackedResourcesSource::Memory(b"x")).is_err());
        assert!(serde_json::from_str::<PackedResourcesSource<'_>>(r#"{"Memory":[1]}"#).is_err());
    }
}
