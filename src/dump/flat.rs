//! The flattened format (`makedumpfile -F`, and QEMU's kdump output before 8.2): a
//! 4096-byte `makedumpfile_header` ("makedumpfile", type, version; big-endian), then records
//! `{ offset: i64 BE, size: i64 BE }` + `size` bytes, each one a write into a virtual output
//! file, ended by a record whose offset is -1.
//!
//! We never rewrite the file (`makedumpfile -R` or crash's rearrangement take minutes on big
//! dumps). [`FlatFile::parse`] walks the record headers once, skipping payloads, and builds a
//! sorted index of disjoint pieces (virtual offset → file offset); reads of the virtual file
//! go through it. Overlapping records resolve as `makedumpfile -R` does, which seeks and
//! writes each record in order: the last writer wins. Virtual bytes that no record wrote
//! read as zeros, like the holes of the sparse file `-R` would produce.

use super::DumpError;
use super::source::{Backing, ReadFail, slice_at};
use std::collections::BTreeMap;

pub(crate) const MDF_SIGNATURE: &[u8] = b"makedumpfile";
pub(crate) const MDF_HEADER_SIZE: u64 = 4096;
const MDF_TYPE_FLAT_HEADER: i64 = 1;
const MDF_VERSION_FLAT_HEADER: i64 = 1;
const RECORD_HEADER: u64 = 16;

/// One disjoint piece of the virtual file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    vstart: u64,
    len: u64,
    /// Where the piece's first byte lies in the flattened file.
    foff: u64,
}

impl Piece {
    fn vend(&self) -> u64 {
        self.vstart + self.len
    }
}

/// A flattened file and the index that makes it readable as the file it describes.
pub(crate) struct FlatFile {
    data: Backing,
    pieces: Vec<Piece>,
    vlen: u64,
    records: usize,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(w)
}

impl FlatFile {
    /// Index the records of `data`. Damage after the first record (a truncated tail, a
    /// garbage record header) stops the scan with a line in `warnings`: what came before is
    /// still readable.
    pub(crate) fn parse(data: Backing, warnings: &mut Vec<String>) -> Result<FlatFile, DumpError> {
        let head = slice_at(&data, 0, 32)
            .map_err(|f| DumpError::from_read("flattened-format header", f))?;
        if !head.starts_with(MDF_SIGNATURE) {
            return Err(DumpError::Invalid {
                what: "flattened-format header".into(),
                offset: 0,
                why: "no \"makedumpfile\" signature".into(),
            });
        }
        let (ty, version) = (be_i64(head, 16), be_i64(head, 24));
        if ty != MDF_TYPE_FLAT_HEADER {
            return Err(DumpError::Invalid {
                what: "flattened-format header".into(),
                offset: 16,
                why: format!("type {ty} (expected {MDF_TYPE_FLAT_HEADER})"),
            });
        }
        if version != MDF_VERSION_FLAT_HEADER {
            warnings.push(format!(
                "flattened-format header version {version} (expected {MDF_VERSION_FLAT_HEADER}); reading it anyway"
            ));
        }

        let file_len = data.len() as u64;
        let mut records: Vec<Piece> = Vec::new();
        let mut pos = MDF_HEADER_SIZE;
        // The record headers are spread over the whole file (QEMU's 16 GiB kdump: 1 GB);
        // each window passed is given back so the scan's memory does not grow with it.
        const WINDOW: u64 = 64 << 20;
        let mut released = 0u64;
        loop {
            if pos - released >= 2 * WINDOW {
                let upto = pos - WINDOW;
                data.release(released as usize, upto as usize);
                released = upto;
            }
            if pos == file_len {
                warnings.push(format!(
                    "flattened file ends at offset {pos:#x} without an end marker (truncated?)"
                ));
                break;
            }
            let Ok(rh) = slice_at(&data, pos, RECORD_HEADER as usize) else {
                warnings.push(format!(
                    "flattened file truncated inside the record header at offset {pos:#x}"
                ));
                break;
            };
            let (voff, size) = (be_i64(rh, 0), be_i64(rh, 8));
            if voff == -1 {
                break;
            }
            if voff < 0 || size < 0 || (voff as u64).checked_add(size as u64).is_none() {
                warnings.push(format!(
                    "flattened record header at offset {pos:#x} is garbage (offset {voff}, size {size}); ignoring the rest of the file"
                ));
                break;
            }
            let payload = pos + RECORD_HEADER;
            let avail = file_len - payload;
            let len = size as u64;
            if len > avail {
                warnings.push(format!(
                    "flattened record at offset {pos:#x} wants {len:#x} bytes but the file has only {avail:#x} left (truncated)"
                ));
                records.push(Piece {
                    vstart: voff as u64,
                    len: avail,
                    foff: payload,
                });
                break;
            }
            if len > 0 {
                records.push(Piece {
                    vstart: voff as u64,
                    len,
                    foff: payload,
                });
            }
            pos = payload + len;
        }
        let n = records.len();
        let pieces = index_last_writer_wins(records);
        let vlen = pieces.last().map_or(0, Piece::vend);
        Ok(FlatFile {
            data,
            pieces,
            vlen,
            records: n,
        })
    }

