//! kdump-compressed ("diskdump") files, as makedumpfile and QEMU `dump-guest-memory -z/-l/-s`
//! write them. Layout (all little-endian, offsets in blocks of `block_size` bytes):
//!
//! | block | contents |
//! |---|---|
//! | 0 | `disk_dump_header`: "KDUMP   ", version, utsname, timestamp, status, sizes |
//! | 1 | `kdump_sub_header` (+ VMCOREINFO, ELF notes, eraseinfo), `sub_hdr_size` blocks |
//! | 1 + sub_hdr_size | 1st bitmap (pages that exist), then 2nd bitmap (pages dumped) |
//! | … + bitmap_blocks | `page_desc { offset, size, flags, page_flags }`, one per dumped page |
//! | … | page data, raw or compressed per `page_desc.flags` |
//!
//! The descriptor of page `pfn` is the `rank(pfn)`-th, counting set bits of the 2nd bitmap
//! ([`Bitmap::rank`], O(1)). A page in the 1st bitmap but not the 2nd was excluded by
//! makedumpfile's dump level and reads as `MemError::Excluded`, never as zeros. Old files
//! with a single bitmap (one that does not fit twice in `bitmap_blocks`) use it for both.
//! Decompressed pages go through a bounded [`PageCache`]; raw pages are copied straight
//! from the file.

use super::bitmap::Bitmap;
use super::cache::PageCache;
use super::compress::{self, Compression, DUMP_DH_COMPRESSED_INCOMPLETE, DUMP_DH_EXCLUDED_VMEMMAP};
use super::notes::{self, NoteSet};
use super::source::{ReadFail, Source};
use super::{DumpError, MemError, Utsname};
use crate::addr::Pa;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

pub(crate) const KDUMP_SIGNATURE: &[u8; 8] = b"KDUMP   ";
/// `disk_dump_header` up to and including `nr_cpus` on 64-bit targets (utsname is 390
/// bytes at offset 12; 6 bytes of padding align the 16-byte `struct timeval` to 408).
const HEADER_SIZE: usize = 464;
/// `kdump_sub_header` through `max_mapnr_64` (header_version 6).
const SUB_HEADER_SIZE: usize = 112;
const PAGE_DESC_SIZE: u64 = 24;
const UTS_LEN: usize = 65;
/// Pages kept decompressed.
const CACHE_PAGES: usize = 2048;
/// VMCOREINFO and note areas above this are refused as garbage.
const MAX_BLOB: u64 = 64 << 20;

/// The fields of `disk_dump_header` and `kdump_sub_header`, as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawHeader {
    pub header_version: i32,
    pub utsname: Utsname,
    pub timestamp: (i64, i64),
    pub status: u32,
    pub block_size: u32,
    pub sub_hdr_size: u32,
    pub bitmap_blocks: u32,
    pub max_mapnr: u64,
    pub current_cpu: u32,
    pub nr_cpus: u32,
    pub phys_base: Option<u64>,
    pub dump_level: Option<i32>,
    /// `[start_pfn, end_pfn)` of this file when it is one part of a split dump.
    pub split: Option<(u64, u64)>,
}

