//! The kernel's own symbol table, decoded from the dump (`kernel/kallsyms.c`).
//!
//! `scripts/kallsyms` compresses every name into `kallsyms_names`: per symbol a length (one
//! byte, or two when the first has its top bit set: "big" symbols, commit 73bbb94466fd,
//! 6.1) and that many token indices; token `i` is the NUL-terminated string at
//! `kallsyms_token_table[kallsyms_token_index[i]]`. The first character of the expansion
//! is the `nm` type letter (`t`, `T`, `d`, `B`, …), the rest is the name.
//!
//! Addresses, three schemes, each told apart by what the dump holds (never a version):
//! - `kallsyms_offsets[]` + `kallsyms_relative_base` (`CONFIG_KALLSYMS_BASE_RELATIVE`,
//!   4.6+): `base + (u32)off`, or with `CONFIG_KALLSYMS_ABSOLUTE_PERCPU` (x86_64 SMP up to
//!   6.14) non-negative offsets are absolute values (the per-CPU symbols) and negative ones
//!   mean `base - 1 - off`. An offset with its top bit set occurs only in the second form.
//! - `kallsyms_offsets[]` without `kallsyms_relative_base` (kernels that dropped the base,
//!   such as Debian's 7.2, whose VMCOREINFO has no `SYMBOL(kallsyms_relative_base)`): each
//!   entry is relative to its own address, `&offsets[i] + (s32)offsets[i]`
//!   (`offset_to_ptr()`); checked on the sid fixture against its vmlinux.
//! - `kallsyms_addresses[]`: absolute `unsigned long`s (kernels without base-relative
//!   kallsyms).
//!
//! The result is checked against VMCOREINFO's `SYMBOL(_stext)` when the table has `_stext`,
//! so a wrong scheme is refused rather than believed.
//!
//! Everything read is bounded: the symbol count, the names stream and the token table are
//! capped, a token index outside the table or a name running past the stream ends the
//! decoding with an error naming the symbol.

use super::MemRead;

/// Where VMCOREINFO says the tables are (runtime addresses).
#[derive(Debug, Clone, Default)]
pub struct KallsymsAddrs {
    pub names: Option<u64>,
    pub num_syms: Option<u64>,
    pub token_table: Option<u64>,
    pub token_index: Option<u64>,
    pub offsets: Option<u64>,
    pub relative_base: Option<u64>,
    pub addresses: Option<u64>,
    /// `SYMBOL(_stext)`, to check the decoded addresses.
    pub stext: Option<u64>,
}

/// At most this many symbols (a 7.x x86_64 kernel has ~200k with KALLSYMS_ALL).
pub const MAX_SYMS: u32 = 1 << 21;
/// At most this many bytes of compressed names (~2 MB on a 7.x kernel).
const MAX_NAMES_BYTES: usize = 64 << 20;
/// The token table is a few hundred bytes to a couple of KB.
const MAX_TOKEN_TABLE: usize = 64 << 10;

/// One decoded symbol: a runtime address (or an absolute value, see `absolute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KSym {
    /// Byte range of the name in [`Kallsyms::names`].
    pub name_off: u32,
    pub name_len: u16,
    /// The `nm` type letter.
    pub ty: u8,
    pub addr: u64,
    /// An absolute value rather than an address in the image (per-CPU symbols under
    /// `CONFIG_KALLSYMS_ABSOLUTE_PERCPU`).
    pub absolute: bool,
}

/// The decoded table, in the kernel's order (sorted by address).
pub struct Kallsyms {
    pub names: String,
    pub syms: Vec<KSym>,
    /// How the addresses were encoded, for messages.
    pub scheme: &'static str,
}

impl std::fmt::Debug for Kallsyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kallsyms({} symbols, {})", self.syms.len(), self.scheme)
    }
}

impl Kallsyms {
    pub fn name(&self, s: &KSym) -> &str {
        let a = s.name_off as usize;
        self.names.get(a..a + s.name_len as usize).unwrap_or("")
    }
}

/// Reads a growing prefix of a region in chunks, never past `cap` bytes.
struct Chunked<'a> {
    mem: &'a dyn MemRead,
    addr: u64,
    buf: Vec<u8>,
    cap: usize,
}

