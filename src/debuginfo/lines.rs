//! Address → source lines with inline frames, via the `addr2line` crate over our gimli
//! sections, plus declaration files of functions.
//!
//! An `addr2line::Context` over the whole vmlinux costs 150–250 ms to set up (it reads the
//! ranges of all 2000+ units). Instead `.debug_aranges` (read once, a few ms) names the unit
//! holding the address, and a context over that one unit's slice of `.debug_info` is built and
//! cached per unit. Other sections keep their absolute offsets, so only cross-unit
//! `DW_FORM_ref_addr` references (LTO builds) would not resolve. When some unit has no
//! aranges, addresses no arange covers fall back to the whole-file context.

use super::hash::FxMap;
use super::image::{Image, R};
use gimli::{Reader, Section};
use std::sync::Mutex;

/// `.debug_aranges` as sorted `(start, end, unit index)`, and whether every unit has a set.
pub(crate) type Aranges = (Vec<(u64, u64, usize)>, bool);

/// Per-unit line contexts, by unit index (`None`: the unit could not be parsed).
pub(crate) type UnitContexts = Mutex<FxMap<usize, Option<addr2line::Context<R>>>>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineFrame {
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// This frame is inlined into the next one.
    pub inlined: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub name: String,
    pub low_pc: u64,
    pub high_pc: u64,
    pub decl_file: Option<String>,
    pub decl_line: Option<u32>,
}

impl Image {
    fn line_context(&self) -> Option<&Mutex<addr2line::Context<R>>> {
        self.lines
            .get_or_init(|| {
                addr2line::Context::from_arc_dwarf(self.dwarf().clone())
                    .ok()
                    .map(Mutex::new)
            })
            .as_ref()
    }

    /// `.debug_aranges` as sorted `(start, end, unit index)`, and whether every unit has an
    /// arange set.
    pub(crate) fn aranges(&self) -> &Aranges {
        self.aranges.get_or_init(|| {
            let Ok(units) = self.units() else {
                return (Vec::new(), false);
            };
            let mut v = Vec::new();
            let mut covered = vec![false; units.len()];
            let mut headers = self.dwarf().debug_aranges.headers();
            while let Ok(Some(h)) = headers.next() {
                let off = h.debug_info_offset().0;
                let i = units.partition_point(|u| u.start.0 < off);
                if units.get(i).is_none_or(|u| u.start.0 != off) {
                    continue;
                }
                covered[i] = true;
                let mut entries = h.entries();
                while let Ok(Some(e)) = entries.next() {
                    let r = e.range();
                    if r.end > r.begin && r.begin != 0 {
                        v.push((r.begin, r.end, i));
                    }
                }
            }
            v.sort_unstable();
            (v, covered.iter().all(|&c| c))
        })
    }

    /// The unit whose arange holds `addr`.
    pub(crate) fn unit_of_addr(&self, addr: u64) -> Option<usize> {
        let a = &self.aranges().0;
        let n = a.partition_point(|r| r.0 <= addr);
        // Ranges do not overlap in practice; look back a little in case they nest.
        a[..n]
            .iter()
            .rev()
            .take(4)
            .find(|r| addr < r.1)
            .map(|r| r.2)
    }

    /// An `addr2line` context over unit `u` alone.
    fn unit_context(&self, u: usize) -> Option<addr2line::Context<R>> {
        let slot = self.units().ok()?.get(u)?;
        let d = &**self.dwarf();
        let info = d
            .debug_info
            .reader()
            .range(slot.start.0..slot.start.0 + slot.len);
        let sub = gimli::Dwarf {
            debug_abbrev: d.debug_abbrev,
            debug_addr: d.debug_addr,
            // Empty: its unit offsets would not match the sliced `.debug_info`.
            debug_aranges: gimli::EndianSlice::new(&[], d.debug_info.reader().endian()).into(),
            debug_info: info.into(),
            debug_line: d.debug_line,
            debug_line_str: d.debug_line_str,
            debug_macinfo: d.debug_macinfo,
            debug_macro: d.debug_macro,
            debug_names: d.debug_names,
            debug_str: d.debug_str,
            debug_str_offsets: d.debug_str_offsets,
            debug_types: d.debug_types,
            locations: d.locations,
            ranges: d.ranges,
            file_type: d.file_type,
            sup: d.sup.clone(),
            abbreviations_cache: gimli::AbbreviationsCache::new(),
        };
        addr2line::Context::from_dwarf(sub).ok()
    }

    /// Frames at `addr` (a link-time/runtime address of this image), innermost first.
    pub(crate) fn frames(&self, addr: u64) -> Vec<LineFrame> {
        match self.unit_of_addr(addr) {
            Some(u) => {
                let mut map = self.unit_lines.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(ctx) = map.entry(u).or_insert_with(|| self.unit_context(u)) {
                    return frames_in(ctx, addr);
                }
            }
            // Every unit has aranges, so the whole-file context (which takes a unit's ranges
            // from them) would find no unit either: do not pay 200+ ms to learn that, e.g. for
            // every pc of a module whose debug info is not loaded.
            None if self.aranges().1 => return Vec::new(),
            None => {}
        }
        self.frames_whole_file(addr)
    }

    /// Frames at `addr` through the whole-file context.
    pub(crate) fn frames_whole_file(&self, addr: u64) -> Vec<LineFrame> {
        let Some(ctx) = self.line_context() else {
            return Vec::new();
        };
        let ctx = ctx.lock().unwrap_or_else(|p| p.into_inner());
        frames_in(&ctx, addr)
    }
}

fn frames_in(ctx: &addr2line::Context<R>, addr: u64) -> Vec<LineFrame> {
    {
        let mut out = Vec::new();
        let Ok(mut it) = ctx.find_frames(addr).skip_all_loads() else {
            return out;
        };
        while let Ok(Some(f)) = it.next() {
            let function = f
                .function
                .as_ref()
                .and_then(|n| n.raw_name().ok())
                .map(|s| s.into_owned());
            let (file, line, column) = match f.location {
                Some(l) => (l.file.map(str::to_owned), l.line, l.column),
                None => (None, None, None),
            };
            out.push(LineFrame {
                function,
                file,
                line,
                column,
                inlined: true,
            });
        }
        if let Some(last) = out.last_mut() {
            last.inlined = false;
        }
        out
    }
}

impl Image {
    /// The file name of entry `index` of a unit's line-program file table.
    pub(crate) fn decl_file(&self, u: usize, index: u64) -> Option<String> {
        let unit = self.unit(u).ok()?;
        let lp = self.line_program(u)?;
        let header = lp.header();
        let file = header.file(index)?;
        let name = self.dwarf().attr_string(unit, file.path_name()).ok()?;
        let name = String::from_utf8_lossy(name.slice()).into_owned();
        if name.starts_with('/') {
            return Some(name);
        }
        let dir = file
            .directory(header)
            .and_then(|d| self.dwarf().attr_string(unit, d).ok())
            .map(|d| String::from_utf8_lossy(d.slice()).into_owned());
        Some(match dir {
            Some(d) if !d.is_empty() => format!("{d}/{name}"),
            _ => name,
        })
    }
}
