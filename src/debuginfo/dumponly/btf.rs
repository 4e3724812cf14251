//! BTF (`Documentation/bpf/btf.rst`, `include/uapi/linux/btf.h`) parsed into quiesce's type
//! model ([`Type`]), lazily.
//!
//! Opening a blob checks the header and walks the type section once to record where each
//! type starts (one `u32` per type: ~130k types, a few ms for a 5 MB kernel BTF). Names are
//! indexed on the first lookup by name; a [`Type`] is built when asked for. Nothing is
//! trusted: every offset, count and string is bounds-checked, and a malformed record ends
//! the walk with an error naming the type id.
//!
//! Split BTF (modules): type ids below `start_id` and string offsets below `start_str`
//! belong to the base (the vmlinux BTF).

use crate::debuginfo::index::Ns;

pub const KIND_INT: u8 = 1;
pub const KIND_PTR: u8 = 2;
pub const KIND_ARRAY: u8 = 3;
pub const KIND_STRUCT: u8 = 4;
pub const KIND_UNION: u8 = 5;
pub const KIND_ENUM: u8 = 6;
pub const KIND_FWD: u8 = 7;
pub const KIND_TYPEDEF: u8 = 8;
pub const KIND_VOLATILE: u8 = 9;
pub const KIND_CONST: u8 = 10;
pub const KIND_RESTRICT: u8 = 11;
pub const KIND_FUNC: u8 = 12;
pub const KIND_FUNC_PROTO: u8 = 13;
pub const KIND_VAR: u8 = 14;
pub const KIND_DATASEC: u8 = 15;
pub const KIND_FLOAT: u8 = 16;
pub const KIND_DECL_TAG: u8 = 17;
pub const KIND_TYPE_TAG: u8 = 18;
pub const KIND_ENUM64: u8 = 19;

/// At most this many types in one blob (a 7.x kernel has ~150k).
const MAX_TYPES: usize = 1 << 22;
/// At most this large a blob (kernel BTF is 4–6 MB).
pub const MAX_BTF_BYTES: usize = 256 << 20;

/// One raw type record.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    pub name_off: u32,
    pub kind: u8,
    pub kind_flag: bool,
    /// `size` or `type`, depending on the kind.
    pub size_type: u32,
    /// The bytes after the 12-byte common header (`vlen`-sized data, INT encoding, …).
    pub extra: &'a [u8],
}

pub struct Btf {
    data: Vec<u8>,
    /// Type section and string section, as byte ranges of `data`.
    types: std::ops::Range<usize>,
    strs: std::ops::Range<usize>,
    /// The first type id described here (1 for a base blob; the base's count for split BTF).
    pub start_id: u32,
    /// The first string offset described here (0 for a base blob).
    pub start_str: u32,
    /// Where each type starts in the type section, by `id - start_id`.
    offsets: Vec<u32>,
}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Btf({} bytes, types {}..{})",
            self.data.len(),
            self.start_id,
            self.end_id()
        )
    }
}

fn le32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Size of the kind-specific data after the common header, or `None` for an unknown kind.
fn extra_len(kind: u8, vlen: usize) -> Option<usize> {
    Some(match kind {
        KIND_INT => 4,
        KIND_ARRAY => 12,
        KIND_STRUCT | KIND_UNION => 12 * vlen,
        KIND_ENUM => 8 * vlen,
        KIND_FUNC_PROTO => 8 * vlen,
        KIND_VAR => 4,
        KIND_DATASEC => 12 * vlen,
        KIND_DECL_TAG => 4,
        KIND_ENUM64 => 12 * vlen,
        KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
        | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
        _ => return None,
    })
}

