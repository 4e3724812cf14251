//! What a debug file is, judged by its contents rather than its name: a vmlinux with DWARF
//! (and its build-id and release), or a module (its own name from `.modinfo` or
//! `.gnu.linkonce.this_module`, and its build-id). Compressed modules (`.ko.xz`, `.ko.zst`,
//! `.ko.gz`) are decompressed in memory, within a size bound, and a usable copy is kept in a
//! cache directory (the debug info is memory-mapped from a file; the user's files are never
//! written).

use object::{Object, ObjectSection, ObjectSymbol};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest decompressed module accepted (bigger ones are refused, not truncated).
pub const MAX_MODULE_BYTES: u64 = 1 << 30;

/// How a module file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    Plain,
    Xz,
    Zstd,
    Gzip,
}

impl Packing {
    /// From the file name's last extension.
    pub fn of(path: &Path) -> Packing {
        match path.extension().and_then(|e| e.to_str()) {
            Some("xz") => Packing::Xz,
            Some("zst") => Packing::Zstd,
            Some("gz") => Packing::Gzip,
            _ => Packing::Plain,
        }
    }
}

/// Whether a file name looks like a module or module debug file: `*.ko`, `*.ko.debug`, or
/// either compressed (`.xz`, `.zst`, `.gz`). Only used to pick files out of directories; a
/// file named explicitly is judged by its contents whatever its name.
pub fn is_module_file_name(path: &Path) -> bool {
    module_stem(path).is_some()
}

/// The module name a file name suggests (`a-b.ko.xz` → `a-b`), when it looks like a module.
pub fn module_stem(path: &Path) -> Option<&str> {
    let mut name = path.file_name()?.to_str()?;
    for ext in [".xz", ".zst", ".gz"] {
        if let Some(n) = name.strip_suffix(ext) {
            name = n;
            break;
        }
    }
    let name = name.strip_suffix(".debug").unwrap_or(name);
    name.strip_suffix(".ko").filter(|n| !n.is_empty())
}

/// Whether a `-s` argument is a module debug file rather than the vmlinux: a directory is
/// neither; a module-like file name, a compressed file, or a relocatable ELF file (whatever
/// its name) is a module; anything else is taken for the vmlinux.
pub fn is_module_arg(path: &Path) -> bool {
    if is_module_file_name(path) {
        return true;
    }
    let mut head = [0u8; 18];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else {
        return false;
    };
    let head = &head[..n];
    let compressed = head.starts_with(b"\xfd7zXZ\0")
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || head.starts_with(&[0x1f, 0x8b]);
    // e_type ET_REL (1), in either byte order (EI_DATA at byte 5: 1 little, 2 big).
    let et_rel = head.len() == 18
        && head.starts_with(b"\x7fELF")
        && match head[5] {
            1 => head[16..18] == [1, 0],
            2 => head[16..18] == [0, 1],
            _ => false,
        };
    compressed || et_rel
}

/// Module names as the kernel compares them: `-` and `_` are the same.
pub fn module_key(name: &str) -> String {
    name.replace('-', "_")
}

/// A module file's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KoIdentity {
    /// From `.modinfo` `name=`, else `.gnu.linkonce.this_module`'s `struct module.name`.
    /// `None` in split debug files, where both sections are `NOBITS`.
    pub name: Option<String>,
    pub build_id: Option<Vec<u8>>,
}

/// A module file read for identification: its bytes (decompressed) or a mapping.
pub enum KoData {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for KoData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            KoData::Mapped(m) => m,
            KoData::Owned(v) => v,
        }
    }
}

