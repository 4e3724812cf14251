//! `print EXPR`: a small C-like expression language over the dump, with crash's CPU
//! selector. Grammar:
//!
//! ```text
//! expr    := '*' expr | '&' expr | '(' type ')' expr | postfix
//! postfix := primary ( '.' name | '->' name | '[' int ']' )* [ ':' cpus ]
//! primary := name | int | '(' expr ')' | 'per_cpu' '(' expr ',' int ')'
//! type    := ['struct'|'union'|'enum'] name '*'*
//! cpus    := int | 'a' | int,int,…      (crash: `runqueues:1`, `:a` for all CPUs; the
//!                                        selector may also follow the variable name:
//!                                        `runqueues:a.nr_running`)
//! ```
//! A per-CPU variable must be given a CPU (`runqueues:0`, `per_cpu(runqueues, 0)`).

use super::{Kernel, KernelError, Object};
use crate::addr::Kva;
use crate::debuginfo::{TypeId, TypeKind};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(u64),
    Punct(&'static str),
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Ident(n) => write!(f, "`{n}`"),
            Tok::Int(i) => write!(f, "`{i}`"),
            Tok::Punct(p) => write!(f, "`{p}`"),
        }
    }
}

fn lex(s: &str) -> Result<Vec<Tok>, KernelError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let st = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(s[st..i].to_string()));
        } else if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let t = &s[st..i];
            let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                u64::from_str_radix(h, 16)
            } else {
                t.parse()
            }
            .map_err(|_| KernelError::Expr(format!("bad number `{t}`")))?;
            out.push(Tok::Int(v));
        } else if s[i..].starts_with("->") {
            out.push(Tok::Punct("->"));
            i += 2;
        } else {
            let p = match c {
                b'.' => ".",
                b'*' => "*",
                b'&' => "&",
                b'(' => "(",
                b')' => ")",
                b'[' => "[",
                b']' => "]",
                b':' => ":",
                b',' => ",",
                _ => {
                    return Err(KernelError::Expr(format!(
                        "unexpected `{}` at column {}",
                        c as char,
                        i + 1
                    )));
                }
            };
            out.push(Tok::Punct(p));
            i += 1;
        }
    }
    Ok(out)
}

/// The result of evaluating an expression: an object in memory, or a constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluated {
    Object(Object),
    /// An address-of or integer constant; `pointee` is set for a pointer cast
    /// (`(struct foo *)0x…` has pointee `struct foo`).
    Const {
        value: u64,
        pointee: Option<TypeId>,
    },
}

/// One evaluated expression (one per selected CPU for per-CPU expressions).
#[derive(Debug, Clone)]
pub struct Printed {
    pub cpu: Option<u32>,
    pub result: Evaluated,
}

/// Intermediate: an object that may still need a CPU.
#[derive(Debug, Clone, Copy)]
struct Place {
    obj: Object,
    percpu: bool,
}

struct Parser<'k> {
    k: &'k Kernel,
    toks: Vec<Tok>,
    pos: usize,
    cpu: Option<u32>,
    /// Inside `&…`: a global without a type (dump-only mode) still has an address.
    taking_address: bool,
}

impl Kernel {
    /// Evaluate `expr`; a crash-style `:cpus` suffix evaluates it on each CPU given.
    pub fn eval(&self, expr: &str) -> Result<Vec<Printed>, KernelError> {
        let (body, cpus) = split_cpu_suffix(expr, self)?;
        match cpus {
            None => {
                let r = self.eval_on(&body, None)?;
                Ok(vec![Printed {
                    cpu: None,
                    result: r,
                }])
            }
            Some(list) => list
                .into_iter()
                .map(|c| {
                    Ok(Printed {
                        cpu: Some(c),
                        result: self.eval_on(&body, Some(c))?,
                    })
                })
                .collect(),
        }
    }

    /// The integer value of an expression without a CPU selector (`avenrun[0]`,
    /// `tk_core.timekeeper.xtime_sec`), or `None` when it has none or cannot be read.
    pub fn eval_int(&self, expr: &str) -> Option<i128> {
        match self.eval_on(expr, None).ok()? {
            Evaluated::Object(o) => self.value(o, super::value::ReadLimits::default()).as_int(),
            Evaluated::Const { value, .. } => Some(value as i128),
        }
    }

