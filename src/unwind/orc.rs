//! The x86_64 ORC unwind tables (`.orc_unwind_ip` + `.orc_unwind`), from the vmlinux file or
//! from a module's copy in the dump's memory.
//!
//! Two on-disk formats exist; quiesce picks one from the `struct orc_entry` members in the
//! debug info, never from a version number:
//! - up to 6.3: `sp_reg:4, bp_reg:4, type:2, end:1` (and from 6.3, commit ffb1b4a41016
//!   "x86/unwind/orc: Add 'signal' field to ORC metadata", `signal:1`), types CALL 0 /
//!   REGS 1 / REGS_PARTIAL 2, the `end` bit marks the bottom of a stack;
//! - 6.4+ (commit fb799447ae29 "x86,objtool: Split UNWIND_HINT_EMPTY in two", which
//!   removed `end`): `sp_reg:4, bp_reg:4, type:3, signal:1`, types UNDEFINED 0 /
//!   END_OF_STACK 1 / CALL 2 / REGS 3 / REGS_PARTIAL 4.
//!
//! The register codes are `#define`s, absent from DWARF, and 7.x renumbered them (the 7.2
//! vmlinux's `.orc_header` hash is `137c36ad…`, not 6.4's `fe5d32bf…`; its CALL entries
//! name SP as 3 and PREV_SP as 8 instead of 5 and 1). [`RegNumbering::detect`] decides
//! from the `.orc_header` hash when it is a known one (`.orc_header` exists since 6.4,
//! commit b9f174c811e3 "x86/unwind/orc: Add ELF section with ORC version identifier"),
//! otherwise from the table itself: nearly every CALL entry's CFA is SP-based, so the
//! most frequent CALL `sp_reg` is SP's code. Entries are decoded into the classic codes
//! of [`reg`] either way.

/// ORC register codes as quiesce uses them: the kernel's numbering up to 6.x
/// (arch/x86/include/asm/orc_types.h); entries of other numberings are translated to these.
pub mod reg {
    pub const UNDEFINED: u8 = 0;
    pub const PREV_SP: u8 = 1;
    pub const DX: u8 = 2;
    pub const DI: u8 = 3;
    pub const BP: u8 = 4;
    pub const SP: u8 = 5;
    pub const R10: u8 = 6;
    pub const R13: u8 = 7;
    pub const BP_INDIRECT: u8 = 8;
    pub const SP_INDIRECT: u8 = 9;
    /// `ORC_REG_AX` (clang's DRAP register); 10 in the 6.x numbering.
    pub const AX: u8 = 10;
}

/// Which numbering an ORC table's register fields use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegNumbering {
    /// UNDEFINED 0, PREV_SP 1, DX 2, DI 3, BP 4, SP 5, R10 6, R13 7, BP_INDIRECT 8,
    /// SP_INDIRECT 9 (up to 6.x).
    #[default]
    Classic,
    /// UNDEFINED 0, AX 1, DX 2, SP 3, BP 4, DI 5, R10 6, R13 7, PREV_SP 8, SP_INDIRECT 9,
    /// BP_INDIRECT 10 (7.x).
    Renumbered,
}

/// `.orc_header` hashes (scripts/orc_hash.sh of orc_types.h) with their numbering.
const KNOWN_HASHES: &[([u8; 20], RegNumbering)] = &[
    // 6.4 (commit fb799447ae29), as in drgn's orc_info.c.
    (
        [
            0xfe, 0x5d, 0x32, 0xbf, 0x58, 0x1b, 0xd6, 0x3b, 0x2c, 0xa9, 0xa5, 0xc6, 0x5b, 0xa5,
            0xa6, 0x25, 0xea, 0xb3, 0xfe, 0x24,
        ],
        RegNumbering::Classic,
    ),
    // 6.3 (commit ffb1b4a41016).
    (
        [
            0xdb, 0x84, 0xae, 0xd4, 0x10, 0x3b, 0x31, 0xdd, 0x51, 0xe0, 0x17, 0xf8, 0xf7, 0x97,
            0x83, 0xca, 0x98, 0x5c, 0x2c, 0x51,
        ],
        RegNumbering::Classic,
    ),
    // Debian's 7.2.13 (sid) vmlinux.
    (
        [
            0x13, 0x7c, 0x36, 0xad, 0x76, 0x27, 0xc4, 0xdd, 0x55, 0x93, 0x21, 0x76, 0xbb, 0x0e,
            0xcd, 0xbd, 0x50, 0x41, 0xfc, 0x82,
        ],
        RegNumbering::Renumbered,
    ),
];

