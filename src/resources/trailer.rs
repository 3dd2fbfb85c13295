//! Containers appended to an executable: the payload and its trailer.
//!
//! `pyembed build` turns a launcher executable into an application by
//! appending a *payload*: one or more containers, a small build-configuration
//! section, and a fixed-size trailer that ends the file. The operating system
//! loads the executable as usual (the ELF program headers do not cover the
//! payload); at run time the launcher maps its own file once and finds the
//! payload from the end.
//!
//! ```text
//!  0              ┌──────────────────────────────┐
//!                 │ launcher executable          │ unchanged bytes
//!  payload start  ├──────────────────────────────┤
//!                 │ zero padding to 4096         │
//!  4096·k         ├──────────────────────────────┤
//!                 │ container 1 (e.g. stdlib)    │ each starts on a page boundary,
//!                 ├ zero padding to 4096 ────────┤ so its tier 0 is page-aligned
//!                 │ container 2 (the app)        │ in the map, as in its own file
//!  table offset   ├──────────────────────────────┤
//!                 │ container table              │ count × (offset u64, length u64)
//!  config offset  ├──────────────────────────────┤
//!                 │ build configuration          │ UTF-8 text, see crate::launcher
//!  end − 96       ├──────────────────────────────┤
//!                 │ trailer (96 bytes)           │
//!  end            └──────────────────────────────┘
//! ```
//!
//! The trailer (all integers little-endian; offsets are from the start of
//! the file):
//!
//! | offset | size | field | value |
//! |-------:|-----:|-------|-------|
//! | 0  | 8  | magic             | `89 50 59 45 58 45 0d 0a` (`\x89PYEXE\r\n`) |
//! | 8  | 4  | version           | 1 |
//! | 12 | 4  | container count   | 1 ..= 64 |
//! | 16 | 8  | payload start     | end of the launcher's own bytes |
//! | 24 | 8  | table offset      | first byte of the container table |
//! | 32 | 8  | config offset     | `table offset + 16 · count` |
//! | 40 | 8  | config length     | bytes, ≤ 64 KiB; the config ends where the trailer starts |
//! | 48 | 32 | SHA-256           | of trailer bytes 8..48, the table and the configuration, concatenated |
//! | 80 | 16 | reserved          | zero |
//!
//! Containers are listed in priority order (an earlier container's names
//! win) and must lie between the payload start and the table, ascending and
//! disjoint, each on a 4096-byte boundary. The digest covers the trailer's
//! fields, the table and the configuration; each container carries its own digests (its header is
//! checked when it is opened, its bytes when they are read), so every byte
//! of the payload but the padding and the trailer is covered by a digest,
//! and the trailer's fields are checked against each other and the file
//! size. [`locate`] checks all of that and never panics or reads out of
//! bounds, whatever the input: the bytes come from a file anyone may edit.

use std::ops::Range;

use super::digest::Digest;

/// The eight bytes a trailer starts with.
pub const TRAILER_MAGIC: [u8; 8] = *b"\x89PYEXE\r\n";

/// The trailer format version this crate reads and writes.
pub const TRAILER_VERSION: u32 = 1;

/// Size of the trailer in bytes.
pub const TRAILER_LEN: usize = 96;

/// Alignment of every appended container (the common page size).
pub const CONTAINER_ALIGNMENT: u64 = 4096;

/// Most containers one payload may list.
pub const MAX_CONTAINERS: u32 = 64;

/// Largest build-configuration section.
pub const MAX_CONFIG_LEN: u64 = 64 * 1024;

const TABLE_ENTRY_LEN: u64 = 16;

/// Why a file's payload could not be located.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The file does not end with a trailer: a launcher without a payload,
    /// a built executable copied or downloaded incompletely, or some other
    /// file.
    #[error(
        "no pyembed payload at the end of the file (no trailer magic in its last {TRAILER_LEN} \
         bytes): it is a bare launcher, an executable copied without its payload, or a \
         truncated copy"
    )]
    Missing,
    /// A trailer of a format version this crate does not read.
    #[error(
        "the payload trailer has format version {found}; this build reads version {TRAILER_VERSION}"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// A trailer field is inconsistent with the file or the other fields.
    #[error("the payload trailer is invalid: {field} is {value}, but {requirement}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// Its value.
        value: u64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// The trailer's fields, the container table or the build configuration
    /// do not match the digest in the trailer.
    #[error(
        "the payload's trailer, container table or build configuration was modified after building: \
         expected SHA-256 {expected}, computed {actual}"
    )]
    DigestMismatch {
        /// The digest in the trailer.
        expected: Digest,
        /// The digest of the bytes present.
        actual: Digest,
    },
}

/// Where a payload's parts lie in the file, as byte ranges of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// The launcher's own bytes: everything before the payload.
    pub launcher: Range<usize>,
    /// The containers, in priority order.
    pub containers: Vec<Range<usize>>,
    /// The build-configuration section.
    pub config: Range<usize>,
    /// The digest of the trailer's fields, the container table and the
    /// configuration, from the trailer (and verified).
    pub digest: Digest,
}