    fn eval_on(&self, expr: &str, cpu: Option<u32>) -> Result<Evaluated, KernelError> {
        let mut p = Parser {
            k: self,
            toks: lex(expr)?,
            pos: 0,
            cpu,
            taking_address: false,
        };
        let r = p.expr()?;
        if p.pos != p.toks.len() {
            return Err(KernelError::Expr(format!(
                "unexpected {} after the expression",
                p.toks[p.pos]
            )));
        }
        p.finish(r)
    }
}

/// Where a crash-style CPU selector is (`runqueues:1.nr_running`, `runqueues:a`,
/// `x.y:0,1`): the byte range of `:cpus`, which ends the expression or comes before `.`,
/// `->`, `[`, `)` or a space.
fn find_selector(expr: &str) -> Option<(usize, usize)> {
    for (i, _) in expr.match_indices(':') {
        let rest = &expr[i + 1..];
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == 'a'))
            .unwrap_or(rest.len());
        let spec = &rest[..n];
        if spec.is_empty() || (spec.contains('a') && spec != "a") {
            continue;
        }
        let after = &rest[n..];
        if after.is_empty() || after.starts_with(['.', '-', '[', ')', ' ']) {
            return Some((i, i + 1 + n));
        }
    }
    None
}

/// Take the CPU selector out of `expr`: the expression without it and the CPUs it names
/// (`a`: every possible CPU).
fn split_cpu_suffix(expr: &str, k: &Kernel) -> Result<(String, Option<Vec<u32>>), KernelError> {
    let Some((start, end)) = find_selector(expr) else {
        return Ok((expr.to_string(), None));
    };
    let spec = &expr[start + 1..end];
    let cpus = if spec == "a" {
        k.cpus()?.possible.clone()
    } else {
        spec.split(',')
            .map(|c| {
                c.trim()
                    .parse::<u32>()
                    .map_err(|_| KernelError::Expr(format!("bad CPU `{c}`")))
            })
            .collect::<Result<_, _>>()?
    };
    Ok((format!("{}{}", &expr[..start], &expr[end..]), Some(cpus)))
}

