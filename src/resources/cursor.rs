//! A bounds-checked little-endian reader used by every parser in this module.
//!
//! Each read names the field it is reading, so running out of bytes becomes a
//! [`FormatError::Truncated`] that says which field, at which offset, and how
//! many bytes were missing. Nothing here can panic or read out of bounds.

use super::{
    digest::{DIGEST_LEN, Digest},
    error::{FormatError, Location, Space},
};

/// Reads fields from a byte slice, tracking the position for error messages.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'b> {
    bytes: &'b [u8],
    position: usize,
    /// Where `bytes[0]` is, for error locations.
    space: Space,
    base: u64,
}

impl<'b> Cursor<'b> {
    /// A cursor over `bytes`, whose first byte is at `base` in `space`.
    pub(crate) fn new(bytes: &'b [u8], space: Space, base: u64) -> Cursor<'b> {
        Cursor {
            bytes,
            position: 0,
            space,
            base,
        }
    }

    /// Position relative to the start of the slice.
    pub(crate) fn position(&self) -> usize {
        self.position
    }

    /// Bytes left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    /// The location of the next byte to be read.
    pub(crate) fn location(&self) -> Location {
        self.location_of(self.position)
    }

    /// The location of byte `position` of the slice.
    pub(crate) fn location_of(&self, position: usize) -> Location {
        Location {
            space: self.space,
            offset: self.base.saturating_add(position as u64),
        }
    }

    /// Takes the next `len` bytes.
    pub(crate) fn take(&mut self, len: usize, what: &'static str) -> Result<&'b [u8], FormatError> {
        let start = self.position;
        let taken = start
            .checked_add(len)
            .and_then(|end| self.bytes.get(start..end));
        match taken {
            Some(slice) => {
                self.position += len;
                Ok(slice)
            }
            None => Err(FormatError::Truncated {
                what,
                at: self.location(),
                needed: len as u64,
                available: self.remaining() as u64,
            }),
        }
    }

    /// Takes `N` bytes as an array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], FormatError> {
        let slice = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn digest(&mut self, what: &'static str) -> Result<Digest, FormatError> {
        Ok(Digest(self.array::<DIGEST_LEN>(what)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_reports_truncation() {
        let bytes = [1u8, 2, 3, 4, 5, 6, 7];
        let mut cursor = Cursor::new(&bytes, Space::Container, 100);
        assert_eq!(cursor.u8("a"), Ok(1));
        assert_eq!(cursor.u16("b"), Ok(0x0302));
        assert_eq!(cursor.u32("c"), Ok(0x0706_0504));
        assert_eq!(
            cursor.u64("d"),
            Err(FormatError::Truncated {
                what: "d",
                at: Location::container(107),
                needed: 8,
                available: 0,
            })
        );
        assert_eq!(cursor.position(), 7);
    }

    #[test]
    fn huge_take_does_not_overflow() {
        let mut cursor = Cursor::new(b"ab", Space::Tier1Group(3), 0);
        cursor.u8("x").unwrap();
        assert!(matches!(
            cursor.take(usize::MAX, "y"),
            Err(FormatError::Truncated { available: 1, .. })
        ));
    }
}
