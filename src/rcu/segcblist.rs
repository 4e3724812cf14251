//! Callback lists: the segmented `struct rcu_segcblist` (Tree RCU and Tree SRCU) and the
//! plain chains of Classic (`struct rcu_batch`) and Tiny SRCU (`srcu_cb_head`).
//!
//! Walk (include/linux/rcu_segcblist.h): segment `i` runs from `*tails[i-1]` to
//! `*tails[i]` (segment 0 from `head`); crossing `tails[seg]` moves to the next segment.
//! `gp_seq[WAIT]` and `gp_seq[NEXT_READY]` say at which grace-period sequence the segment
//! becomes ready. Walks are bounded and stop at a repeated callback.

use super::FuncRef;
use crate::addr::Kva;
use crate::kernel::layout::Probe;
use crate::kernel::{Kernel, KernelError};
use serde::Serialize;
use std::collections::HashSet;

/// The most callbacks one list walk returns.
pub const MAX_CALLBACKS: usize = 100_000;

/// `RCU_DONE_TAIL` … `RCU_NEXT_TAIL` (include/linux/rcu_segcblist.h, 4.12+).
pub const SEGMENT_NAMES: [&str; 4] = ["DONE", "WAIT", "NEXT_READY", "NEXT"];

/// One queued `rcu_head`.
#[derive(Debug, Clone, Serialize)]
pub struct Callback {
    #[serde(serialize_with = "crate::kernel::value::ser_hex")]
    pub addr: u64,
    /// The per-CPU list it sits on, when the list is per-CPU.
    pub cpu: Option<u32>,
    /// `DONE`, `WAIT`, `NEXT_READY`, `NEXT`; Classic SRCU: `batch_queue`, `batch_check0`…;
    /// Tiny SRCU: `srcu_cb_head`.
    pub segment: String,
    /// The grace-period sequence the segment waits for (WAIT and NEXT_READY only).
    pub gp_seq: Option<u64>,
    pub func: FuncRef,
    /// For `wakeme_after_rcu`: the tasks waiting on the `rcu_synchronize` it completes.
    pub wakes: Vec<super::TaskRef>,
}

/// Offsets of `struct rcu_segcblist`, `struct callback_head`.
#[derive(Debug, Clone)]
pub struct SegLayout {
    pub head: u64,
    pub tails: u64,
    pub gp_seq: u64,
    pub len: u64,
    /// `seglen[4]` (≈5.10+, commit "rcu/segcblist: Add counters to segcblist datastructure").
    pub seglen: Option<u64>,
    pub cb_next: u64,
    pub cb_func: u64,
    /// The kernel has `struct rcu_segcblist` (4.12+; Classic SRCU kernels before it use
    /// only plain chains).
    pub segmented: bool,
}

impl SegLayout {
    pub fn probe(k: &Kernel) -> Result<SegLayout, KernelError> {
        let why = "callback lists";
        let cb = Probe::new(&k.di, "struct callback_head")?;
        let Ok(s) = Probe::new(&k.di, "struct rcu_segcblist") else {
            return Ok(SegLayout {
                head: 0,
                tails: 0,
                gp_seq: 0,
                len: 0,
                seglen: None,
                cb_next: cb.off("next", why)?,
                cb_func: cb.off("func", why)?,
                segmented: false,
            });
        };
        Ok(SegLayout {
            segmented: true,
            head: s.off("head", why)?,
            tails: s.off("tails", why)?,
            gp_seq: s.off("gp_seq", why)?,
            len: s.off("len", why)?,
            seglen: s.opt("seglen"),
            cb_next: cb.off("next", why)?,
            cb_func: cb.off("func", why)?,
        })
    }
}

/// A segmented list's summary and callbacks.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SegList {
    pub len: i64,
    /// Per-segment `gp_seq[]` as stored (meaningful for WAIT and NEXT_READY).
    pub gp_seq: [u64; 4],
    /// Callbacks found per segment by walking.
    pub counts: [usize; 4],
    pub callbacks: Vec<Callback>,
    /// Why the walk stopped early, if it did.
    pub error: Option<String>,
}

/// Walk the `rcu_segcblist` at `list`.
pub fn walk_segcblist(k: &Kernel, l: &SegLayout, list: Kva, cpu: Option<u32>) -> SegList {
    let mut out = SegList::default();
    if !l.segmented {
        out.error = Some("this kernel has no struct rcu_segcblist".into());
        return out;
    }
    let mut tails = [0u64; 4];
    for i in 0..4u64 {
        match k.read_u64(list.add(l.tails + 8 * i), "rcu_segcblist.tails") {
            Ok(v) => tails[i as usize] = v,
            Err(e) => {
                out.error = Some(e.to_string());
                return out;
            }
        }
        out.gp_seq[i as usize] = k
            .read_u64(list.add(l.gp_seq + 8 * i), "rcu_segcblist.gp_seq")
            .unwrap_or(0);
    }
    out.len = k
        .read_u64(list.add(l.len), "rcu_segcblist.len")
        .map(|v| v as i64)
        .unwrap_or(0);
    let mut pp = list.add(l.head).0;
    let mut seg = 0usize;
    let mut seen = HashSet::new();
    loop {
        let cb = match k.read_u64(Kva(pp), "rcu_head.next") {
            Ok(v) => v,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        };
        if cb == 0 {
            break;
        }
        while seg < 4 && pp == tails[seg] {
            seg += 1;
        }
        if seg >= 4 {
            // Past the NEXT tail but the chain goes on: a list being modified, or damage.
            out.error = Some(format!("callback {cb:#x} beyond the NEXT tail"));
            break;
        }
        if !seen.insert(cb) || out.callbacks.len() >= MAX_CALLBACKS {
            out.error = Some(format!("cycle or overlong list at callback {cb:#x}"));
            break;
        }
        let func = k
            .read_u64(Kva(cb).add(l.cb_func), "rcu_head.func")
            .unwrap_or(0);
        out.counts[seg] += 1;
        out.callbacks.push(Callback {
            addr: cb,
            cpu,
            segment: SEGMENT_NAMES[seg].to_string(),
            gp_seq: matches!(seg, 1 | 2).then_some(out.gp_seq[seg]),
            func: FuncRef::new(k, func),
            wakes: Vec::new(),
        });
        pp = cb + l.cb_next;
    }
    out
}

/// Walk a NULL-terminated `rcu_head` chain starting at the pointer stored at `head_at`,
/// labelling every callback with `segment` (Classic `rcu_batch`, Tiny `srcu_cb_head`).
pub fn walk_chain(
    k: &Kernel,
    l: &SegLayout,
    head_at: Kva,
    segment: &str,
    out: &mut Vec<Callback>,
) -> Option<String> {
    let mut seen = HashSet::new();
    let mut cur = match k.read_u64(head_at, "rcu_head list head") {
        Ok(v) => v,
        Err(e) => return Some(e.to_string()),
    };
    while cur != 0 {
        if !seen.insert(cur) || seen.len() > MAX_CALLBACKS {
            return Some(format!("cycle or overlong list at callback {cur:#x}"));
        }
        let func = k
            .read_u64(Kva(cur).add(l.cb_func), "rcu_head.func")
            .unwrap_or(0);
        out.push(Callback {
            addr: cur,
            cpu: None,
            segment: segment.to_string(),
            gp_seq: None,
            func: FuncRef::new(k, func),
            wakes: Vec::new(),
        });
        cur = match k.read_u64(Kva(cur).add(l.cb_next), "rcu_head.next") {
            Ok(v) => v,
            Err(e) => return Some(e.to_string()),
        };
    }
    None
}
