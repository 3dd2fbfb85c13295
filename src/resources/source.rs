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
    /// The owner is a read-only memory map of a file: pages of it can be
    /// handed back to the kernel and are read again, unchanged, on the next
    /// access (see [`Backing::release`]).
    file_mapping: bool,
}

impl SharedBytes {
    /// `range` of `owner`'s bytes; `None` when the range is out of bounds or
    /// reversed.
    pub fn new(owner: Arc<dyn AsRef<[u8]> + Send + Sync>, range: Range<usize>) -> Option<Self> {
        let len = (*owner).as_ref().len();
        (range.start <= range.end && range.end <= len).then_some(SharedBytes {
            owner,
            range,
            file_mapping: false,
        })
    }

    /// Like [`SharedBytes::new`], for an owner that is a read-only
    /// `memmap2::Mmap` of a file (the launcher's map of its executable):
    /// containers read from it give the pages of what they have used back to
    /// the kernel.
    pub(crate) fn file_mapping(map: Arc<memmap2::Mmap>, range: Range<usize>) -> Option<Self> {
        let owner: Arc<dyn AsRef<[u8]> + Send + Sync> = map;
        let mut shared = SharedBytes::new(owner, range)?;
        shared.file_mapping = true;
        Some(shared)
    }

    /// All of `owner`'s bytes.
    pub fn whole(owner: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        let len = (*owner).as_ref().len();
        SharedBytes {
            owner,
            range: 0..len,
            file_mapping: false,
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
    /// A range of a shared owner.
    Shared(SharedBytes),
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
            PackedResourcesSource::Shared(shared) => Ok(Backing::Shared(shared.clone())),
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
            PackedResourcesSource::Shared(shared) => Ok(Backing::Shared(shared.clone())),
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
            Backing::Shared(shared) => shared.bytes(),
            Backing::Owned(owner) => (**owner).as_ref(),
        }
    }

    /// Hands the pages that lie wholly or partly in bytes `range` back to
    /// the kernel, except any page holding bytes before `keep_before`, if
    /// the bytes are a read-only file mapping (the only kind whose pages are
    /// read again, unchanged, on the next access); does nothing otherwise,
    /// or for a range out of bounds.
    ///
    /// A packed module's bytecode is needed only until it is unmarshalled,
    /// but its pages stay in the process's resident set until it exits:
    /// python3.11 reads a `.pyc` into a buffer it frees, where a mapped
    /// container kept every page it ever read (peak RSS 1.4x python3.11's
    /// after importing the standard library, with the same anonymous
    /// memory). Pages around `range` are dropped too; whoever reads them
    /// later (a neighbouring module) takes a minor fault from the page cache.
    pub(crate) fn release(&self, range: Range<usize>, keep_before: usize) {
        let reclaimable = match self {
            Backing::Mapped(_) => true,
            Backing::Shared(shared) => shared.file_mapping,
            Backing::Borrowed(_) | Backing::Owned(_) => false,
        };
        let bytes = self.bytes();
        if !reclaimable || range.start >= range.end || range.end > bytes.len() {
            return;
        }
        let page = page_size();
        let base = bytes.as_ptr() as usize;
        // Whole pages from the one holding `range.start` (or the first one
        // wholly after `keep_before`) to the one holding its last byte. The
        // mapping covers whole pages, so these are all mapped.
        let start = ((base + range.start) & !(page - 1))
            .max((base + keep_before.min(bytes.len())).next_multiple_of(page));
        let end = (base + range.end).next_multiple_of(page);
        if start >= end {
            return;
        }
        #[cfg(unix)]
        // SAFETY: [start, end) lies in pages of a read-only, file-backed
        // mapping this backing owns (a `memmap2::Mmap`, PROT_READ, never
        // written), mapped for as long as `self` lives. MADV_DONTNEED on
        // such a mapping only removes the pages from this process's page
        // tables; the next access to them faults in the same bytes from the
        // page cache (or the file), so every `&[u8]` into the mapping stays
        // valid and keeps reading the same contents. Failure leaves the
        // pages resident, which is harmless, so the result is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }

    /// Whether the bytes are a file mapping.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Backing::Mapped(_))
    }
}

/// The size of a memory page.
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf only reads a system constant.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size)
            .ok()
            .filter(|size| size.is_power_of_two())
            .unwrap_or(4096)
    })
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

    /// Whether the page holding `address` is mapped into this process
    /// (bit 63 of its `/proc/self/pagemap` entry).
    #[cfg(target_os = "linux")]
    fn resident(address: usize) -> bool {
        use std::io::{Read, Seek, SeekFrom};
        let mut pagemap = File::open("/proc/self/pagemap").unwrap();
        let entry = (address / page_size() * 8) as u64;
        pagemap.seek(SeekFrom::Start(entry)).unwrap();
        let mut word = [0u8; 8];
        pagemap.read_exact(&mut word).unwrap();
        u64::from_le_bytes(word) >> 63 == 1
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8 + 1).collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn released_pages_of_a_mapped_file_leave_the_process_and_read_back_unchanged() {
        let page = page_size();
        let expected = pattern(16 * page);
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, &expected).unwrap();
        let backing = Backing::map(file.path()).unwrap();
        let bytes = backing.bytes();
        let sum = |range: Range<usize>| bytes[range].iter().map(|&b| u64::from(b)).sum::<u64>();
        assert!(sum(0..bytes.len()) > 0);
        let base = bytes.as_ptr() as usize;
        assert!(
            (0..16).all(|p| resident(base + p * page)),
            "every page was read"
        );

        // Bytes 4.5 to 8.25 pages in: pages 4 to 8 go; keep_before protects
        // the page holding byte 6 pages + 1.
        backing.release(page * 9 / 2..page * 33 / 4, 6 * page + 1);
        let after: Vec<bool> = (0..16).map(|p| resident(base + p * page)).collect();
        assert_eq!(
            after,
            (0..16).map(|p| !(7..=8).contains(&p)).collect::<Vec<_>>(),
            "pages 7 and 8 released, page 6 (before keep_before) and the rest kept"
        );
        assert_eq!(
            backing.bytes(),
            &expected[..],
            "released pages read back unchanged"
        );

        // Nothing for an empty, reversed or out-of-bounds range.
        backing.release(3 * page..3 * page, 0);
        #[allow(clippy::reversed_empty_ranges)]
        backing.release(5 * page..page, 0);
        backing.release(0..17 * page, 0);
        assert!(resident(base + 3 * page) && resident(base));
    }

    #[test]
    fn memory_that_is_not_a_file_mapping_is_never_released() {
        // MADV_DONTNEED on anonymous memory would hand back zeroes.
        let page = page_size();
        let expected = pattern(8 * page);
        let owned = Backing::Owned(Box::new(expected.clone()));
        owned.release(0..8 * page, 0);
        assert_eq!(owned.bytes(), &expected[..]);
        let borrowed = Backing::Borrowed(&expected);
        borrowed.release(0..8 * page, 0);
        assert_eq!(borrowed.bytes(), &pattern(8 * page)[..]);
        let shared = Backing::Shared(SharedBytes::whole(Arc::new(expected.clone())));
        shared.release(0..8 * page, 0);
        assert_eq!(shared.bytes(), &expected[..]);
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
