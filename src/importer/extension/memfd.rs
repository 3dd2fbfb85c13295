//! Shared objects in anonymous memory files (`memfd_create`), and the
//! process-wide record of those already handed to the dynamic linker.
//!
//! A memory file has no name in any file system, but it has a path the
//! dynamic linker can open: `/proc/self/fd/<N>`. Its mappings show in
//! `/proc/self/maps` as `/memfd:pyembed:<name> (deleted)`.
//!
//! # Why the files stay open
//!
//! glibc's `dlopen` first compares the path it is given, as a string, with
//! the names of the objects already loaded, and returns a match without
//! opening anything. If a memory file were closed after loading, the next
//! memory file could get the same descriptor number, hence the same
//! `/proc/self/fd/<N>` path, and `dlopen` would hand back the *first*
//! library. CPython also keys its cache of single-phase-init extension
//! modules by (path, name), and looks there before loading again. So every
//! memory file that reached `dlopen` stays open for the life of the process
//! (close-on-exec, so children started by `exec` do not inherit it), and a
//! second import of the same module from the same container reuses its path,
//! exactly as a second import of a file would. That costs one descriptor
//! per loaded extension module or library.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, PoisonError};

/// `MFD_EXEC` (Linux 6.3): asks for an executable memory file explicitly,
/// which `vm.memfd_noexec = 1` requires. Older kernels reject the flag.
const MFD_EXEC: libc::c_uint = 0x0010;

/// An anonymous memory file holding one shared object, sealed against
/// changes once written.
#[derive(Debug)]
pub(crate) struct MemoryFile {
    file: std::fs::File,
}

impl MemoryFile {
    /// A memory file named `pyembed:<name>` holding `bytes`.
    pub(crate) fn new(name: &str, bytes: &[u8]) -> io::Result<MemoryFile> {
        // Linux limits the name to 249 bytes; it is only a label.
        let mut label = format!("pyembed:{name}");
        if label.len() > 200 {
            let mut end = 200;
            while !label.is_char_boundary(end) {
                end -= 1;
            }
            label.truncate(end);
        }
        let label = CString::new(label).map_err(io::Error::other)?;
        let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
        // SAFETY: `label` is a valid NUL-terminated string that outlives the
        // call; the flags are plain bits.
        let mut fd = unsafe { libc::memfd_create(label.as_ptr(), flags | MFD_EXEC) };
        if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            // SAFETY: as above, without the flag kernels before 6.3 lack.
            fd = unsafe { libc::memfd_create(label.as_ptr(), flags) };
        }
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by memfd_create and nothing else
        // owns it.
        let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        file.write_all(bytes)?;
        let seals =
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: fcntl on a descriptor this function owns; F_ADD_SEALS
        // takes an int argument.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(MemoryFile { file })
    }

    /// The path through which the dynamic linker opens the file.
    pub(crate) fn path(&self) -> String {
        format!("/proc/self/fd/{}", self.file.as_raw_fd())
    }
}

/// Memory files that reached `dlopen`, by (resource name, content digest of
/// the container holding it). The content digest commits to every byte of
/// the container, so the pair names the bytes without hashing them again.
/// Never shrinks: see the module docs.
static LOADED: Mutex<BTreeMap<(String, [u8; 32]), MemoryFile>> = Mutex::new(BTreeMap::new());

/// The path of a memory file holding `bytes`, extension module `name` of
/// the container whose content digest is `container`: the one made by an
/// earlier import of the same module, or a new one, which is then kept
/// (CPython is about to `dlopen` it).
pub(crate) fn extension_file(
    name: &str,
    container: [u8; 32],
    label: &str,
    bytes: &[u8],
) -> io::Result<String> {
    let key = (name.to_owned(), container);
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(file) = loaded.get(&key) {
        return Ok(file.path());
    }
    let file = MemoryFile::new(label, bytes)?;
    let path = file.path();
    loaded.insert(key, file);
    Ok(path)
}

/// Why a shared library could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// The memory file could not be made.
    #[error("cannot create a memory file (memfd_create): {0}")]
    MemoryFile(#[source] io::Error),
    /// The dynamic linker refused it.
    #[error("{0}")]
    Dlopen(String),
}

/// Loads shared library `name` (a resource name in the container whose
/// content digest is `container`) from `bytes` with `RTLD_NOW |
/// RTLD_GLOBAL`, once per process: objects loaded later that need its
/// soname get this copy. A library that fails to load leaves nothing
/// behind.
pub(crate) fn load_library(
    name: &str,
    container: [u8; 32],
    label: &str,
    bytes: &[u8],
) -> Result<(), LoadError> {
    let key = (name.to_owned(), container);
    // The lock is held across dlopen so two threads cannot load the same
    // library twice; dlopen of a plain library runs only its constructors,
    // which do not call back into this module.
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if loaded.contains_key(&key) {
        return Ok(());
    }
    let file = MemoryFile::new(label, bytes).map_err(LoadError::MemoryFile)?;
    let path = CString::new(file.path()).map_err(|e| LoadError::Dlopen(e.to_string()))?;
    // SAFETY: `path` is NUL-terminated and outlives the call. Loading runs
    // the library's initialisers; that is what loading a library the
    // program asked for means, as with any dlopen.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    if handle.is_null() {
        return Err(LoadError::Dlopen(last_dlerror()));
    }
    // The handle is never closed: the library stays loaded for the life of
    // the process, like every extension module.
    loaded.insert(key, file);
    Ok(())
}

/// `dlerror()`'s message, or a placeholder when it has none.
fn last_dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until
    // the next dl* call on this thread; it is copied at once.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        return "dlopen failed without a message".to_owned();
    }
    // SAFETY: non-null, NUL-terminated, not freed before the copy below.
    unsafe { CStr::from_ptr(message) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_file_holds_the_bytes_and_is_sealed() {
        let file = MemoryFile::new("test.so", b"hello memory").expect("memfd_create works here");
        let read = std::fs::read(file.path()).expect("readable through /proc/self/fd");
        assert_eq!(read, b"hello memory");
        let mut writer = std::fs::OpenOptions::new()
            .write(true)
            .open(file.path())
            .expect("opens for writing");
        assert!(writer.write_all(b"x").is_err(), "the seal refuses writes");
        let link = std::fs::read_link(file.path()).expect("a link");
        assert!(
            link.to_string_lossy().starts_with("/memfd:pyembed:test.so"),
            "{link:?}"
        );
    }

    #[test]
    fn garbage_fails_to_load_with_the_linkers_message() {
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        let error = load_library("garbage.so", [0; 32], "garbage.so", &garbage).unwrap_err();
        assert!(error.to_string().contains("invalid ELF header"), "{error}");
        // Nothing was kept.
        let loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(!loaded.keys().any(|(name, _)| name == "garbage.so"));
    }
}
