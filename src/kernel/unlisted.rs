//! Globals that kallsyms does not list, found in the kernel's data by their shape.
//!
//! A kernel built without `CONFIG_KALLSYMS_ALL` (Debian's arm64 cloud 6.1) lists only its
//! functions in kallsyms, and VMCOREINFO's `SYMBOL()` lines name a handful of variables
//! (`init_uts_ns`, `swapper_pg_dir`, `prb`, …) but not the two every view starts from:
//! `init_task` (the task list) and `modules` (the module list). Both live in the image's
//! `.data`, a few MiB before `init_uts_ns`, and both have a shape no other object there
//! has, checked with offsets from the dump's own BTF:
//!
//! - `init_task` (init/init_task.c): a `task_struct` whose `comm` is `swapper` or
//!   `swapper/0`, whose `pid` is 0, which is its own `group_leader` and `real_parent`, and
//!   whose `tasks.next->prev` points back at its `tasks`;
//! - `modules` (kernel/module/main.c `LIST_HEAD(modules)`): a `list_head` whose `next` is
//!   the `list` of a `struct module` outside the image that points back at it, each module
//!   on the ring being its own `mkobj.mod` (`mod_sysfs_init()` sets it), the ring closing on
//!   the head. With no module loaded the head points at itself and cannot be told from any
//!   other empty list: then the module list stays unknown, and the note says so.
//!
//! - the per-CPU areas (`__per_cpu_offset[]`, `__per_cpu_start`, `nr_cpu_ids`: all data):
//!   each task's `se.cfs_rq` is `&cpu_rq(cpu)->cfs` while the task is in the root task
//!   group (kernel/sched/core.c `set_task_rq()`; every kthread is), so the tasks on each CPU
//!   name its `struct rq`, checked by `rq->cpu`; the CPU's per-CPU area is that `rq` minus
//!   `runqueues`' place in `.data..percpu` (from BTF). `__per_cpu_offset[]` is then the
//!   array in `.data` whose words differ from each other exactly as the areas do, and
//!   `__per_cpu_start` is area 0 minus its first word (needs two CPUs; with one, static
//!   per-CPU variables are read and `__percpu` pointers held in memory are not).
//!
//! - `btf_modules` (kernel/bpf/btf.c, each loaded module's BTF): a `list_head` whose
//!   entries' `module` are modules of the ring above, the ring closing on the head.
//!
//! - `rcu_state` (kernel/rcu/tree.c, static): the `struct rcu_state` whose `name` points
//!   at `"rcu_sched"` or `"rcu_preempt"` (`RCU_NAME`: a literal, or with CONFIG_TRACING the
//!   data array `rcu_name`), whose `abbr` is `'s'` or `'p'`, and
//!   whose `level[0]` is its own `node[0]` (`rcu_init_one()`).
//!
//! What is found becomes a symbol of the dump-only source with a note saying how it was
//! found; what is not found leaves the error that names the missing symbol.

use super::Kernel;
use super::layout::Probe;
use crate::addr::Kva;

/// How far before VMCOREINFO's `init_uts_ns` the search starts, and how far after it ends:
/// `.data` holds all three, `init_task` near its start (0.1 MiB after `_sdata` on Debian's
/// arm64 6.1, 6.12 and 7.x, 1.6–2.3 MiB before `init_uts_ns`).
const BEFORE: u64 = 16 << 20;
const AFTER: u64 = 4 << 20;
/// Read the data in pieces of this size (an unreadable piece is skipped).
const CHUNK: usize = 1 << 20;
/// At most this many modules on the ring checked before a candidate is taken as real.
const MAX_RING: usize = 4096;
/// At most this many candidate `list_head`s are followed into memory outside the image.
const MAX_PROBES: usize = 200_000;

/// Offsets the shapes are checked with.
struct Shapes {
    comm: u64,
    pid: u64,
    group_leader: u64,
    real_parent: u64,
    tasks: u64,
    task_size: u64,
    mod_list: u64,
    mod_self: u64,
}

