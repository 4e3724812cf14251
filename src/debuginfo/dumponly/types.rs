//! The dump-only source's types: BTF type ids resolved to the [`Type`] model the DWARF
//! source builds (`find_type`, `load_type`), enumerators, functions, the C spellings of
//! [`globals`](super::globals) and the variables they type.

use super::*;

impl DumpOnly {
    fn types_of(&self, bi: usize) -> &Sorted<u32> {
        self.index[bi]
            .types
            .get_or_init(|| btf::index_types(&self.btfs[bi], &|o| self.str_of(bi, o)))
    }

    fn enumerators_of(&self, bi: usize) -> &Sorted<(i64, u32)> {
        self.index[bi]
            .enumerators
            .get_or_init(|| btf::index_enumerators(&self.btfs[bi], &|o| self.str_of(bi, o)))
    }

    fn percpu_of(&self, bi: usize) -> &Sorted<(u32, u32, u32)> {
        self.index[bi]
            .percpu
            .get_or_init(|| btf::index_percpu(&self.btfs[bi], &|o| self.str_of(bi, o)))
    }

    /// The name of type record `id` of blob `bi`.
    fn name_of(&self, bi: usize, id: u32) -> Option<&str> {
        self.str_of(bi, self.btfs.get(bi)?.raw(id)?.name_off)
    }

    /// A string of blob `bi` (split blobs defer low offsets to the vmlinux BTF).
    fn str_of(&self, bi: usize, off: u32) -> Option<&str> {
        let b = self.btfs.get(bi)?;
        if off < b.start_str {
            return self.btfs.first()?.own_str(off);
        }
        b.own_str(off)
    }

    /// The [`TypeId`] of type `raw` as referred to from blob `bi`.
    fn type_ref(&self, bi: usize, raw: u32) -> TypeId {
        if raw == 0 {
            return TypeId::VOID;
        }
        let owner = match self.btfs.get(bi) {
            Some(b) if raw >= b.start_id => bi,
            _ => 0,
        };
        TypeId::new(owner, raw as usize, 0).unwrap_or(TypeId::VOID)
    }

    fn raw_of(&self, id: TypeId) -> Result<(usize, Raw<'_>), DebugError> {
        let bi = id.image();
        let b = self.btfs.get(bi).ok_or(DebugError::BadTypeId(id.raw()))?;
        let r = b
            .raw(id.die() as u32)
            .ok_or(DebugError::BadTypeId(id.raw()))?;
        Ok((bi, r))
    }

    pub fn find_type(&self, name: &str) -> Result<TypeId, DebugError> {
        let (ns, bare) = parse_type_name(name);
        let k = btf::key(btf::ns_code(ns), &bare);
        let mut fwd = None;
        for bi in 0..self.btfs.len() {
            for id in self.types_of(bi).get(k) {
                let Some(r) = self.btfs[bi].raw(id) else {
                    continue;
                };
                if btf::ns_of(&r) != Some(ns) || self.name_of(bi, id) != Some(&*bare) {
                    continue;
                }
                if r.kind != btf::KIND_FWD {
                    return TypeId::new(bi, id as usize, 0)
                        .ok_or_else(|| DebugError::TypeNotFound(name.to_owned()));
                }
                fwd = fwd.or(Some((bi, id)));
            }
        }
        if let Some((b, id)) = fwd {
            return TypeId::new(b, id as usize, 0)
                .ok_or_else(|| DebugError::TypeNotFound(name.to_owned()));
        }
        if !self.has_types() {
            return Err(DebugError::NoTypes(name.to_owned()));
        }
        Err(DebugError::TypeNotFound(name.to_owned()))
    }