/// Whether `bytes` end with something that looks like a trailer (its magic).
/// [`locate`] says whether it is a valid one.
pub fn has_trailer(bytes: &[u8]) -> bool {
    bytes.len() >= TRAILER_LEN && bytes[bytes.len() - TRAILER_LEN..].starts_with(&TRAILER_MAGIC)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(raw)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(raw)
}

fn invalid(field: &'static str, value: u64, requirement: &'static str) -> PayloadError {
    PayloadError::Invalid {
        field,
        value,
        requirement,
    }
}

/// Finds and checks the payload at the end of `file` (a whole executable).
///
/// Checks the trailer's magic, version and every offset and length against
/// each other and the file size, then the digest of the container table and
/// configuration. Containers themselves are not opened: their headers are
/// checked when they are (see [`super::Container`]).
pub fn locate(file: &[u8]) -> Result<Payload, PayloadError> {
    if !has_trailer(file) {
        return Err(PayloadError::Missing);
    }
    let file_len = file.len() as u64;
    let trailer_at = file.len() - TRAILER_LEN;
    let trailer = &file[trailer_at..];
    let version = u32_at(trailer, 8);
    if version != TRAILER_VERSION {
        return Err(PayloadError::UnsupportedVersion { found: version });
    }
    let count = u32_at(trailer, 12);
    let payload_start = u64_at(trailer, 16);
    let table_offset = u64_at(trailer, 24);
    let config_offset = u64_at(trailer, 32);
    let config_length = u64_at(trailer, 40);
    let mut expected = [0u8; 32];
    expected.copy_from_slice(&trailer[48..80]);
    let expected = Digest(expected);
    if trailer[80..].iter().any(|&b| b != 0) {
        return Err(invalid(
            "the reserved field",
            0,
            "its 16 bytes must be zero",
        ));
    }
    if count == 0 || count > MAX_CONTAINERS {
        return Err(invalid(
            "the container count",
            count.into(),
            "it must be between 1 and 64",
        ));
    }
    if config_length > MAX_CONFIG_LEN {
        return Err(invalid(
            "the config length",
            config_length,
            "it must be at most 65536",
        ));
    }
    // The configuration ends where the trailer starts.
    if config_offset.checked_add(config_length) != Some(trailer_at as u64) {
        return Err(invalid(
            "the config offset",
            config_offset,
            "the configuration must end where the trailer starts",
        ));
    }
    let table_length = u64::from(count) * TABLE_ENTRY_LEN;
    if table_offset.checked_add(table_length) != Some(config_offset) {
        return Err(invalid(
            "the table offset",
            table_offset,
            "the container table must end where the configuration starts",
        ));
    }
    if payload_start > table_offset {
        return Err(invalid(
            "the payload start",
            payload_start,
            "it must not lie after the container table",
        ));
    }
    // All of these are below `trailer_at`, hence in bounds and `usize`.
    let (table_offset, config_offset, payload_start) = (
        table_offset as usize,
        config_offset as usize,
        payload_start as usize,
    );
    let table = &file[table_offset..config_offset];
    let config = config_offset..trailer_at;
    let actual = Digest::of_parts(&[&trailer[8..48], table, &file[config.clone()]]);
    if actual != expected {
        return Err(PayloadError::DigestMismatch { expected, actual });
    }

    let mut containers = Vec::with_capacity(count as usize);
    let mut previous_end = payload_start as u64;
    for entry in table.chunks_exact(TABLE_ENTRY_LEN as usize) {
        let offset = u64_at(entry, 0);
        let length = u64_at(entry, 8);
        if offset % CONTAINER_ALIGNMENT != 0 {
            return Err(invalid(
                "a container offset",
                offset,
                "containers must start on a 4096-byte boundary",
            ));
        }
        if offset < previous_end {
            return Err(invalid(
                "a container offset",
                offset,
                "containers must follow the launcher and each other without overlapping",
            ));
        }
        let end = offset
            .checked_add(length)
            .filter(|end| *end <= table_offset as u64)
            .ok_or_else(|| {
                invalid(
                    "a container length",
                    length,
                    "the container must end before the container table",
                )
            })?;
        if length == 0 {
            return Err(invalid(
                "a container length",
                0,
                "a container is never empty",
            ));
        }
        containers.push(offset as usize..end as usize);
        previous_end = end;
    }
    debug_assert!(file_len >= previous_end);
    Ok(Payload {
        launcher: 0..payload_start,
        containers,
        config,
        digest: expected,
    })
}

