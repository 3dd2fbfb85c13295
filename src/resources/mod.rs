//! The packed-resources container: how Python code and data are stored in,
//! and read back out of, one verified blob.
//!
//! # The shape of a container
//!
//! ```text
//!  offset 0      ┌──────────────────────────────┐
//!                │ header (128 bytes)           │ magic, version, flags, lengths,
//!                │                              │ SHA-256 of index, SHA-256 of itself
//!  offset 128    ├──────────────────────────────┤
//!                │ index                        │ regions + digests, tier-0 chunk
//!                │                              │ digests, tier-1 groups and names
//!                ├──────────────────────────────┤
//!                │ zero padding to 4096         │
//!  4096·k        ├──────────────────────────────┤
//!                │ tier 0: python-packed-       │ raw, memory-mappable, served
//!                │ resources v3 blob            │ as slices with no copy
//!                ├──────────────────────────────┤
//!                │ zstd dictionary (optional)   │
//!                ├──────────────────────────────┤
//!                │ tier 1: zstd frames, one per │ decompressed per group on
//!                │ group of v3 blobs (optional) │ first access, then cached
//!                └──────────────────────────────┘
//! ```
//!
//! `docs/format.md` is the byte-level specification; the module docs of
//! [`header`], [`index`] and `packed` carry the same tables next to the code
//! that implements them.
//!
//! # Trust, lazily
//!
//! Opening a container checks the header (its own SHA-256), the index (its
//! SHA-256 is in the header) and the few tier-0 chunks holding tier 0's own
//! indices and names. Nothing else is read. When a resource is asked for, the
//! chunks its bytes live in are hashed and compared with the index, once per
//! chunk thanks to a bitmap of atomics; a tier-1 resource's group is
//! decompressed once, with its compressed and decompressed bytes both
//! checked. Work is proportional to what is read, not to the container's
//! size. [`Container::verify_all`] does everything at once.
//!
//! # Example
//!
//! ```
//! use std::borrow::Cow;
//! use pyembed::resources::{
//!     Container, ContainerWriter, DataField, PackedResourcesSource, Tier, WriteOptions,
//! };
//! use python_packed_resources::Resource;
//!
//! let module = |name: &'static str, bytecode: &'static [u8]| Resource {
//!     name: Cow::Borrowed(name),
//!     is_python_module: true,
//!     in_memory_bytecode: Some(Cow::Borrowed(bytecode)),
//!     ..Resource::default()
//! };
//! let mut writer = ContainerWriter::new(WriteOptions::default());
//! writer.add(module("app", b"hot bytecode"), Tier::Raw)?;
//! writer.add(module("app.rarely_used", b"cold bytecode"), Tier::Compressed)?;
//! let bytes = writer.write()?;
//!
//! let container = Container::open(&PackedResourcesSource::Memory(&bytes))?;
//! println!("content digest {}", container.content_digest());
//! assert_eq!(
//!     container.data("app", DataField::Bytecode)?,
//!     Some(&b"hot bytecode"[..])
//! );
//! let cold = container.resource("app.rarely_used")?.expect("present");
//! assert_eq!(cold.in_memory_bytecode.as_deref(), Some(&b"cold bytecode"[..]));
//! container.verify_all()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cursor;
mod digest;
mod error;
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
mod image;
pub mod index;
mod packed;
mod reader;
mod source;
mod state;
mod tier1;
pub mod trailer;
mod verify;
mod writer;

pub use digest::{DIGEST_LEN, Digest};
pub use error::{ContainerError, FormatError, Location, Region, Space, WriteError};
pub use header::{Header, HeaderFlags};
pub use index::{GroupDescriptor, Layout, RegionDescriptor, Tier};
pub use packed::{DataField, ResourceFlags};
pub use reader::{AccessStats, Container, ResourceSummary, VerificationReport};
pub use source::{PackedResourcesSource, SharedBytes};
pub use state::{
    DEFAULT_VERIFY_AHEAD_AFTER, Found, IndexEntry, IndexedSource, PythonResourcesState,
    VERIFY_AHEAD_VARIABLE, verify_ahead_after,
};
pub use writer::{
    ContainerWriter, DEFAULT_COMPRESSION_LEVEL, DEFAULT_DICTIONARY_SIZE, DEFAULT_GROUP_TARGET_SIZE,
    DictionaryPolicy, WriteOptions, write_container,
};

mod audit;
mod diff;

pub use audit::{Audit, DamagedResource, ResourceFailure};
pub use diff::{
    Blob, Change, ContainerDiff, LayoutChange, LayoutValue, ResourceChange, ResourceEntry,
    ValueChange, diff,
};