    /// Length of the virtual file (end of the furthest record).
    pub(crate) fn len(&self) -> u64 {
        self.vlen
    }

    /// Number of data records seen.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn records(&self) -> usize {
        self.records
    }

    /// Fill `buf` with the virtual file's bytes at `off`.
    pub(crate) fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), ReadFail> {
        let len = buf.len() as u64;
        let eof = ReadFail::Eof {
            off,
            len,
            file_len: self.vlen,
        };
        match off.checked_add(len) {
            Some(end) if end <= self.vlen => {}
            _ => return Err(eof),
        }
        let mut idx = self.pieces.partition_point(|p| p.vend() <= off);
        let mut done = 0usize;
        while done < buf.len() {
            let pos = off + done as u64;
            let want = buf.len() - done;
            match self.pieces.get(idx) {
                Some(p) if p.vstart <= pos => {
                    let n = want.min((p.vend() - pos) as usize);
                    let src = slice_at(&self.data, p.foff + (pos - p.vstart), n)?;
                    buf[done..done + n].copy_from_slice(src);
                    done += n;
                    idx += 1;
                }
                next => {
                    // A hole no record wrote: zeros, as in the file `makedumpfile -R` makes.
                    let gap = next.map_or(u64::MAX, |p| p.vstart - pos);
                    let n = want.min(usize::try_from(gap).unwrap_or(usize::MAX));
                    buf[done..done + n].fill(0);
                    done += n;
                }
            }
        }
        Ok(())
    }

    /// `[off, off+len)` as one borrowed slice when a single record holds all of it.
    pub(crate) fn contiguous(&self, off: u64, len: usize) -> Option<&[u8]> {
        let idx = self.pieces.partition_point(|p| p.vend() <= off);
        let p = self.pieces.get(idx)?;
        let end = off.checked_add(len as u64)?;
        if p.vstart <= off && end <= p.vend() {
            slice_at(&self.data, p.foff + (off - p.vstart), len).ok()
        } else {
            None
        }
    }
}

/// Turn records in write order into sorted, disjoint pieces where each virtual byte comes
/// from the last record that wrote it. The common case (records already in increasing,
/// non-overlapping order) costs one pass; otherwise records are laid down newest first and
/// each keeps only the parts no newer record covered.
fn index_last_writer_wins(records: Vec<Piece>) -> Vec<Piece> {
    if records.windows(2).all(|w| w[0].vend() <= w[1].vstart) {
        return records;
    }
    // start → (end, file offset of start)
    let mut covered: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for rec in records.iter().rev() {
        let (s, e) = (rec.vstart, rec.vend());
        let mut cur = s;
        if let Some((_, &(pe, _))) = covered.range(..s).next_back() {
            cur = cur.max(pe);
        }
        let mut gaps = Vec::new();
        for (&ps, &(pe, _)) in covered.range(s..e) {
            if cur >= e {
                break;
            }
            if ps > cur {
                gaps.push((cur, ps.min(e)));
            }
            cur = cur.max(pe);
        }
        if cur < e {
            gaps.push((cur, e));
        }
        for (gs, ge) in gaps {
            covered.insert(gs, (ge, rec.foff + (gs - s)));
        }
    }
    covered
        .into_iter()
        .map(|(vstart, (end, foff))| Piece {
            vstart,
            len: end - vstart,
            foff,
        })
        .collect()
}

