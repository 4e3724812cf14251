//! Typed values read from the dump: [`Value`] is plain data (serializable), read from an
//! [`Object`] by [`Kernel::value`] with depth and size bounds, and printed gdb/crash-style by
//! [`Value::fmt_c`].

use super::{Kernel, Object};
use crate::addr::Kva;
use crate::debuginfo::{BaseEncoding, DebugInfo, Type, TypeId, TypeKind};
use serde::{Serialize, Serializer};
use std::fmt::Write;
use std::sync::Arc;

/// Serialize a u64 as a `0x…` string (addresses in JSON).
pub fn ser_hex<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#x}"))
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Value {
    Int {
        value: i128,
    },
    Bool {
        value: bool,
    },
    Float {
        value: f64,
    },
    Char {
        value: u8,
    },
    Enum {
        value: i64,
        name: Option<String>,
    },
    Pointer {
        #[serde(serialize_with = "ser_hex")]
        value: u64,
        /// The symbol the pointer points at (`<init_task>`), when it points at one.
        symbol: Option<String>,
    },
    /// A `char[N]` array, shown as a string (bytes up to the first NUL, lossy UTF-8).
    String {
        value: String,
        bytes: usize,
    },
    Array {
        elements: Vec<Value>,
        truncated: bool,
    },
    Struct {
        fields: Vec<(String, Value)>,
    },
    Function {
        #[serde(serialize_with = "ser_hex")]
        address: u64,
    },
    /// Could not be read: the reason (address and what).
    Unreadable {
        error: String,
    },
}

/// Limits on what one value read may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    pub max_depth: u32,
    pub max_array: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_depth: 8,
            max_array: 4096,
        }
    }
}

/// The C spelling of a type, e.g. `struct task_struct *`, `char [16]`.
pub fn type_name(di: &DebugInfo, ty: TypeId) -> String {
    let (base, suffix) = type_name_parts(di, ty, 0);
    if suffix.is_empty() {
        base
    } else {
        format!("{base} {suffix}")
    }
}

fn type_name_parts(di: &DebugInfo, ty: TypeId, depth: u32) -> (String, String) {
    if depth > 16 {
        return ("...".into(), String::new());
    }
    let t: Arc<Type> = di.ty(ty).unwrap_or_else(|_| Arc::new(Type::void()));
    let named = |kw: &str| match &t.name {
        Some(n) => format!("{kw}{n}"),
        None => format!("{kw}<anonymous>"),
    };
    match &t.kind {
        TypeKind::Struct => (named("struct "), String::new()),
        TypeKind::Union => (named("union "), String::new()),
        TypeKind::Enum => (named("enum "), String::new()),
        TypeKind::Typedef | TypeKind::Base { .. } => (named(""), String::new()),
        TypeKind::Void => ("void".into(), String::new()),
        TypeKind::Function => ("void (...)".into(), String::new()),
        TypeKind::Pointer => match t.target {
            Some(tg) => {
                let (b, s) = type_name_parts(di, tg, depth + 1);
                (b, format!("*{s}"))
            }
            None => ("void".into(), "*".into()),
        },
        TypeKind::Array => {
            let (b, s) = t
                .target
                .map(|tg| type_name_parts(di, tg, depth + 1))
                .unwrap_or(("?".into(), String::new()));
            let n = t.count.map(|c| c.to_string()).unwrap_or_default();
            (b, format!("[{n}]{s}"))
        }
        TypeKind::Const | TypeKind::Volatile | TypeKind::Restrict | TypeKind::Atomic => {
            let kw = match &t.kind {
                TypeKind::Const => "const ",
                TypeKind::Volatile => "volatile ",
                TypeKind::Restrict => "restrict ",
                _ => "_Atomic ",
            };
            match t.target {
                Some(tg) => {
                    let (b, s) = type_name_parts(di, tg, depth + 1);
                    (format!("{kw}{b}"), s)
                }
                None => (format!("{kw}void"), String::new()),
            }
        }
    }
}

impl Kernel {
    /// Read the value of `obj`, expanding structs and arrays within `limits`.
    pub fn value(&self, obj: Object, limits: ReadLimits) -> Value {
        self.value_at(obj.addr, obj.ty, limits, 0, None)
    }

