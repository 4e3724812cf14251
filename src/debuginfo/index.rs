//! The name index over top-level DIEs, built incrementally.
//!
//! A lookup first consults what is indexed so far; if the answer is not there, the next batch
//! of compilation units is scanned in parallel (rayon, one gimli cursor per unit) and merged in
//! unit order, so the first unit to define a name wins, deterministically. Batches double in
//! size up to a small cap, so names defined early in the link order (most core kernel types: `init/main.c` pulls
//! in `sched.h`) are found after scanning a few units, and a name that does not exist costs one
//! full scan, after which every lookup is a hash probe. Only children of the unit DIE are read;
//! their own children are skipped with `DW_AT_sibling` when present. Enumerators are the one
//! exception (the children of a top-level `DW_TAG_enumeration_type`).

use super::DebugError;
use super::hash::FxMap;
use super::image::{Image, R};
use gimli::constants as dw;
use gimli::{AttributeValue, UnitOffset};
use rayon::prelude::*;

/// C name spaces: struct, union and enum tags are separate from ordinary identifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Ns {
    Struct,
    Union,
    Enum,
    /// Typedefs and base types.
    Ordinary,
}

/// A DIE by its `.debug_info` offset.
pub(crate) type DieOff = usize;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TypeSlot {
    pub def: Option<DieOff>,
    pub decl: Option<DieOff>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct VarEntry {
    pub die: DieOff,
    pub addr: u64,
    /// `DW_AT_external`: a global, unique by name (statics may repeat across units).
    pub external: bool,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct FuncEntry {
    pub die: DieOff,
    pub low_pc: u64,
    pub high_pc: u64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct EnumeratorEntry {
    pub value: i64,
    pub enum_die: DieOff,
}

#[derive(Default)]
pub(crate) struct NameIndex {
    pub next_unit: usize,
    pub complete: bool,
    /// Units covered by the on-disk cache (loaded or last saved); see [`super::cache`].
    pub saved_units: usize,
    /// Units that failed to parse (skipped, counted).
    pub bad_units: usize,
    pub types: FxMap<(Ns, &'static [u8]), TypeSlot>,
    pub vars: FxMap<&'static [u8], Vec<VarEntry>>,
    pub funcs: FxMap<&'static [u8], Vec<FuncEntry>>,
    pub enumerators: FxMap<&'static [u8], EnumeratorEntry>,
}

enum Found {
    Type(Ns, &'static [u8], DieOff, bool),
    Var(&'static [u8], VarEntry),
    Func(&'static [u8], FuncEntry),
    Enumerator(&'static [u8], EnumeratorEntry),
}

impl NameIndex {
    fn merge(&mut self, found: Vec<Found>) {
        for f in found {
            match f {
                Found::Type(ns, name, die, decl) => {
                    let slot = self.types.entry((ns, name)).or_default();
                    if decl {
                        slot.decl.get_or_insert(die);
                    } else {
                        slot.def.get_or_insert(die);
                    }
                }
                Found::Var(name, e) => self.vars.entry(name).or_default().push(e),
                Found::Func(name, e) => self.funcs.entry(name).or_default().push(e),
                Found::Enumerator(name, e) => {
                    self.enumerators.entry(name).or_insert(e);
                }
            }
        }
    }
}

impl Image {
    /// Probe the index with `probe(index, complete)`, scanning more units until it answers or
    /// every unit has been scanned (then `probe` is called a last time with `complete = true`).
    /// `what` names the lookup for `QUIESCE_TIMING=1`, which reports the lookup that made
    /// the index scan every unit (a name the debug info lacks: worth avoiding).
    pub(crate) fn lookup<T>(
        &self,
        what: &str,
        mut probe: impl FnMut(&NameIndex, bool) -> Option<T>,
    ) -> Result<Option<T>, DebugError> {
        let mut idx = self.index.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if idx.complete {
                return Ok(probe(&idx, true));
            }
            if let Some(t) = probe(&idx, false) {
                return Ok(Some(t));
            }
            self.scan_more(&mut idx)?;
            if idx.complete {
                crate::timing::lap(&format!("DWARF index complete ({what})"));
            }
        }
    }

    /// Scan everything (for listings such as [`super::DebugInfo::type_names`]).
    pub(crate) fn index_all(&self) -> Result<std::sync::MutexGuard<'_, NameIndex>, DebugError> {
        let mut idx = self.index.lock().unwrap_or_else(|p| p.into_inner());
        while !idx.complete {
            self.scan_more(&mut idx)?;
        }
        Ok(idx)
    }

    fn scan_more(&self, idx: &mut NameIndex) -> Result<(), DebugError> {
        let n = self.units()?.len();
        let start = idx.next_unit;
        // Batches grow (16, 16, 32, 64) but stay small: a name that turns up early in a batch
        // pays for the whole batch (with batches of 1024 finding `struct rq`, defined around
        // unit 300, scanned 512 units; with 64 it scans 320).
        let cap = 64.max(8 * rayon::current_num_threads());
        let batch = start.clamp(16, cap);
        let end = (start + batch).min(n);
        let results: Vec<Result<Vec<Found>, DebugError>> = (start..end)
            .into_par_iter()
            .map(|u| self.scan_unit(u, idx))
            .collect();
        for r in results {
            match r {
                Ok(found) => idx.merge(found),
                Err(_) => idx.bad_units += 1,
            }
        }
        idx.next_unit = end;
        idx.complete = end >= n;
        Ok(())
    }

    /// Read the top-level DIEs of unit `u`.
    /// `known` is the index so far: names it already defines are not reported again.
    fn scan_unit(&self, u: usize, known: &NameIndex) -> Result<Vec<Found>, DebugError> {
        let unit = self.unit(u)?;
        let base = self.units()?[u].start.0;
        let err = |e| self.dwarf_err(format!("unit {u} entries"), e);
        let mut out = Vec::new();
        let mut raw = unit.entries_raw(None).map_err(err)?;
        let Some(root) = raw.read_abbreviation().map_err(err)? else {
            return Ok(out);
        };
        raw.skip_attributes(root.attributes()).map_err(err)?;
        if !root.has_children() {
            return Ok(out);
        }
        let mut attrs: Vec<gimli::Attribute<R>> = Vec::new();
        while !raw.is_empty() {
            let off = raw.next_offset();
            let Some(abbrev) = raw.read_abbreviation().map_err(err)? else {
                break; // end of the unit DIE's children
            };
            let tag = abbrev.tag();
            let has = |at| abbrev.attributes().iter().any(|s| s.name() == at);
            // Decided from the abbreviation alone: prototypes (no code) and extern
            // declarations (no location) are most top-level DIEs and are skipped unread.
            let wanted = match tag {
                dw::DW_TAG_structure_type
                | dw::DW_TAG_union_type
                | dw::DW_TAG_enumeration_type
                | dw::DW_TAG_typedef
                | dw::DW_TAG_base_type => true,
                dw::DW_TAG_variable => has(dw::DW_AT_location),
                // (GCC gives a function split into hot and cold parts DW_AT_ranges)
                dw::DW_TAG_subprogram => has(dw::DW_AT_low_pc) || has(dw::DW_AT_ranges),
                _ => false,
            };
            if !wanted {
                skip_die(&mut raw, abbrev, unit).map_err(err)?;
                continue;
            }
            raw.read_attributes(abbrev.attributes(), &mut attrs)
                .map_err(err)?;
            let mut name: Option<&'static [u8]> = None;
            let mut decl = false;
            let mut sibling = None;
            let mut location = None;
            let mut low_pc = None;
            let mut high_pc = None;
            let mut origin = None;
            let mut external = false;
            for a in &attrs {
                match a.name() {
                    dw::DW_AT_name => name = self.name_bytes(unit, a.value()),
                    dw::DW_AT_declaration => decl = matches!(a.value(), AttributeValue::Flag(true)),
                    dw::DW_AT_sibling => {
                        if let AttributeValue::UnitRef(o) = a.value() {
                            sibling = Some(o)
                        }
                    }
                    dw::DW_AT_location => location = Some(a.value()),
                    dw::DW_AT_external => {
                        external = matches!(a.value(), AttributeValue::Flag(true))
                    }
                    dw::DW_AT_low_pc => {
                        low_pc = self.dwarf().attr_address(unit, a.value()).ok().flatten()
                    }
                    dw::DW_AT_high_pc => high_pc = Some(a.value()),
                    dw::DW_AT_ranges if low_pc.is_none() => {
                        // The first range holds the entry (the hot part, `f` beside
                        // `f.cold`): the function's range here is that one.
                        let first = self
                            .dwarf()
                            .attr_ranges_offset(unit, a.value())
                            .ok()
                            .flatten()
                            .and_then(|o| self.dwarf().ranges(unit, o).ok())
                            .and_then(|mut it| it.next().ok().flatten());
                        if let Some(r) = first {
                            low_pc = Some(r.begin);
                            high_pc = Some(AttributeValue::Udata(r.end.wrapping_sub(r.begin)));
                        }
                    }
                    dw::DW_AT_specification | dw::DW_AT_abstract_origin => {
                        if let AttributeValue::UnitRef(o) = a.value() {
                            origin = Some(o)
                        }
                    }
                    _ => {}
                }
            }
            let die = base + off.0;
            let mut enum_children = false;
            match tag {
                dw::DW_TAG_variable => {
                    if let Some(addr) = location.and_then(|l| static_address(self, unit, l)) {
                        if name.is_none()
                            && let Some(o) = origin
                            && let Ok(e) = unit.entry(o)
                        {
                            // A definition pointing at its (external) declaration.
                            name = e
                                .attr_value(dw::DW_AT_name)
                                .and_then(|v| self.name_bytes(unit, v));
                            external |= matches!(
                                e.attr_value(dw::DW_AT_external),
                                Some(AttributeValue::Flag(true))
                            );
                        }
                        if let Some(n) = name {
                            out.push(Found::Var(
                                n,
                                VarEntry {
                                    die,
                                    addr,
                                    external,
                                },
                            ));
                        }
                    }
                }
                dw::DW_TAG_subprogram => {
                    if let (Some(lo), false) = (low_pc, decl) {
                        if name.is_none() {
                            name = origin.and_then(|o| die_name(self, unit, o));
                        }
                        let hi = match high_pc {
                            Some(AttributeValue::Udata(n)) => lo.wrapping_add(n),
                            Some(AttributeValue::Data1(n)) => lo.wrapping_add(n.into()),
                            Some(AttributeValue::Data2(n)) => lo.wrapping_add(n.into()),
                            Some(AttributeValue::Data4(n)) => lo.wrapping_add(n.into()),
                            Some(AttributeValue::Data8(n)) => lo.wrapping_add(n),
                            Some(v) => self
                                .dwarf()
                                .attr_address(unit, v)
                                .ok()
                                .flatten()
                                .unwrap_or(lo),
                            None => lo,
                        };
                        if let Some(n) = name {
                            out.push(Found::Func(
                                n,
                                FuncEntry {
                                    die,
                                    low_pc: lo,
                                    high_pc: hi,
                                },
                            ));
                        }
                    }
                }
                _ => {
                    let ns = match tag {
                        dw::DW_TAG_structure_type => Ns::Struct,
                        dw::DW_TAG_union_type => Ns::Union,
                        dw::DW_TAG_enumeration_type => {
                            enum_children = abbrev.has_children();
                            Ns::Enum
                        }
                        _ => Ns::Ordinary,
                    };
                    if let Some(n) = name {
                        let defined = known.types.get(&(ns, n)).is_some_and(|s| s.def.is_some());
                        if defined {
                            // Its enumerators are indexed already, too.
                            enum_children = false;
                        } else {
                            out.push(Found::Type(ns, n, die, decl));
                        }
                    }
                }
            }
            if abbrev.has_children() {
                if enum_children {
                    self.scan_enumerators(unit, &mut raw, die, &mut out)
                        .map_err(err)?;
                } else {
                    skip_children(&mut raw, sibling, unit).map_err(err)?;
                }
            }
        }
        Ok(out)
    }

    fn scan_enumerators(
        &self,
        unit: &gimli::Unit<R>,
        raw: &mut gimli::EntriesRaw<'_, R>,
        enum_die: DieOff,
        out: &mut Vec<Found>,
    ) -> gimli::Result<()> {
        let mut depth = 1usize;
        let mut attrs = Vec::new();
        while depth > 0 && !raw.is_empty() {
            let Some(abbrev) = raw.read_abbreviation()? else {
                depth -= 1;
                continue;
            };
            if depth == 1 && abbrev.tag() == dw::DW_TAG_enumerator {
                raw.read_attributes(abbrev.attributes(), &mut attrs)?;
                let mut name = None;
                let mut value = None;
                for a in &attrs {
                    match a.name() {
                        dw::DW_AT_name => name = self.name_bytes(unit, a.value()),
                        dw::DW_AT_const_value => value = const_value(a.value()),
                        _ => {}
                    }
                }
                if let (Some(n), Some(v)) = (name, value) {
                    out.push(Found::Enumerator(n, EnumeratorEntry { value: v, enum_die }));
                }
            } else {
                raw.skip_attributes(abbrev.attributes())?;
            }
            if abbrev.has_children() {
                depth += 1;
            }
        }
        Ok(())
    }
}

/// Skip an entry whose abbreviation was just read: its attributes (reading only
/// `DW_AT_sibling`) and its children.
pub(super) fn skip_die<'u>(
    raw: &mut gimli::EntriesRaw<'u, R>,
    abbrev: &gimli::Abbreviation,
    unit: &'u gimli::Unit<R>,
) -> gimli::Result<()> {
    if !abbrev.has_children() {
        return raw.skip_attributes(abbrev.attributes());
    }
    let mut sibling = None;
    let specs = abbrev.attributes();
    for (i, spec) in specs.iter().enumerate() {
        if spec.name() == dw::DW_AT_sibling {
            if let AttributeValue::UnitRef(o) = raw.read_attribute(*spec)?.value() {
                sibling = Some(o);
            }
        } else {
            raw.skip_attributes(&specs[i..=i])?;
        }
    }
    skip_children(raw, sibling, unit)
}

/// Skip the children of the entry just read: jump to its sibling when it has one, otherwise
/// walk the subtree without decoding attributes.
fn skip_children<'u>(
    raw: &mut gimli::EntriesRaw<'u, R>,
    sibling: Option<UnitOffset<usize>>,
    unit: &'u gimli::Unit<R>,
) -> gimli::Result<()> {
    if let Some(sib) = sibling
        && sib > raw.next_offset()
        && let Ok(r) = unit.entries_raw(Some(sib))
    {
        *raw = r;
        return Ok(());
    }
    let mut depth = 1usize;
    while depth > 0 && !raw.is_empty() {
        match raw.read_abbreviation()? {
            None => depth -= 1,
            Some(a) => {
                raw.skip_attributes(a.attributes())?;
                if a.has_children() {
                    depth += 1;
                }
            }
        }
    }
    Ok(())
}

/// An enumerator or constant value. Fixed-size data forms are taken as unsigned (gcc uses
/// `DW_FORM_sdata` for negative values).
pub(crate) fn const_value(v: AttributeValue<R>) -> Option<i64> {
    Some(match v {
        AttributeValue::Sdata(n) => n,
        AttributeValue::Udata(n) => n as i64,
        AttributeValue::Data1(n) => n.into(),
        AttributeValue::Data2(n) => n.into(),
        AttributeValue::Data4(n) => n.into(),
        AttributeValue::Data8(n) => n as i64,
        _ => return None,
    })
}

/// The address of a variable whose location is a single `DW_OP_addr`/`DW_OP_addrx`.
pub(crate) fn static_address(
    img: &Image,
    unit: &gimli::Unit<R>,
    loc: AttributeValue<R>,
) -> Option<u64> {
    let AttributeValue::Exprloc(expr) = loc else {
        return None;
    };
    let mut ops = expr.operations(unit.encoding());
    let op = ops.next().ok()??;
    if !matches!(ops.next(), Ok(None)) {
        return None;
    }
    match op {
        gimli::Operation::Address { address } => Some(address),
        gimli::Operation::AddressIndex { index } => img.dwarf().address(unit, index).ok(),
        _ => None,
    }
}

/// The name of a DIE in the same unit (for a definition that points at its declaration).
pub(crate) fn die_name(
    img: &Image,
    unit: &gimli::Unit<R>,
    off: UnitOffset<usize>,
) -> Option<&'static [u8]> {
    let e = unit.entry(off).ok()?;
    img.name_bytes(unit, e.attr_value(dw::DW_AT_name)?)
}
