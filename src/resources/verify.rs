//! Lazy, chunked verification of tier 0.
//!
//! Tier 0 is cut into fixed-size chunks (the last one may be short) and the
//! index stores the SHA-256 of each. Before any tier-0 byte is handed out, the
//! chunks covering it are hashed and compared; a bitmap of atomics remembers
//! which chunks have passed, so each is hashed once and later reads of it cost
//! one atomic load. The total work is proportional to the bytes actually read,
//! rounded up to whole chunks, not to the size of the container.
//!
//! Two threads touching the same unverified chunk at the same moment may both
//! hash it; both get the same answer and one `fetch_or` wins. That is cheaper
//! than a lock on every read and cannot produce a wrong result, so "hashed at
//! most once" holds except under that race. A chunk that fails is not marked,
//! so every read of it keeps failing.

use std::{
    ops::Range,
    sync::atomic::{AtomicU64, Ordering},
};

use super::{
    digest::{DIGEST_LEN, Digest},
    error::{Mismatch, Region},
};

/// Which tier-0 chunks have been verified.
#[derive(Debug)]
pub(crate) struct ChunkVerifier {
    chunk_size: usize,
    chunk_count: usize,
    verified: Box<[AtomicU64]>,
    hashed_bytes: AtomicU64,
}

impl ChunkVerifier {
    /// A verifier for `chunk_count` chunks of `chunk_size` bytes, none
    /// verified yet. `chunk_count` must already have been checked against the
    /// size of the digest table that holds its digests.
    pub(crate) fn new(chunk_size: u32, chunk_count: usize) -> ChunkVerifier {
        let words = chunk_count.div_ceil(64);
        ChunkVerifier {
            chunk_size: chunk_size as usize,
            chunk_count,
            verified: (0..words).map(|_| AtomicU64::new(0)).collect(),
            hashed_bytes: AtomicU64::new(0),
        }
    }

    /// Chunk size in bytes.
    pub(crate) fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Number of chunks.
    pub(crate) fn chunk_count(&self) -> usize {
        self.chunk_count
    }

    /// Number of chunks verified so far.
    pub(crate) fn verified_count(&self) -> usize {
        self.verified
            .iter()
            .map(|word| word.load(Ordering::Acquire).count_ones() as usize)
            .sum()
    }

    /// Total bytes hashed by this verifier so far.
    pub(crate) fn hashed_bytes(&self) -> u64 {
        self.hashed_bytes.load(Ordering::Relaxed)
    }

    /// Marks every chunk verified without hashing it: lazy verification off.
    /// For benchmarks only (see `Container::skip_lazy_verification`); the
    /// hot path is unchanged, each chunk check is still one atomic load.
    pub(crate) fn trust_all(&self) {
        for (i, word) in self.verified.iter().enumerate() {
            let bits = self.chunk_count.saturating_sub(i * 64).min(64);
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            };
            word.fetch_or(mask, Ordering::Release);
        }
    }

    /// Whether chunk `chunk` has been verified.
    pub(crate) fn is_verified(&self, chunk: usize) -> bool {
        self.verified
            .get(chunk / 64)
            .is_some_and(|word| word.load(Ordering::Acquire) & (1 << (chunk % 64)) != 0)
    }

    /// Verifies every chunk overlapping `range` (relative to tier 0).
    ///
    /// `tier` is all of tier 0, `digests` the chunk digest table, and
    /// `tier_offset` the container offset of tier 0 (for error messages). An
    /// empty range verifies nothing. The caller has checked that `range` lies
    /// within `tier`.
    pub(crate) fn verify(
        &self,
        tier: &[u8],
        digests: &[u8],
        range: Range<usize>,
        tier_offset: u64,
    ) -> Result<(), Mismatch> {
        if range.is_empty() {
            return Ok(());
        }
        let first = range.start / self.chunk_size;
        let last = (range.end - 1) / self.chunk_size;
        for chunk in first..=last {
            self.verify_chunk(tier, digests, chunk, tier_offset)?;
        }
        Ok(())
    }

    fn verify_chunk(
        &self,
        tier: &[u8],
        digests: &[u8],
        chunk: usize,
        tier_offset: u64,
    ) -> Result<(), Mismatch> {
        if self.is_verified(chunk) {
            return Ok(());
        }
        let start = chunk.saturating_mul(self.chunk_size);
        let end = start.saturating_add(self.chunk_size).min(tier.len());
        let bytes = tier.get(start..end).unwrap_or_default();
        let expected = digests
            .get(chunk.saturating_mul(DIGEST_LEN)..)
            .and_then(Digest::read)
            .unwrap_or_default();
        let actual = Digest::of(bytes);
        self.hashed_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if actual != expected || chunk >= self.chunk_count {
            return Err(Mismatch {
                region: Region::Tier0Chunk {
                    index: u32::try_from(chunk).unwrap_or(u32::MAX),
                    offset: tier_offset.saturating_add(start as u64),
                    length: bytes.len() as u64,
                },
                expected,
                actual,
            });
        }
        if let Some(word) = self.verified.get(chunk / 64) {
            word.fetch_or(1 << (chunk % 64), Ordering::Release);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(tier: &[u8], chunk_size: usize) -> Vec<u8> {
        tier.chunks(chunk_size)
            .flat_map(|chunk| Digest::of(chunk).0)
            .collect()
    }

    #[test]
    fn verifies_only_touched_chunks_once() {
        let tier: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let digests = table(&tier, 4096);
        let verifier = ChunkVerifier::new(4096, 3);
        verifier.verify(&tier, &digests, 5000..5001, 0).unwrap();
        assert_eq!(verifier.verified_count(), 1);
        assert!(verifier.is_verified(1));
        verifier.verify(&tier, &digests, 4096..8192, 0).unwrap();
        assert_eq!(verifier.hashed_bytes(), 4096);
        verifier.verify(&tier, &digests, 0..10_000, 0).unwrap();
        assert_eq!(verifier.verified_count(), 3);
        assert_eq!(verifier.hashed_bytes(), 10_000);
        verifier.verify(&tier, &digests, 0..0, 0).unwrap();
    }

    #[test]
    fn trusting_marks_exactly_the_chunks_and_skips_hashing() {
        let mut tier = vec![1u8; 70 * 64];
        let digests = table(&tier, 64);
        tier[65 * 64] ^= 1;
        let verifier = ChunkVerifier::new(64, 70);
        verifier.trust_all();
        assert_eq!(verifier.verified_count(), 70);
        verifier.verify(&tier, &digests, 0..tier.len(), 0).unwrap();
        assert_eq!(verifier.hashed_bytes(), 0);
        // A chunk past the end is still refused.
        assert!(!verifier.is_verified(70));
    }

    #[test]
    fn damaged_chunk_fails_every_time() {
        let mut tier = vec![7u8; 9000];
        let digests = table(&tier, 4096);
        tier[8500] ^= 1;
        let verifier = ChunkVerifier::new(4096, 3);
        verifier.verify(&tier, &digests, 0..10, 0).unwrap();
        for _ in 0..2 {
            let error = verifier
                .verify(&tier, &digests, 8000..8600, 4096)
                .unwrap_err();
            assert_eq!(
                error.region,
                Region::Tier0Chunk {
                    index: 2,
                    offset: 4096 + 8192,
                    length: 808
                }
            );
        }
        assert_eq!(verifier.verified_count(), 2);
    }
}
