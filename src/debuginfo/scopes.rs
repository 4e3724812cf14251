//! The variables in scope at a pc: the subprogram DIE holding the pc, the chain of
//! `DW_TAG_inlined_subroutine`s and lexical blocks inside it that hold the pc too, and their
//! `DW_TAG_formal_parameter`/`DW_TAG_variable` children with the location description valid
//! at the pc (a `DW_AT_location` expression, the entry of a location list covering the pc, or
//! a `DW_AT_const_value`). Names and types come through `DW_AT_abstract_origin` (inlined and
//! out-of-line concrete instances) and `DW_AT_specification`, bounded so cyclic references
//! end. Nothing is evaluated here: that needs registers and memory (see `unwind::locals`).

use super::image::{Image, R};
use super::{DebugInfo, TypeId};
use gimli::constants as dw;
use gimli::{AttributeValue, UnitOffset};

/// A formal parameter or a local variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarKind {
    Param,
    Var,
}

/// Where a variable is at the pc, as the DWARF says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarLoc {
    /// A location description (DWARF expression bytes) valid at the pc.
    Expr(Vec<u8>),
    /// `DW_AT_const_value`: the value's bytes, little-endian.
    Const(Vec<u8>),
    /// No location at this pc (no `DW_AT_location`, or no list entry covers the pc).
    OptimizedOut,
    /// The description could not be read.
    Bad(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeVar {
    pub name: String,
    pub ty: Option<TypeId>,
    pub kind: VarKind,
    pub loc: VarLoc,
}

/// One function's scope at the pc: the subprogram, or one inlined call in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub function: Option<String>,
    /// This is an inlined call (inside the next scope).
    pub inlined: bool,
    pub vars: Vec<ScopeVar>,
}

/// The scopes at a pc, innermost (inlined) first and the subprogram last, as
/// [`DebugInfo::lines`] orders frames.
#[derive(Debug, Clone)]
pub struct Scopes {
    pub scopes: Vec<Scope>,
    /// The subprogram's `DW_AT_frame_base` expression.
    pub frame_base: Option<Vec<u8>>,
    pub encoding: gimli::Encoding,
    /// The image holds runtime addresses (a module) rather than link-time ones (vmlinux).
    pub module: bool,
}

/// Bound on `DW_AT_abstract_origin`/`DW_AT_specification` chains (cycles end here).
const MAX_ORIGIN: usize = 8;
/// Bound on nesting of blocks and inlined calls.
const MAX_DEPTH: usize = 64;

impl DebugInfo {
    /// The variables in scope at `addr` (vmlinux link address, module runtime address; for a
    /// return address pass the call instruction's address, `pc - 1`). `None` when no
    /// subprogram covers the address.
    pub fn scopes(&self, addr: u64) -> Option<Scopes> {
        let (i, img) = self
            .images
            .iter()
            .enumerate()
            .find(|(_, i)| i.contains(addr))?;
        img.scopes(i, addr)
    }
}

impl Image {
    fn unit_holding(&self, addr: u64) -> Option<usize> {
        if let Some(u) = self.unit_of_addr(addr) {
            return Some(u);
        }
        if self.aranges().1 {
            return None;
        }
        // Some unit has no aranges: look at the units' own ranges.
        let n = self.units().ok()?.len();
        (0..n).find(|&u| {
            let Ok(unit) = self.unit(u) else { return false };
            let Ok(root) = unit.entry(unit.header.root_offset()) else {
                return false;
            };
            self.die_holds(unit, &root, addr)
        })
    }

    fn die_holds(
        &self,
        unit: &gimli::Unit<R>,
        e: &gimli::DebuggingInformationEntry<R>,
        addr: u64,
    ) -> bool {
        let Ok(mut ranges) = self.dwarf().die_ranges(unit, e) else {
            return false;
        };
        let mut n = 0;
        while let Ok(Some(r)) = ranges.next() {
            if addr >= r.begin && addr < r.end {
                return true;
            }
            n += 1;
            if n > 4096 {
                break;
            }
        }
        false
    }

