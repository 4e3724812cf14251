//! The on-disk name-index cache: what the incremental index (see [`super::index`]) learned
//! about the vmlinux in earlier runs, so that a later run starts where they stopped instead of
//! rescanning the same units.
//!
//! One file per vmlinux build, `<build-id>.idx` under `$QUIESCE_INDEX_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/quiesce/index/`, else `~/.cache/quiesce/index/`; `QUIESCE_INDEX_CACHE=0`
//! disables it. The file records the index state after its first `next_unit` units, so
//! loading it is exactly equivalent to having scanned them (same merge order). Names are
//! stored as offsets into the mapped vmlinux. A file is used only if its magic, version,
//! checksum, build-id, and the vmlinux's size and mtime all match, and every name lies inside
//! the mapping; anything else is ignored (and overwritten on the next save). Writes go to a
//! temporary file renamed into place.

use super::hash::FxHasher;
use super::image::Image;
use super::index::{EnumeratorEntry, FuncEntry, NameIndex, Ns, TypeSlot, VarEntry};
use std::hash::Hasher;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"QSCIDX\0\0";
const VERSION: u32 = 2;

/// The default cache directory, or `None` when disabled by `QUIESCE_INDEX_CACHE=0`.
pub fn default_dir() -> Option<PathBuf> {
    if std::env::var_os("QUIESCE_INDEX_CACHE").is_some_and(|v| v == "0") {
        return None;
    }
    if let Some(d) = std::env::var_os("QUIESCE_INDEX_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    Some(base.join("quiesce/index"))
}

/// The identity of the vmlinux a cache file belongs to.
#[derive(Clone, Copy)]
pub(crate) struct FileStamp {
    pub size: u64,
    pub mtime_s: i64,
    pub mtime_ns: u32,
}

impl FileStamp {
    pub fn of(file: &std::fs::File) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata().ok()?;
        Some(FileStamp {
            size: m.len(),
            mtime_s: m.mtime(),
            mtime_ns: m.mtime_nsec() as u32,
        })
    }
}

pub(crate) fn file_name(build_id: &[u8]) -> String {
    let hex: String = build_id.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.idx")
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, v: u8) {
        self.0.push(v)
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes())
    }
}

struct Rd<'a>(&'a [u8]);

impl Rd<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

fn checksum(b: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(b);
    h.finish()
}

fn ns_code(ns: Ns) -> u8 {
    match ns {
        Ns::Struct => 0,
        Ns::Union => 1,
        Ns::Enum => 2,
        Ns::Ordinary => 3,
    }
}

fn opt(v: Option<usize>) -> u64 {
    v.map_or(u64::MAX, |d| d as u64)
}

impl Image {
    fn header(&self, w: &mut W, stamp: &FileStamp, build_id: &[u8]) {
        w.0.extend_from_slice(MAGIC);
        w.u32(VERSION);
        w.u32(build_id.len() as u32);
        w.0.extend_from_slice(build_id);
        w.u64(stamp.size);
        w.u64(stamp.mtime_s as u64);
        w.u32(stamp.mtime_ns);
    }

    /// Serialize the index (`None` if a name is not inside the mapping, e.g. a
    /// decompressed section).
    pub(crate) fn encode_index(&self, idx: &NameIndex, stamp: &FileStamp) -> Option<Vec<u8>> {
        let build_id = self.build_id.as_deref()?;
        let (base, len) = self.map_range();
        let name = |w: &mut W, n: &[u8]| -> Option<()> {
            let p = n.as_ptr() as usize;
            if p < base || p + n.len() > base + len {
                return None;
            }
            w.u64((p - base) as u64);
            w.u32(n.len() as u32);
            Some(())
        };
        let mut w = W(Vec::with_capacity(1 << 20));
        self.header(&mut w, stamp, build_id);
        w.u64(idx.next_unit as u64);
        w.u8(u8::from(idx.complete));
        w.u64(idx.bad_units as u64);
        w.u64(idx.types.len() as u64);
        for ((ns, n), s) in &idx.types {
            w.u8(ns_code(*ns));
            name(&mut w, n)?;
            w.u64(opt(s.def));
            w.u64(opt(s.decl));
        }
        w.u64(idx.vars.len() as u64);
        for (n, v) in &idx.vars {
            name(&mut w, n)?;
            w.u32(v.len() as u32);
            for e in v {
                w.u64(e.die as u64);
                w.u64(e.addr);
                w.u8(u8::from(e.external));
            }
        }
        w.u64(idx.funcs.len() as u64);
        for (n, v) in &idx.funcs {
            name(&mut w, n)?;
            w.u32(v.len() as u32);
            for e in v {
                w.u64(e.die as u64);
                w.u64(e.low_pc);
                w.u64(e.high_pc);
            }
        }
        w.u64(idx.enumerators.len() as u64);
        for (n, e) in &idx.enumerators {
            name(&mut w, n)?;
            w.u64(e.value as u64);
            w.u64(e.enum_die as u64);
        }
        let sum = checksum(&w.0);
        w.u64(sum);
        Some(w.0)
    }

