//! SRCU and RCU state decoded from a dump, as plain data (`serde::Serialize`).
//!
//! - [`srcu`]: every `srcu_struct` (static in vmlinux, listed by modules, or found on the
//!   stack of a `synchronize_srcu()` waiter), its grace-period phase, per-CPU reader
//!   counters, callbacks by segment, the GP work item and the tasks its callbacks will wake.
//!   Tree SRCU of every generation, Tiny SRCU and Classic SRCU.
//! - [`tree`]: Tree RCU: `rcu_state`, the `rcu_node` tree, per-CPU `rcu_data`, holdouts.
//!
//! Layouts are decided by which members the debug info has (never by version numbers); the
//! `#define` constants DWARF does not carry are tabulated here with where they come from;
//! name tables the kernel keeps in memory (`gp_state_names[]`, `srcu_size_state_name[]`)
//! are read from the dump. Reference: `docs/rcu-srcu.md` of the project.

pub mod fields;
mod fields_srcu;
mod fields_tree;
pub mod segcblist;
pub mod srcu;
mod srcu_find;
mod srcu_layout;
pub mod tree;
pub mod waiters;
pub mod work;

#[cfg(test)]
mod tests;

use crate::addr::Kva;
use crate::kernel::{Kernel, KernelError};
use serde::Serialize;

/// `RCU_SEQ_CTR_SHIFT` / `RCU_SEQ_STATE_MASK` (kernel/rcu/rcu.h; the same from 4.19, commit
/// "rcu: Add grace-period sequence-number helpers", to today).
pub const SEQ_CTR_SHIFT: u32 = 2;
pub const SEQ_STATE_MASK: u64 = 3;

pub fn seq_state(s: u64) -> u64 {
    s & SEQ_STATE_MASK
}

pub fn seq_ctr(s: u64) -> u64 {
    s >> SEQ_CTR_SHIFT
}

/// `ULONG_CMP_GE(a, b)`: wrap-aware `a >= b`.
pub fn ulong_cmp_ge(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) >= 0
}

/// `ULONG_CMP_LT(a, b)`.
pub fn ulong_cmp_lt(a: u64, b: u64) -> bool {
    !ulong_cmp_ge(a, b)
}

/// A task named in a decoded structure.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TaskRef {
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub addr: u64,
    pub pid: i32,
    pub comm: String,
    /// crash's state letters (UN, IN, RU, ID…).
    pub st: &'static str,
}

impl TaskRef {
    pub fn read(k: &Kernel, addr: Kva) -> Result<TaskRef, KernelError> {
        let t = k.task(addr)?;
        Ok(TaskRef {
            addr: t.addr,
            pid: t.pid,
            comm: t.comm,
            st: t.st,
        })
    }

    /// `comm:pid` as the kernel prints tasks.
    pub fn short(&self) -> String {
        format!("{}:{}", self.comm, self.pid)
    }
}

/// A function pointer with the symbol it points into.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FuncRef {
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub addr: u64,
    /// `name` or `name+0x12`; `None` when no symbol covers it (small integers are the
    /// legacy `kfree_rcu()` offset encoding, see [`FuncRef::describe`]).
    pub symbol: Option<String>,
}

impl FuncRef {
    pub fn new(k: &Kernel, addr: u64) -> FuncRef {
        FuncRef {
            addr,
            symbol: symbolize(k, addr),
        }
    }

    /// The bare function name when the pointer is exactly a symbol's start.
    pub fn name(&self) -> Option<&str> {
        self.symbol.as_deref().filter(|s| !s.contains('+'))
    }

    pub fn describe(&self) -> String {
        match &self.symbol {
            Some(s) => s.clone(),
            // kfree_rcu() before 6.x encoded the rcu_head's offset in its object (< 4096).
            None if self.addr < 4096 => format!("kfree_rcu(offset {:#x})", self.addr),
            None => format!("{:#x}", self.addr),
        }
    }
}

