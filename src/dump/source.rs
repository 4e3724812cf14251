//! Where a dump's bytes come from: a read-only memory map, an in-memory buffer (tests,
//! small inputs), `pread` on a live file (`/proc/kcore`: never mapped, never cached), or the
//! virtual file described by a flattened-format index ([`super::flat`]).
//!
//! Every read is bounds checked; running off the end of the data is a [`ReadFail::Eof`]
//! naming the offset, never a panic.

use super::flat::FlatFile;
use memmap2::Mmap;
use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io;
use std::ops::Deref;
use std::os::unix::fs::FileExt;

/// Why bytes could not be read from a [`Source`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadFail {
    /// `[off, off+len)` is not (entirely) inside the data, which is `file_len` bytes long.
    Eof { off: u64, len: u64, file_len: u64 },
    /// The operating system refused the read.
    Io { off: u64, why: String },
}

impl fmt::Display for ReadFail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadFail::Eof { off, len, file_len } => write!(
                f,
                "{len:#x} bytes at file offset {off:#x} run past the end of the data ({file_len:#x} bytes)"
            ),
            ReadFail::Io { off, why } => write!(f, "read at file offset {off:#x} failed: {why}"),
        }
    }
}

/// Bytes that are entirely in memory: a read-only map of the file or an owned buffer.
pub(crate) enum Backing {
    Mapped(Mmap),
    Bytes(Vec<u8>),
}

impl Backing {
    /// Give back the mapped pages of `[start, end)` (rounded inward to pages) after a
    /// one-time pass over them: the file stays mapped and is read again from the page cache
    /// if needed, but a scan of a whole file (a flattened dump's record headers) does not
    /// leave the file resident in this process. A no-op for bytes in memory.
    pub(crate) fn release(&self, start: usize, end: usize) {
        const PAGE: usize = 4096;
        let Backing::Mapped(m) = self else { return };
        let start = start.div_ceil(PAGE) * PAGE;
        let end = (end.min(m.len()) / PAGE) * PAGE;
        if end > start {
            // SAFETY: a read-only shared file mapping: MADV_DONTNEED drops this process's
            // page-table entries only; the next access faults the same file bytes back in.
            // No slice into this range is held across the call by the caller (the scan
            // reads 16-byte record headers by value).
            let _ = unsafe {
                m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }
}

impl Deref for Backing {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Backing::Mapped(m) => m,
            Backing::Bytes(b) => b,
        }
    }
}

/// Bounds-checked sub-slice of an in-memory buffer.
pub(crate) fn slice_at(data: &[u8], off: u64, len: usize) -> Result<&[u8], ReadFail> {
    let eof = || ReadFail::Eof {
        off,
        len: len as u64,
        file_len: data.len() as u64,
    };
    let start = usize::try_from(off).map_err(|_| eof())?;
    let end = start.checked_add(len).ok_or_else(eof)?;
    data.get(start..end).ok_or_else(eof)
}

/// A random-access byte source.
pub(crate) enum Source {
    Whole(Backing),
    /// A live file read with `pread` on every access (`/proc/kcore`).
    Pread {
        file: File,
        len: u64,
    },
    /// The virtual file reassembled on the fly from a flattened-format file.
    Flat(FlatFile),
}

impl Source {
    /// Length of the (virtual) file. For `/proc/kcore` this is what `stat` says, which only
    /// bounds the offsets the kernel will serve.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Source::Whole(b) => b.len() as u64,
            Source::Pread { len, .. } => *len,
            Source::Flat(f) => f.len(),
        }
    }

    /// Fill `buf` with the bytes at `off`.
    pub(crate) fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), ReadFail> {
        match self {
            Source::Whole(b) => {
                buf.copy_from_slice(slice_at(b, off, buf.len())?);
                Ok(())
            }
            Source::Pread { file, len } => {
                file.read_exact_at(buf, off).map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => ReadFail::Eof {
                        off,
                        len: buf.len() as u64,
                        file_len: *len,
                    },
                    _ => ReadFail::Io {
                        off,
                        why: e.to_string(),
                    },
                })
            }
            Source::Flat(f) => f.read_at(off, buf),
        }
    }

    /// The `len` bytes at `off`, borrowed when they are contiguous in memory.
    pub(crate) fn bytes(&self, off: u64, len: usize) -> Result<Cow<'_, [u8]>, ReadFail> {
        match self {
            Source::Whole(b) => slice_at(b, off, len).map(Cow::Borrowed),
            Source::Flat(f) => match f.contiguous(off, len) {
                Some(s) => Ok(Cow::Borrowed(s)),
                None => {
                    let mut v = vec![0u8; len];
                    f.read_at(off, &mut v)?;
                    Ok(Cow::Owned(v))
                }
            },
            Source::Pread { .. } => {
                let mut v = vec![0u8; len];
                self.read_at(off, &mut v)?;
                Ok(Cow::Owned(v))
            }
        }
    }

    /// Read `len` bytes at `off` into a new buffer, refusing sizes over `limit` (a header
    /// field can claim any size; the caller says what is plausible).
    pub(crate) fn read_vec(&self, off: u64, len: u64, limit: u64) -> Result<Vec<u8>, ReadFail> {
        if len > limit || len > self.len() {
            return Err(ReadFail::Eof {
                off,
                len,
                file_len: self.len(),
            });
        }
        let mut v = vec![0u8; len as usize];
        self.read_at(off, &mut v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_reads_are_bounds_checked() {
        let s = Source::Whole(Backing::Bytes((0u8..16).collect()));
        let mut b = [0u8; 4];
        s.read_at(12, &mut b).unwrap();
        assert_eq!(b, [12, 13, 14, 15]);
        assert!(matches!(
            s.read_at(13, &mut b),
            Err(ReadFail::Eof {
                off: 13,
                len: 4,
                file_len: 16
            })
        ));
        assert!(s.read_at(u64::MAX, &mut b).is_err());
        assert!(s.bytes(u64::MAX - 1, 4).is_err());
        assert!(s.read_vec(0, 1 << 40, 1 << 20).is_err());
    }
}
