//! Page decompression for kdump-compressed files: zlib (`flate2`), LZO1X (`lzo`, a safe
//! pure-Rust decoder), snappy (`snap`) and zstd (`ruzstd`).
//!
//! Each decoder writes into a caller-owned buffer of exactly one block, so garbage input can
//! neither overrun nor allocate without bound; the result must fill the block exactly. A
//! decoder failure is a message for `MemError::Corrupt`, never a panic (third-party decoders
//! run under `catch_unwind` as a second line of defence).

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Page compression of a kdump-compressed file (`DUMP_DH_COMPRESSED_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compression {
    /// Stored raw.
    None,
    Zlib,
    Lzo,
    Snappy,
    Zstd,
}

pub(crate) const DUMP_DH_COMPRESSED_ZLIB: u32 = 0x1;
pub(crate) const DUMP_DH_COMPRESSED_LZO: u32 = 0x2;
pub(crate) const DUMP_DH_COMPRESSED_SNAPPY: u32 = 0x4;
pub(crate) const DUMP_DH_COMPRESSED_INCOMPLETE: u32 = 0x8;
pub(crate) const DUMP_DH_EXCLUDED_VMEMMAP: u32 = 0x10;
pub(crate) const DUMP_DH_COMPRESSED_ZSTD: u32 = 0x20;
const ALL: u32 = DUMP_DH_COMPRESSED_ZLIB
    | DUMP_DH_COMPRESSED_LZO
    | DUMP_DH_COMPRESSED_SNAPPY
    | DUMP_DH_COMPRESSED_ZSTD;

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Zlib => "zlib",
            Compression::Lzo => "lzo",
            Compression::Snappy => "snappy",
            Compression::Zstd => "zstd",
        })
    }
}

impl Compression {
    /// The compression named by page-descriptor (or header status) `flags`; `Err` with the
    /// unexplained bits when they name more than one method or an unknown one.
    pub(crate) fn from_page_flags(flags: u32) -> Result<Compression, u32> {
        match flags {
            0 => Ok(Compression::None),
            DUMP_DH_COMPRESSED_ZLIB => Ok(Compression::Zlib),
            DUMP_DH_COMPRESSED_LZO => Ok(Compression::Lzo),
            DUMP_DH_COMPRESSED_SNAPPY => Ok(Compression::Snappy),
            DUMP_DH_COMPRESSED_ZSTD => Ok(Compression::Zstd),
            other => Err(other),
        }
    }

    /// The compressions a header `status` word declares, in flag order.
    pub(crate) fn from_status(status: u32) -> Vec<Compression> {
        [
            (DUMP_DH_COMPRESSED_ZLIB, Compression::Zlib),
            (DUMP_DH_COMPRESSED_LZO, Compression::Lzo),
            (DUMP_DH_COMPRESSED_SNAPPY, Compression::Snappy),
            (DUMP_DH_COMPRESSED_ZSTD, Compression::Zstd),
        ]
        .into_iter()
        .filter(|(bit, _)| status & ALL & bit != 0)
        .map(|(_, c)| c)
        .collect()
    }

    pub(crate) fn bit(self) -> u8 {
        match self {
            Compression::None => 1,
            Compression::Zlib => 2,
            Compression::Lzo => 4,
            Compression::Snappy => 8,
            Compression::Zstd => 16,
        }
    }

    pub(crate) const ORDER: [Compression; 5] = [
        Compression::None,
        Compression::Zlib,
        Compression::Lzo,
        Compression::Snappy,
        Compression::Zstd,
    ];
}

/// Decompress `input` into exactly `out.len()` bytes.
pub(crate) fn decompress(kind: Compression, input: &[u8], out: &mut [u8]) -> Result<(), String> {
    let n = catch_unwind(AssertUnwindSafe(|| match kind {
        Compression::None => {
            if input.len() != out.len() {
                return Err(format!(
                    "raw page is {:#x} bytes, block size is {:#x}",
                    input.len(),
                    out.len()
                ));
            }
            out.copy_from_slice(input);
            Ok(out.len())
        }
        Compression::Zlib => zlib(input, out),
        Compression::Lzo => lzo::decompress_into(input, out).map_err(|e| e.to_string()),
        Compression::Snappy => snappy(input, out),
        Compression::Zstd => zstd(input, out),
    }))
    .map_err(|_| format!("{kind} decoder panicked on this input"))??;
    if n != out.len() {
        return Err(format!(
            "{kind} data decompressed to {n:#x} bytes, block size is {:#x}",
            out.len()
        ));
    }
    Ok(())
}

fn zlib(input: &[u8], out: &mut [u8]) -> Result<usize, String> {
    use flate2::{Decompress, FlushDecompress, Status};
    use std::cell::RefCell;
    // One decoder per thread, reset for each page: a new one allocates and initialises its
    // tables and window every time (a fifth of `bt --all`'s time on 10 000 tasks).
    thread_local! {
        static DECODER: RefCell<Decompress> = RefCell::new(Decompress::new(true));
    }
    DECODER.with(|d| {
        let mut d = d.borrow_mut();
        // makedumpfile and QEMU use zlib's compress2(): a zlib header, not raw deflate.
        d.reset(true);
        match d.decompress(input, out, FlushDecompress::Finish) {
            Ok(Status::StreamEnd) => Ok(d.total_out() as usize),
            Ok(_) if d.total_out() as usize == out.len() => Err(format!(
                "zlib data decompresses to more than {:#x} bytes",
                out.len()
            )),
            Ok(_) => Err("zlib stream ends early".into()),
            Err(e) => Err(format!("zlib: {e}")),
        }
    })
}

fn snappy(input: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let len = snap::raw::decompress_len(input).map_err(|e| format!("snappy: {e}"))?;
    if len != out.len() {
        return Err(format!(
            "snappy data says it decompresses to {len:#x} bytes, block size is {:#x}",
            out.len()
        ));
    }
    snap::raw::Decoder::new()
        .decompress(input, out)
        .map_err(|e| format!("snappy: {e}"))
}

fn zstd(input: &[u8], out: &mut [u8]) -> Result<usize, String> {
    let mut d = ruzstd::decoding::FrameDecoder::new();
    // A page frame needs a window of at most one page; refuse anything that would make
    // the decoder reserve much more than that.
    d.set_max_window_size(8 << 20);
    d.decode_all(input, out).map_err(|e| format!("zstd: {e}"))
}

#[cfg(test)]
pub(crate) mod testdata {
    //! Compressors for building test dumps.
    use super::Compression;
    use std::io::Write;

    /// An LZO1X stream, hand-assembled because no pure-Rust LZO compressor exists among our
    /// dependencies, that decodes to `lit` (1..=238 bytes) repeated to fill `total` bytes:
    /// - first byte `17 + lit.len()`: a literal run of that many bytes, copied verbatim;
    /// - `0x20` + length extension + 16-bit distance: an M3 match. With the low 5 bits 0 the
    ///   length is `33 + 255 * (number of 0x00 bytes) + (next byte)`; the little-endian
    ///   16-bit word carries `(distance - 1) << 2` (low 2 bits = 0 trailing literals);
    ///   a match whose distance is shorter than its length repeats the pattern (LZ77);
    /// - `0x11 0x00 0x00`: the end-of-stream marker.
    pub(crate) fn lzo_repeat(lit: &[u8], total: usize) -> Vec<u8> {
        assert!((1..=238).contains(&lit.len()) && total >= lit.len() + 33);
        let mut v = vec![17 + lit.len() as u8];
        v.extend_from_slice(lit);
        let rest = total - lit.len() - 33;
        if rest == 0 {
            // Length 33 fits the 5-bit field itself: (t & 31) + 2.
            v.push(0x20 | 31);
        } else {
            // Extension: 255 per 0x00 byte, then a non-zero terminator.
            let zeros = (rest - 1) / 255;
            v.push(0x20);
            v.extend(std::iter::repeat_n(0u8, zeros));
            v.push((rest - 255 * zeros) as u8);
        }
        let d = ((lit.len() - 1) << 2) as u16;
        v.extend_from_slice(&d.to_le_bytes());
        v.extend_from_slice(&[0x11, 0, 0]);
        v
    }

    /// Compress `page` with `kind`. LZO is only available for pages made by
    /// [`lzo_repeat`]; pass the repeating unit as `lzo_unit`.
    pub(crate) fn compress(kind: Compression, page: &[u8], lzo_unit: &[u8]) -> Vec<u8> {
        match kind {
            Compression::None => page.to_vec(),
            Compression::Zlib => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(page).unwrap();
                e.finish().unwrap()
            }
            Compression::Snappy => snap::raw::Encoder::new().compress_vec(page).unwrap(),
            Compression::Zstd => {
                ruzstd::encoding::compress_to_vec(page, ruzstd::encoding::CompressionLevel::Fastest)
            }
            Compression::Lzo => {
                let v = lzo_repeat(lzo_unit, page.len());
                let expect: Vec<u8> = lzo_unit.iter().copied().cycle().take(page.len()).collect();
                assert_eq!(
                    page,
                    &expect[..],
                    "lzo test pages must be lzo_unit repeated"
                );
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;

    fn pattern(unit: &[u8], n: usize) -> Vec<u8> {
        unit.iter().copied().cycle().take(n).collect()
    }

    #[test]
    fn round_trips_every_method() {
        let unit = b"quiesce-lzo-unit";
        let page = pattern(unit, 4096);
        for kind in Compression::ORDER {
            let c = compress(kind, &page, unit);
            let mut out = vec![0u8; 4096];
            decompress(kind, &c, &mut out).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(out, page, "{kind:?}");
        }
    }

    #[test]
    fn lzo_stream_lengths() {
        for (unit, total) in [
            (&b"ab"[..], 35),
            (b"x", 289),
            (b"0123456789", 4096),
            (b"z", 65536),
        ] {
            let mut out = vec![0u8; total];
            decompress(Compression::Lzo, &lzo_repeat(unit, total), &mut out).unwrap();
            assert_eq!(out, pattern(unit, total));
        }
    }

    #[test]
    fn garbage_and_size_mismatch_are_errors() {
        let page = pattern(b"abc", 4096);
        for kind in Compression::ORDER {
            let mut out = vec![0u8; 4096];
            // Garbage input.
            let junk: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
            assert!(decompress(kind, &junk, &mut out).is_err(), "{kind:?} junk");
            assert!(decompress(kind, &[], &mut out).is_err(), "{kind:?} empty");
            if kind == Compression::Lzo {
                continue;
            }
            // Valid data of the wrong size: too small, then too big for the block.
            let small = compress(kind, &page[..1000], b"");
            assert!(
                decompress(kind, &small, &mut out).is_err(),
                "{kind:?} small"
            );
            let big = compress(kind, &pattern(b"abc", 8192), b"");
            assert!(decompress(kind, &big, &mut out).is_err(), "{kind:?} big");
            // Truncated valid data.
            let c = compress(kind, &page, b"");
            assert!(
                decompress(kind, &c[..c.len() / 2], &mut out).is_err(),
                "{kind:?} cut"
            );
        }
        let mut out = vec![0u8; 4096];
        let long = lzo_repeat(b"ab", 8192);
        assert!(decompress(Compression::Lzo, &long, &mut out).is_err());
        let mut lzo_cut = lzo_repeat(b"ab", 4096);
        lzo_cut.truncate(lzo_cut.len() - 2);
        assert!(decompress(Compression::Lzo, &lzo_cut, &mut out).is_err());
    }

    #[test]
    fn flags() {
        assert_eq!(Compression::from_page_flags(0x20), Ok(Compression::Zstd));
        assert_eq!(Compression::from_page_flags(0x3), Err(0x3));
        assert_eq!(
            Compression::from_status(0x1 | 0x8 | 0x20),
            vec![Compression::Zlib, Compression::Zstd]
        );
    }
}
