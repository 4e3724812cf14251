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

/// ORC register codes (arch/x86/include/asm/orc_types.h; unchanged across formats).
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
        let sp_offset = i16::from_le_bytes([b[0], b[1]]);
        let bp_offset = i16::from_le_bytes([b[2], b[3]]);
        let sp_reg = b[4] & 0xf;
        let bp_reg = b[4] >> 4;
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
        }
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
        Some(OrcEntry::decode(&self.entries[i - 1], self.format))
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