impl Btf {
    /// Check the header and index the type records. `start_id`/`start_str` are 1/0 for a
    /// base blob and the base's type count / string size for split BTF.
    pub fn parse(data: Vec<u8>, start_id: u32, start_str: u32) -> Result<Btf, String> {
        if data.len() < 24 {
            return Err(format!(
                "BTF is {} bytes: too short for a header",
                data.len()
            ));
        }
        let magic = u16::from_le_bytes([data[0], data[1]]);
        if magic != 0xeb9f {
            return Err(format!(
                "BTF magic is {magic:#06x}, not 0xeb9f (big-endian or not BTF)"
            ));
        }
        if data[2] != 1 {
            return Err(format!("BTF version {} (quiesce reads version 1)", data[2]));
        }
        let w = |i| le32(&data, i).unwrap_or(0) as usize;
        let (hdr_len, type_off, type_len, str_off, str_len) = (w(4), w(8), w(12), w(16), w(20));
        let range = |off: usize, len: usize, what: &str| {
            let a = hdr_len.checked_add(off);
            let b = a.and_then(|a| a.checked_add(len));
            match (a, b) {
                (Some(a), Some(b)) if b <= data.len() && hdr_len >= 24 => Ok(a..b),
                _ => Err(format!(
                    "BTF {what} section [{off:#x}+{len:#x}] lies outside the {} bytes read",
                    data.len()
                )),
            }
        };
        let types = range(type_off, type_len, "type")?;
        let strs = range(str_off, str_len, "string")?;
        let mut btf = Btf {
            data,
            types,
            strs,
            start_id,
            start_str,
            offsets: Vec::new(),
        };
        btf.index()?;
        Ok(btf)
    }

    fn index(&mut self) -> Result<(), String> {
        let t = &self.data[self.types.clone()];
        // ~38 bytes per type on average in kernel BTF.
        let mut offsets = Vec::with_capacity((t.len() / 32).min(MAX_TYPES));
        let mut p = 0usize;
        while p < t.len() {
            if offsets.len() >= MAX_TYPES {
                return Err(format!("BTF has more than {MAX_TYPES} types"));
            }
            let id = self.start_id as usize + offsets.len();
            let info = le32(t, p + 4).ok_or_else(|| format!("BTF type {id} is truncated"))?;
            let kind = ((info >> 24) & 0x1f) as u8;
            let vlen = (info & 0xffff) as usize;
            let n = extra_len(kind, vlen)
                .ok_or_else(|| format!("BTF type {id} has unknown kind {kind}"))?;
            let end = p + 12 + n;
            if end > t.len() {
                return Err(format!("BTF type {id} runs past the type section"));
            }
            offsets.push(p as u32);
            p = end;
        }
        self.offsets = offsets;
        Ok(())
    }

    /// Ids `start_id .. end_id` are described here.
    pub fn end_id(&self) -> u32 {
        self.start_id + self.offsets.len() as u32
    }

    /// The string section's size (what a split blob's `start_str` is for this one).
    pub fn str_len(&self) -> u32 {
        self.strs.len() as u32
    }

    /// The raw record of `id` (which must be described here).
    pub fn raw(&self, id: u32) -> Option<Raw<'_>> {
        let i = id.checked_sub(self.start_id)? as usize;
        let off = *self.offsets.get(i)? as usize;
        let t = &self.data[self.types.clone()];
        let name_off = le32(t, off)?;
        let info = le32(t, off + 4)?;
        let size_type = le32(t, off + 8)?;
        let kind = ((info >> 24) & 0x1f) as u8;
        let vlen = (info & 0xffff) as usize;
        let n = extra_len(kind, vlen)?;
        Some(Raw {
            name_off,
            kind,
            kind_flag: info >> 31 != 0,
            size_type,
            extra: t.get(off + 12..off + 12 + n)?,
        })
    }

    /// A string of this blob (offsets below `start_str` belong to the base: `None`).
    pub fn own_str(&self, off: u32) -> Option<&str> {
        let o = off.checked_sub(self.start_str)? as usize;
        let s = self.data[self.strs.clone()].get(o..)?;
        let end = s.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&s[..end]).ok()
    }

    /// Every id described here with its raw record.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Raw<'_>)> + '_ {
        (self.start_id..self.end_id()).filter_map(|id| Some((id, self.raw(id)?)))
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// No bytes held.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// The name space a type record's name lives in, or `None` for records that name no type.
pub(crate) fn ns_of(r: &Raw<'_>) -> Option<Ns> {
    Some(match r.kind {
        KIND_STRUCT => Ns::Struct,
        KIND_UNION => Ns::Union,
        KIND_ENUM | KIND_ENUM64 => Ns::Enum,
        KIND_FWD if r.kind_flag => Ns::Union,
        KIND_FWD => Ns::Struct,
        KIND_INT | KIND_TYPEDEF | KIND_FLOAT => Ns::Ordinary,
        _ => return None,
    })
}

