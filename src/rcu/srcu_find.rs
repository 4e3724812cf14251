//! Finding `srcu_struct`s: vmlinux variables of that type, the modules' own list
//! (`mod->srcu_struct_ptrs[num_srcu_structs]`, 4.12+), and the stacks of tasks blocked in
//! `__synchronize_srcu()` (for domains embedded in other objects).
//!
//! vmlinux: ELF object symbols of exactly `sizeof(struct srcu_struct)` are the candidates;
//! the DWARF type of the variable decides. That avoids reading the type of every variable
//! in a 100k-variable kernel.
//!
//! Waiter stacks: the `srcu_struct` pointer is an argument of `__synchronize_srcu()`, so it
//! lives in a register that the callees below it may have saved. Every aligned word from the
//! innermost frame's stack pointer up to the caller of `__synchronize_srcu` is tried, and
//! kept only if it validates as a live Tree `srcu_struct` (`SrcuDecoder::validate`:
//! `srcu_sup->srcu_ssp` or `sda->ssp` points back at it, rcu-srcu.md §1.3).

use super::srcu::{Found, SrcuDecoder};
use crate::addr::Kva;
use crate::debuginfo::SymKind;
use crate::kernel::layout::Probe;
use crate::kernel::value::type_name;
use crate::unwind::task::{Backtrace, Unwinder};

pub struct FoundDomain {
    pub name: String,
    pub addr: Kva,
    pub how: Vec<Found>,
}

fn add(out: &mut Vec<FoundDomain>, name: String, addr: Kva, how: Found) {
    match out.iter_mut().find(|d| d.addr == addr) {
        Some(d) => {
            if !d.how.contains(&how) {
                d.how.push(how);
            }
        }
        None => out.push(FoundDomain {
            name,
            addr,
            how: vec![how],
        }),
    }
}

/// Every domain found, in order: vmlinux (by name), modules, waiter stacks.
/// `traces`: the tasks' backtraces when the caller has them (else the blocked tasks are
/// unwound here).
pub fn find_domains(
    dec: &SrcuDecoder,
    traces: Option<&[Backtrace]>,
) -> (Vec<FoundDomain>, Vec<String>) {
    let k = dec.k;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let size = Probe::new(&k.di, "struct srcu_struct")
        .map(|p| p.size())
        .unwrap_or(0);
    let mut vm: Vec<(String, u64)> = k
        .di
        .symbols()
        .filter(|s| s.module.is_none() && s.kind == SymKind::Object && s.size == size && size > 0)
        .map(|s| (s.name.clone(), s.addr))
        .collect();
    vm.sort();
    vm.dedup();
    for (name, link) in vm {
        let Ok(v) = k.di.find_variable(&name) else {
            continue;
        };
        if v.percpu || type_name(&k.di, k.di.strip(v.ty)) != "struct srcu_struct" {
            continue;
        }
        add(&mut out, name, k.relocate(link, false), Found::Vmlinux);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    match module_domains(dec) {
        Ok(v) => {
            for (m, name, a) in v {
                add(&mut out, name, a, Found::Module(m));
            }
        }
        Err(e) => errors.push(format!("module SRCU domains: {e}")),
    }
    match waiter_domains(dec, traces) {
        Ok(v) => {
            for (pid, a) in v {
                let name = super::symbolize(k, a.0)
                    .filter(|s| !s.contains('+'))
                    .unwrap_or_else(|| format!("{:#x}", a.0));
                add(&mut out, name, a, Found::WaiterStack(pid));
            }
        }
        Err(e) => errors.push(format!("synchronize_srcu waiters: {e}")),
    }
    (out, errors)
}

fn module_domains(
    dec: &SrcuDecoder,
) -> Result<Vec<(String, String, Kva)>, crate::kernel::KernelError> {
    let k = dec.k;
    let m = Probe::new(&k.di, "struct module")?;
    let (Some(ptrs), Some(num)) = (m.opt("srcu_struct_ptrs"), m.opt("num_srcu_structs")) else {
        return Ok(Vec::new());
    };
    let (mods, _) = k.modules()?;
    let mut out = Vec::new();
    for md in mods {
        let base = Kva(md.addr);
        let n = k.read_u32(base.add(num), "module.num_srcu_structs")?;
        if n == 0 {
            continue;
        }
        let arr = k.read_ptr(base.add(ptrs), "module.srcu_struct_ptrs")?;
        for i in 0..n.min(1024) as u64 {
            let a = k.read_ptr(arr.add(8 * i), "module.srcu_struct_ptrs[]")?;
            let name = super::symbolize(k, a.0)
                .filter(|s| !s.contains('+'))
                .unwrap_or_else(|| format!("{}:{:#x}", md.name, a.0));
            out.push((md.name.clone(), name, a));
        }
    }
    Ok(out)
}

/// (pid, ssp) for every task sleeping in `__synchronize_srcu`.
fn waiter_domains(
    dec: &SrcuDecoder,
    traces: Option<&[Backtrace]>,
) -> Result<Vec<(i32, Kva)>, crate::kernel::KernelError> {
    let k = dec.k;
    let blocked = |t: &crate::kernel::tasks::Task| t.st == "UN" || t.st == "ID";
    let owned: Vec<Backtrace>;
    let traces = match traces {
        Some(t) => t,
        None => {
            let unw = Unwinder::new(k)?;
            owned = k
                .tasks()?
                .tasks
                .iter()
                .filter(|t| blocked(t))
                .map(|t| unw.backtrace(k, t))
                .collect();
            &owned
        }
    };
    let mut out = Vec::new();
    for bt in traces.iter().filter(|bt| blocked(&bt.task)) {
        let t = &bt.task;
        let phys: Vec<_> = bt.frames.iter().filter(|f| !f.inlined).collect();
        let Some(i) = phys
            .iter()
            .position(|f| f.function.as_deref() == Some("__synchronize_srcu"))
        else {
            continue;
        };
        let lo = phys[0].sp;
        let hi = phys.get(i + 1).map_or(phys[i].sp + 512, |f| f.sp);
        if hi <= lo || hi - lo > 16384 {
            continue;
        }
        let mut buf = vec![0u8; (hi - lo) as usize];
        if k.read(Kva(lo), &mut buf, "waiter stack").is_err() {
            continue;
        }
        let mut seen = Vec::new();
        for w in buf.chunks_exact(8) {
            let v = u64::from_le_bytes(w.try_into().unwrap());
            if !k.mem.xlat.is_kernel_ptr(v) || seen.contains(&v) {
                continue;
            }
            seen.push(v);
            if dec.validate(Kva(v)) {
                out.push((t.pid, Kva(v)));
                break;
            }
        }
    }
    Ok(out)
}