/// Read a module file, decompressing it if its name says it is compressed (or its magic
/// does). Errors say what was wrong with which file.
pub fn read_module(path: &Path) -> Result<KoData, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let len = f
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    let mut magic = [0u8; 6];
    let n = (&f).read(&mut magic).unwrap_or(0);
    let magic = &magic[..n];
    let packing = if magic.starts_with(b"\xfd7zXZ\0") {
        Packing::Xz
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Packing::Zstd
    } else if magic.starts_with(&[0x1f, 0x8b]) {
        Packing::Gzip
    } else {
        Packing::Plain
    };
    if packing == Packing::Plain {
        if len > MAX_MODULE_BYTES {
            return Err(format!(
                "{}: {len} bytes, more than the {MAX_MODULE_BYTES} accepted for a module",
                path.display()
            ));
        }
        // SAFETY: mapped read-only, only for the duration of identification or loading;
        // like every debugger we assume the file is not truncated underneath us.
        let m =
            unsafe { memmap2::Mmap::map(&f) }.map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(KoData::Mapped(m));
    }
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let r = std::io::BufReader::new(f);
    let mut out = Bounded(Vec::new(), MAX_MODULE_BYTES as usize);
    let res = match packing {
        Packing::Xz => lzma_rs::xz_decompress(&mut { r }, &mut out).map_err(|e| e.to_string()),
        Packing::Zstd => ruzstd::decoding::StreamingDecoder::new_with_max_window_size(r, 64 << 20)
            .map_err(|e| e.to_string())
            .and_then(|mut d| std::io::copy(&mut d, &mut out).map_err(|e| e.to_string()))
            .map(|_| ()),
        Packing::Gzip => std::io::copy(&mut flate2::read::MultiGzDecoder::new(r), &mut out)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Packing::Plain => unreachable!("handled above"),
    };
    res.map_err(|e| format!("{}: cannot decompress ({packing:?}): {e}", path.display()))?;
    Ok(KoData::Owned(out.0))
}