/// An opened kdump-compressed file.
pub(crate) struct KdumpFile {
    src: Source,
    pub hdr: RawHeader,
    block_size: u64,
    ram: Bitmap,
    dumpable: Bitmap,
    desc_off: u64,
    rank_base: u64,
    incomplete: bool,
    cache: PageCache,
    seen: AtomicU8,
    pub notes: NoteSet,
    pub vmcoreinfo: Option<Vec<u8>>,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

fn uts_field(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Where a page's bytes are.
enum PageData {
    Cached(Arc<[u8]>),
    Raw(u64),
}

impl KdumpFile {
    pub(crate) fn parse(src: Source, warnings: &mut Vec<String>) -> Result<KdumpFile, DumpError> {
        let mut h = [0u8; HEADER_SIZE];
        src.read_at(0, &mut h)
            .map_err(|f| DumpError::from_read("kdump disk_dump_header", f))?;
        if &h[..8] != KDUMP_SIGNATURE {
            return Err(DumpError::Invalid {
                what: "kdump disk_dump_header".into(),
                offset: 0,
                why: "no \"KDUMP   \" signature".into(),
            });
        }
        let u = |i: usize| uts_field(&h[12 + UTS_LEN * i..12 + UTS_LEN * (i + 1)]);
        let mut hdr = RawHeader {
            header_version: le_u32(&h, 8) as i32,
            utsname: Utsname {
                sysname: u(0),
                nodename: u(1),
                release: u(2),
                version: u(3),
                machine: u(4),
                domainname: u(5),
            },
            timestamp: (le_u64(&h, 408) as i64, le_u64(&h, 416) as i64),
            status: le_u32(&h, 424),
            block_size: le_u32(&h, 428),
            sub_hdr_size: le_u32(&h, 432),
            bitmap_blocks: le_u32(&h, 436),
            max_mapnr: le_u32(&h, 440) as u64,
            current_cpu: le_u32(&h, 456),
            nr_cpus: le_u32(&h, 460),
            ..RawHeader::default()
        };
        let bs = hdr.block_size as u64;
        if !(1024..=(1 << 20)).contains(&bs) || !bs.is_power_of_two() {
            return Err(DumpError::Invalid {
                what: "kdump disk_dump_header block_size".into(),
                offset: 428,
                why: format!("{bs:#x} is not a plausible page size"),
            });
        }
        if hdr.header_version < 0 || hdr.header_version > 6 {
            warnings.push(format!(
                "kdump header_version {} is outside the known 0..=6; reading it as version 6",
                hdr.header_version
            ));
        }
        let v = hdr.header_version;

        let (mut vmci_at, mut note_at) = ((0u64, 0u64), (0u64, 0u64));
        if v >= 1 {
            let mut s = [0u8; SUB_HEADER_SIZE];
            src.read_at(bs, &mut s)
                .map_err(|f| DumpError::from_read("kdump_sub_header", f))?;
            hdr.phys_base = Some(le_u64(&s, 0));
            hdr.dump_level = Some(le_u32(&s, 8) as i32);
            let split = v >= 2 && le_u32(&s, 12) != 0;
            if v >= 3 {
                vmci_at = (le_u64(&s, 32), le_u64(&s, 40));
            }
            if v >= 4 {
                note_at = (le_u64(&s, 48), le_u64(&s, 56));
            }
            if split {
                hdr.split = Some(if v >= 6 {
                    (le_u64(&s, 80), le_u64(&s, 88))
                } else {
                    (le_u64(&s, 16), le_u64(&s, 24))
                });
            }
            if v >= 6 {
                let m64 = le_u64(&s, 96);
                if m64 != 0 {
                    hdr.max_mapnr = m64;
                } else {
                    warnings.push(format!(
                        "kdump sub-header max_mapnr_64 is 0 in a version {v} header; using the 32-bit max_mapnr {:#x}",
                        hdr.max_mapnr
                    ));
                }
            }
        }

        // Bitmaps.
        let bitmap_off = bs * (1 + hdr.sub_hdr_size as u64);
        let bitmap_len = bs * hdr.bitmap_blocks as u64;
        // Bitmaps must be stored in the file; 1 GiB of them covers 32 TiB of 4 KiB pages.
        let limit = src.len().min(1 << 30);
        let bytes = src.read_vec(bitmap_off, bitmap_len, limit).map_err(|f| {
            DumpError::from_read(
                &format!("kdump page bitmaps ({} blocks)", hdr.bitmap_blocks),
                f,
            )
        })?;
        let (ram_bytes, dump_bytes) = if hdr.max_mapnr <= bitmap_len * 8 / 2 {
            bytes.split_at(bytes.len() / 2)
        } else {
            warnings.push(
                "kdump file has a single page bitmap (no separate dumpable bitmap); using it for both"
                    .into(),
            );
            (&bytes[..], &bytes[..])
        };
        let bits = (ram_bytes.len() as u64) * 8;
        if hdr.max_mapnr > bits {
            warnings.push(format!(
                "kdump max_mapnr {:#x} exceeds the {bits:#x} pages the bitmaps cover; pages above read as not present",
                hdr.max_mapnr
            ));
        }
        let ram = Bitmap::from_bytes(ram_bytes, hdr.max_mapnr);
        let dumpable = Bitmap::from_bytes(dump_bytes, hdr.max_mapnr);
        let desc_off = bitmap_off + bitmap_len;

        let rank_base = match hdr.split {
            Some((s, e)) => {
                warnings.push(format!(
                    "this file is one part of a split dump: it holds pfns {s:#x}..{e:#x} only"
                ));
                if s > e {
                    warnings.push(format!(
                        "the split range ends ({e:#x}) before it starts ({s:#x}): the header is damaged; no page of this file can be located"
                    ));
                }
                dumpable.rank(s)
            }
            None => 0,
        };
        let ndesc = match hdr.split {
            // (a damaged header's end before its start: no descriptors)
            Some((s, e)) => dumpable.rank(e).saturating_sub(dumpable.rank(s)),
            None => dumpable.count_ones(),
        };
        let table_end = desc_off.saturating_add(ndesc.saturating_mul(PAGE_DESC_SIZE));
        if table_end > src.len() {
            warnings.push(format!(
                "kdump page descriptor table ({ndesc} entries at offset {desc_off:#x}) runs past the end of the file ({:#x} bytes): truncated; later pages fail to read",
                src.len()
            ));
        }
        let incomplete = hdr.status & DUMP_DH_COMPRESSED_INCOMPLETE != 0;
        if incomplete {
            warnings.push(
                "kdump header status has DUMP_DH_COMPRESSED_INCOMPLETE: makedumpfile stopped early (disk full?); pages it did not write fail to read".into(),
            );
        }
        if hdr.status & DUMP_DH_EXCLUDED_VMEMMAP != 0 {
            warnings.push(
                "kdump header status has DUMP_DH_EXCLUDED_VMEMMAP: the struct page array (vmemmap) of free memory was excluded too".into(),
            );
        }

        let mut vmcoreinfo = None;
        if vmci_at.1 > 0 {
            match src.read_vec(vmci_at.0, vmci_at.1, MAX_BLOB) {
                Ok(b) => vmcoreinfo = Some(b),
                Err(f) => warnings.push(format!(
                    "kdump VMCOREINFO ({:#x} bytes at offset {:#x}) is unreadable: {f}",
                    vmci_at.1, vmci_at.0
                )),
            }
        }
        let mut set = NoteSet::default();
        if note_at.1 > 0 {
            let what = format!("kdump note area at offset {:#x}", note_at.0);
            match src.read_vec(note_at.0, note_at.1, MAX_BLOB) {
                Ok(b) => notes::collect(&b, &what, &mut set, warnings),
                Err(f) => warnings.push(format!("{what}: unreadable: {f}")),
            }
        }
        Ok(KdumpFile {
            src,
            hdr,
            block_size: bs,
            ram,
            dumpable,
            desc_off,
            rank_base,
            incomplete,
            cache: PageCache::new(CACHE_PAGES),
            seen: AtomicU8::new(0),
            notes: set,
            vmcoreinfo,
        })
    }

    pub(crate) fn is_flat(&self) -> bool {
        matches!(self.src, Source::Flat(_))
    }

    pub(crate) fn block_size(&self) -> u64 {
        self.block_size
    }

    /// Compressions declared in the header status plus those met while reading pages.
    pub(crate) fn compressions(&self) -> Vec<Compression> {
        let seen = self.seen.load(Ordering::Relaxed);
        let declared = Compression::from_status(self.hdr.status);
        let v: Vec<Compression> = Compression::ORDER
            .into_iter()
            .filter(|c| declared.contains(c) || seen & c.bit() != 0)
            .collect();
        if v.is_empty() {
            vec![Compression::None]
        } else {
            v
        }
    }

    fn in_file(&self, kpfn: u64) -> bool {
        self.hdr.split.is_none_or(|(s, e)| (s..e).contains(&kpfn))
    }

    pub(crate) fn is_excluded(&self, kpfn: u64) -> bool {
        self.ram.get(kpfn) && !self.dumpable.get(kpfn)
    }

    /// Physical ranges whose pages this file holds (2nd bitmap).
    pub(crate) fn ranges(&self) -> Vec<(Pa, u64)> {
        let bs = self.block_size;
        self.dumpable
            .runs()
            .into_iter()
            .filter_map(|(s, n)| {
                let (lo, hi) = self.hdr.split.unwrap_or((0, u64::MAX));
                let (s2, e2) = (s.max(lo), (s + n).min(hi));
                (s2 < e2).then(|| (Pa(s2 * bs), (e2 - s2) * bs))
            })
            .collect()
    }

    fn page(&self, kpfn: u64, pa: Pa) -> Result<PageData, MemError> {
        if !self.dumpable.get(kpfn) || !self.in_file(kpfn) {
            return Err(if self.ram.get(kpfn) && self.in_file(kpfn) {
                MemError::Excluded(pa)
            } else {
                MemError::NotPresent(pa)
            });
        }
        if let Some(p) = self.cache.get(kpfn) {
            return Ok(PageData::Cached(p));
        }
        let bs = self.block_size;
        let idx = self.dumpable.rank(kpfn) - self.rank_base;
        let at = self.desc_off + idx * PAGE_DESC_SIZE;
        let mut d = [0u8; PAGE_DESC_SIZE as usize];
        self.src
            .read_at(at, &mut d)
            .map_err(|f| MemError::Truncated {
                pa,
                why: format!("page descriptor #{idx} at file offset {at:#x}: {f}"),
            })?;
        let (offset, size, flags) = (le_u64(&d, 0) as i64, le_u32(&d, 8), le_u32(&d, 12));
        let desc = || {
            format!(
                "page descriptor #{idx} at file offset {at:#x} (offset {offset:#x}, size {size:#x}, flags {flags:#x})"
            )
        };
        if offset <= 0 || size == 0 {
            return Err(if self.incomplete {
                MemError::Truncated {
                    pa,
                    why: format!("{}: page not written (dump marked incomplete)", desc()),
                }
            } else {
                MemError::Corrupt {
                    pa,
                    why: format!("{}: no page data", desc()),
                }
            });
        }
        let kind = Compression::from_page_flags(flags).map_err(|bits| MemError::Corrupt {
            pa,
            why: format!("{}: unknown compression flags {bits:#x}", desc()),
        })?;
        if size as u64 > bs || (kind == Compression::None && size as u64 != bs) {
            return Err(MemError::Corrupt {
                pa,
                why: format!("{}: size does not fit the block size {bs:#x}", desc()),
            });
        }
        self.seen.fetch_or(kind.bit(), Ordering::Relaxed);
        if kind == Compression::None {
            return Ok(PageData::Raw(offset as u64));
        }
        let input =
            self.src
                .bytes(offset as u64, size as usize)
                .map_err(|f| MemError::Truncated {
                    pa,
                    why: format!("{} data: {f}", desc()),
                })?;
        let mut out = vec![0u8; bs as usize];
        compress::decompress(kind, &input, &mut out).map_err(|e| MemError::Corrupt {
            pa,
            why: format!("{}: {e}", desc()),
        })?;
        let page: Arc<[u8]> = Arc::from(out);
        self.cache.insert(kpfn, page.clone());
        Ok(PageData::Cached(page))
    }

    pub(crate) fn read_phys(&self, pa: Pa, buf: &mut [u8]) -> Result<(), MemError> {
        let bs = self.block_size;
        let mut done = 0usize;
        while done < buf.len() {
            let a =
                pa.0.checked_add(done as u64)
                    .ok_or(MemError::NotPresent(Pa(u64::MAX)))?;
            let (kpfn, off) = (a / bs, a % bs);
            let n = (buf.len() - done).min((bs - off) as usize);
            let out = &mut buf[done..done + n];
            match self.page(kpfn, Pa(a))? {
                PageData::Cached(p) => out.copy_from_slice(&p[off as usize..off as usize + n]),
                PageData::Raw(foff) => {
                    self.src.read_at(foff + off, out).map_err(|f: ReadFail| {
                        MemError::Truncated {
                            pa: Pa(a),
                            why: format!("raw page data: {f}"),
                        }
                    })?
                }
            }
            done += n;
        }
        Ok(())
    }
}

/// Builds kdump-compressed files for tests.
#[cfg(test)]
pub(crate) mod build {
    use super::*;
    use crate::dump::compress::testdata;

    /// What to put in a synthetic kdump file.
    pub(crate) struct Spec {
        pub block_size: u32,
        pub header_version: i32,
        pub max_mapnr: u64,
        /// Pfns in the 1st bitmap.
        pub ram: Vec<u64>,
        /// Dumped pages (2nd bitmap): pfn, contents, compression. Sorted by pfn.
        pub pages: Vec<(u64, Vec<u8>, Compression)>,
        /// The repeating unit of pages stored with LZO (see `testdata::lzo_repeat`).
        pub lzo_unit: Vec<u8>,
        pub utsname: [&'static str; 6],
        pub phys_base: u64,
        pub status: u32,
        pub nr_cpus: u32,
        pub vmcoreinfo: Vec<u8>,
        pub notes: Vec<u8>,
    }

    /// Offsets of the regions of a built file.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Layout {
        pub bitmap_off: u64,
        pub desc_off: u64,
        pub data_off: u64,
        pub len: u64,
    }

    pub(crate) fn kdump(spec: &Spec) -> (Vec<u8>, Layout) {
        let bs = spec.block_size as usize;
        let mut out = vec![0u8; bs];
        out[..8].copy_from_slice(KDUMP_SIGNATURE);
        out[8..12].copy_from_slice(&spec.header_version.to_le_bytes());
        for (i, f) in spec.utsname.iter().enumerate() {
            let at = 12 + UTS_LEN * i;
            out[at..at + f.len()].copy_from_slice(f.as_bytes());
        }
        out[408..416].copy_from_slice(&1_700_000_000u64.to_le_bytes());
        out[424..428].copy_from_slice(&spec.status.to_le_bytes());
        out[428..432].copy_from_slice(&spec.block_size.to_le_bytes());
        out[440..444].copy_from_slice(&(spec.max_mapnr.min(u32::MAX as u64) as u32).to_le_bytes());
        out[460..464].copy_from_slice(&spec.nr_cpus.to_le_bytes());

        // Sub-header block(s): sub-header, VMCOREINFO, notes.
        let mut sub = vec![0u8; SUB_HEADER_SIZE];
        let vmci_off = (bs + SUB_HEADER_SIZE) as u64;
        let note_off = vmci_off + spec.vmcoreinfo.len() as u64;
        sub[0..8].copy_from_slice(&spec.phys_base.to_le_bytes());
        sub[32..40].copy_from_slice(&vmci_off.to_le_bytes());
        sub[40..48].copy_from_slice(&(spec.vmcoreinfo.len() as u64).to_le_bytes());
        sub[48..56].copy_from_slice(&note_off.to_le_bytes());
        sub[56..64].copy_from_slice(&(spec.notes.len() as u64).to_le_bytes());
        sub[96..104].copy_from_slice(&spec.max_mapnr.to_le_bytes());
        sub.extend_from_slice(&spec.vmcoreinfo);
        sub.extend_from_slice(&spec.notes);
        let sub_blocks = sub.len().div_ceil(bs);
        sub.resize(sub_blocks * bs, 0);
        out.extend_from_slice(&sub);
        out[432..436].copy_from_slice(&(sub_blocks as u32).to_le_bytes());

        // Bitmaps.
        let one = (spec.max_mapnr as usize).div_ceil(8).div_ceil(bs).max(1) * bs;
        let mut bm = vec![0u8; 2 * one];
        for &p in &spec.ram {
            bm[(p / 8) as usize] |= 1 << (p % 8);
        }
        for (p, _, _) in &spec.pages {
            bm[one + (p / 8) as usize] |= 1 << (p % 8);
        }
        out[436..440].copy_from_slice(&((2 * one / bs) as u32).to_le_bytes());
        let bitmap_off = out.len() as u64;
        out.extend_from_slice(&bm);

        // Descriptors, then data.
        let desc_off = out.len() as u64;
        let data_off = desc_off + PAGE_DESC_SIZE * spec.pages.len() as u64;
        let mut data = Vec::new();
        for (_, page, kind) in &spec.pages {
            let c = testdata::compress(*kind, page, &spec.lzo_unit);
            let flags: u32 = match kind {
                Compression::None => 0,
                Compression::Zlib => 0x1,
                Compression::Lzo => 0x2,
                Compression::Snappy => 0x4,
                Compression::Zstd => 0x20,
            };
            out.extend_from_slice(&(data_off + data.len() as u64).to_le_bytes());
            out.extend_from_slice(&(c.len() as u32).to_le_bytes());
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&0u64.to_le_bytes());
            data.extend_from_slice(&c);
        }
        out.extend_from_slice(&data);
        let len = out.len() as u64;
        (
            out,
            Layout {
                bitmap_off,
                desc_off,
                data_off,
                len,
            },
        )
    }
}
