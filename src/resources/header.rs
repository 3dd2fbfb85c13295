//! The fixed 128-byte header at the start of every container.
//!
//! The header is the root of trust: it carries the SHA-256 of the index, the
//! index carries the SHA-256 of every region and of every tier-0 chunk, and
//! the last 32 bytes of the header are the SHA-256 of the 96 bytes before
//! them. That last digest therefore commits to every byte of the container
//! (given that the reader also insists all padding is zero), and it is what
//! [`Container::content_digest`](super::Container::content_digest) returns.
//!
//! | offset | size | field | value |
//! |-------:|-----:|-------|-------|
//! | 0   | 8  | magic            | `89 50 59 52 43 0d 0a 1a` (`\x89PYRC\r\n\x1a`) |
//! | 8   | 4  | version          | 1 |
//! | 12  | 4  | flags            | bit 0 tier 1 present, bit 1 dictionary present |
//! | 16  | 8  | container length | total bytes, header included |
//! | 24  | 4  | header length    | 128 |
//! | 28  | 4  | chunk size       | power of two, 4 KiB ..= 1 MiB |
//! | 32  | 8  | index offset     | 128 |
//! | 40  | 8  | index length     | bytes |
//! | 48  | 32 | index SHA-256    | |
//! | 80  | 16 | reserved         | zero |
//! | 96  | 32 | header SHA-256   | SHA-256 of bytes 0..96 |
//!
//! All integers are little-endian. The magic borrows PNG's trick: a high-bit
//! first byte and a CR LF / Ctrl-Z tail, so text-mode transfers that mangle
//! line endings or 8-bit bytes are caught as a bad magic rather than as an
//! obscure digest failure.

use super::{
    cursor::Cursor,
    digest::Digest,
    error::{ContainerError, FormatError, Location, Mismatch, Region, Space},
};

/// The eight bytes every container starts with.
pub const MAGIC: [u8; 8] = *b"\x89PYRC\r\n\x1a";

/// The container format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 128;

/// Alignment of tier 0 within the container (the common page size).
pub const TIER0_ALIGNMENT: u64 = 4096;

/// Smallest allowed chunk size.
pub const MIN_CHUNK_SIZE: u32 = 4096;

/// Largest allowed chunk size.
pub const MAX_CHUNK_SIZE: u32 = 1 << 20;

/// Chunk size the writer uses unless told otherwise (16 KiB; see
/// `docs/format.md` for the measurements behind it).
pub const DEFAULT_CHUNK_SIZE: u32 = 16 * 1024;

// Field offsets, shared by the encoder, the parser and its error messages.
const VERSION_AT: usize = 8;
const FLAGS_AT: usize = 12;
const CONTAINER_LENGTH_AT: usize = 16;
const HEADER_LENGTH_AT: usize = 24;
const CHUNK_SIZE_AT: usize = 28;
const INDEX_OFFSET_AT: usize = 32;
const INDEX_LENGTH_AT: usize = 40;
const INDEX_DIGEST_AT: usize = 48;
const RESERVED_AT: usize = 80;
const HEADER_DIGEST_AT: usize = 96;

/// Feature bits in the header.
///
/// A reader must reject bits it does not know: a flag can change how the rest
/// of the container is interpreted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HeaderFlags(u32);

impl HeaderFlags {
    /// Tier 1 (zstd-compressed groups) is present.
    pub const TIER1: HeaderFlags = HeaderFlags(1 << 0);
    /// Tier-1 groups are compressed with a zstd dictionary stored in the
    /// container.
    pub const DICTIONARY: HeaderFlags = HeaderFlags(1 << 1);
    /// Tier-1 module sources are in groups of their own, after the groups
    /// holding everything else (so importing never decompresses sources).
    pub const SOURCE_GROUPS: HeaderFlags = HeaderFlags(1 << 2);
    const KNOWN: u32 = Self::TIER1.0 | Self::DICTIONARY.0 | Self::SOURCE_GROUPS.0;

    /// No flags.
    pub const fn empty() -> HeaderFlags {
        HeaderFlags(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Flags from raw bits, or `None` if an unknown bit is set.
    pub const fn from_bits(bits: u32) -> Option<HeaderFlags> {
        if bits & !Self::KNOWN == 0 {
            Some(HeaderFlags(bits))
        } else {
            None
        }
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: HeaderFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The names of the set flags (`tier1`, `dictionary`, `source-groups`),
    /// in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (Self::TIER1, "tier1"),
            (Self::DICTIONARY, "dictionary"),
            (Self::SOURCE_GROUPS, "source-groups"),
        ]
        .into_iter()
        .filter(move |(flag, _)| self.contains(*flag))
        .map(|(_, name)| name)
    }

    /// The union of both sets of flags.
    pub const fn union(self, other: HeaderFlags) -> HeaderFlags {
        HeaderFlags(self.0 | other.0)
    }
}

/// The decoded, validated header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Feature flags.
    pub flags: HeaderFlags,
    /// Total container length in bytes.
    pub container_length: u64,
    /// Tier-0 chunk size in bytes.
    pub chunk_size: u32,
    /// Length of the index, which starts right after the header.
    pub index_length: u64,
    /// SHA-256 of the index.
    pub index_digest: Digest,
    /// SHA-256 of header bytes 0..96: the container's content digest.
    pub header_digest: Digest,
}