/// FxHash of a name in a name space: the key of [`Sorted`] indexes.
pub fn key(ns: u8, name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
    let mut h = BuildHasherDefault::<crate::debuginfo::hash::FxHasher>::default().build_hasher();
    h.write_u8(ns);
    h.write(name.as_bytes());
    h.finish()
}

/// A name index without a string per entry: (key, payload) sorted by key. A lookup finds
/// the candidates with the key and the caller checks the name (hash collisions are
/// possible, if rare).
#[derive(Default)]
pub struct Sorted<T: Copy> {
    entries: Vec<(u64, T)>,
}

impl<T: Copy> Sorted<T> {
    pub fn from_vec(mut entries: Vec<(u64, T)>) -> Self {
        // Stable: among equal keys the first record stays first.
        entries.sort_by_key(|e| e.0);
        Sorted { entries }
    }
    pub fn get(&self, k: u64) -> impl Iterator<Item = T> + '_ {
        let i = self.entries.partition_point(|e| e.0 < k);
        self.entries[i..]
            .iter()
            .take_while(move |e| e.0 == k)
            .map(|e| e.1)
    }
}

/// Name space codes for [`key`].
pub(crate) fn ns_code(ns: Ns) -> u8 {
    match ns {
        Ns::Struct => 1,
        Ns::Union => 2,
        Ns::Enum => 3,
        Ns::Ordinary => 4,
    }
}

/// Named types of one blob: key of (name space, name) → type id.
pub fn index_types<'a>(btf: &'a Btf, name: &dyn Fn(u32) -> Option<&'a str>) -> Sorted<u32> {
    let mut v = Vec::with_capacity(btf.offsets.len() / 2);
    for (id, r) in btf.iter() {
        let Some(ns) = ns_of(&r) else { continue };
        let Some(n) = name(r.name_off).filter(|n| !n.is_empty()) else {
            continue;
        };
        v.push((key(ns_code(ns), n), id));
    }
    Sorted::from_vec(v)
}