/// Appends `containers` (in priority order) and `config` to `launcher`,
/// returning the bytes of the complete executable.
///
/// Fails when `launcher` already ends with a trailer (build from the bare
/// launcher instead), when there are no or too many containers, or when the
/// configuration is too large. The output depends only on the inputs.
pub fn assemble(
    launcher: &[u8],
    containers: &[&[u8]],
    config: &[u8],
) -> Result<Vec<u8>, PayloadError> {
    if has_trailer(launcher) {
        return Err(invalid(
            "the launcher",
            launcher.len() as u64,
            "it already carries a payload; build from the bare launcher",
        ));
    }
    if containers.is_empty() || containers.len() > MAX_CONTAINERS as usize {
        return Err(invalid(
            "the container count",
            containers.len() as u64,
            "it must be between 1 and 64",
        ));
    }
    if config.len() as u64 > MAX_CONFIG_LEN {
        return Err(invalid(
            "the config length",
            config.len() as u64,
            "it must be at most 65536",
        ));
    }
    let align = |out: &mut Vec<u8>| {
        let padded = (out.len() as u64).div_ceil(CONTAINER_ALIGNMENT) * CONTAINER_ALIGNMENT;
        out.resize(padded as usize, 0);
    };
    let total: usize = containers.iter().map(|c| c.len()).sum();
    let mut out = Vec::with_capacity(
        launcher.len() + total + (containers.len() + 1) * 4096 + config.len() + 4096,
    );
    out.extend_from_slice(launcher);
    let payload_start = out.len() as u64;
    let mut table = Vec::with_capacity(containers.len() * TABLE_ENTRY_LEN as usize);
    for container in containers {
        if container.is_empty() {
            return Err(invalid(
                "a container length",
                0,
                "a container is never empty",
            ));
        }
        align(&mut out);
        table.extend_from_slice(&(out.len() as u64).to_le_bytes());
        table.extend_from_slice(&(container.len() as u64).to_le_bytes());
        out.extend_from_slice(container);
    }
    let table_offset = out.len() as u64;
    out.extend_from_slice(&table);
    let config_offset = out.len() as u64;
    out.extend_from_slice(config);
    let mut fields = Vec::with_capacity(40);
    fields.extend_from_slice(&TRAILER_VERSION.to_le_bytes());
    fields.extend_from_slice(&(containers.len() as u32).to_le_bytes());
    fields.extend_from_slice(&payload_start.to_le_bytes());
    fields.extend_from_slice(&table_offset.to_le_bytes());
    fields.extend_from_slice(&config_offset.to_le_bytes());
    fields.extend_from_slice(&(config.len() as u64).to_le_bytes());
    let digest = Digest::of_parts(&[&fields, &table, config]);

    out.extend_from_slice(&TRAILER_MAGIC);
    out.extend_from_slice(&fields);
    out.extend_from_slice(digest.as_bytes());
    out.extend_from_slice(&[0u8; 16]);
    debug_assert!(has_trailer(&out));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<u8>, Payload) {
        let launcher = vec![0x7f; 5000];
        let one = vec![1u8; 3000];
        let two = vec![2u8; 10];
        let out = assemble(&launcher, &[&one, &two], b"mode=python\n").unwrap();
        let payload = locate(&out).unwrap();
        (out, payload)
    }

    #[test]
    fn round_trip() {
        let (out, payload) = sample();
        assert_eq!(payload.launcher, 0..5000);
        assert_eq!(payload.containers, vec![8192..11192, 12288..12298]);
        assert!(out[8192..11192].iter().all(|&b| b == 1));
        assert_eq!(&out[payload.config.clone()], b"mode=python\n");
        assert_eq!(payload.config.end, out.len() - TRAILER_LEN);
        assert!(out[5000..8192].iter().all(|&b| b == 0), "zero padding");
    }

    #[test]
    fn every_truncation_is_refused() {
        let (out, _) = sample();
        for len in 0..out.len() {
            assert!(locate(&out[..len]).is_err(), "truncated to {len}");
        }
        let mut longer = out.clone();
        longer.push(0);
        assert_eq!(locate(&longer), Err(PayloadError::Missing));
    }

    #[test]
    fn every_flipped_bit_in_table_config_or_trailer_is_refused() {
        let (out, payload) = sample();
        let table_start = payload.containers.last().unwrap().end;
        for at in table_start..out.len() {
            for bit in 0..8 {
                let mut damaged = out.clone();
                damaged[at] ^= 1 << bit;
                assert!(locate(&damaged).is_err(), "byte {at} bit {bit}");
            }
        }
    }

    #[test]
    fn a_launcher_with_a_payload_is_refused() {
        let (out, _) = sample();
        let error = assemble(&out, &[b"x"], b"").unwrap_err();
        assert!(
            error.to_string().contains("already carries a payload"),
            "{error}"
        );
        assert!(assemble(b"launcher", &[], b"").is_err());
        assert!(assemble(b"launcher", &[b""], b"").is_err());
    }

    #[test]
    fn hostile_trailers_do_not_panic() {
        // A trailer whose fields are all extreme values.
        for fill in [0u8, 0xff, 0x80] {
            let mut bytes = vec![fill; 4096];
            let at = bytes.len() - TRAILER_LEN;
            bytes[at..at + 8].copy_from_slice(&TRAILER_MAGIC);
            bytes[at + 8..at + 12].copy_from_slice(&1u32.to_le_bytes());
            assert!(locate(&bytes).is_err());
        }
    }
}