impl Header {
    /// Container offset of the index.
    pub const INDEX_OFFSET: u64 = HEADER_LEN as u64;

    /// Encodes the header, computing its self-digest.
    pub(crate) fn encode(
        flags: HeaderFlags,
        container_length: u64,
        chunk_size: u32,
        index_length: u64,
        index_digest: Digest,
    ) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..VERSION_AT].copy_from_slice(&MAGIC);
        put(&mut out, VERSION_AT, &FORMAT_VERSION.to_le_bytes());
        put(&mut out, FLAGS_AT, &flags.bits().to_le_bytes());
        put(
            &mut out,
            CONTAINER_LENGTH_AT,
            &container_length.to_le_bytes(),
        );
        put(
            &mut out,
            HEADER_LENGTH_AT,
            &(HEADER_LEN as u32).to_le_bytes(),
        );
        put(&mut out, CHUNK_SIZE_AT, &chunk_size.to_le_bytes());
        put(&mut out, INDEX_OFFSET_AT, &Self::INDEX_OFFSET.to_le_bytes());
        put(&mut out, INDEX_LENGTH_AT, &index_length.to_le_bytes());
        put(&mut out, INDEX_DIGEST_AT, index_digest.as_bytes());
        // Bytes RESERVED_AT..HEADER_DIGEST_AT stay zero.
        let digest = Digest::of(&out[..HEADER_DIGEST_AT]);
        put(&mut out, HEADER_DIGEST_AT, digest.as_bytes());
        out
    }

    /// Parses and validates the header at the start of `bytes`, which must be
    /// the whole container.
    ///
    /// Checks, in order: the magic, the version (so a newer container gets a
    /// version error rather than a digest error), the header digest, every
    /// field, and finally that `bytes` is exactly as long as declared.
    pub fn parse(bytes: &[u8]) -> Result<Header, ContainerError> {
        let header = Header::parse_prefix(bytes)?;
        let available = bytes.len() as u64;
        if header.container_length < available {
            return Err(FormatError::TrailingData {
                declared: header.container_length,
                actual: available,
            }
            .into());
        }
        if header.container_length > available {
            return Err(FormatError::Truncated {
                what: "container",
                at: Location::container(0),
                needed: header.container_length,
                available,
            }
            .into());
        }
        Ok(header)
    }

    /// Parses and validates a header from the first [`HEADER_LEN`] bytes of
    /// `bytes`, which may be only a prefix of the container or be followed
    /// by other data.
    ///
    /// For locating a container inside a larger file: the verified
    /// [`container_length`](Header::container_length) says how many bytes to
    /// hand to [`Container::from_bytes`](super::Container::from_bytes).
    pub fn parse_prefix(bytes: &[u8]) -> Result<Header, ContainerError> {
        let mut cursor = Cursor::new(bytes, Space::Container, 0);
        let magic = cursor.array::<8>("magic")?;
        if magic != MAGIC {
            return Err(FormatError::BadMagic { found: magic }.into());
        }
        let version = cursor.u32("format version")?;
        if version != FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion { found: version }.into());
        }
        let header = bytes.get(..HEADER_LEN).ok_or(FormatError::Truncated {
            what: "header",
            at: Location::container(0),
            needed: HEADER_LEN as u64,
            available: bytes.len() as u64,
        })?;
        let expected = Digest::read(&header[HEADER_DIGEST_AT..]).unwrap_or_default();
        let actual = Digest::of(&header[..HEADER_DIGEST_AT]);
        if expected != actual {
            return Err(Mismatch {
                region: Region::Header,
                expected,
                actual,
            }
            .into());
        }

        let flags_bits = cursor.u32("flags")?;
        let flags = HeaderFlags::from_bits(flags_bits).ok_or(FormatError::Invalid {
            field: "header flags",
            at: Location::container(FLAGS_AT as u64),
            actual: u64::from(flags_bits),
            requirement: "only bits 0 (tier 1), 1 (dictionary) and 2 (source groups) are defined",
        })?;
        for (flag, requirement) in [
            (
                HeaderFlags::DICTIONARY,
                "the dictionary flag requires the tier-1 flag",
            ),
            (
                HeaderFlags::SOURCE_GROUPS,
                "the source-groups flag requires the tier-1 flag",
            ),
        ] {
            if flags.contains(flag) && !flags.contains(HeaderFlags::TIER1) {
                return Err(FormatError::Invalid {
                    field: "header flags",
                    at: Location::container(FLAGS_AT as u64),
                    actual: u64::from(flags_bits),
                    requirement,
                }
                .into());
            }
        }
        let container_length = cursor.u64("container length")?;
        let header_length = cursor.u32("header length")?;
        expect(
            "header length",
            HEADER_LENGTH_AT,
            HEADER_LEN as u64,
            header_length.into(),
        )?;
        let chunk_size = cursor.u32("chunk size")?;
        if !chunk_size.is_power_of_two() || !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size)
        {
            return Err(FormatError::Invalid {
                field: "chunk size",
                at: Location::container(CHUNK_SIZE_AT as u64),
                actual: chunk_size.into(),
                requirement: "it must be a power of two from 4096 to 1048576",
            }
            .into());
        }
        let index_offset = cursor.u64("index offset")?;
        expect(
            "index offset",
            INDEX_OFFSET_AT,
            Self::INDEX_OFFSET,
            index_offset,
        )?;
        let index_length = cursor.u64("index length")?;
        let index_digest = cursor.digest("index digest")?;
        let reserved = cursor.take(HEADER_DIGEST_AT - RESERVED_AT, "reserved")?;
        if let Some(position) = reserved.iter().position(|&b| b != 0) {
            return Err(FormatError::NonZeroPadding {
                offset: (RESERVED_AT + position) as u64,
                value: reserved[position],
            }
            .into());
        }

        let index_end = Self::INDEX_OFFSET.checked_add(index_length);
        if index_end.is_none_or(|end| end > container_length) {
            return Err(FormatError::Invalid {
                field: "index length",
                at: Location::container(INDEX_LENGTH_AT as u64),
                actual: index_length,
                requirement: "the index must end within the container",
            }
            .into());
        }

        Ok(Header {
            flags,
            container_length,
            chunk_size,
            index_length,
            index_digest,
            header_digest: actual,
        })
    }
}