impl RegNumbering {
    /// From the `.orc_header` hash when known, else from the `.orc_unwind` entries: the
    /// most frequent `sp_reg` of CALL entries is SP (5 classic, 3 renumbered).
    pub fn detect(orc_header: Option<&[u8]>, orc: &[u8], fmt: OrcFormat) -> RegNumbering {
        if let Some(h) = orc_header
            && let Some((_, n)) = KNOWN_HASHES.iter().find(|(k, _)| k.as_slice() == h)
        {
            return *n;
        }
        let mut count = [0u64; 16];
        for e in orc.chunks_exact(6) {
            let is_call = match fmt {
                OrcFormat::WithEndBit => e[5] & 0x7 == 0 && e[4] & 0xf != 0,
                OrcFormat::WithUndefinedType => e[5] & 0x7 == 2,
            };
            if is_call {
                count[(e[4] & 0xf) as usize] += 1;
            }
        }
        let top = (0..16).max_by_key(|&i| count[i]).unwrap_or(5);
        if top == 3 && count[3] > 0 {
            RegNumbering::Renumbered
        } else {
            RegNumbering::Classic
        }
    }

    /// A raw register code → the classic code of [`reg`] (unknown codes stay out of range).
    pub fn classic(self, raw: u8) -> u8 {
        match self {
            RegNumbering::Classic => raw,
            RegNumbering::Renumbered => match raw {
                0 => reg::UNDEFINED,
                1 => reg::AX,
                2 => reg::DX,
                3 => reg::SP,
                4 => reg::BP,
                5 => reg::DI,
                6 => reg::R10,
                7 => reg::R13,
                8 => reg::PREV_SP,
                9 => reg::SP_INDIRECT,
                10 => reg::BP_INDIRECT,
                other => 0x80 | other,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrcFormat {
    /// `type:2, end:1` (≤ 6.3).
    WithEndBit,
    /// `type:3, signal:1` with UNDEFINED / END_OF_STACK types (6.4+).
    WithUndefinedType,
}

/// What kind of frame an entry describes, normalised across formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrcType {
    /// No unwind information for this address (6.4+ UNDEFINED).
    Undefined,
    /// The bottom of a stack.
    End,
    /// A normal call frame: the return address sits just below the CFA.
    Call,
    /// A full `struct pt_regs` at the CFA (an interrupt or exception entry).
    Regs,
    /// Only the hardware iret frame (ip, cs, flags, sp, ss) at the CFA.
    RegsPartial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrcEntry {
    pub sp_offset: i16,
    pub bp_offset: i16,
    pub sp_reg: u8,
    pub bp_reg: u8,
    pub ty: OrcType,
    /// The frame was entered by a signal/interrupt (so its ip is not a return address).
    pub signal: bool,
}

impl OrcEntry {
    pub fn decode(b: &[u8; 6], fmt: OrcFormat) -> OrcEntry {
        Self::decode_with(b, fmt, RegNumbering::Classic)
    }

    /// Decode with the table's register numbering; registers come out as [`reg`] codes.
    pub fn decode_with(b: &[u8; 6], fmt: OrcFormat, regs: RegNumbering) -> OrcEntry {
        let sp_offset = i16::from_le_bytes([b[0], b[1]]);
        let bp_offset = i16::from_le_bytes([b[2], b[3]]);
        let sp_reg = regs.classic(b[4] & 0xf);
        let bp_reg = regs.classic(b[4] >> 4);
        let (ty, signal) = match fmt {
            OrcFormat::WithEndBit => {
                let t = b[5] & 0x3;
                let end = b[5] & 0x4 != 0;
                let ty = if end {
                    OrcType::End
                } else {
                    match t {
                        0 => OrcType::Call,
                        1 => OrcType::Regs,
                        _ => OrcType::RegsPartial,
                    }
                };
                // 6.3 added `signal:1` after `end`; REGS types imply it anyway.
                (ty, b[5] & 0x8 != 0 || matches!(t, 1 | 2))
            }
            OrcFormat::WithUndefinedType => {
                let t = b[5] & 0x7;
                let ty = match t {
                    0 => OrcType::Undefined,
                    1 => OrcType::End,
                    2 => OrcType::Call,
                    3 => OrcType::Regs,
                    4 => OrcType::RegsPartial,
                    _ => OrcType::Undefined,
                };
                (ty, b[5] & 0x8 != 0)
            }
        };
        OrcEntry {
            sp_offset,
            bp_offset,
            sp_reg,
            bp_reg,
            ty,
            signal,
        }
    }
}

/// One ORC table: sorted instruction addresses and their entries.
#[derive(Debug, Clone)]
pub struct OrcTable {
    ips: Vec<u64>,
    entries: Vec<[u8; 6]>,
    format: OrcFormat,
    regs: RegNumbering,
}

impl OrcTable {
    /// Build from the raw sections. `ip_section_addr` is the runtime address of the first
    /// `.orc_unwind_ip` word (each word is relative to its own address).
    pub fn new(
        ip_section: &[u8],
        ip_section_addr: u64,
        orc_section: &[u8],
        format: OrcFormat,
    ) -> Self {
        let n = (ip_section.len() / 4).min(orc_section.len() / 6);
        let mut pairs: Vec<(u64, [u8; 6])> = (0..n)
            .map(|i| {
                let rel = i32::from_le_bytes(ip_section[i * 4..i * 4 + 4].try_into().unwrap());
                let ip = ip_section_addr
                    .wrapping_add(i as u64 * 4)
                    .wrapping_add(rel as i64 as u64);
                (ip, orc_section[i * 6..i * 6 + 6].try_into().unwrap())
            })
            .collect();
        // The build sorts the vmlinux table (scripts/sorttable); sort only if needed.
        if !pairs.windows(2).all(|w| w[0].0 <= w[1].0) {
            pairs.sort_by_key(|p| p.0);
        }
        let (ips, entries) = pairs.into_iter().unzip();
        OrcTable {
            ips,
            entries,
            format,
            regs: RegNumbering::Classic,
        }
    }

    /// The same table with register fields in numbering `regs`.
    pub fn with_numbering(mut self, regs: RegNumbering) -> Self {
        self.regs = regs;
        self
    }

    pub fn numbering(&self) -> RegNumbering {
        self.regs
    }

    pub fn len(&self) -> usize {
        self.ips.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ips.is_empty()
    }

    pub fn format(&self) -> OrcFormat {
        self.format
    }

    /// Does the table cover `ip` at all (between its first and last address)?
    pub fn covers(&self, ip: u64) -> bool {
        matches!((self.ips.first(), self.ips.last()), (Some(&a), Some(&b)) if ip >= a && ip <= b + 0x1000)
    }

    /// The entry in force at `ip`: the last one whose address is ≤ ip.
    pub fn find(&self, ip: u64) -> Option<OrcEntry> {
        let i = self.ips.partition_point(|&a| a <= ip);
        if i == 0 {
            return None;
        }
        Some(OrcEntry::decode_with(
            &self.entries[i - 1],
            self.format,
            self.regs,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_both_formats() {
        // sp_offset 16, bp_offset -16, sp_reg SP(5), bp_reg PREV_SP(1)
        let mut b = [16, 0, 0xf0, 0xff, 0x15, 0];
        let old = OrcEntry::decode(&b, OrcFormat::WithEndBit);
        assert_eq!(old.sp_offset, 16);
        assert_eq!(old.bp_offset, -16);
        assert_eq!(old.sp_reg, reg::SP);
        assert_eq!(old.bp_reg, reg::PREV_SP);
        assert_eq!(old.ty, OrcType::Call);
        b[5] = 0x4; // end bit
        assert_eq!(OrcEntry::decode(&b, OrcFormat::WithEndBit).ty, OrcType::End);
        b[5] = 2;
        assert_eq!(
            OrcEntry::decode(&b, OrcFormat::WithUndefinedType).ty,
            OrcType::Call
        );
        b[5] = 1;
        assert_eq!(
            OrcEntry::decode(&b, OrcFormat::WithUndefinedType).ty,
            OrcType::End
        );
        b[5] = 3 | 0x8;
        let r = OrcEntry::decode(&b, OrcFormat::WithUndefinedType);
        assert_eq!(r.ty, OrcType::Regs);
        assert!(r.signal);
    }

    #[test]
    fn renumbered_registers_decode_to_classic_codes() {
        // 7.x: sp_reg SP = 3, bp_reg PREV_SP = 8, type CALL.
        let b = [16, 0, 0xf0, 0xff, 0x83, 2];
        let e = OrcEntry::decode_with(&b, OrcFormat::WithUndefinedType, RegNumbering::Renumbered);
        assert_eq!(e.sp_reg, reg::SP);
        assert_eq!(e.bp_reg, reg::PREV_SP);
        assert_eq!(e.ty, OrcType::Call);
        // Classic: 3 is DI.
        let c = OrcEntry::decode_with(&b, OrcFormat::WithUndefinedType, RegNumbering::Classic);
        assert_eq!(c.sp_reg, reg::DI);
    }

    #[test]
    fn numbering_from_hash_or_statistics() {
        let call = |sp: u8| [8u8, 0, 0, 0, sp, 2];
        let renum: Vec<u8> = [call(3), call(3), call(4)].concat();
        let classic: Vec<u8> = [call(5), call(5), call(4)].concat();
        let f = OrcFormat::WithUndefinedType;
        assert_eq!(
            RegNumbering::detect(None, &renum, f),
            RegNumbering::Renumbered
        );
        assert_eq!(
            RegNumbering::detect(None, &classic, f),
            RegNumbering::Classic
        );
        // A known hash wins over the statistics.
        let h = KNOWN_HASHES[0].0;
        assert_eq!(
            RegNumbering::detect(Some(&h), &renum, f),
            RegNumbering::Classic
        );
        let h = KNOWN_HASHES[2].0;
        assert_eq!(
            RegNumbering::detect(Some(&h), &classic, f),
            RegNumbering::Renumbered
        );
    }

    #[test]
    fn lookup_is_relative_and_sorted() {
        // Three entries at 0x1000, 0x1010, 0x1020 written relative to their slot address.
        let base = 0xffff_ffff_8200_0000u64;
        let targets = [
            0xffff_ffff_8100_1020u64,
            0xffff_ffff_8100_1000,
            0xffff_ffff_8100_1010,
        ];
        let mut ips = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let rel = t.wrapping_sub(base + i as u64 * 4) as i64 as i32;
            ips.extend_from_slice(&rel.to_le_bytes());
        }
        let orcs: Vec<u8> = [
            [8u8, 0, 0x05, 0, 0, 0],
            [16, 0, 0x05, 0, 0, 0],
            [24, 0, 0x05, 0, 0, 0],
        ]
        .concat();
        let t = OrcTable::new(&ips, base, &orcs, OrcFormat::WithEndBit);
        assert_eq!(t.len(), 3);
        assert_eq!(t.find(0xffff_ffff_8100_0fff), None);
        assert_eq!(t.find(0xffff_ffff_8100_1000).unwrap().sp_offset, 16);
        assert_eq!(t.find(0xffff_ffff_8100_1015).unwrap().sp_offset, 24);
        assert_eq!(t.find(0xffff_ffff_8100_1fff).unwrap().sp_offset, 8);
    }
}