impl Shapes {
    fn probe(k: &Kernel) -> Option<Shapes> {
        let t = Probe::new(&k.di, "struct task_struct").ok()?;
        let m = Probe::new(&k.di, "struct module").ok()?;
        Some(Shapes {
            comm: t.opt("comm")?,
            pid: t.opt("pid")?,
            group_leader: t.opt("group_leader")?,
            real_parent: t.opt("real_parent")?,
            tasks: t.opt("tasks")?,
            task_size: t.size(),
            mod_list: m.opt("list")?,
            mod_self: m.opt("mkobj.mod")?,
        })
    }
}

/// What the search found (runtime addresses) and what it could not.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub init_task: Option<u64>,
    pub modules: Option<u64>,
    pub btf_modules: Option<u64>,
    pub rcu_state: Option<u64>,
    /// `sizeof(struct task_struct)` and `sizeof(struct rcu_state)` from the BTF (the found
    /// symbols' sizes).
    pub task_size: u64,
    pub rcu_size: u64,
    pub notes: Vec<String>,
}

/// Find `init_task`, `modules` (and with them `btf_modules`, `rcu_state` and the per-CPU
/// areas) when the symbol table lacks them and the dump-only source has types; add what
/// is found to the source. Does nothing when `init_task` and `modules` are both known.
pub(super) fn find_unlisted(k: &mut Kernel) {
    let want_task = k.di.symbol("init_task").is_none();
    let want_mods = k.di.symbol("modules").is_none();
    if !want_task && !want_mods {
        return;
    }
    let want_percpu = k.di.symbol("__per_cpu_offset").is_none();
    let found = search(k, want_task, want_mods);
    let init_task = found
        .init_task
        .or_else(|| k.symbol_addr("init_task").ok().map(|a| a.0));
    let percpu = match (want_percpu, init_task) {
        (true, Some(t)) => Some(search_percpu(k, t)),
        _ => None,
    };
    let kaslr = k.kaslr_offset;
    let Some(di) = std::sync::Arc::get_mut(&mut k.di) else {
        return;
    };
    let Some(src) = di.dump_only_mut() else {
        return;
    };
    if let Some(a) = found.init_task {
        src.add_found_global("init_task", a.wrapping_sub(kaslr), found.task_size);
    }
    if let Some(a) = found.modules {
        src.add_found_global("modules", a.wrapping_sub(kaslr), 16);
    }
    if let Some(a) = found.btf_modules {
        src.add_found_global("btf_modules", a.wrapping_sub(kaslr), 16);
    }
    if let Some(a) = found.rcu_state {
        src.add_found_global("rcu_state", a.wrapping_sub(kaslr), found.rcu_size);
    }
    let mut notes = found.notes;
    let why = "__per_cpu_offset not in kallsyms (a kernel without CONFIG_KALLSYMS_ALL)";
    match percpu {
        Some(Ok(p)) => {
            let n = p.offsets.len();
            match (p.start, p.array) {
                (Some(start), Some(array)) => {
                    src.add_found_global("__per_cpu_start", start.wrapping_sub(kaslr), 0);
                    src.add_found_global(
                        "__per_cpu_offset",
                        array.wrapping_sub(kaslr),
                        8 * n as u64,
                    );
                    notes.push(format!(
                        "{why}: {n} CPUs' per-CPU areas found from their tasks' run queues, \
                         __per_cpu_offset[] at {array:#x} and __per_cpu_start at {start:#x} \
                         from them"
                    ));
                }
                _ => notes.push(format!(
                    "{why}: {n} CPUs' per-CPU areas found from their tasks' run queues, but not \
                     __per_cpu_start: static per-CPU variables are read, __percpu pointers held \
                     in memory are not followed"
                )),
            }
            let _ = k.cpus.set(Ok(super::cpus::Cpus::from_offsets(p.offsets)));
        }
        Some(Err(e)) => notes.push(format!("{why}, and the per-CPU areas were not found: {e}")),
        None => {}
    }
    k.warnings.extend(notes);
}

/// Per-CPU areas found from the tasks (see the module notes).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PerCpu {
    /// Each CPU's `__per_cpu_offset[cpu]` (relative to `start`; the area itself when
    /// `start` is unknown), CPUs 0..n.
    pub offsets: Vec<u64>,
    /// `__per_cpu_start` (runtime), when `__per_cpu_offset[]` was found.
    pub start: Option<u64>,
    /// Where `__per_cpu_offset[]` is (runtime).
    pub array: Option<u64>,
}