    fn value_at(
        &self,
        addr: Kva,
        ty: TypeId,
        limits: ReadLimits,
        depth: u32,
        bits: Option<(u32, u32)>,
    ) -> Value {
        let di = &self.di;
        let sty = di.strip(ty);
        let t = self.type_of(sty);
        let size = di.sizeof(sty).unwrap_or(0);
        let unreadable = |e: String| Value::Unreadable { error: e };
        match &t.kind {
            TypeKind::Base { encoding, .. } => {
                let mut buf = [0u8; 16];
                let n = (size as usize).min(16);
                if let Err(e) = self.read(addr, &mut buf[..n], "value") {
                    return unreadable(e.to_string());
                }
                base_value(&t, encoding, u128::from_le_bytes(buf), n, bits)
            }
            TypeKind::Enum => {
                let mut buf = [0u8; 8];
                let n = (size as usize).clamp(1, 8);
                if let Err(e) = self.read(addr, &mut buf[..n], "enum value") {
                    return unreadable(e.to_string());
                }
                enum_value(
                    &t,
                    extract_int(u64::from_le_bytes(buf) as u128, n, bits, true),
                )
            }
            TypeKind::Pointer => match self.read_u64(addr, "pointer") {
                Ok(p) => Value::Pointer {
                    value: p,
                    symbol: self.symbol_name_exact(p),
                },
                Err(e) => unreadable(e.to_string()),
            },
            TypeKind::Function => Value::Function { address: addr.0 },
            TypeKind::Void => unreadable("void has no value".into()),
            TypeKind::Array => {
                let elem = t.target.unwrap_or(sty);
                let esize = di.sizeof(elem).unwrap_or(0);
                let count = t.count.unwrap_or(0);
                let estripped = di.strip(elem);
                if let TypeKind::Base {
                    encoding: BaseEncoding::Char,
                    ..
                } = self.type_of(estripped).kind
                {
                    // `char x[]` (unknown length, e.g. `linux_banner`): a C string.
                    if t.count.is_none() {
                        return match self.read_cstr(addr, 4096, "string") {
                            Ok(v) => Value::String {
                                bytes: v.len(),
                                value: v,
                            },
                            Err(e) => unreadable(e.to_string()),
                        };
                    }
                    let n = count.min(1 << 20) as usize;
                    let mut buf = vec![0u8; n];
                    if let Err(e) = self.read(addr, &mut buf, "char array") {
                        return unreadable(e.to_string());
                    }
                    let end = buf.iter().position(|&b| b == 0).unwrap_or(n);
                    return Value::String {
                        value: String::from_utf8_lossy(&buf[..end]).into_owned(),
                        bytes: n,
                    };
                }
                if depth >= limits.max_depth {
                    return Value::Array {
                        elements: vec![],
                        truncated: true,
                    };
                }
                let shown = count.min(limits.max_array);
                let elements = (0..shown)
                    .map(|i| self.value_at(addr.add(i * esize), elem, limits, depth + 1, None))
                    .collect();
                Value::Array {
                    elements,
                    truncated: shown < count,
                }
            }
            TypeKind::Struct | TypeKind::Union => {
                if depth >= limits.max_depth {
                    return Value::Struct { fields: vec![] };
                }
                let fields = t
                    .members
                    .iter()
                    .map(|m| {
                        let bits = m.bit_size.map(|bs| (m.bit_offset.unwrap_or(0), bs));
                        (
                            m.name.clone().unwrap_or_default(),
                            self.value_at(addr.add(m.offset), m.ty, limits, depth + 1, bits),
                        )
                    })
                    .collect();
                Value::Struct { fields }
            }
            TypeKind::Typedef
            | TypeKind::Const
            | TypeKind::Volatile
            | TypeKind::Restrict
            | TypeKind::Atomic => unreadable("unresolved type".into()),
        }
    }

    /// A scalar (integer, bool, char, float, enum, pointer) of type `ty` from its bytes
    /// (little-endian), for values that live in registers or are computed rather than in
    /// memory. `None` for other types or too few bytes.
    pub fn scalar_from_bytes(&self, ty: TypeId, bytes: &[u8]) -> Option<Value> {
        let di = &self.di;
        let sty = di.strip(ty);
        let t = self.type_of(sty);
        let size = di.sizeof(sty)? as usize;
        if size == 0 || size > 16 || bytes.len() < size {
            return None;
        }
        let mut buf = [0u8; 16];
        buf[..size].copy_from_slice(&bytes[..size]);
        let raw = u128::from_le_bytes(buf);
        Some(match &t.kind {
            TypeKind::Base { encoding, .. } => base_value(&t, encoding, raw, size, None),
            TypeKind::Enum => enum_value(&t, extract_int(raw, size.min(8), None, true)),
            TypeKind::Pointer => {
                let p = raw as u64;
                Value::Pointer {
                    value: p,
                    symbol: self.symbol_name_exact(p),
                }
            }
            _ => return None,
        })
    }

    /// A symbol whose address is exactly `addr` (for pointer annotations).
    pub fn symbol_name_exact(&self, addr: u64) -> Option<String> {
        if addr == 0 {
            return None;
        }
        let (sym, off) = self.symbolize(addr)?;
        (off == 0).then_some(sym.name)
    }
}

/// An enum value with its enumerator's name, if one has that value.
fn enum_value(t: &Type, v: i128) -> Value {
    let v = v as i64;
    let name = t
        .enumerators
        .iter()
        .find(|(_, ev)| *ev == v)
        .map(|(n, _)| n.clone());
    Value::Enum { value: v, name }
}

