//! The type model: [`TypeId`], [`Type`], [`Member`], and how a type DIE becomes a [`Type`].
//! Types are materialized on request, one DIE (plus its direct children) at a time; the member
//! types stay [`TypeId`]s until asked for.

use super::DebugError;
use super::image::{Image, R};
use super::index::const_value;
use gimli::AttributeValue;
use gimli::constants as dw;

/// A type of one [`super::DebugInfo`]: which loaded file, which DIE, and for multi-dimensional
/// arrays which dimension (DWARF describes `int a[2][3]` as one DIE with two subranges).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(u64);

const OFF_BITS: u32 = 40;
const DIM_BITS: u32 = 8;

impl TypeId {
    /// `void` (the target of `void *`, the return type of a `void` function).
    pub const VOID: TypeId = TypeId(u64::MAX);

    pub(crate) fn new(image: usize, die: usize, dim: u32) -> Option<TypeId> {
        let die = u64::try_from(die).ok()?;
        if die >> OFF_BITS != 0 || dim >> DIM_BITS != 0 || image >= 0xffff {
            return None;
        }
        Some(TypeId(
            ((image as u64) << (OFF_BITS + DIM_BITS)) | (u64::from(dim) << OFF_BITS) | die,
        ))
    }
    pub(crate) fn image(self) -> usize {
        (self.0 >> (OFF_BITS + DIM_BITS)) as usize
    }
    pub(crate) fn die(self) -> usize {
        (self.0 & ((1 << OFF_BITS) - 1)) as usize
    }
    pub(crate) fn dim(self) -> u32 {
        ((self.0 >> OFF_BITS) & ((1 << DIM_BITS) - 1)) as u32
    }
    /// The raw value, for error messages and debugging.
    pub fn raw(self) -> u64 {
        self.0
    }
}