/// How a per-CPU result of `expr` is named, drgn's way: `runqueues:a.nr_running` on CPU 1
/// is `per_cpu(runqueues, 1).nr_running`.
pub fn per_cpu_label(expr: &str, cpu: u32) -> String {
    match find_selector(expr) {
        Some((start, end)) => format!("per_cpu({}, {cpu}){}", &expr[..start], &expr[end..]),
        None => format!("per_cpu({expr}, {cpu})"),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, p: &str) -> Result<(), KernelError> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(KernelError::Expr(format!("expected `{p}`")))
        }
    }

    fn finish(&self, r: Result<Place, Evaluated>) -> Result<Evaluated, KernelError> {
        match r {
            Ok(pl) => Ok(Evaluated::Object(self.resolve_cpu(pl)?)),
            Err(c) => Ok(c),
        }
    }

    /// A per-CPU place becomes a real address once a CPU is known.
    fn resolve_cpu(&self, pl: Place) -> Result<Object, KernelError> {
        if !pl.percpu {
            return Ok(pl.obj);
        }
        let cpu = self.cpu.ok_or_else(|| {
            KernelError::Expr(
                "per-CPU variable: give a CPU, e.g. `runqueues:0`, `:a` for all, or \
                 `per_cpu(runqueues, 0)`"
                    .into(),
            )
        })?;
        Ok(Object {
            addr: self.k.per_cpu(pl.obj.addr, cpu)?,
            ty: pl.obj.ty,
        })
    }

    /// Ok(place) for lvalues, Err(constant) for rvalues.
    fn expr(&mut self) -> Result<Result<Place, Evaluated>, KernelError> {
        if self.eat("*") {
            let inner = self.expr()?;
            return self.deref(inner).map(Ok);
        }
        if self.eat("&") {
            let outer = std::mem::replace(&mut self.taking_address, true);
            let inner = self.expr();
            self.taking_address = outer;
            let inner = inner?;
            return match inner {
                Ok(pl) => {
                    let o = self.resolve_cpu(pl)?;
                    Ok(Err(Evaluated::Const {
                        value: o.addr.0,
                        pointee: None,
                    }))
                }
                Err(_) => Err(KernelError::Expr(
                    "cannot take the address of a constant".into(),
                )),
            };
        }
        // A cast: '(' type ')' expr — recognised by a type keyword or a known type name.
        if matches!(self.peek(), Some(Tok::Punct("("))) && self.looks_like_type() {
            self.pos += 1;
            let ty = self.type_name()?;
            self.expect(")")?;
            let inner = self.expr()?;
            let value = match inner {
                Err(Evaluated::Const { value, .. }) => value,
                Ok(pl) => {
                    let o = self.resolve_cpu(pl)?;
                    self.k.read_u64(o.addr, "cast operand")?
                }
                Err(Evaluated::Object(o)) => self.k.read_u64(o.addr, "cast operand")?,
            };
            return Ok(Err(Evaluated::Const { value, pointee: ty }));
        }
        self.postfix()
    }

    fn looks_like_type(&self) -> bool {
        match self.toks.get(self.pos + 1) {
            Some(Tok::Ident(w)) if ["struct", "union", "enum"].contains(&w.as_str()) => true,
            Some(Tok::Ident(w)) => {
                // `(name *)` / `(name)` where name is a type and not a variable, or a
                // multi-word base type (`unsigned long`).
                const C_WORDS: &[&str] = &["unsigned", "signed", "long", "short", "int", "char"];
                let mut i = self.pos + 1;
                let mut words = Vec::new();
                while let Some(Tok::Ident(x)) = self.toks.get(i) {
                    words.push(x.as_str());
                    i += 1;
                }
                let closes = matches!(
                    self.toks.get(i),
                    Some(Tok::Punct("*")) | Some(Tok::Punct(")"))
                );
                if !closes {
                    return false;
                }
                if words.len() > 1 || C_WORDS.contains(&w.as_str()) {
                    return words.iter().all(|x| C_WORDS.contains(x))
                        || self.k.di.find_type(&words.join(" ")).is_ok();
                }
                self.k.di.find_type(w).is_ok() && self.k.di.find_variable(w).is_err()
            }
            _ => false,
        }
    }

    /// A cast's type: `Some(pointee)` for `T *`, `None` for a plain integer type.
    fn type_name(&mut self) -> Result<Option<TypeId>, KernelError> {
        let mut name = String::new();
        if let Some(Tok::Ident(w)) = self.peek().cloned()
            && ["struct", "union", "enum"].contains(&w.as_str())
        {
            self.pos += 1;
            name.push_str(&w);
            name.push(' ');
        }
        match self.peek().cloned() {
            Some(Tok::Ident(w)) => {
                self.pos += 1;
                name.push_str(&w);
            }
            _ => return Err(KernelError::Expr("expected a type name".into())),
        }
        // Multi-word base types ("unsigned long").
        while let Some(Tok::Ident(w)) = self.peek().cloned() {
            self.pos += 1;
            name.push(' ');
            name.push_str(&w);
        }
        let ty = self
            .k
            .di
            .find_type(&name)
            .map_err(|e| KernelError::Expr(format!("no type `{name}`: {e}")))?;
        let mut stars = 0;
        while self.eat("*") {
            stars += 1;
        }
        match stars {
            0 => Ok(None),
            1 => Ok(Some(ty)),
            _ => Err(KernelError::Expr(
                "casts to pointers to pointers are not supported; cast to `unsigned long *`".into(),
            )),
        }
    }

    fn deref(&mut self, inner: Result<Place, Evaluated>) -> Result<Place, KernelError> {
        let (ptr, pty) = match inner {
            Ok(pl) => {
                let o = self.resolve_cpu(pl)?;
                (self.k.read_u64(o.addr, "pointer")?, o.ty)
            }
            Err(Evaluated::Const {
                value,
                pointee: Some(t),
            }) => {
                // `*(struct foo *)addr`: the constant is the pointer value itself.
                return Ok(Place {
                    obj: Object {
                        addr: Kva(value),
                        ty: t,
                    },
                    percpu: false,
                });
            }
            _ => {
                return Err(KernelError::Expr(
                    "cannot dereference an untyped value".into(),
                ));
            }
        };
        Ok(Place {
            obj: Object {
                addr: Kva(ptr),
                ty: self.pointee(pty)?,
            },
            percpu: false,
        })
    }

    fn pointee(&self, ty: TypeId) -> Result<TypeId, KernelError> {
        let s = self.k.di.strip(ty);
        let t = self.k.type_of(s);
        match t.kind {
            TypeKind::Pointer | TypeKind::Array => t
                .target
                .ok_or_else(|| KernelError::Expr("cannot dereference void *".into())),
            _ => Err(KernelError::Expr(format!(
                "cannot dereference a value of type {}",
                super::value::type_name(&self.k.di, ty)
            ))),
        }
    }

    fn primary(&mut self) -> Result<Result<Place, Evaluated>, KernelError> {
        match self.peek().cloned() {
            Some(Tok::Int(v)) => {
                self.pos += 1;
                Ok(Err(Evaluated::Const {
                    value: v,
                    pointee: None,
                }))
            }
            Some(Tok::Punct("(")) => {
                self.pos += 1;
                let r = self.expr()?;
                self.expect(")")?;
                Ok(r)
            }
            Some(Tok::Ident(name)) if name == "per_cpu" || name == "per_cpu_ptr" => {
                self.pos += 1;
                self.expect("(")?;
                let inner = self.expr()?;
                self.expect(",")?;
                let cpu = match self.peek().cloned() {
                    Some(Tok::Int(c)) => c as u32,
                    _ => {
                        return Err(KernelError::Expr(
                            "per_cpu(VAR, CPU) needs a CPU number".into(),
                        ));
                    }
                };
                self.pos += 1;
                self.expect(")")?;
                let saved = self.cpu;
                self.cpu = Some(cpu);
                let r = match inner {
                    // A per-CPU variable: its instance on that CPU.
                    Ok(pl) if pl.percpu => Ok(Place {
                        obj: self.resolve_cpu(pl)?,
                        percpu: false,
                    }),
                    // A `__percpu` pointer (e.g. `ssp->sda`): per_cpu_ptr(ptr, cpu).
                    Ok(pl) => {
                        let ptr = self.k.read_u64(pl.obj.addr, "per-CPU pointer")?;
                        Ok(Place {
                            obj: Object {
                                addr: self.k.per_cpu(Kva(ptr), cpu)?,
                                ty: self.pointee(pl.obj.ty)?,
                            },
                            percpu: false,
                        })
                    }
                    Err(Evaluated::Const {
                        value,
                        pointee: Some(t),
                    }) => Ok(Place {
                        obj: Object {
                            addr: self.k.per_cpu(Kva(value), cpu)?,
                            ty: t,
                        },
                        percpu: false,
                    }),
                    Err(_) => Err(KernelError::Expr("per_cpu() of an untyped constant".into())),
                };
                self.cpu = saved;
                r.map(Ok)
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                let (obj, percpu) = match self.k.variable(&name) {
                    Ok(v) => v,
                    // `&name` of a global the dump-only source has no type for: its address
                    // is still known, and a cast gives it a type.
                    Err(_) if self.taking_address && self.k.di.dump_only().is_some() => {
                        let addr = self.k.symbol_addr(&name)?;
                        (
                            Object {
                                addr,
                                ty: crate::debuginfo::TypeId::VOID,
                            },
                            false,
                        )
                    }
                    Err(e) => {
                        return Err(KernelError::Expr(format!("no variable `{name}` ({e})")));
                    }
                };
                // crash's `var:cpu` right after the name.
                if matches!(self.peek(), Some(Tok::Punct(":"))) {
                    self.pos += 1;
                    match self.peek().cloned() {
                        Some(Tok::Int(c)) => {
                            self.pos += 1;
                            self.cpu = Some(c as u32);
                        }
                        _ => {
                            return Err(KernelError::Expr(
                                "expected a CPU number after `:`".into(),
                            ));
                        }
                    }
                }
                Ok(Ok(Place { obj, percpu }))
            }
            Some(t) => Err(KernelError::Expr(format!("unexpected {t}"))),
            None => Err(KernelError::Expr("the expression ends too early".into())),
        }
    }

    fn postfix(&mut self) -> Result<Result<Place, Evaluated>, KernelError> {
        let mut cur = self.primary()?;
        loop {
            if self.eat(".") || self.eat("->") {
                let name = match self.peek().cloned() {
                    Some(Tok::Ident(n)) => n,
                    _ => return Err(KernelError::Expr("expected a member name".into())),
                };
                self.pos += 1;
                let base = match cur {
                    Ok(pl) => {
                        let o = self.resolve_cpu(pl)?;
                        // `.` and `->` both follow one pointer, as drgn allows.
                        let st = self.k.di.strip(o.ty);
                        if matches!(self.k.type_of(st).kind, TypeKind::Pointer) {
                            self.deref(Ok(Place {
                                obj: o,
                                percpu: false,
                            }))?
                            .obj
                        } else {
                            o
                        }
                    }
                    Err(
                        c @ Evaluated::Const {
                            pointee: Some(_), ..
                        },
                    ) => self.deref(Err(c))?.obj,
                    Err(_) => {
                        return Err(KernelError::Expr(format!(
                            "`{name}`: member of a value with no type"
                        )));
                    }
                };
                let m = self.k.di.member(base.ty, &name).map_err(|e| {
                    KernelError::Expr(format!(
                        "{} has no member `{name}` ({e})",
                        super::value::type_name(&self.k.di, base.ty)
                    ))
                })?;
                cur = Ok(Place {
                    obj: Object {
                        addr: base.addr.add(m.offset),
                        ty: m.ty,
                    },
                    percpu: false,
                });
            } else if self.eat("[") {
                let idx = match self.peek().cloned() {
                    Some(Tok::Int(i)) => i,
                    _ => return Err(KernelError::Expr("expected an index".into())),
                };
                self.pos += 1;
                self.expect("]")?;
                let o = match cur {
                    Ok(pl) => self.resolve_cpu(pl)?,
                    Err(_) => return Err(KernelError::Expr("cannot index a constant".into())),
                };
                let st = self.k.di.strip(o.ty);
                let t = self.k.type_of(st);
                let (base, elem) = match t.kind {
                    TypeKind::Array => (o.addr, t.target),
                    TypeKind::Pointer => (Kva(self.k.read_u64(o.addr, "pointer")?), t.target),
                    _ => {
                        return Err(KernelError::Expr(
                            "only arrays and pointers can be indexed".into(),
                        ));
                    }
                };
                let elem = elem.ok_or_else(|| KernelError::Expr("index of void".into()))?;
                let esize = self.k.di.sizeof(elem).unwrap_or(0);
                cur = Ok(Place {
                    obj: Object {
                        addr: base.add(idx.wrapping_mul(esize)),
                        ty: elem,
                    },
                    percpu: false,
                });
            } else if matches!(self.peek(), Some(Tok::Punct(":"))) {
                // `runqueues:1.nr_running`
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Tok::Int(c)) => {
                        self.pos += 1;
                        self.cpu = Some(c as u32);
                    }
                    _ => return Err(KernelError::Expr("expected a CPU number after `:`".into())),
                }
            } else {
                return Ok(cur);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cpu_selector() {
        assert_eq!(find_selector("runqueues:a.nr_running"), Some((9, 11)));
        assert_eq!(find_selector("runqueues:1"), Some((9, 11)));
        assert_eq!(find_selector("x.y:0,1"), Some((3, 7)));
        assert_eq!(find_selector("per_cpu(runqueues, 1).nr_running"), None);
        assert_eq!(find_selector("x:abc"), None);
        assert_eq!(
            per_cpu_label("runqueues:a.nr_running", 1),
            "per_cpu(runqueues, 1).nr_running"
        );
        assert_eq!(per_cpu_label("runqueues:0", 0), "per_cpu(runqueues, 0)");
    }

    #[test]
    fn lexes() {
        let t = lex("per_cpu(runqueues, 1)->curr[0x10].comm").unwrap();
        assert_eq!(t[0], Tok::Ident("per_cpu".into()));
        assert!(t.contains(&Tok::Punct("->")));
        assert!(t.contains(&Tok::Int(16)));
        assert!(lex("a $ b").is_err());
        assert!(lex("0xzz").is_err());
    }
}