/// Enumerators of one blob: key(0, name) → (value, enum type id).
pub fn index_enumerators<'a>(
    btf: &'a Btf,
    name: &dyn Fn(u32) -> Option<&'a str>,
) -> Sorted<(i64, u32)> {
    let mut v = Vec::new();
    for (id, r) in btf.iter() {
        match r.kind {
            KIND_ENUM => {
                for e in r.extra.chunks_exact(8) {
                    let (Some(no), Some(x)) = (le32(e, 0), le32(e, 4)) else {
                        continue;
                    };
                    // kind_flag: signed values (pahole 1.24+, which all 6.x kernels use).
                    let x = if r.kind_flag {
                        i64::from(x as i32)
                    } else {
                        i64::from(x)
                    };
                    if let Some(n) = name(no) {
                        v.push((key(0, n), (x, id)));
                    }
                }
            }
            KIND_ENUM64 => {
                for e in r.extra.chunks_exact(12) {
                    let (Some(no), Some(lo), Some(hi)) = (le32(e, 0), le32(e, 4), le32(e, 8))
                    else {
                        continue;
                    };
                    if let Some(n) = name(no) {
                        v.push((
                            key(0, n),
                            ((u64::from(hi) << 32 | u64::from(lo)) as i64, id),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Sorted::from_vec(v)
}

/// Per-CPU variables of one blob (VARs in the `.data..percpu` DATASEC): key(0, name) →
/// (VAR id, type id, offset in the section).
pub fn index_percpu<'a>(
    btf: &'a Btf,
    name: &dyn Fn(u32) -> Option<&'a str>,
) -> Sorted<(u32, u32, u32)> {
    let mut v = Vec::new();
    for (_, r) in btf.iter() {
        if r.kind != KIND_DATASEC || name(r.name_off) != Some(".data..percpu") {
            continue;
        }
        for e in r.extra.chunks_exact(12) {
            let (Some(var), Some(off)) = (le32(e, 0), le32(e, 4)) else {
                continue;
            };
            let Some(vr) = btf.raw(var).filter(|vr| vr.kind == KIND_VAR) else {
                continue;
            };
            if let Some(n) = name(vr.name_off) {
                v.push((key(0, n), (var, vr.size_type, off)));
            }
        }
    }
    Sorted::from_vec(v)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny BTF blob builder for tests.
    #[derive(Default)]
    pub struct Builder {
        pub types: Vec<u8>,
        pub strs: Vec<u8>,
        pub count: u32,
    }

    impl Builder {
        pub fn new() -> Self {
            Builder {
                types: Vec::new(),
                strs: vec![0],
                count: 0,
            }
        }
        pub fn s(&mut self, name: &str) -> u32 {
            if name.is_empty() {
                return 0;
            }
            let o = self.strs.len() as u32;
            self.strs.extend_from_slice(name.as_bytes());
            self.strs.push(0);
            o
        }
        /// Add a record; returns its id (ids start at 1).
        pub fn add(
            &mut self,
            name: &str,
            kind: u8,
            vlen: u32,
            kflag: bool,
            st: u32,
            extra: &[u32],
        ) -> u32 {
            let n = self.s(name);
            let info = (u32::from(kind) << 24) | vlen | if kflag { 1 << 31 } else { 0 };
            for w in [n, info, st].iter().chain(extra) {
                self.types.extend_from_slice(&w.to_le_bytes());
            }
            self.count += 1;
            self.count
        }
        pub fn build(&self) -> Vec<u8> {
            let mut b = Vec::new();
            b.extend_from_slice(&0xeb9fu16.to_le_bytes());
            b.push(1);
            b.push(0);
            for w in [
                24u32,
                0,
                self.types.len() as u32,
                self.types.len() as u32,
                self.strs.len() as u32,
            ] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            b.extend_from_slice(&self.types);
            b.extend_from_slice(&self.strs);
            b
        }
    }

    #[test]
    fn header_and_records_are_checked() {
        let mut b = Builder::new();
        let int = b.add("int", KIND_INT, 0, false, 4, &[(1 << 24) | 32]);
        b.add("", KIND_PTR, 0, false, int, &[]);
        let blob = b.build();
        let btf = Btf::parse(blob.clone(), 1, 0).unwrap();
        assert_eq!(btf.end_id(), 3);
        assert_eq!(btf.raw(1).unwrap().kind, KIND_INT);
        assert_eq!(btf.own_str(btf.raw(1).unwrap().name_off), Some("int"));
        // Truncated: the string section lies outside.
        assert!(Btf::parse(blob[..blob.len() - 2].to_vec(), 1, 0).is_err());
        // Bad magic.
        let mut bad = blob.clone();
        bad[0] = 0;
        assert!(Btf::parse(bad, 1, 0).unwrap_err().contains("magic"));
        // A record whose vlen runs past the section.
        let mut bad = blob.clone();
        bad[24 + 16 + 4..24 + 16 + 8]
            .copy_from_slice(&((u32::from(KIND_STRUCT) << 24) | 900).to_le_bytes());
        assert!(Btf::parse(bad, 1, 0).unwrap_err().contains("runs past"));
        // Unknown kind.
        let mut bad = blob;
        bad[24 + 4..24 + 8].copy_from_slice(&(31u32 << 24).to_le_bytes());
        assert!(Btf::parse(bad, 1, 0).unwrap_err().contains("unknown kind"));
        assert!(Btf::parse(vec![0; 3], 1, 0).is_err());
    }
}