/// At most this many tasks are walked to find each CPU's run queue.
const MAX_TASKS: usize = 1 << 20;

/// Find each CPU's per-CPU area from the tasks' `se.cfs_rq` (the task list starts at
/// `init_task`, a runtime address), then `__per_cpu_offset[]` in the kernel data.
pub fn search_percpu(k: &Kernel, init_task: u64) -> Result<PerCpu, String> {
    let l = k.layout().map_err(|e| e.to_string())?;
    let t = Probe::new(&k.di, "struct task_struct").map_err(|e| e.to_string())?;
    let rq = Probe::new(&k.di, "struct rq").map_err(|e| e.to_string())?;
    let (Some(cfs_rq), Some(cpu_off), Some(rq_cfs), Some(rq_cpu)) =
        (t.opt("se.cfs_rq"), l.task.cpu, rq.opt("cfs"), rq.opt("cpu"))
    else {
        return Err(
            "the BTF lacks task_struct.se.cfs_rq (no CONFIG_FAIR_GROUP_SCHED), a \
                    task's cpu, or rq.cfs/rq.cpu"
                .into(),
        );
    };
    let runqueues =
        k.di.find_variable("runqueues")
            .map_err(|e| format!("runqueues: {e}"))?;
    let rq_off = runqueues
        .addr
        .wrapping_sub(k.di.section_addr(".data..percpu").unwrap_or(0));
    // Votes: (cpu, rq) → tasks naming it.
    let mut votes: std::collections::BTreeMap<(u32, u64), usize> = Default::default();
    let head = init_task + l.task.tasks;
    let mut node = head;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_TASKS {
        // A damaged list can loop without coming back to the head.
        if !seen.insert(node) {
            break;
        }
        let task = node - l.task.tasks;
        if let (Ok(cpu), Ok(cfs)) = (
            k.read_u32(Kva(task + cpu_off), "task cpu"),
            k.read_u64(Kva(task + cfs_rq), "task_struct.se.cfs_rq"),
        ) && cpu < 8192
            && cfs != 0
        {
            *votes.entry((cpu, cfs.wrapping_sub(rq_cfs))).or_default() += 1;
        }
        match k.read_u64(Kva(node), "task_struct.tasks.next") {
            Ok(next) if next != head && next != 0 => node = next,
            _ => break,
        }
    }
    // Each CPU's best-voted rq that says it is that CPU's; CPUs 0..n without a gap.
    let mut areas: Vec<u64> = Vec::new();
    for cpu in 0u32.. {
        let mut cands: Vec<(usize, u64)> = votes
            .range((cpu, 0)..=(cpu, u64::MAX))
            .map(|(&(_, r), &n)| (n, r))
            .collect();
        if cands.is_empty() {
            break;
        }
        cands.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&(_, r)) = cands
            .iter()
            .find(|&&(_, r)| k.read_u32(Kva(r + rq_cpu), "rq.cpu").ok() == Some(cpu))
        else {
            break;
        };
        areas.push(r.wrapping_sub(rq_off));
    }
    if areas.is_empty() {
        return Err("no task names a run queue that says it is CPU 0's".into());
    }
    let mut found = PerCpu {
        offsets: areas.clone(),
        ..PerCpu::default()
    };
    let Some(anchor) = k.vmcoreinfo.symbol("init_uts_ns") else {
        return Ok(found);
    };
    if areas.len() < 2 {
        return Ok(found);
    }
    let (lo, hi) = data_range(k, anchor);
    let n = areas.len();
    let want: Vec<u64> = areas.iter().map(|a| a.wrapping_sub(areas[0])).collect();
    let mut hit = None;
    for_each_piece(k, lo, hi, &mut |at, piece| {
        let words: Vec<u64> = piece
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().unwrap()))
            .collect();
        hit = words.windows(n).enumerate().find_map(|(i, w)| {
            let ok = w[0] != 0
                && w.iter()
                    .zip(&want)
                    .all(|(&x, &d)| x.wrapping_sub(w[0]) == d);
            ok.then(|| (at + 8 * i as u64, w.to_vec()))
        });
        hit.is_none()
    });
    if let Some((array, words)) = hit {
        let start = areas[0].wrapping_sub(words[0]);
        if start >= lo.min(k.vmcoreinfo.symbol("_stext").unwrap_or(lo)) && start < hi {
            found.start = Some(start);
            found.array = Some(array);
            found.offsets = words;
        }
    }
    Ok(found)
}