    pub fn load_type(&self, id: TypeId) -> Result<Type, DebugError> {
        if id.image() == SYNTH {
            return self
                .synth
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(id.die())
                .map(|t| t.1.clone())
                .ok_or(DebugError::BadTypeId(id.raw()));
        }
        let mut id = id;
        // TYPE_TAG (`__user`, `__rcu` as btf_type_tag) is transparent.
        for _ in 0..16 {
            let (bi, r) = self.raw_of(id)?;
            if r.kind == btf::KIND_TYPE_TAG {
                id = self.type_ref(bi, r.size_type);
                if id == TypeId::VOID {
                    return Ok(Type::void());
                }
                continue;
            }
            return self.build(bi, id, r);
        }
        Err(DebugError::BadTypeId(id.raw()))
    }

    fn build(&self, bi: usize, id: TypeId, r: Raw<'_>) -> Result<Type, DebugError> {
        let le = |b: &[u8], i: usize| -> u32 {
            b.get(i..i + 4)
                .and_then(|x| x.try_into().ok())
                .map(u32::from_le_bytes)
                .unwrap_or(0)
        };
        let name = self
            .str_of(bi, r.name_off)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        let mut t = Type {
            name,
            ..Type::void()
        };
        t.kind = match r.kind {
            btf::KIND_INT => {
                let enc = le(r.extra, 0);
                let flags = (enc >> 24) & 0xf;
                let n = t.name.clone().unwrap_or_default();
                let encoding = if flags & 4 != 0 {
                    BaseEncoding::Bool
                } else if flags & 2 != 0 || n.ends_with("char") {
                    BaseEncoding::Char
                } else if flags & 1 != 0 {
                    BaseEncoding::Signed
                } else {
                    BaseEncoding::Unsigned
                };
                t.size = Some(u64::from(r.size_type));
                TypeKind::Base {
                    name: n,
                    size: u64::from(r.size_type),
                    encoding,
                }
            }
            btf::KIND_FLOAT => {
                t.size = Some(u64::from(r.size_type));
                TypeKind::Base {
                    name: t.name.clone().unwrap_or_default(),
                    size: u64::from(r.size_type),
                    encoding: BaseEncoding::Float,
                }
            }
            btf::KIND_PTR => {
                t.size = Some(8);
                t.target = Some(self.type_ref(bi, r.size_type));
                TypeKind::Pointer
            }
            btf::KIND_ARRAY => {
                let n = le(r.extra, 8);
                t.target = Some(self.type_ref(bi, le(r.extra, 0)));
                // `[]` and `[0]` are both 0 in BTF; a flexible array is the common case.
                t.count = (n != 0).then_some(u64::from(n));
                TypeKind::Array
            }
            btf::KIND_STRUCT | btf::KIND_UNION => {
                t.size = Some(u64::from(r.size_type));
                for m in r.extra.chunks_exact(12) {
                    let (no, ty, off) = (le(m, 0), le(m, 4), le(m, 8));
                    let mty = self.type_ref(bi, ty);
                    let (bit_off, mut bits) = if r.kind_flag {
                        (u64::from(off & 0x00ff_ffff), off >> 24)
                    } else {
                        (u64::from(off), 0)
                    };
                    if bits == 0 {
                        // Old-style bitfields: an INT whose bit count is below its size.
                        bits = self.int_bitfield(bi, ty).unwrap_or(0);
                    }
                    let mut member = Member {
                        name: self
                            .str_of(bi, no)
                            .filter(|n| !n.is_empty())
                            .map(str::to_owned),
                        ty: mty,
                        offset: bit_off / 8,
                        bit_offset: None,
                        bit_size: None,
                    };
                    if bits != 0 {
                        member.bit_offset = Some((bit_off % 8) as u32);
                        member.bit_size = Some(bits);
                    }
                    t.members.push(member);
                }
                if r.kind == btf::KIND_STRUCT {
                    TypeKind::Struct
                } else {
                    TypeKind::Union
                }
            }
            btf::KIND_ENUM | btf::KIND_ENUM64 => {
                t.size = Some(u64::from(r.size_type));
                let step = if r.kind == btf::KIND_ENUM { 8 } else { 12 };
                for e in r.extra.chunks_exact(step) {
                    let v = if r.kind == btf::KIND_ENUM {
                        let v = le(e, 4);
                        if r.kind_flag {
                            i64::from(v as i32)
                        } else {
                            i64::from(v)
                        }
                    } else {
                        (u64::from(le(e, 8)) << 32 | u64::from(le(e, 4))) as i64
                    };
                    if let Some(n) = self.str_of(bi, le(e, 0)) {
                        t.enumerators.push((n.to_owned(), v));
                    }
                }
                TypeKind::Enum
            }
            btf::KIND_FWD => {
                t.declaration = true;
                if r.kind_flag {
                    TypeKind::Union
                } else {
                    TypeKind::Struct
                }
            }
            btf::KIND_TYPEDEF => {
                t.target = Some(self.type_ref(bi, r.size_type));
                TypeKind::Typedef
            }
            btf::KIND_CONST => {
                t.target = Some(self.type_ref(bi, r.size_type));
                TypeKind::Const
            }
            btf::KIND_VOLATILE => {
                t.target = Some(self.type_ref(bi, r.size_type));
                TypeKind::Volatile
            }
            btf::KIND_RESTRICT => {
                t.target = Some(self.type_ref(bi, r.size_type));
                TypeKind::Restrict
            }
            btf::KIND_FUNC_PROTO => {
                t.target = Some(self.type_ref(bi, r.size_type));
                TypeKind::Function
            }
            btf::KIND_FUNC => {
                // A FUNC names a FUNC_PROTO; the function's type is its return type.
                let proto = self.type_ref(bi, r.size_type);
                t.target = Some(match self.raw_of(proto) {
                    Ok((pb, p)) if p.kind == btf::KIND_FUNC_PROTO => self.type_ref(pb, p.size_type),
                    _ => TypeId::VOID,
                });
                TypeKind::Function
            }
            _ => return Err(DebugError::BadTypeId(id.raw())),
        };
        Ok(t)
    }

