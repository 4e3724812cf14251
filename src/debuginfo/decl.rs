//! Variables that DWARF only declares. A linker-script alias has no definition DIE: on
//! x86_64 `jiffies = jiffies_64;` (arch/x86/kernel/vmlinux.lds.S) leaves every unit that
//! uses `jiffies` with an `extern` declaration (`DW_AT_declaration`, a type, no location),
//! while the ELF symbol table has its address. The variable is that type at that address,
//! as drgn reads it.
//!
//! The name index skips declarations (they are most top-level DIEs). They are looked for
//! only when a name has no definition but is a global ELF symbol without a size, and at
//! most one walk over all units is ever made: later misses cost one map lookup each.

use super::image::{Image, R};
use super::index::skip_die;
use super::{DebugError, DebugInfo, Variable};
use gimli::AttributeValue;
use gimli::constants as dw;
use std::collections::HashMap;

impl DebugInfo {
    /// A variable with only an extern declaration in DWARF, placed by its ELF symbol.
    pub(super) fn find_declared_variable(&self, name: &str) -> Result<Variable, DebugError> {
        for img in &self.images {
            // Only a global symbol can be what another unit declares `extern`, and a
            // linker-script assignment has no size (`jiffies`: 0, `jiffies_64`: 8). Symbols
            // with a size but no DWARF (Rust statics, `CSWTCH.*` tables) are not looked for.
            let Some(addr) = img
                .symbols()
                .raw_by_name(name)
                .filter(|s| s.is_global() && s.size == 0)
                .map(|s| s.addr)
            else {
                continue;
            };
            if let Some(die) = declaration(img, name)? {
                let ty = img.var_type(self.image_index(img), die)?;
                let percpu = img.percpu().is_some_and(|(s, end)| addr >= s && addr < end);
                return Ok(Variable {
                    name: name.to_owned(),
                    addr,
                    ty,
                    percpu,
                });
            }
        }
        Err(DebugError::VariableNotFound(name.to_owned()))
    }
}

/// The first top-level `DW_TAG_variable` declaration of `name`. Units are read in link
/// order and every declaration met is kept; a name found early (`jiffies`, in one of the
/// first units) stops the walk, and a walk that reaches the end stores the whole map, so
/// later names cost a lookup.
fn declaration(img: &Image, name: &str) -> Result<Option<usize>, DebugError> {
    if let Some(m) = img.decls.get() {
        return Ok(m.get(name.as_bytes()).copied());
    }
    let mut map = HashMap::new();
    for (u, slot) in img.units()?.iter().enumerate() {
        let start = slot.start.0;
        scan_unit(img, u, start, &mut map)
            .map_err(|e| img.dwarf_err(format!("declarations in unit at {start:#x}"), e))?;
        if let Some(&die) = map.get(name.as_bytes()) {
            return Ok(Some(die));
        }
    }
    Ok(img.decls.get_or_init(|| map).get(name.as_bytes()).copied())
}

/// Read the unit's top-level DIEs from their abbreviations, decoding only declarations of
/// variables and skipping every subtree.
fn scan_unit(
    img: &Image,
    u: usize,
    start: usize,
    map: &mut HashMap<Vec<u8>, usize>,
) -> gimli::Result<()> {
    let Ok(unit) = img.unit(u) else {
        return Ok(()); // a unit that does not parse declares nothing we can use
    };
    let mut raw = unit.entries_raw(None)?;
    let Some(root) = raw.read_abbreviation()? else {
        return Ok(());
    };
    raw.skip_attributes(root.attributes())?;
    if !root.has_children() {
        return Ok(());
    }
    let mut attrs: Vec<gimli::Attribute<R>> = Vec::new();
    while !raw.is_empty() {
        let off = raw.next_offset();
        let Some(abbrev) = raw.read_abbreviation()? else {
            break; // end of the unit DIE's children
        };
        let decl_var = abbrev.tag() == dw::DW_TAG_variable
            && abbrev
                .attributes()
                .iter()
                .any(|s| s.name() == dw::DW_AT_declaration);
        if !decl_var || abbrev.has_children() {
            skip_die(&mut raw, abbrev, unit)?;
            continue;
        }
        raw.read_attributes(abbrev.attributes(), &mut attrs)?;
        let declared = attrs.iter().any(|a| {
            a.name() == dw::DW_AT_declaration && matches!(a.value(), AttributeValue::Flag(true))
        });
        let name = attrs
            .iter()
            .find(|a| a.name() == dw::DW_AT_name)
            .and_then(|a| img.name_bytes(unit, a.value()));
        if declared && let Some(n) = name {
            map.entry(n.to_vec()).or_insert(start + off.0);
        }
    }
    Ok(())
}
