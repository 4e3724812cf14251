//! The page bitmaps of a kdump-compressed file, with a rank index.
//!
//! Bit `pfn` of a bitmap is bit `pfn % 8` of byte `pfn / 8` (LSB first). The page
//! descriptor of a dumpable page is the `rank(pfn)`-th one, where `rank` counts the set
//! bits of the 2nd bitmap below `pfn`; we precompute the count at the start of every
//! 4096-bit chunk so a lookup is one table read plus at most 64 word popcounts.

/// Bits per rank-table chunk.
const CHUNK_BITS: u64 = 4096;
const WORDS_PER_CHUNK: usize = (CHUNK_BITS / 64) as usize;

/// A read-only bitmap over page frame numbers `0..nbits`.
#[derive(Debug, Clone)]
pub(crate) struct Bitmap {
    words: Vec<u64>,
    nbits: u64,
    /// `chunk_rank[i]` = number of set bits below bit `i * CHUNK_BITS`.
    chunk_rank: Vec<u64>,
}

impl Bitmap {
    /// Bits `0..nbits` of `bytes` (bits past `bytes` read as clear).
    pub(crate) fn from_bytes(bytes: &[u8], nbits: u64) -> Bitmap {
        let nbits = nbits.min(bytes.len() as u64 * 8);
        let nwords = nbits.div_ceil(64) as usize;
        let mut words: Vec<u64> = bytes
            .chunks(8)
            .take(nwords)
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        // Clear the bits at and above nbits so counts never see them.
        if !nbits.is_multiple_of(64)
            && let Some(last) = words.last_mut()
        {
            *last &= (1u64 << (nbits % 64)) - 1;
        }
        let mut chunk_rank = Vec::with_capacity(words.len().div_ceil(WORDS_PER_CHUNK));
        let mut total = 0u64;
        for chunk in words.chunks(WORDS_PER_CHUNK) {
            chunk_rank.push(total);
            total += chunk.iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
        }
        Bitmap {
            words,
            nbits,
            chunk_rank,
        }
    }

    pub(crate) fn get(&self, bit: u64) -> bool {
        bit < self.nbits && self.words[(bit / 64) as usize] & (1u64 << (bit % 64)) != 0
    }

    /// Number of set bits below `bit` (saturating at `nbits`).
    pub(crate) fn rank(&self, bit: u64) -> u64 {
        let bit = bit.min(self.nbits);
        let word = (bit / 64) as usize;
        let chunk = word / WORDS_PER_CHUNK;
        let Some(&base) = self.chunk_rank.get(chunk) else {
            return self.count_ones();
        };
        let mut r = base;
        for w in &self.words[chunk * WORDS_PER_CHUNK..word] {
            r += u64::from(w.count_ones());
        }
        if !bit.is_multiple_of(64) {
            r += u64::from((self.words[word] & ((1u64 << (bit % 64)) - 1)).count_ones());
        }
        r
    }

    pub(crate) fn count_ones(&self) -> u64 {
        let last = self.chunk_rank.len().saturating_sub(1);
        self.chunk_rank.last().copied().unwrap_or(0)
            + self.words[last * WORDS_PER_CHUNK..]
                .iter()
                .map(|w| u64::from(w.count_ones()))
                .sum::<u64>()
    }

    /// Maximal runs of set bits as `(first_bit, count)`, in order.
    pub(crate) fn runs(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut start: Option<u64> = None;
        for (i, &w) in self.words.iter().enumerate() {
            let base = i as u64 * 64;
            if (w == 0 && start.is_none()) || (w == u64::MAX && start.is_some()) {
                continue;
            }
            for b in 0..64 {
                let set = w & (1u64 << b) != 0;
                match (set, start) {
                    (true, None) => start = Some(base + b),
                    (false, Some(s)) => {
                        out.push((s, base + b - s));
                        start = None;
                    }
                    _ => {}
                }
            }
        }
        if let Some(s) = start {
            out.push((s, self.words.len() as u64 * 64 - s));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_rank(bytes: &[u8], bit: u64) -> u64 {
        (0..bit)
            .filter(|&b| bytes[(b / 8) as usize] & (1 << (b % 8)) != 0)
            .count() as u64
    }

    #[test]
    fn rank_matches_naive_count() {
        // A pseudo-random 3-chunk bitmap with a partial last word.
        let mut x = 0x1234_5678_9abc_def0u64;
        let bytes: Vec<u8> = (0..1600)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let nbits = 1600 * 8 - 3;
        let bm = Bitmap::from_bytes(&bytes, nbits);
        for bit in [
            0,
            1,
            63,
            64,
            65,
            4095,
            4096,
            4097,
            8191,
            8192,
            9000,
            nbits - 1,
            nbits,
        ] {
            assert_eq!(bm.rank(bit), naive_rank(&bytes, bit), "rank({bit})");
        }
        assert_eq!(bm.rank(u64::MAX), naive_rank(&bytes, nbits));
        assert_eq!(bm.count_ones(), naive_rank(&bytes, nbits));
        assert!(!bm.get(nbits));
        assert_eq!(bm.get(9), bytes[1] & 2 != 0);
    }

    #[test]
    fn runs_and_bit_order() {
        // byte 0 = 0b1000_0110: bits 1, 2, 7 set; byte 1 all set; byte 2 bit 0 set.
        let bm = Bitmap::from_bytes(&[0x86, 0xff, 0x01, 0, 0, 0, 0, 0, 0x80], 72);
        assert_eq!(bm.runs(), vec![(1, 2), (7, 10), (71, 1)]);
        assert!(bm.get(7) && bm.get(16) && !bm.get(17) && !bm.get(0));
        assert_eq!(bm.rank(17), 12);
        let all = Bitmap::from_bytes(&[0xff; 16], 128);
        assert_eq!(all.runs(), vec![(0, 128)]);
        assert_eq!(Bitmap::from_bytes(&[], 100).count_ones(), 0);
    }
}