    pub(crate) fn scopes(&self, img_idx: usize, addr: u64) -> Option<Scopes> {
        let u = self.unit_holding(addr)?;
        let unit = self.unit(u).ok()?;
        let mut tree = unit.entries_tree(None).ok()?;
        let root = tree.root().ok()?;
        let mut top = root.children();
        while let Ok(Some(node)) = top.next() {
            let e = node.entry();
            if e.tag() != dw::DW_TAG_subprogram || !self.die_holds(unit, e, addr) {
                continue;
            }
            let frame_base = match e.attr_value(dw::DW_AT_frame_base) {
                Some(AttributeValue::Exprloc(x)) => Some(x.0.slice().to_vec()),
                _ => None,
            };
            let function = self.origin_name(u, e.offset());
            let mut chain = vec![Scope {
                function,
                inlined: false,
                vars: Vec::new(),
            }];
            let cx = Cx {
                img: self,
                img_idx,
                u,
                unit,
                addr,
            };
            cx.collect(node, &mut chain, 0, 0);
            chain.reverse();
            let n = chain.len();
            for (i, s) in chain.iter_mut().enumerate() {
                s.inlined = i + 1 < n;
            }
            return Some(Scopes {
                scopes: chain,
                frame_base,
                encoding: unit.encoding(),
                module: self.module.is_some(),
            });
        }
        None
    }

    /// Follow a reference attribute to (unit index, offset in it).
    fn follow(&self, u: usize, v: AttributeValue<R>) -> Option<(usize, UnitOffset<usize>)> {
        match v {
            AttributeValue::UnitRef(o) => Some((u, o)),
            AttributeValue::DebugInfoRef(o) => self.locate(o.0).ok().flatten(),
            _ => None,
        }
    }

    /// An attribute of a DIE or, failing that, of its abstract origin/specification chain:
    /// the value and the unit it was found in.
    fn origin_attr(
        &self,
        u: usize,
        off: UnitOffset<usize>,
        at: dw::DwAt,
    ) -> Option<(usize, AttributeValue<R>)> {
        let (mut u, mut off) = (u, off);
        for _ in 0..MAX_ORIGIN {
            let unit = self.unit(u).ok()?;
            let e = unit.entry(off).ok()?;
            if let Some(v) = e.attr_value(at) {
                return Some((u, v));
            }
            let next = e
                .attr_value(dw::DW_AT_abstract_origin)
                .or_else(|| e.attr_value(dw::DW_AT_specification))?;
            (u, off) = self.follow(u, next)?;
        }
        None
    }

    fn origin_name(&self, u: usize, off: UnitOffset<usize>) -> Option<String> {
        let (u, v) = self.origin_attr(u, off, dw::DW_AT_name)?;
        self.name_string(self.unit(u).ok()?, v)
    }

    fn origin_type(&self, img_idx: usize, u: usize, off: UnitOffset<usize>) -> Option<TypeId> {
        let (u, v) = self.origin_attr(u, off, dw::DW_AT_type)?;
        let start = self.units().ok()?.get(u)?.start.0;
        match v {
            AttributeValue::UnitRef(o) => TypeId::new(img_idx, start + o.0, 0),
            AttributeValue::DebugInfoRef(o) => TypeId::new(img_idx, o.0, 0),
            _ => None,
        }
    }
}

struct Cx<'a> {
    img: &'a Image,
    img_idx: usize,
    u: usize,
    unit: &'a gimli::Unit<R>,
    addr: u64,
}