impl Chunked<'_> {
    const CHUNK: usize = 64 << 10;

    /// Make sure `buf[..end]` is read.
    fn ensure(&mut self, end: usize, what: &str) -> Result<(), String> {
        if end <= self.buf.len() {
            return Ok(());
        }
        if end > self.cap {
            return Err(format!("{what}: runs past {} bytes", self.cap));
        }
        let want = end.div_ceil(Self::CHUNK) * Self::CHUNK;
        let want = want.min(self.cap);
        let old = self.buf.len();
        self.buf.resize(want, 0);
        // Read page by page so a short read at the end of a mapping still gives what it can.
        let mut at = old;
        while at < want {
            let a = self.addr.wrapping_add(at as u64);
            let n = (4096 - (a & 4095) as usize).min(want - at);
            if let Err(e) = self.mem.read(a, &mut self.buf[at..at + n]) {
                self.buf.truncate(at);
                return if at >= end {
                    Ok(())
                } else {
                    Err(format!("{what} at {a:#x}: {e}"))
                };
            }
            at += n;
        }
        Ok(())
    }
}

fn read_vec(mem: &dyn MemRead, addr: u64, len: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut b = vec![0u8; len];
    mem.read(addr, &mut b)
        .map_err(|e| format!("{what} at {addr:#x}: {e}"))?;
    Ok(b)
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or([0; 4]))
}