/// Build a flattened file from `(virtual offset, bytes)` writes, in the given order.
#[cfg(test)]
pub(crate) fn flatten(writes: &[(u64, &[u8])]) -> Vec<u8> {
    let mut out = vec![0u8; MDF_HEADER_SIZE as usize];
    out[..MDF_SIGNATURE.len()].copy_from_slice(MDF_SIGNATURE);
    out[16..24].copy_from_slice(&MDF_TYPE_FLAT_HEADER.to_be_bytes());
    out[24..32].copy_from_slice(&MDF_VERSION_FLAT_HEADER.to_be_bytes());
    for (off, data) in writes {
        out.extend_from_slice(&(*off as i64).to_be_bytes());
        out.extend_from_slice(&(data.len() as i64).to_be_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&(-1i64).to_be_bytes());
    out.extend_from_slice(&(-1i64).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(bytes: Vec<u8>) -> (FlatFile, Vec<String>) {
        let mut w = Vec::new();
        let f = FlatFile::parse(Backing::Bytes(bytes), &mut w).unwrap();
        (f, w)
    }

    fn read_all(f: &FlatFile) -> Vec<u8> {
        let mut v = vec![0u8; f.len() as usize];
        f.read_at(0, &mut v).unwrap();
        v
    }

    #[test]
    fn in_order_records_read_back() {
        let (f, w) = open(flatten(&[(0, b"hello "), (6, b"world")]));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(f.records(), 2);
        assert_eq!(read_all(&f), b"hello world");
        assert_eq!(f.contiguous(1, 4), Some(&b"ello"[..]));
        assert_eq!(f.contiguous(4, 4), None); // spans two records
    }

    #[test]
    fn out_of_order_overlapping_last_writer_wins() {
        let (f, _) = open(flatten(&[
            (10, b"XXXXXXXXXX"),
            (0, b"abcdefghij"),
            (5, b"12345"), // overwrites f..j and nothing after 10
            (12, b"KL"),   // overwrites part of the first record
            (8, b"@"),     // a one-byte overwrite inside the third record
            (22, b"tail"), // leaves a hole at 20..22
        ]));
        assert_eq!(read_all(&f), b"abcde123@5XXKLXXXXXX\0\0tail");
    }

    #[test]
    fn truncation_and_garbage_are_warnings() {
        let mut bytes = flatten(&[(0, b"abcdef"), (6, b"ghijkl")]);
        bytes.truncate(bytes.len() - 16 - 3); // drop end marker and 3 payload bytes
        let (f, w) = open(bytes);
        assert_eq!(read_all(&f), b"abcdefghi");
        assert!(w[0].contains("truncated"), "{w:?}");

        let mut bytes = flatten(&[(0, b"abc")]);
        let end = bytes.len() - 16;
        bytes[end..end + 8].copy_from_slice(&(-5i64).to_be_bytes());
        let (f, w) = open(bytes);
        assert_eq!(read_all(&f), b"abc");
        assert!(w[0].contains("garbage"), "{w:?}");

        let mut buf = [0u8; 4];
        assert!(f.read_at(1, &mut buf).is_err());
    }

    #[test]
    fn bad_headers_are_errors() {
        let mut w = Vec::new();
        assert!(FlatFile::parse(Backing::Bytes(b"makedumpfile".to_vec()), &mut w).is_err());
        let mut bytes = flatten(&[]);
        bytes[16..24].copy_from_slice(&7i64.to_be_bytes());
        assert!(FlatFile::parse(Backing::Bytes(bytes), &mut w).is_err());
    }
}