/// A `Write` into a vector that refuses to grow past its bound.
struct Bounded(Vec<u8>, usize);

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > self.1 {
            return Err(std::io::Error::other(format!(
                "decompresses to more than {} bytes",
                self.1
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Offset of `name` in `struct module` on 64-bit kernels: after `enum module_state state`
/// (4 bytes, padded to 8) and `struct list_head list` (16 bytes).
const THIS_MODULE_NAME_OFF: usize = 24;
/// `MODULE_NAME_LEN` on 64-bit kernels.
const MODULE_NAME_LEN: usize = 56;

/// A module file's identity from its bytes. `Err` when it is no ELF relocatable object.
pub fn ko_identity(data: &[u8]) -> Result<KoIdentity, String> {
    let obj = object::File::parse(data).map_err(|e| format!("not an ELF file ({e})"))?;
    if obj.kind() != object::ObjectKind::Relocatable {
        return Err(format!(
            "not a kernel module (an ELF {:?} file, modules are relocatable)",
            obj.kind()
        ));
    }
    let nonempty = |n: &[u8]| (!n.is_empty()).then(|| String::from_utf8_lossy(n).into_owned());
    let from_modinfo = obj
        .section_by_name(".modinfo")
        .and_then(|s| s.data().ok())
        .and_then(|d| {
            d.split(|&b| b == 0)
                .find_map(|kv| kv.strip_prefix(b"name="))
                .and_then(nonempty)
        });
    let from_this_module = || {
        let d = obj
            .section_by_name(".gnu.linkonce.this_module")?
            .data()
            .ok()?;
        let name = d.get(THIS_MODULE_NAME_OFF..THIS_MODULE_NAME_OFF + MODULE_NAME_LEN)?;
        let end = name.iter().position(|&b| b == 0)?;
        let name = &name[..end];
        name.iter()
            .all(|b| b.is_ascii_graphic())
            .then(|| nonempty(name))
            .flatten()
    };
    Ok(KoIdentity {
        name: from_modinfo.or_else(from_this_module),
        build_id: obj.build_id().ok().flatten().map(<[u8]>::to_vec),
    })
}

/// What a candidate vmlinux file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmlinuxIdentity {
    pub build_id: Option<Vec<u8>>,
    /// The release from `linux_banner` (`Linux version REL ...`), when readable.
    pub release: Option<String>,
}

/// Judge a file as a vmlinux with DWARF: `Err` says why it is not one (not ELF, a module,
/// no kernel sections, no DWARF).
pub fn vmlinux_identity(path: &Path) -> Result<VmlinuxIdentity, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: mapped read-only for the duration of this call.
    let m = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| e.to_string())?;
    let _ = m.advise(memmap2::Advice::Random);
    let obj = object::File::parse(&*m).map_err(|_| "not an ELF file".to_string())?;
    if obj.kind() == object::ObjectKind::Relocatable {
        return Err("a relocatable object (a module?), not a vmlinux".into());
    }
    if obj.section_by_name(".init.text").is_none() && obj.section_by_name("__ksymtab").is_none() {
        return Err("not a vmlinux (no .init.text or __ksymtab section)".into());
    }
    if obj
        .section_by_name(".debug_info")
        .is_none_or(|s| s.size() == 0)
    {
        return Err("no DWARF debug info (.debug_info): a stripped vmlinux".into());
    }
    let build_id = obj.build_id().ok().flatten().map(<[u8]>::to_vec);
    let release = obj
        .symbols()
        .find(|s| s.name() == Ok("linux_banner"))
        .and_then(|s| {
            let sec = obj.section_by_index(s.section_index()?).ok()?;
            let data = sec.data().ok()?;
            let off = s.address().checked_sub(sec.address())? as usize;
            let b = data.get(off..data.len().min(off + 256))?;
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            let text = String::from_utf8_lossy(&b[..end]).into_owned();
            text.split_whitespace().nth(2).map(str::to_owned)
        });
    Ok(VmlinuxIdentity { build_id, release })
}

/// Whether two build-ids name the same build: equal, or one a prefix of the other
/// (VMCOREINFO may carry a shortened one).
pub fn same_build_id(a: &[u8], b: &[u8]) -> bool {
    !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The base of quiesce's cache directories: `$XDG_CACHE_HOME/quiesce`, else
/// `~/.cache/quiesce`.
pub fn cache_base() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    Some(base.join("quiesce"))
}

/// A plain copy of a module for mapping: the file itself when it is not compressed, else the
/// decompressed bytes written once to `cache_base()/modules/<build-id or digest>/<name>.ko`
/// (temporary file renamed into place).
pub fn usable_module_file(path: &Path, data: &KoData, id: &KoIdentity) -> Result<PathBuf, String> {
    let KoData::Owned(bytes) = data else {
        return Ok(path.to_path_buf());
    };
    let dir_key = match &id.build_id {
        Some(b) => hex(b),
        None => {
            use std::hash::Hasher;
            let mut h = super::hash::FxHasher::default();
            h.write(bytes);
            format!("nobuildid-{:016x}-{}", h.finish(), bytes.len())
        }
    };
    let name = id
        .name
        .clone()
        .or_else(|| module_stem(path).map(str::to_owned))
        .unwrap_or_else(|| "module".into());
    let dir = cache_base()
        .ok_or("no HOME or XDG_CACHE_HOME to keep a decompressed module in")?
        .join("modules")
        .join(dir_key);
    let dest = dir.join(format!("{}.ko", module_key(&name)));
    if std::fs::metadata(&dest).is_ok_and(|m| m.len() == bytes.len() as u64) {
        return Ok(dest);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{}.tmp.{}", module_key(&name), std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &dest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", dest.display())
    })?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_stems() {
        let s = |p: &str| module_stem(Path::new(p)).map(str::to_owned);
        assert_eq!(s("/x/quiesce_hang.ko").as_deref(), Some("quiesce_hang"));
        assert_eq!(s("a-b.ko.xz").as_deref(), Some("a-b"));
        assert_eq!(s("a.ko.zst").as_deref(), Some("a"));
        assert_eq!(s("a.ko.gz").as_deref(), Some("a"));
        assert_eq!(s("a.ko.debug").as_deref(), Some("a"));
        assert_eq!(s("vmlinux"), None);
        assert_eq!(s(".ko"), None);
        assert_eq!(s("a.o"), None);
    }

    #[test]
    fn not_elf_and_not_module() {
        assert!(ko_identity(b"hello").unwrap_err().contains("not an ELF"));
        // The committed DWARF test object is relocatable but no module: no name, no error.
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/debuginfo/types.o");
        let d = std::fs::read(p).unwrap();
        let id = ko_identity(&d).unwrap();
        assert_eq!(id.name, None);
    }

    #[test]
    fn bounded_writer_refuses_growth() {
        use std::io::Write;
        let mut b = Bounded(Vec::new(), 4);
        assert!(b.write_all(b"abc").is_ok());
        assert!(b.write_all(b"de").is_err());
    }
}