/// A base-type value of `n` bytes (or a bitfield of them) from little-endian `raw`.
fn base_value(
    t: &Type,
    encoding: &BaseEncoding,
    raw: u128,
    n: usize,
    bits: Option<(u32, u32)>,
) -> Value {
    let signed = match encoding {
        BaseEncoding::Signed => true,
        // Plain `char` is signed on x86_64; "unsigned char" says otherwise.
        BaseEncoding::Char => !t.name.as_deref().unwrap_or("").contains("unsigned"),
        _ => false,
    };
    let v = extract_int(raw, n, bits, signed);
    match encoding {
        BaseEncoding::Bool => Value::Bool { value: v != 0 },
        BaseEncoding::Float if n == 8 => Value::Float {
            value: f64::from_bits(raw as u64),
        },
        BaseEncoding::Float if n == 4 => Value::Float {
            value: f32::from_bits(raw as u32) as f64,
        },
        BaseEncoding::Char => Value::Char { value: v as u8 },
        _ => Value::Int { value: v },
    }
}

/// Take an integer of `n` bytes (or a bitfield of it) from little-endian `raw`.
fn extract_int(raw: u128, n: usize, bits: Option<(u32, u32)>, signed: bool) -> i128 {
    let (shift, width) = match bits {
        Some((off, w)) => (off, w),
        None => (0, (n * 8) as u32),
    };
    if width == 0 || width > 128 {
        return 0;
    }
    let v = raw >> shift;
    let mask = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    let v = v & mask;
    if signed && width < 128 && v & (1 << (width - 1)) != 0 {
        (v | !mask) as i128
    } else {
        v as i128
    }
}

impl Value {
    /// gdb/crash-style text: `{ a = 1, b = 0x… }` with nested indentation.
    pub fn fmt_c(&self) -> String {
        let mut s = String::new();
        self.write_c(&mut s, 0);
        s
    }

    fn write_c(&self, s: &mut String, indent: usize) {
        match self {
            Value::Int { value } => {
                let _ = write!(s, "{value}");
            }
            Value::Bool { value } => {
                let _ = write!(s, "{value}");
            }
            Value::Float { value } => {
                let _ = write!(s, "{value}");
            }
            Value::Char { value } => {
                let _ = write!(s, "{value} '{}'", escape_char(*value));
            }
            Value::Enum { value, name } => match name {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "{value}");
                }
            },
            Value::Pointer { value, symbol } => match symbol {
                Some(sym) => {
                    let _ = write!(s, "{value:#x} <{sym}>");
                }
                None => {
                    let _ = write!(s, "{value:#x}");
                }
            },
            Value::String { value, .. } => {
                let _ = write!(s, "\"{}\"", value.escape_default());
            }
            Value::Function { address } => {
                let _ = write!(s, "{{function at {address:#x}}}");
            }
            Value::Unreadable { error } => {
                let _ = write!(s, "<unreadable: {error}>");
            }
            Value::Array {
                elements,
                truncated,
            } => {
                s.push('{');
                for (i, e) in elements.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    e.write_c(s, indent);
                }
                if *truncated {
                    s.push_str(", ...");
                }
                s.push('}');
            }
            Value::Struct { fields } => {
                s.push_str("{\n");
                for (name, v) in fields {
                    s.push_str(&"  ".repeat(indent + 1));
                    if !name.is_empty() {
                        s.push_str(name);
                        s.push_str(" = ");
                    }
                    v.write_c(s, indent + 1);
                    s.push_str(",\n");
                }
                s.push_str(&"  ".repeat(indent));
                s.push('}');
            }
        }
    }

    /// Does any part of the value fail to read?
    pub fn has_unreadable(&self) -> bool {
        match self {
            Value::Unreadable { .. } => true,
            Value::Array { elements, .. } => elements.iter().any(Value::has_unreadable),
            Value::Struct { fields } => fields.iter().any(|(_, v)| v.has_unreadable()),
            _ => false,
        }
    }

    /// The value as an integer, when it is one (ints, enums, pointers, bools, chars).
    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int { value } => Some(*value),
            Value::Enum { value, .. } => Some(*value as i128),
            Value::Pointer { value, .. } => Some(*value as i128),
            Value::Bool { value } => Some(*value as i128),
            Value::Char { value } => Some(*value as i128),
            _ => None,
        }
    }
}

fn escape_char(c: u8) -> String {
    match c {
        0 => "\\000".into(),
        b' '..=b'~' => (c as char).to_string(),
        _ => format!("\\{c:03o}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfields_and_signs() {
        assert_eq!(extract_int(0xff, 1, None, true), -1);
        assert_eq!(extract_int(0xff, 1, None, false), 255);
        // level:3 at bit 5 of 0b1010_0000 = 5
        assert_eq!(extract_int(0b1010_0000, 1, Some((5, 3)), false), 5);
        assert_eq!(extract_int(0b1110_0000, 1, Some((5, 3)), true), -1);
        assert_eq!(extract_int(0, 1, Some((0, 0)), false), 0);
    }

    #[test]
    fn c_format() {
        let v = Value::Struct {
            fields: vec![
                ("counter".into(), Value::Int { value: 3 }),
                (
                    "comm".into(),
                    Value::String {
                        value: "swapper/0".into(),
                        bytes: 16,
                    },
                ),
            ],
        };
        assert_eq!(v.fmt_c(), "{\n  counter = 3,\n  comm = \"swapper/0\",\n}");
    }
}