    /// Parse and validate a cache file's bytes into an index; `None` if anything is off.
    pub(crate) fn decode_index(&self, data: &[u8], stamp: &FileStamp) -> Option<NameIndex> {
        let build_id = self.build_id.as_deref()?;
        let body = data.get(..data.len().checked_sub(8)?)?;
        let sum = u64::from_le_bytes(data[body.len()..].try_into().ok()?);
        let mut want = W(Vec::new());
        self.header(&mut want, stamp, build_id);
        if !body.starts_with(&want.0) || checksum(body) != sum {
            return None;
        }
        let (base, len) = self.map_range();
        let mut r = Rd(&body[want.0.len()..]);
        let name = |r: &mut Rd| -> Option<&'static [u8]> {
            let off = usize::try_from(r.u64()?).ok()?;
            let n = r.u32()? as usize;
            if off.checked_add(n)? > len {
                return None;
            }
            // SAFETY: inside the mapping, which lives as long as the image (see
            // `image::extend`).
            Some(unsafe { std::slice::from_raw_parts((base + off) as *const u8, n) })
        };
        let die = |v: u64| (v != u64::MAX).then_some(v as usize);
        let units = self.units().ok()?.len();
        let mut idx = NameIndex {
            next_unit: usize::try_from(r.u64()?).ok()?,
            complete: r.u8()? != 0,
            bad_units: usize::try_from(r.u64()?).ok()?,
            ..NameIndex::default()
        };
        if idx.next_unit > units || idx.complete != (idx.next_unit == units) {
            return None;
        }
        let count = |r: &mut Rd| usize::try_from(r.u64()?).ok().filter(|&n| n <= body.len());
        for _ in 0..count(&mut r)? {
            let ns = match r.u8()? {
                0 => Ns::Struct,
                1 => Ns::Union,
                2 => Ns::Enum,
                3 => Ns::Ordinary,
                _ => return None,
            };
            let n = name(&mut r)?;
            let slot = TypeSlot {
                def: die(r.u64()?),
                decl: die(r.u64()?),
            };
            idx.types.insert((ns, n), slot);
        }
        for _ in 0..count(&mut r)? {
            let n = name(&mut r)?;
            let k = r.u32()? as usize;
            let mut v = Vec::with_capacity(k.min(1024));
            for _ in 0..k {
                v.push(VarEntry {
                    die: r.u64()? as usize,
                    addr: r.u64()?,
                    external: r.u8()? != 0,
                });
            }
            idx.vars.insert(n, v);
        }
        for _ in 0..count(&mut r)? {
            let n = name(&mut r)?;
            let k = r.u32()? as usize;
            let mut v = Vec::with_capacity(k.min(1024));
            for _ in 0..k {
                v.push(FuncEntry {
                    die: r.u64()? as usize,
                    low_pc: r.u64()?,
                    high_pc: r.u64()?,
                });
            }
            idx.funcs.insert(n, v);
        }
        for _ in 0..count(&mut r)? {
            let n = name(&mut r)?;
            let e = EnumeratorEntry {
                value: r.u64()? as i64,
                enum_die: r.u64()? as usize,
            };
            idx.enumerators.insert(n, e);
        }
        r.0.is_empty().then_some(idx)
    }

    /// Load `dir/<build-id>.idx` into the (still empty) index. Whether it was used.
    pub(crate) fn load_index_cache(&self, dir: &Path) -> bool {
        let (Some(build_id), Some(stamp)) = (self.build_id.as_deref(), self.stamp()) else {
            return false;
        };
        let Ok(data) = std::fs::read(dir.join(file_name(build_id))) else {
            return false;
        };
        let Some(loaded) = self.decode_index(&data, &stamp) else {
            return false;
        };
        let mut idx = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if idx.next_unit != 0 {
            return false;
        }
        *idx = loaded;
        idx.saved_units = idx.next_unit;
        true
    }

    /// Write the index to `dir/<build-id>.idx` if it grew since it was loaded or saved.
    /// The path written, if any.
    pub(crate) fn save_index_cache(&self, dir: &Path) -> std::io::Result<Option<PathBuf>> {
        let (Some(build_id), Some(stamp)) = (self.build_id.as_deref(), self.stamp()) else {
            return Ok(None);
        };
        let mut idx = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if idx.next_unit <= idx.saved_units {
            return Ok(None);
        }
        let Some(bytes) = self.encode_index(&idx, &stamp) else {
            return Ok(None);
        };
        std::fs::create_dir_all(dir)?;
        let path = dir.join(file_name(build_id));
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            file_name(build_id),
            std::process::id()
        ));
        let r = std::fs::write(&tmp, &bytes).and_then(|_| std::fs::rename(&tmp, &path));
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r?;
        idx.saved_units = idx.next_unit;
        Ok(Some(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::DebugInfo;

    /// The real vmlinux, when the fixtures are there (this needs a file with a build-id and
    /// DWARF in the mapping; the committed `types.o` has no build-id).
    fn vmlinux() -> Option<DebugInfo> {
        let p = PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache/quiesce/fixtures/bookworm/vmlinux");
        p.exists()
            .then(|| DebugInfo::open_vmlinux_uncached(&p).unwrap())
    }

    #[test]
    fn stale_stamp_or_build_id_is_refused() {
        let Some(di) = vmlinux() else { return };
        di.find_type("struct task_struct").unwrap();
        let img = &di.images[0];
        let stamp = img.stamp().unwrap();
        let idx = img.index.lock().unwrap();
        let bytes = img.encode_index(&idx, &stamp).unwrap();
        assert!(img.decode_index(&bytes, &stamp).is_some());
        for other in [
            FileStamp {
                size: stamp.size + 1,
                ..stamp
            },
            FileStamp {
                mtime_s: stamp.mtime_s - 1,
                ..stamp
            },
            FileStamp {
                mtime_ns: stamp.mtime_ns ^ 1,
                ..stamp
            },
        ] {
            // Written for another file state (valid checksum): not used.
            let stale = img.encode_index(&idx, &other).unwrap();
            assert!(img.decode_index(&stale, &stamp).is_none());
        }
        // Another build-id in the header.
        let mut wrong = bytes.clone();
        wrong[16] ^= 0xff;
        assert!(img.decode_index(&wrong, &stamp).is_none());
    }
}