/// The search itself (runtime addresses), for [`find_unlisted`] and the tests.
pub fn search(k: &Kernel, want_task: bool, want_mods: bool) -> Found {
    let mut found = Found::default();
    let why = "not in kallsyms (a kernel without CONFIG_KALLSYMS_ALL)";
    let Some(sh) = Shapes::probe(k) else {
        found.notes.push(format!(
            "init_task/modules {why}, and the dump's BTF lacks the task_struct or module \
             members needed to search for them"
        ));
        return found;
    };
    let Some(anchor) = k.vmcoreinfo.symbol("init_uts_ns") else {
        found.notes.push(format!(
            "init_task/modules {why}, and VMCOREINFO has no SYMBOL(init_uts_ns) to search \
             near"
        ));
        return found;
    };
    found.task_size = sh.task_size;
    let (lo, hi) = data_range(k, anchor);
    // Module memory: arm64 states the module and vmalloc ranges; elsewhere any address in
    // the kernel half outside the searched data is a candidate.
    let (mod_lo, mod_hi) = match (
        k.vmcoreinfo.number_u64("MODULES_VADDR"),
        k.vmcoreinfo.number_u64("VMALLOC_END"),
    ) {
        (Some(a), Some(b)) if a < b => (a, b),
        _ => (1 << 63, u64::MAX),
    };
    let u64_at = |a: u64| k.read_u64(Kva(a), "a candidate found by shape").ok();
    let rcu_probe = Probe::new(&k.di, "struct rcu_state").ok();
    found.rcu_size = rcu_probe.as_ref().map_or(0, |p| p.size());
    let rcu = rcu_probe
        .and_then(|p| {
            Some((
                p.opt("name")?,
                p.opt("abbr")?,
                p.opt("node")?,
                p.opt("level")?,
            ))
        })
        .filter(|&(name, abbr, _, _)| abbr > name);
    let want_rcu = k.di.symbol("rcu_state").is_none() && rcu.is_some();
    let code_lo = k.vmcoreinfo.symbol("_stext").unwrap_or(lo);
    let mut probes = 0usize;
    // One pass over the data for init_task, modules and rcu_state.
    for_each_piece(k, lo, hi, &mut |at, chunk| {
        let n = chunk.len();
        if want_task && found.init_task.is_none() {
            found.init_task = chunk
                .windows(7)
                .enumerate()
                .filter(|(_, w)| *w == b"swapper")
                .map(|(i, _)| (i, (at + i as u64).wrapping_sub(sh.comm)))
                .filter(|&(i, c)| c % 8 == 0 && is_swapper(&chunk[i..n.min(i + 16)]))
                .find(|&(_, c)| is_init_task(&sh, c, &u64_at, k))
                .map(|(_, c)| c);
        }
        for (i, w) in chunk.chunks_exact(8).enumerate() {
            if !want_mods || found.modules.is_some() || probes >= MAX_PROBES {
                break;
            }
            let here = at + 8 * i as u64;
            let word = u64::from_le_bytes(w.try_into().unwrap());
            if word != here && (word < lo || word >= hi) && word >= mod_lo && word < mod_hi {
                probes += 1;
                if is_module_ring(&sh, here, word, &u64_at) {
                    found.modules = Some(here);
                }
            }
        }
        if want_rcu
            && found.rcu_state.is_none()
            && let Some((name, abbr, node, level)) = rcu
        {
            let gap = (abbr - name) as usize;
            found.rcu_state = (0..n.saturating_sub(gap)).step_by(8).find_map(|off| {
                let w = u64::from_le_bytes(chunk[off..off + 8].try_into().unwrap());
                if w < code_lo || w >= hi || !matches!(chunk[off + gap], b's' | b'p') {
                    return None;
                }
                let mut text = [0u8; 12];
                if k.read(Kva(w), &mut text, "rcu_state.name").is_err()
                    || !(text.starts_with(b"rcu_sched\0") || text.starts_with(b"rcu_preempt\0"))
                {
                    return None;
                }
                let cand = (at + off as u64).wrapping_sub(name);
                (u64_at(cand + level) == Some(cand + node)).then_some(cand)
            });
        }
        (want_task && found.init_task.is_none())
            || (want_mods && found.modules.is_none())
            || (want_rcu && found.rcu_state.is_none())
    });
    // btf_modules: only worth a search when the module ring is known and the kernel has
    // module BTF at all (the struct exists in its BTF).
    let mods: Vec<u64> = found
        .modules
        .map(|h| module_addrs(&sh, h, &u64_at))
        .unwrap_or_default();
    let btf_module = Probe::new(&k.di, "struct btf_module")
        .ok()
        .and_then(|p| Some((p.opt("list")?, p.opt("module")?)));
    if want_mods
        && !mods.is_empty()
        && k.di.symbol("btf_modules").is_none()
        && let Some((b_list, b_module)) = btf_module
    {
        let mut probes = 0usize;
        for_each_piece(k, lo, hi, &mut |at, chunk| {
            for (i, w) in chunk.chunks_exact(8).enumerate() {
                let here = at + 8 * i as u64;
                let first = u64::from_le_bytes(w.try_into().unwrap());
                if first == here || first < 1 << 63 || (first >= lo && first < hi) {
                    continue;
                }
                probes += 1;
                if probes > MAX_PROBES {
                    return false;
                }
                let module_of = |node: u64| u64_at(node.wrapping_sub(b_list) + b_module);
                if module_of(first).is_some_and(|m| mods.contains(&m))
                    && ring_closes(here, first, &u64_at, &|node| {
                        module_of(node).is_some_and(|m| mods.contains(&m))
                    })
                {
                    found.btf_modules = Some(here);
                    return false;
                }
            }
            true
        });
    }
    if want_rcu {
        found.notes.push(match found.rcu_state {
            Some(a) => format!(
                "rcu_state {why}: found at {a:#x} by its shape (name rcu_sched or \
                 rcu_preempt, level[0] is its own node[0])"
            ),
            None => format!("rcu_state {why}, and no struct rcu_state of its shape found"),
        });
    }
    let range = format!("{lo:#x}..{hi:#x}");
    if want_task {
        found.notes.push(match found.init_task {
            Some(a) => format!(
                "init_task {why}: found at {a:#x} in the kernel data {range} by its shape \
                 (comm swapper, pid 0, its own group leader and parent, task list links agree)"
            ),
            None => format!(
                "init_task {why}, and no task_struct of its shape in the kernel data {range}: \
                 no task list"
            ),
        });
    }
    if let Some(a) = found.btf_modules {
        found.notes.push(format!(
            "btf_modules {why}: found at {a:#x} by its shape (a list whose entries name the \
             loaded modules)"
        ));
    }
    if want_mods {
        found.notes.push(match found.modules {
            Some(a) => format!(
                "modules {why}: found at {a:#x} in the kernel data {range} by its shape (a \
                 list of struct module, each its own mkobj.mod, closing on the head)"
            ),
            None => format!(
                "modules {why}, and no list of struct module in the kernel data {range} (none \
                 loaded, or the list is damaged): no module symbols"
            ),
        });
    }
    found
}