/// `name` or `name+0xoff` for a runtime kernel address (vmlinux text is KASLR-shifted,
/// module debug info is placed at runtime addresses).
pub fn symbolize(k: &Kernel, addr: u64) -> Option<String> {
    if addr < 4096 {
        return None;
    }
    let (sym, off) = k.symbolize(addr)?;
    Some(if off == 0 {
        sym.name
    } else {
        format!("{}+{off:#x}", sym.name)
    })
}

/// [`symbolize`], with an offset into a variable spelled as the member it lands on when
/// the debug info types the variable (`qh_box.wq` rather than `qh_box+0x8`); the offset
/// form otherwise.
pub fn symbolize_member(k: &Kernel, addr: u64) -> Option<String> {
    if addr < 4096 {
        return None;
    }
    let (sym, off) = k.symbolize(addr)?;
    if off == 0 {
        return Some(sym.name);
    }
    let path = k
        .variable(&sym.name)
        .ok()
        .filter(|(o, percpu)| !percpu && o.addr.0 == addr - off)
        .and_then(|(o, _)| member_at(k, o.ty, off, 0));
    Some(match path {
        Some(p) => format!("{}{p}", sym.name),
        None => format!("{}+{off:#x}", sym.name),
    })
}

/// `.a.b` for the member of `ty` starting exactly at `off` (anonymous members looked
/// through), at most 8 levels deep.
fn member_at(k: &Kernel, ty: crate::debuginfo::TypeId, off: u64, depth: u32) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let t = k.di.ty(k.di.strip(ty)).ok()?;
    for m in &t.members {
        let size = k.di.sizeof(m.ty).unwrap_or(0);
        if m.bit_size.is_some() || off < m.offset || off >= m.offset + size.max(1) {
            continue;
        }
        let rest = off - m.offset;
        let inner = if rest == 0 {
            Some(String::new())
        } else {
            member_at(k, m.ty, rest, depth + 1)
        };
        return inner.map(|i| match &m.name {
            Some(n) => format!(".{n}{i}"),
            None => i,
        });
    }
    None
}

/// Entry `i` of a kernel `const char *names[]` table, read from the dump. `None` when the
/// kernel has no such table, `i` is past its end or the string does not read.
pub fn name_from_table(k: &Kernel, table: &str, i: u64) -> Option<String> {
    let (obj, _) = k.variable(table).ok()?;
    let t = k.di.ty(k.di.strip(obj.ty)).ok()?;
    if let Some(n) = t.count
        && i >= n
    {
        return None;
    }
    let p = k.read_ptr(obj.addr.add(i * 8), table).ok()?;
    if p.0 == 0 {
        return None;
    }
    k.read_cstr(p, 64, table).ok().filter(|s| !s.is_empty())
}

/// A value with the name the kernel gives it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Named {
    pub value: i64,
    pub name: Option<String>,
    /// Where the name came from: `"dump:<table>"` or `"table"` (quiesce's tabulated copy).
    pub source: &'static str,
}

impl Named {
    /// Name `value` from the dump's table `table` when it has one, else from `fallback`
    /// (index = value).
    pub fn lookup(
        k: &Kernel,
        value: i64,
        table: &'static str,
        dump_source: &'static str,
        fallback: &[&str],
    ) -> Named {
        if value >= 0
            && let Some(n) = name_from_table(k, table, value as u64)
        {
            return Named {
                value,
                name: Some(n),
                source: dump_source,
            };
        }
        Named {
            value,
            name: usize::try_from(value)
                .ok()
                .and_then(|i| fallback.get(i))
                .map(|s| s.to_string()),
            source: "table",
        }
    }

    pub fn describe(&self) -> String {
        match &self.name {
            Some(n) => format!("{n}({})", self.value),
            None => format!("{}", self.value),
        }
    }
}

pub(crate) fn hex_opt<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&format!("{v:#x}")),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod seq_tests {
    use super::*;

    #[test]
    fn seq_helpers() {
        // SRCU_GP_SEQ_INITIAL_VAL = (0UL - 100UL) << 2, in SCAN1.
        let s = (0u64.wrapping_sub(100) << 2) | 1;
        assert_eq!(seq_state(s), 1);
        assert!(ulong_cmp_ge(8, s));
        assert!(ulong_cmp_lt(s, 8));
        assert_eq!(seq_ctr(10393), 2598);
    }
}
