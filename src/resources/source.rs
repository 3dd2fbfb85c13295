//! Where container bytes come from, and who keeps them alive.
//!
//! A [`PackedResourcesSource`] names the bytes: a slice already in memory
//! (typically `include_bytes!`, so `'static`) or a file to memory-map.
//! [`Backing`] is what a [`Container`](super::Container) holds to keep those
//! bytes valid for as long as it lives: the borrowed slice, or the mapping
//! itself. Everything the container hands out borrows from the container, so
//! the borrow checker, not a stretched lifetime, ties each `&[u8]` to the
//! bytes it points into.

use std::{fs::File, path::PathBuf};

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
}

impl PackedResourcesSource<'_> {
    /// How error messages name this source: the file's path, or the size of
    /// the in-memory container.
    pub fn description(&self) -> String {
        match self {
            PackedResourcesSource::Memory(bytes) => {
                format!("in-memory container ({} bytes)", bytes.len())
            }
            PackedResourcesSource::MemoryMappedPath(path) => path.display().to_string(),
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