/// The kernel data searched: around VMCOREINFO's `init_uts_ns`, after the last end of
/// code below it (`_etext` on x86_64, where init follows the data; `_einittext` on arm64,
/// where it precedes it): code is full of words that look like kernel pointers.
fn data_range(k: &Kernel, anchor: u64) -> (u64, u64) {
    let code_end = ["_stext", "_etext", "_einittext"]
        .iter()
        .filter_map(|n| k.symbol_addr(n).ok().map(|a| a.0))
        .filter(|&a| a < anchor)
        .max()
        .unwrap_or(0);
    (
        (anchor.saturating_sub(BEFORE).max(code_end) + 7) & !7,
        anchor.saturating_add(AFTER) & !7,
    )
}

/// Call `f(address, bytes)` over `[lo, hi)` in pieces of [`CHUNK`] that overlap by 16
/// bytes (a name across a seam is seen whole); an unreadable page reads as zeros. Stops
/// when `f` returns false.
fn for_each_piece(k: &Kernel, lo: u64, hi: u64, f: &mut dyn FnMut(u64, &[u8]) -> bool) {
    let mut buf = vec![0u8; CHUNK];
    let mut at = lo;
    while at < hi {
        let n = CHUNK.min((hi - at) as usize);
        let piece = &mut buf[..n];
        if k.read(Kva(at), piece, "kernel data searched by shape")
            .is_err()
        {
            for p in (0..n).step_by(4096) {
                let end = (p + 4096).min(n);
                if k.read(Kva(at + p as u64), &mut piece[p..end], "kernel data")
                    .is_err()
                {
                    piece[p..end].fill(0);
                }
            }
        }
        if !f(at, piece) {
            return;
        }
        at += if at + (n as u64) < hi {
            n as u64 - 16
        } else {
            n as u64
        };
    }
}