    /// For an old-style BTF bitfield member: the INT's bit count when it is narrower than
    /// its storage.
    fn int_bitfield(&self, bi: usize, ty: u32) -> Option<u32> {
        let (_, r) = self.raw_of(self.type_ref(bi, ty)).ok()?;
        if r.kind != btf::KIND_INT {
            return None;
        }
        let enc = u32::from_le_bytes(r.extra.get(0..4)?.try_into().ok()?);
        let bits = enc & 0xff;
        let off = (enc >> 16) & 0xff;
        (off != 0 || bits < r.size_type * 8).then_some(bits)
    }

    /// Every named type, per-CPU variable and function of the BTF, and every global of
    /// the table, sorted (for a fuzzy finder).
    pub fn type_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (bi, b) in self.btfs.iter().enumerate() {
            for (id, r) in b.iter() {
                let Some(n) = self.str_of(bi, r.name_off).filter(|n| !n.is_empty()) else {
                    continue;
                };
                v.push(match btf::ns_of(&r) {
                    Some(Ns::Struct) => format!("struct {n}"),
                    Some(Ns::Union) => format!("union {n}"),
                    Some(Ns::Enum) => format!("enum {n}"),
                    Some(Ns::Ordinary) => n.to_owned(),
                    None if matches!(r.kind, btf::KIND_FUNC | btf::KIND_VAR) => n.to_owned(),
                    None => continue,
                });
                let _ = id;
            }
        }
        v.extend(globals::GLOBALS.iter().map(|g| g.0.to_owned()));
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn find_enumerator(&self, name: &str) -> Option<(i64, TypeId)> {
        let k = btf::key(0, name);
        (0..self.btfs.len()).find_map(|bi| {
            self.enumerators_of(bi).get(k).find_map(|(v, id)| {
                let r = self.btfs[bi].raw(id)?;
                let step = if r.kind == btf::KIND_ENUM { 8 } else { 12 };
                let named = r.extra.chunks_exact(step).any(|e| {
                    let no = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                    self.str_of(bi, no) == Some(name)
                });
                named.then(|| Some((v, TypeId::new(bi, id as usize, 0)?)))?
            })
        })
    }

