//! Variables that DWARF only declares. A linker-script alias has no definition DIE: on
//! x86_64 `jiffies = jiffies_64;` (arch/x86/kernel/vmlinux.lds.S) leaves every unit that
//! uses `jiffies` with an `extern` declaration (`DW_AT_declaration`, a type, no location),
//! while the ELF symbol table has its address. The variable is that type at that address,
//! as drgn reads it.
//!
//! The name index skips declarations (they are most top-level DIEs); this scan runs only
//! when a name has no definition but is an ELF symbol, and stops at the first unit that
//! declares it.

use super::image::Image;
use super::{DebugError, DebugInfo, Variable};
use gimli::constants as dw;

impl DebugInfo {
    /// A variable with only an extern declaration in DWARF, placed by its ELF symbol.
    pub(super) fn find_declared_variable(&self, name: &str) -> Result<Variable, DebugError> {
        for img in &self.images {
            let Some(addr) = img.symbols().raw_by_name(name).map(|s| s.addr) else {
                continue;
            };
            if let Some(die) = declaration_die(img, name)? {
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

/// The `.debug_info` offset of the first top-level `DW_TAG_variable` declaration of `name`.
fn declaration_die(img: &Image, name: &str) -> Result<Option<usize>, DebugError> {
    for u in 0..img.units()?.len() {
        let unit = img.unit(u)?;
        let start = img.units()?[u].start.0;
        let err = |e| img.dwarf_err(format!("unit at {start:#x}"), e);
        let mut tree = unit.entries_tree(None).map_err(err)?;
        let root = tree.root().map_err(err)?;
        let mut children = root.children();
        while let Some(child) = children.next().map_err(err)? {
            let e = child.entry();
            if e.tag() != dw::DW_TAG_variable
                || !matches!(
                    e.attr_value(dw::DW_AT_declaration),
                    Some(gimli::AttributeValue::Flag(true))
                )
            {
                continue;
            }
            let named = e
                .attr_value(dw::DW_AT_name)
                .and_then(|v| img.dwarf.attr_string(unit, v).ok())
                .is_some_and(|s| s.slice() == name.as_bytes());
            if named {
                return Ok(Some(start + e.offset().0));
            }
        }
    }
    Ok(None)
}