impl Cx<'_> {
    fn collect(
        &self,
        node: gimli::EntriesTreeNode<R>,
        chain: &mut Vec<Scope>,
        cur: usize,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let mut children = node.children();
        while let Ok(Some(child)) = children.next() {
            let e = child.entry();
            match e.tag() {
                dw::DW_TAG_formal_parameter | dw::DW_TAG_variable => {
                    if let Some(v) = self.var(e) {
                        chain[cur].vars.push(v);
                    }
                }
                dw::DW_TAG_lexical_block if self.img.die_holds(self.unit, e, self.addr) => {
                    self.collect(child, chain, cur, depth + 1);
                }
                dw::DW_TAG_inlined_subroutine if self.img.die_holds(self.unit, e, self.addr) => {
                    chain.push(Scope {
                        function: self.img.origin_name(self.u, e.offset()),
                        inlined: true,
                        vars: Vec::new(),
                    });
                    let n = chain.len() - 1;
                    self.collect(child, chain, n, depth + 1);
                }
                _ => {}
            }
        }
    }

    fn var(&self, e: &gimli::DebuggingInformationEntry<R>) -> Option<ScopeVar> {
        // `extern` declarations inside a function are not locals.
        if matches!(
            e.attr_value(dw::DW_AT_declaration),
            Some(AttributeValue::Flag(true))
        ) {
            return None;
        }
        let img = self.img;
        let name = img.origin_name(self.u, e.offset())?;
        let ty = img.origin_type(self.img_idx, self.u, e.offset());
        let kind = if e.tag() == dw::DW_TAG_formal_parameter {
            VarKind::Param
        } else {
            VarKind::Var
        };
        let loc = match e.attr_value(dw::DW_AT_location) {
            Some(AttributeValue::Exprloc(x)) => VarLoc::Expr(x.0.slice().to_vec()),
            Some(v) => self.list_entry(v),
            None => match e.attr_value(dw::DW_AT_const_value) {
                Some(v) => const_bytes(v),
                None => VarLoc::OptimizedOut,
            },
        };
        Some(ScopeVar {
            name,
            ty,
            kind,
            loc,
        })
    }

    /// The entry of a location list that covers the pc.
    fn list_entry(&self, v: AttributeValue<R>) -> VarLoc {
        let d = self.img.dwarf();
        let off = match d.attr_locations_offset(self.unit, v) {
            Ok(Some(o)) => o,
            Ok(None) => return VarLoc::Bad("location is neither an expression nor a list".into()),
            Err(e) => return VarLoc::Bad(format!("location list: {e}")),
        };
        let mut it = match d.locations(self.unit, off) {
            Ok(it) => it,
            Err(e) => return VarLoc::Bad(format!("location list at {:#x}: {e}", off.0)),
        };
        for _ in 0..65536 {
            match it.next() {
                Ok(Some(l)) if self.addr >= l.range.begin && self.addr < l.range.end => {
                    return VarLoc::Expr(l.data.0.slice().to_vec());
                }
                Ok(Some(_)) => {}
                Ok(None) => return VarLoc::OptimizedOut,
                Err(e) => return VarLoc::Bad(format!("location list at {:#x}: {e}", off.0)),
            }
        }
        VarLoc::Bad(format!("location list at {:#x} too long", off.0))
    }
}

fn const_bytes(v: AttributeValue<R>) -> VarLoc {
    match v {
        AttributeValue::Block(b) => VarLoc::Const(b.slice().to_vec()),
        AttributeValue::Sdata(n) => VarLoc::Const(n.to_le_bytes().to_vec()),
        AttributeValue::Udata(n) => VarLoc::Const(n.to_le_bytes().to_vec()),
        AttributeValue::Data1(n) => VarLoc::Const(vec![n]),
        AttributeValue::Data2(n) => VarLoc::Const(n.to_le_bytes().to_vec()),
        AttributeValue::Data4(n) => VarLoc::Const(n.to_le_bytes().to_vec()),
        AttributeValue::Data8(n) => VarLoc::Const(n.to_le_bytes().to_vec()),
        other => VarLoc::Bad(format!("DW_AT_const_value of form {other:?}")),
    }
}