fn put(out: &mut [u8; HEADER_LEN], at: usize, bytes: &[u8]) {
    out[at..at + bytes.len()].copy_from_slice(bytes);
}

fn expect(field: &'static str, at: usize, expected: u64, actual: u64) -> Result<(), FormatError> {
    if expected == actual {
        Ok(())
    } else {
        Err(FormatError::Mismatch {
            field,
            at: Location::container(at as u64),
            expected,
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(container_length: u64) -> [u8; HEADER_LEN] {
        Header::encode(
            HeaderFlags::TIER1,
            container_length,
            DEFAULT_CHUNK_SIZE,
            0,
            Digest::of(b""),
        )
    }

    #[test]
    fn round_trip() {
        let bytes = sample(HEADER_LEN as u64);
        let header = Header::parse(&bytes).unwrap();
        assert_eq!(header.flags, HeaderFlags::TIER1);
        assert_eq!(header.container_length, HEADER_LEN as u64);
        assert_eq!(header.chunk_size, DEFAULT_CHUNK_SIZE);
        assert_eq!(header.header_digest, Digest::of(&bytes[..96]));
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let bytes = sample(HEADER_LEN as u64);
        for bit in 0..HEADER_LEN * 8 {
            let mut damaged = bytes;
            damaged[bit / 8] ^= 1 << (bit % 8);
            let error = Header::parse(&damaged).unwrap_err();
            match bit / 8 {
                0..8 => assert!(matches!(
                    error,
                    ContainerError::Format {
                        problem: FormatError::BadMagic { .. },
                        ..
                    }
                )),
                8..12 => assert!(matches!(
                    error,
                    ContainerError::Format {
                        problem: FormatError::UnsupportedVersion { .. },
                        ..
                    }
                )),
                _ => assert!(
                    matches!(
                        error,
                        ContainerError::DigestMismatch {
                            region: Region::Header,
                            ..
                        }
                    ),
                    "bit {bit}: {error}"
                ),
            }
        }
    }

    #[test]
    fn a_prefix_is_enough_to_learn_the_length() {
        let mut bytes = sample(4096).to_vec();
        bytes.extend_from_slice(b"more");
        let header = Header::parse_prefix(&bytes).unwrap();
        assert_eq!(header.container_length, 4096);
        assert!(Header::parse_prefix(&bytes[..127]).is_err());
    }

    #[test]
    fn truncation_and_trailing_data() {
        let bytes = sample(HEADER_LEN as u64);
        for len in 0..HEADER_LEN {
            assert!(Header::parse(&bytes[..len]).is_err(), "length {len}");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(matches!(
            Header::parse(&longer),
            Err(ContainerError::Format {
                problem: FormatError::TrailingData {
                    declared: 128,
                    actual: 129
                },
                ..
            })
        ));
        let declared_longer = sample(4096);
        assert!(matches!(
            Header::parse(&declared_longer),
            Err(ContainerError::Format {
                problem: FormatError::Truncated {
                    what: "container",
                    ..
                },
                ..
            })
        ));
    }
}