/// `comm` bytes of the boot CPU's idle task: `swapper` (init/init_task.c) or `swapper/0`
/// once `init_idle()` has named it.
fn is_swapper(comm: &[u8]) -> bool {
    let name = comm.split(|&b| b == 0).next().unwrap_or(&[]);
    comm.len() > name.len() && (name == b"swapper" || name == b"swapper/0")
}

fn is_init_task(sh: &Shapes, t: u64, u64_at: &dyn Fn(u64) -> Option<u64>, k: &Kernel) -> bool {
    let pid = k.read_u32(Kva(t + sh.pid), "init_task.pid").ok();
    pid == Some(0)
        && u64_at(t + sh.group_leader) == Some(t)
        && u64_at(t + sh.real_parent) == Some(t)
        && u64_at(t + sh.tasks)
            .and_then(|next| u64_at(next + 8))
            .is_some_and(|prev| prev == t + sh.tasks)
}

/// The `struct module`s on the ring at `head` (at most [`MAX_RING`]).
fn module_addrs(sh: &Shapes, head: u64, u64_at: &dyn Fn(u64) -> Option<u64>) -> Vec<u64> {
    let mut out = Vec::new();
    let mut node = u64_at(head);
    while let Some(n) = node {
        if n == head || out.len() >= MAX_RING {
            break;
        }
        out.push(n.wrapping_sub(sh.mod_list));
        node = u64_at(n);
    }
    out
}

/// Does the list at `head` (holding `first`) close on itself within [`MAX_RING`] nodes,
/// each linked both ways and each accepted by `node_ok`?
fn ring_closes(
    head: u64,
    first: u64,
    u64_at: &dyn Fn(u64) -> Option<u64>,
    node_ok: &dyn Fn(u64) -> bool,
) -> bool {
    if u64_at(first + 8) != Some(head) {
        return false;
    }
    let mut node = first;
    for _ in 0..MAX_RING {
        if node == head {
            return true;
        }
        if !node_ok(node) {
            return false;
        }
        let Some(next) = u64_at(node) else {
            return false;
        };
        if u64_at(next + 8) != Some(node) {
            return false;
        }
        node = next;
    }
    false
}

/// Is `head` (holding `first`) the head of a ring of `struct module`s?
fn is_module_ring(sh: &Shapes, head: u64, first: u64, u64_at: &dyn Fn(u64) -> Option<u64>) -> bool {
    ring_closes(head, first, u64_at, &|node| {
        let m = node.wrapping_sub(sh.mod_list);
        u64_at(m + sh.mod_self) == Some(m)
    })
}

#[cfg(test)]
mod tests {
    use super::is_swapper;

    #[test]
    fn swapper_names() {
        assert!(is_swapper(b"swapper/0\0\0\0\0\0\0\0"));
        assert!(is_swapper(b"swapper\0\0\0\0\0\0\0\0\0"));
        assert!(!is_swapper(b"swapper/1\0\0\0\0\0\0\0"));
        assert!(!is_swapper(b"swapperx\0\0\0\0\0\0\0\0"));
        // No terminator within the bytes seen: not a comm.
        assert!(!is_swapper(b"swapper/0"));
    }
}