impl std::fmt::Debug for TypeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == TypeId::VOID {
            return write!(f, "TypeId(void)");
        }
        write!(f, "TypeId({}:{:#x}", self.image(), self.die())?;
        if self.dim() != 0 {
            write!(f, "[{}]", self.dim())?;
        }
        write!(f, ")")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaseEncoding {
    Signed,
    Unsigned,
    Bool,
    Float,
    Char,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeKind {
    Base {
        name: String,
        size: u64,
        encoding: BaseEncoding,
    },
    Struct,
    Union,
    Enum,
    Pointer,
    Array,
    Typedef,
    Const,
    Volatile,
    Restrict,
    Atomic,
    Function,
    Void,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// `None` for an anonymous struct/union member.
    pub name: Option<String>,
    pub ty: TypeId,
    /// Byte offset. For a bitfield, the byte holding its first bit.
    pub offset: u64,
    /// For a bitfield: the bit within the byte at `offset` (bit 0 = least significant on
    /// little-endian), so the member starts at bit `offset * 8 + bit_offset`.
    pub bit_offset: Option<u32>,
    pub bit_size: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Type {
    pub kind: TypeKind,
    pub name: Option<String>,
    pub size: Option<u64>,
    /// Struct/union members in order, anonymous ones included with `name: None`.
    pub members: Vec<Member>,
    /// Pointee, typedef'd type, qualified type, array element, enum underlying type, function
    /// return type ([`TypeId::VOID`] for `void`).
    pub target: Option<TypeId>,
    /// Array element count; `None` for a flexible or unknown-length array.
    pub count: Option<u64>,
    pub enumerators: Vec<(String, i64)>,
    /// A declaration only (`struct foo;`), no layout.
    pub declaration: bool,
}

impl Type {
    pub(crate) fn void() -> Type {
        Type {
            kind: TypeKind::Void,
            name: Some("void".into()),
            size: None,
            members: Vec::new(),
            target: None,
            count: None,
            enumerators: Vec::new(),
            declaration: false,
        }
    }

    /// A C-like spelling of the type's name: `struct task_struct`, `atomic_long_t`, `int`.
    pub fn c_name(&self) -> String {
        let n = self.name.as_deref().unwrap_or("<anonymous>");
        match self.kind {
            TypeKind::Struct => format!("struct {n}"),
            TypeKind::Union => format!("union {n}"),
            TypeKind::Enum => format!("enum {n}"),
            TypeKind::Pointer => "pointer".into(),
            TypeKind::Array => "array".into(),
            TypeKind::Function => "function".into(),
            _ => n.to_string(),
        }
    }
}

/// The resolved end of a member path such as `se.avg.load_avg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    pub offset: u64,
    pub ty: TypeId,
    pub bit_offset: Option<u32>,
    pub bit_size: Option<u32>,
}

fn type_ref(img_idx: usize, unit_start: usize, v: AttributeValue<R>) -> Option<TypeId> {
    match v {
        AttributeValue::UnitRef(o) => TypeId::new(img_idx, unit_start + o.0, 0),
        AttributeValue::DebugInfoRef(o) => TypeId::new(img_idx, o.0, 0),
        _ => None,
    }
}

fn udata(v: AttributeValue<R>) -> Option<u64> {
    match v {
        AttributeValue::Sdata(n) if n >= 0 => Some(n as u64),
        AttributeValue::Sdata(_) => None,
        other => other.udata_value(),
    }
}

/// `DW_AT_data_member_location`: a constant, or (DWARF 2) `DW_OP_plus_uconst n`.
fn member_location(unit: &gimli::Unit<R>, v: AttributeValue<R>) -> Option<u64> {
    if let AttributeValue::Exprloc(e) = v {
        let mut ops = e.operations(unit.encoding());
        return match ops.next().ok()? {
            Some(gimli::Operation::PlusConstant { value }) => Some(value),
            _ => None,
        };
    }
    udata(v)
}

impl Image {
    /// A `DW_AT_name` value as bytes of the mapped file.
    pub(crate) fn name_bytes(
        &self,
        unit: &gimli::Unit<R>,
        v: AttributeValue<R>,
    ) -> Option<&'static [u8]> {
        self.dwarf().attr_string(unit, v).ok().map(|s| s.slice())
    }

    /// A `DW_AT_name` value as an owned string (lossy UTF-8).
    pub(crate) fn name_string(
        &self,
        unit: &gimli::Unit<R>,
        v: AttributeValue<R>,
    ) -> Option<String> {
        self.name_bytes(unit, v)
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }

    /// Build the [`Type`] for `id` (which must belong to this image, index `img_idx`).
    pub(crate) fn load_type(&self, img_idx: usize, id: TypeId) -> Result<Type, DebugError> {
        let bad = || DebugError::BadTypeId(id.raw());
        let (u, uoff) = self.locate(id.die())?.ok_or_else(bad)?;
        let unit = self.unit(u)?;
        let start = self.units()?[u].start.0;
        let err = |e| self.dwarf_err(format!("type DIE at {:#x}", id.die()), e);
        let mut tree = unit.entries_tree(Some(uoff)).map_err(err)?;
        let root = tree.root().map_err(err)?;
        let die = root.entry();
        let tag = die.tag;
        let mut t = Type {
            name: None,
            ..Type::void()
        };
        let mut encoding = None;
        for a in die.attrs() {
            match a.name() {
                dw::DW_AT_name => t.name = self.name_string(unit, a.value()),
                dw::DW_AT_byte_size => t.size = udata(a.value()),
                dw::DW_AT_type => t.target = type_ref(img_idx, start, a.value()),
                dw::DW_AT_declaration => {
                    t.declaration = matches!(a.value(), AttributeValue::Flag(true))
                }
                dw::DW_AT_encoding => {
                    if let AttributeValue::Encoding(e) = a.value() {
                        encoding = Some(e)
                    }
                }
                _ => {}
            }
        }
        let address_size = u64::from(unit.encoding().address_size);
        t.kind = match tag {
            dw::DW_TAG_base_type | dw::DW_TAG_unspecified_type => {
                if tag == dw::DW_TAG_unspecified_type {
                    TypeKind::Void
                } else {
                    let encoding = match encoding {
                        Some(dw::DW_ATE_signed) => BaseEncoding::Signed,
                        Some(dw::DW_ATE_boolean) => BaseEncoding::Bool,
                        Some(dw::DW_ATE_float | dw::DW_ATE_complex_float) => BaseEncoding::Float,
                        Some(
                            dw::DW_ATE_signed_char | dw::DW_ATE_unsigned_char | dw::DW_ATE_UTF,
                        ) => BaseEncoding::Char,
                        _ => BaseEncoding::Unsigned,
                    };
                    TypeKind::Base {
                        name: t.name.clone().unwrap_or_default(),
                        size: t.size.unwrap_or(0),
                        encoding,
                    }
                }
            }
            dw::DW_TAG_structure_type | dw::DW_TAG_class_type => TypeKind::Struct,
            dw::DW_TAG_union_type => TypeKind::Union,
            dw::DW_TAG_enumeration_type => TypeKind::Enum,
            dw::DW_TAG_pointer_type
            | dw::DW_TAG_reference_type
            | dw::DW_TAG_rvalue_reference_type => {
                t.size.get_or_insert(address_size);
                t.target.get_or_insert(TypeId::VOID);
                TypeKind::Pointer
            }
            dw::DW_TAG_array_type => TypeKind::Array,
            dw::DW_TAG_typedef => TypeKind::Typedef,
            dw::DW_TAG_const_type => TypeKind::Const,
            dw::DW_TAG_volatile_type => TypeKind::Volatile,
            dw::DW_TAG_restrict_type => TypeKind::Restrict,
            dw::DW_TAG_atomic_type => TypeKind::Atomic,
            dw::DW_TAG_subroutine_type | dw::DW_TAG_subprogram => TypeKind::Function,
            _ => return Err(bad()),
        };
        if matches!(
            t.kind,
            TypeKind::Typedef
                | TypeKind::Const
                | TypeKind::Volatile
                | TypeKind::Restrict
                | TypeKind::Atomic
                | TypeKind::Function
        ) {
            t.target.get_or_insert(TypeId::VOID);
        }

        let mut dims: Vec<Option<u64>> = Vec::new();
        let mut children = root.children();
        while let Some(child) = children.next().map_err(err)? {
            let c = child.entry();
            match (c.tag, &t.kind) {
                (dw::DW_TAG_member, TypeKind::Struct | TypeKind::Union) => {
                    let mut m = Member {
                        name: None,
                        ty: TypeId::VOID,
                        offset: 0,
                        bit_offset: None,
                        bit_size: None,
                    };
                    let mut data_bit_offset = None;
                    let mut old_bit_offset = None;
                    let mut storage_size = None;
                    for a in c.attrs() {
                        match a.name() {
                            dw::DW_AT_name => m.name = self.name_string(unit, a.value()),
                            dw::DW_AT_type => {
                                m.ty = type_ref(img_idx, start, a.value()).unwrap_or(TypeId::VOID)
                            }
                            dw::DW_AT_data_member_location => {
                                m.offset = member_location(unit, a.value()).unwrap_or(0)
                            }
                            dw::DW_AT_data_bit_offset => data_bit_offset = udata(a.value()),
                            dw::DW_AT_bit_offset => old_bit_offset = udata(a.value()),
                            dw::DW_AT_byte_size => storage_size = udata(a.value()),
                            dw::DW_AT_bit_size => m.bit_size = udata(a.value()).map(|b| b as u32),
                            _ => {}
                        }
                    }
                    if let Some(bits) = m.bit_size {
                        // DWARF 4+: DW_AT_data_bit_offset counts from the start of the struct.
                        // DWARF 2/3: DW_AT_bit_offset counts from the most significant bit of a
                        // storage unit of DW_AT_byte_size bytes at the member location.
                        let total = match (data_bit_offset, old_bit_offset) {
                            (Some(b), _) => Some(b),
                            (None, Some(ob)) => {
                                let storage = storage_size.unwrap_or(0) * 8;
                                (m.offset * 8 + storage).checked_sub(ob + u64::from(bits))
                            }
                            (None, None) => Some(m.offset * 8),
                        };
                        if let Some(total) = total {
                            m.offset = total / 8;
                            m.bit_offset = Some((total % 8) as u32);
                        }
                    }
                    t.members.push(m);
                }
                (dw::DW_TAG_enumerator, TypeKind::Enum) => {
                    let mut name = None;
                    let mut value = None;
                    for a in c.attrs() {
                        match a.name() {
                            dw::DW_AT_name => name = self.name_string(unit, a.value()),
                            dw::DW_AT_const_value => value = const_value(a.value()),
                            _ => {}
                        }
                    }
                    if let (Some(n), Some(v)) = (name, value) {
                        t.enumerators.push((n, v));
                    }
                }
                (dw::DW_TAG_subrange_type, TypeKind::Array) => {
                    let mut count = None;
                    for a in c.attrs() {
                        match a.name() {
                            dw::DW_AT_count => count = udata(a.value()),
                            dw::DW_AT_upper_bound => {
                                // gcc encodes `[0]` as upper bound -1 (Data forms, all ones).
                                count = match a.value() {
                                    AttributeValue::Sdata(-1) => Some(0),
                                    AttributeValue::Data1(0xff) => Some(0),
                                    AttributeValue::Data2(0xffff) => Some(0),
                                    AttributeValue::Data4(0xffff_ffff) => Some(0),
                                    AttributeValue::Data8(u64::MAX) => Some(0),
                                    v => udata(v).map(|n| n + 1),
                                }
                            }
                            _ => {}
                        }
                    }
                    dims.push(count);
                }
                _ => {}
            }
        }
        if t.kind == TypeKind::Array {
            if dims.is_empty() {
                dims.push(None);
            }
            let dim = id.dim() as usize;
            t.count = *dims.get(dim).ok_or_else(bad)?;
            if dim + 1 < dims.len() {
                t.target = TypeId::new(img_idx, id.die(), id.dim() + 1);
            }
            t.size = None; // computed by sizeof from the element type
        }
        Ok(t)
    }
}
