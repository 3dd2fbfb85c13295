//! SHA-256 digests: the one hash function the container uses.
//!
//! Every integrity check in the container compares a stored [`Digest`] with
//! one computed over the bytes at hand. There is deliberately a single hash:
//! SHA-256 is fast where it matters (the `sha2` crate uses the x86 SHA
//! extensions or ARMv8 crypto instructions when the CPU has them, roughly
//! 1.5–2 GB/s), collision resistant, and what `sha256sum` prints, so a digest
//! shown by `pyembed inspect` can be compared with other tools.

use std::fmt;

use sha2::Digest as _;

/// Length in bytes of a [`Digest`].
pub const DIGEST_LEN: usize = 32;

/// A SHA-256 digest.
///
/// `Display` prints 64 lowercase hexadecimal digits, the same text `sha256sum`
/// prints, so digests can be compared as strings in CI.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest(pub [u8; DIGEST_LEN]);

impl Digest {
    /// The all-zero digest, stored in place of the digest of an absent region.
    pub const ZERO: Digest = Digest([0; DIGEST_LEN]);

    /// Computes the SHA-256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(sha2::Sha256::digest(bytes).into())
    }

    /// Computes the SHA-256 digest of the concatenation of `parts`.
    pub fn of_parts(parts: &[&[u8]]) -> Digest {
        let mut hasher = sha2::Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        Digest(hasher.finalize().into())
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; DIGEST_LEN] {
        &self.0
    }

    /// Parses 64 hexadecimal digits (either case), as printed by `Display`.
    ///
    /// Returns `None` for any other input.
    pub fn from_hex(text: &str) -> Option<Digest> {
        let text = text.as_bytes();
        if text.len() != DIGEST_LEN * 2 {
            return None;
        }
        let mut out = [0u8; DIGEST_LEN];
        for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
            let high = hex_value(pair[0])?;
            let low = hex_value(pair[1])?;
            *byte = (high << 4) | low;
        }
        Some(Digest(out))
    }

    /// Reads a digest from the first [`DIGEST_LEN`] bytes of `bytes`.
    pub(crate) fn read(bytes: &[u8]) -> Option<Digest> {
        let raw: [u8; DIGEST_LEN] = bytes.get(..DIGEST_LEN)?.try_into().ok()?;
        Some(Digest(raw))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // FIPS 180-2 test vector for "abc".
        let digest = Digest::of(b"abc");
        assert_eq!(
            digest.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Digest::of_parts(&[b"a", b"", b"bc"]), digest);
    }

    #[test]
    fn hex_round_trip() {
        let digest = Digest::of(b"pyembed");
        assert_eq!(Digest::from_hex(&digest.to_string()), Some(digest));
        assert_eq!(
            Digest::from_hex(&digest.to_string().to_uppercase()),
            Some(digest)
        );
        assert_eq!(Digest::from_hex("00"), None);
        assert_eq!(Digest::from_hex(&"g".repeat(64)), None);
    }
}