/// Decode the kernel's kallsyms through the VMCOREINFO addresses.
pub fn read(mem: &dyn MemRead, a: &KallsymsAddrs) -> Result<Kallsyms, String> {
    let missing: Vec<&str> = [
        ("kallsyms_names", a.names),
        ("kallsyms_num_syms", a.num_syms),
        ("kallsyms_token_table", a.token_table),
        ("kallsyms_token_index", a.token_index),
    ]
    .iter()
    .filter(|(_, v)| v.is_none())
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() || (a.offsets.is_none() && a.addresses.is_none()) {
        return Err(format!(
            "VMCOREINFO does not locate kallsyms (missing SYMBOL({})): the kernel predates \
             Linux 6.0's commit f09bddbd86619 (\"vmcoreinfo: add kallsyms_num_syms symbol\") \
             or its backport",
            if missing.is_empty() {
                "kallsyms_offsets".to_string()
            } else {
                missing.join("), SYMBOL(")
            }
        ));
    }
    let (names_at, num_at, tt_at, ti_at) = (
        a.names.unwrap_or(0),
        a.num_syms.unwrap_or(0),
        a.token_table.unwrap_or(0),
        a.token_index.unwrap_or(0),
    );
    let n = u32_at(&read_vec(mem, num_at, 4, "kallsyms_num_syms")?, 0);
    if n == 0 || n > MAX_SYMS {
        return Err(format!(
            "kallsyms_num_syms is {n}: implausible (at most {MAX_SYMS})"
        ));
    }
    let n = n as usize;
    // Token index: 256 u16 offsets into the token table.
    let ti = read_vec(mem, ti_at, 512, "kallsyms_token_index")?;
    let index: Vec<usize> = ti
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]) as usize)
        .collect();
    let max_tok = index.iter().copied().max().unwrap_or(0);
    let mut tt = Chunked {
        mem,
        addr: tt_at,
        buf: Vec::new(),
        cap: MAX_TOKEN_TABLE,
    };
    // The last token ends within a few bytes of its start; read a little past it.
    tt.ensure((max_tok + 256).min(MAX_TOKEN_TABLE), "kallsyms_token_table")?;
    let mut tokens: Vec<&[u8]> = Vec::with_capacity(256);
    for &o in &index {
        let rest = tt
            .buf
            .get(o..)
            .ok_or_else(|| format!("kallsyms_token_index points past the token table ({o})"))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("kallsyms token at {o} is not terminated"))?;
        tokens.push(&rest[..end]);
    }

    // Names.
    let mut nb = Chunked {
        mem,
        addr: names_at,
        buf: Vec::new(),
        cap: MAX_NAMES_BYTES,
    };
    let mut names = String::with_capacity(n * 24);
    let mut syms = Vec::with_capacity(n);
    let mut off = 0usize;
    let mut scratch: Vec<u8> = Vec::with_capacity(256);
    for i in 0..n {
        nb.ensure(off + 2, "kallsyms_names")?;
        let mut len = nb.buf[off] as usize;
        off += 1;
        if len & 0x80 != 0 {
            len = (len & 0x7f) | ((nb.buf[off] as usize) << 7);
            off += 1;
        }
        if len == 0 {
            return Err(format!("kallsyms_names: symbol {i} has length 0"));
        }
        nb.ensure(off + len, "kallsyms_names")?;
        scratch.clear();
        for &t in &nb.buf[off..off + len] {
            scratch.extend_from_slice(tokens[t as usize]);
        }
        off += len;
        let Some((&ty, name)) = scratch.split_first() else {
            return Err(format!("kallsyms_names: symbol {i} expands to nothing"));
        };
        if name.is_empty() || name.len() > u16::MAX as usize || !ty.is_ascii_alphabetic() {
            return Err(format!(
                "kallsyms_names: symbol {i} is malformed (type {:?}, {} bytes)",
                ty as char,
                name.len()
            ));
        }
        let name_off = names.len() as u32;
        names.push_str(&String::from_utf8_lossy(name));
        syms.push(KSym {
            name_off,
            name_len: (names.len() as u32 - name_off) as u16,
            ty,
            addr: 0,
            absolute: false,
        });
    }
    drop(nb);

    // Addresses.
    let scheme = if let Some(at) = a.addresses.filter(|_| a.offsets.is_none()) {
        let raw = read_vec(mem, at, n * 8, "kallsyms_addresses")?;
        for (s, c) in syms.iter_mut().zip(raw.chunks_exact(8)) {
            s.addr = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        }
        "absolute addresses (kallsyms_addresses)"
    } else {
        let at = a.offsets.unwrap_or(0);
        let raw = read_vec(mem, at, n * 4, "kallsyms_offsets")?;
        let offs = raw.chunks_exact(4).map(|c| u32_at(c, 0));
        match a.relative_base {
            Some(base_at) => {
                let base = u64::from_le_bytes(
                    read_vec(mem, base_at, 8, "kallsyms_relative_base")?
                        .try_into()
                        .unwrap_or([0; 8]),
                );
                let absolute_percpu = raw.chunks_exact(4).any(|c| u32_at(c, 0) >> 31 != 0);
                for (s, o) in syms.iter_mut().zip(offs) {
                    if !absolute_percpu {
                        s.addr = base.wrapping_add(u64::from(o));
                    } else if (o as i32) >= 0 {
                        s.addr = u64::from(o);
                        s.absolute = true;
                    } else {
                        s.addr = base.wrapping_sub(1).wrapping_sub(o as i32 as i64 as u64);
                    }
                }
                if absolute_percpu {
                    "offsets from kallsyms_relative_base, per-CPU symbols absolute"
                } else {
                    "offsets from kallsyms_relative_base"
                }
            }
            None => {
                for (i, (s, o)) in syms.iter_mut().zip(offs).enumerate() {
                    let place = at.wrapping_add(4 * i as u64);
                    s.addr = place.wrapping_add(o as i32 as i64 as u64);
                }
                "place-relative offsets"
            }
        }
    };
    let ks = Kallsyms {
        names,
        syms,
        scheme,
    };
    if let Some(want) = a.stext
        && let Some(s) = ks.syms.iter().find(|s| ks.name(s) == "_stext")
        && s.addr != want
    {
        return Err(format!(
            "kallsyms decoded as {scheme} put _stext at {:#x}, but VMCOREINFO says {want:#x}: \
             the table is damaged or encoded in a way quiesce does not know",
            s.addr
        ));
    }
    Ok(ks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory made of one region at `base`.
    struct Region {
        base: u64,
        bytes: Vec<u8>,
    }
    impl MemRead for Region {
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
            let off = addr
                .checked_sub(self.base)
                .ok_or_else(|| "below".to_string())? as usize;
            let src = self
                .bytes
                .get(off..off + buf.len())
                .ok_or_else(|| "excluded page".to_string())?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    /// A table of `syms` (type letter + name, offset) with one token per byte.
    fn build(syms: &[(&str, i32)], base: u64, place_relative: bool) -> (Region, KallsymsAddrs) {
        const B: u64 = 0xffff_ffff_8100_0000;
        let mut m = vec![0u8; 0x4000];
        // Token i = the single byte i (0 is never used by a name).
        let (tt, ti, names, num, offs, rb) = (0x100, 0x600, 0x1000, 0x800, 0x2000, 0x810);
        let mut at = tt;
        for i in 0..256usize {
            m[ti + 2 * i..ti + 2 * i + 2].copy_from_slice(&((at - tt) as u16).to_le_bytes());
            m[at] = i as u8;
            m[at + 1] = 0;
            at += 2;
        }
        m[num..num + 4].copy_from_slice(&(syms.len() as u32).to_le_bytes());
        m[rb..rb + 8].copy_from_slice(&base.to_le_bytes());
        let mut p = names;
        for (i, (name, off)) in syms.iter().enumerate() {
            m[p] = name.len() as u8;
            m[p + 1..p + 1 + name.len()].copy_from_slice(name.as_bytes());
            p += 1 + name.len();
            m[offs + 4 * i..offs + 4 * i + 4].copy_from_slice(&off.to_le_bytes());
        }
        let a = KallsymsAddrs {
            names: Some(B + names as u64),
            num_syms: Some(B + num as u64),
            token_table: Some(B + tt as u64),
            token_index: Some(B + ti as u64),
            offsets: Some(B + offs as u64),
            relative_base: (!place_relative).then_some(B + rb as u64),
            addresses: None,
            stext: None,
        };
        (Region { base: B, bytes: m }, a)
    }

    #[test]
    fn base_relative_with_absolute_percpu() {
        let base = 0xffff_ffff_9f40_0000;
        let (m, a) = build(
            &[("Dfixed_percpu_data", 0), ("T_stext", -1), ("tfoo", -0x11)],
            base,
            false,
        );
        let k = read(&m, &a).unwrap();
        let v: Vec<(&str, u64, bool)> = k
            .syms
            .iter()
            .map(|s| (k.name(s), s.addr, s.absolute))
            .collect();
        assert_eq!(
            v,
            [
                ("fixed_percpu_data", 0, true),
                ("_stext", base, false),
                ("foo", base + 0x10, false)
            ]
        );
    }

    #[test]
    fn base_relative_plain_and_place_relative() {
        let base = 0xffff_ffff_9f40_0000;
        let (m, a) = build(&[("T_stext", 0), ("tfoo", 0x10)], base, false);
        let k = read(&m, &a).unwrap();
        assert_eq!(k.syms[1].addr, base + 0x10);
        let (m, a) = build(&[("T_stext", -0x2000), ("tfoo", -0x1ff0)], base, true);
        let k = read(&m, &a).unwrap();
        let at = a.offsets.unwrap();
        assert_eq!(k.syms[0].addr, at - 0x2000);
        assert_eq!(k.syms[1].addr, at + 4 - 0x1ff0);
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let (mut m, a) = build(
            &[("T_stext", 0), ("tfoo", 0x10)],
            0xffff_ffff_9f40_0000,
            false,
        );
        // An implausible count.
        let num = (a.num_syms.unwrap() - m.base) as usize;
        m.bytes[num..num + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read(&m, &a).unwrap_err().contains("implausible"));
        // A count past the names: the stream runs into zeros (length 0).
        m.bytes[num..num + 4].copy_from_slice(&50u32.to_le_bytes());
        assert!(read(&m, &a).is_err());
        // Truncated memory: the names are not there.
        let (mut m, a) = build(
            &[("T_stext", 0), ("tfoo", 0x10)],
            0xffff_ffff_9f40_0000,
            false,
        );
        m.bytes.truncate(0x1002);
        assert!(read(&m, &a).unwrap_err().contains("kallsyms_names"));
        // A wrong scheme is caught by _stext.
        let (m, mut a) = build(
            &[("T_stext", 0), ("tfoo", 0x10)],
            0xffff_ffff_9f40_0000,
            false,
        );
        a.stext = Some(0xffff_ffff_8100_0000);
        assert!(read(&m, &a).unwrap_err().contains("_stext"));
        // Nothing located.
        assert!(
            read(&m, &KallsymsAddrs::default())
                .unwrap_err()
                .contains("f09bddbd86619")
        );
    }
}
