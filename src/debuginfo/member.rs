//! Member paths (`thread.sp`, `se.avg.load_avg`, `srcu_lock_count[1]`) resolved through
//! typedefs, qualifiers and anonymous structs/unions, as C does; and the few DIE attributes
//! read outside type materialization (a variable's type, a function's declaration).

use super::image::Image;
use super::{DebugError, DebugInfo, MemberInfo, TypeId, TypeKind};
use gimli::AttributeValue;
use gimli::constants as dw;

enum Step<'a> {
    Name(&'a str),
    Index(u64),
}

fn parse_path(path: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            steps.push(Step::Name(name.trim()));
        } else if steps.is_empty() && rest.is_empty() {
            return None;
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            steps.push(Step::Index(r[..end].trim().parse().ok()?));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(steps)
}

impl DebugInfo {
    /// Resolve a member path of struct/union `ty`. Cached per (type, path).
    pub fn member(&self, ty: TypeId, path: &str) -> Result<MemberInfo, DebugError> {
        let key = (ty, path.to_owned());
        if let Some(m) = self
            .members
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(*m);
        }
        let m = self.resolve_member(ty, path)?;
        self.members
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, m);
        Ok(m)
    }

    fn type_label(&self, ty: TypeId) -> String {
        self.ty(ty)
            .map(|t| t.c_name())
            .unwrap_or_else(|_| "a type that cannot be read".to_string())
    }

    fn resolve_member(&self, ty: TypeId, path: &str) -> Result<MemberInfo, DebugError> {
        let bad = |msg: &str| DebugError::BadMemberPath {
            ty: self.type_label(ty),
            path: path.to_owned(),
            msg: msg.to_owned(),
        };
        let steps = parse_path(path).ok_or_else(|| bad("malformed path"))?;
        let mut cur = MemberInfo {
            offset: 0,
            ty,
            bit_offset: None,
            bit_size: None,
        };
        for step in steps {
            let stripped = self.strip(cur.ty);
            match step {
                Step::Name(name) => {
                    let (off, m) = self.find_member(stripped, name, 0)?.ok_or_else(|| {
                        DebugError::NoMember {
                            ty: self.type_label(stripped),
                            path: path.to_owned(),
                            member: name.to_owned(),
                        }
                    })?;
                    cur = MemberInfo {
                        offset: cur.offset + off,
                        ..m
                    };
                }
                Step::Index(i) => {
                    let t = self.ty(stripped)?;
                    if t.kind != TypeKind::Array {
                        return Err(bad("indexing something that is not an array"));
                    }
                    let elem = t.target.ok_or_else(|| bad("array without element type"))?;
                    let size = self
                        .sizeof(elem)
                        .ok_or_else(|| bad("array element of unknown size"))?;
                    cur = MemberInfo {
                        offset: cur.offset + i * size,
                        ty: elem,
                        bit_offset: None,
                        bit_size: None,
                    };
                }
            }
        }
        Ok(cur)
    }

    /// Find `name` among the members of struct/union `ty`, descending into anonymous members.
    fn find_member(
        &self,
        ty: TypeId,
        name: &str,
        depth: u32,
    ) -> Result<Option<(u64, MemberInfo)>, DebugError> {
        let t = self.ty(ty)?;
        if !matches!(t.kind, TypeKind::Struct | TypeKind::Union) {
            return Err(DebugError::BadMemberPath {
                ty: t.c_name(),
                path: name.to_owned(),
                msg: "not a struct or union".into(),
            });
        }
        for m in &t.members {
            if m.name.as_deref() == Some(name) {
                return Ok(Some((
                    m.offset,
                    MemberInfo {
                        offset: 0,
                        ty: m.ty,
                        bit_offset: m.bit_offset,
                        bit_size: m.bit_size,
                    },
                )));
            }
        }
        if depth < 16 {
            for m in t.members.iter().filter(|m| m.name.is_none()) {
                let inner = self.strip(m.ty);
                if let Some((off, mi)) = self.find_member(inner, name, depth + 1)? {
                    return Ok(Some((m.offset + off, mi)));
                }
            }
        }
        Ok(None)
    }
}

impl Image {
    /// The type of the variable DIE at `die` (following `DW_AT_specification`).
    pub(crate) fn var_type(&self, img_idx: usize, die: usize) -> Result<TypeId, DebugError> {
        let (u, uoff) = self.locate(die)?.ok_or(DebugError::BadTypeId(die as u64))?;
        let unit = self.unit(u)?;
        let start = self.units()?[u].start.0;
        let err = |e| self.dwarf_err(format!("variable DIE at {die:#x}"), e);
        let mut off = uoff;
        for _ in 0..4 {
            let e = unit.entry(off).map_err(err)?;
            match e.attr_value(dw::DW_AT_type) {
                Some(AttributeValue::UnitRef(o)) => {
                    return Ok(TypeId::new(img_idx, start + o.0, 0).unwrap_or(TypeId::VOID));
                }
                Some(AttributeValue::DebugInfoRef(o)) => {
                    return Ok(TypeId::new(img_idx, o.0, 0).unwrap_or(TypeId::VOID));
                }
                _ => {}
            }
            match e.attr_value(dw::DW_AT_specification) {
                Some(AttributeValue::UnitRef(o)) => off = o,
                _ => break,
            }
        }
        Ok(TypeId::VOID)
    }

    /// `DW_AT_decl_file`/`DW_AT_decl_line` of a function DIE (following its abstract origin or
    /// specification).
    pub(crate) fn decl_of(&self, die: usize) -> (Option<String>, Option<u32>) {
        let Ok(Some((u, mut off))) = self.locate(die) else {
            return (None, None);
        };
        let Ok(unit) = self.unit(u) else {
            return (None, None);
        };
        for _ in 0..4 {
            let Ok(e) = unit.entry(off) else { break };
            let file = match e.attr_value(dw::DW_AT_decl_file) {
                Some(AttributeValue::FileIndex(f)) => Some(f),
                Some(v) => v.udata_value(),
                None => None,
            };
            let line = e
                .attr_value(dw::DW_AT_decl_line)
                .and_then(|v| v.udata_value());
            if file.is_some() || line.is_some() {
                return (
                    file.and_then(|f| self.decl_file(u, f)),
                    line.and_then(|l| u32::try_from(l).ok()),
                );
            }
            match e
                .attr_value(dw::DW_AT_abstract_origin)
                .or_else(|| e.attr_value(dw::DW_AT_specification))
            {
                Some(AttributeValue::UnitRef(o)) => off = o,
                _ => break,
            }
        }
        (None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse() {
        let s = parse_path("a.b[2][3].c").unwrap();
        assert_eq!(s.len(), 5);
        assert!(matches!(s[2], Step::Index(2)));
        assert!(parse_path("a[x]").is_none());
        assert!(parse_path("a]").is_none() || parse_path("a]").is_some());
        assert!(parse_path("").is_none());
    }
}