    pub fn find_function(&self, name: &str) -> Option<FunctionInfo> {
        let s = self
            .syms
            .by_name(name)
            .filter(|s| s.kind == SymKind::Func)?;
        Some(FunctionInfo {
            name: name.to_owned(),
            low_pc: s.addr,
            high_pc: s.addr + s.size.max(1),
            decl_file: None,
            decl_line: None,
        })
    }

    /// A type spelled in C (`struct rcu_state`, `const char *const []`), through BTF;
    /// pointers, arrays and qualifiers around a BTF type are made here.
    pub fn spelled_type(&self, c: &str) -> Result<TypeId, DebugError> {
        let known = self
            .synth
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .position(|(k, _)| k == c);
        if let Some(i) = known {
            return TypeId::new(SYNTH, i, 0).ok_or(DebugError::BadTypeId(0));
        }
        let p = globals::parse(c).ok_or_else(|| DebugError::TypeNotFound(c.to_owned()))?;
        let base = self.find_type(&p.base)?;
        let mut layers: Vec<(TypeKind, Option<u64>, Option<u64>)> = Vec::new();
        if p.volatile {
            layers.push((TypeKind::Volatile, None, None));
        }
        if p.constant {
            layers.push((TypeKind::Const, None, None));
        }
        for _ in 0..p.stars {
            layers.push((TypeKind::Pointer, Some(8), None));
        }
        if let Some(n) = p.array {
            layers.push((TypeKind::Array, None, n));
        }
        if layers.is_empty() {
            return Ok(base);
        }
        let mut synth = self.synth.write().unwrap_or_else(|p| p.into_inner());
        let mut ty = base;
        let last = layers.len() - 1;
        for (i, (kind, size, count)) in layers.into_iter().enumerate() {
            let t = Type {
                kind,
                name: None,
                size,
                target: Some(ty),
                count,
                ..Type::void()
            };
            // The outermost layer is the whole spelling; inner ones are never looked up.
            let key = if i == last {
                c.to_owned()
            } else {
                String::new()
            };
            synth.push((key, t));
            ty = TypeId::new(SYNTH, synth.len() - 1, 0).ok_or(DebugError::BadTypeId(0))?;
        }
        Ok(ty)
    }

    /// A variable: per-CPU ones from BTF, globals through [`globals`].
    pub fn find_variable(&self, name: &str) -> Result<Variable, DebugError> {
        let k = btf::key(0, name);
        for bi in 0..self.btfs.len() {
            let hit = self
                .percpu_of(bi)
                .get(k)
                .find(|&(var, _, _)| self.name_of(bi, var) == Some(name));
            if let Some((_, ty, off)) = hit {
                let b = bi;
                // The address is kallsyms' (an offset into the per-CPU area, or a link
                // address where the kernel links the section in the image); without the
                // symbol, the DATASEC offset from the section start.
                let addr = match self.syms.by_name(name) {
                    Some(s) => s.addr,
                    None => self.percpu_start().unwrap_or(0) + u64::from(off),
                };
                return Ok(Variable {
                    name: name.to_owned(),
                    addr,
                    ty: self.type_ref(b, ty),
                    percpu: true,
                });
            }
        }
        let sym = self
            .syms
            .by_name(name)
            .ok_or_else(|| DebugError::VariableNotFound(name.to_owned()))?;
        let c = globals::type_of(name).ok_or_else(|| DebugError::Untyped(name.to_owned()))?;
        Ok(Variable {
            name: name.to_owned(),
            addr: sym.addr,
            ty: self.spelled_type(c)?,
            percpu: false,
        })
    }
}
