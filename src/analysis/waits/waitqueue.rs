//! `wait_event*()` and open-coded `prepare_to_wait()` sleeps → the `wait_queue_head` the
//! task is queued on, named by its symbol (`jbd2_wait+0x10` when it sits inside a global)
//! or address.
//!
//! Teaching note: `wait_event(wq, cond)` puts an on-stack `struct wait_queue_entry
//! { flags, private = current, func = autoremove_wake_function, entry }` on `wq->head`
//! and sleeps until `cond` is true; whoever makes `cond` true must call `wake_up(&wq)`.
//! Nothing records who that is: a wait queue has no owner, the condition is only in the
//! waiter's code. So the wait is named (which queue, in which function) and the search for
//! a waker stops there — the frame that waits says what condition it tests.
//!
//! The entry is found like the lock waiters: a word on the task's stack equal to the task
//! (`entry.private`), whose `func` is a function and `flags` a few bits, whose `entry` is
//! linked, on a ring with exactly one node that is not a wait entry (its would-be `func`
//! word is not a function) — the head's `head` member. Tried last, only for tasks no other
//! decoder understood.
//!
//! Tested on the fixtures' `waits` scenario (`qh_wq_waiter` on the global `qh_wq`,
//! `qh_box_waiter` on `qh_box.wq` inside a structure) and on synthetic memory
//! ([`find_entry`]).

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Graph, NodeId, NodeKind};

/// How `wait_queue_entry` and `wait_queue_head` are laid out (probed from debug info).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WqLayout {
    pub entry_flags: u64,
    pub entry_private: u64,
    pub entry_func: u64,
    pub entry_entry: u64,
    /// `wait_queue_head.head`.
    pub head_head: u64,
}

/// The most nodes a wait queue ring is followed for.
pub const MAX_RING: usize = 4096;

/// `WQ_FLAG_*` (include/linux/wait.h) are single bits below 0x100.
const MAX_FLAGS: u64 = 0xff;

/// Walk the ring through `node` (bounded): its nodes, `node` first, or `None` when a
/// pointer is unreadable, a `prev` does not point back, or it does not close.
pub fn ring(node: u64, read: &dyn Fn(u64) -> Option<u64>) -> Option<Vec<u64>> {
    let mut out = vec![node];
    let mut cur = node;
    for _ in 0..MAX_RING {
        let next = read(cur)?;
        if next == 0 || next % 8 != 0 || read(next + 8)? != cur {
            return None;
        }
        if next == node {
            return Some(out);
        }
        if out.contains(&next) {
            return None;
        }
        out.push(next);
        cur = next;
    }
    None
}

/// In the stack `words` (address, value) of task `me`, the on-stack wait entry of `me` and
/// the `wait_queue_head` it is queued on: `(entry, head)`. `read` reads a word of memory;
/// `is_func` says whether a value is the address of a function.
pub fn find_entry(
    words: &[(u64, u64)],
    me: u64,
    l: &WqLayout,
    read: &dyn Fn(u64) -> Option<u64>,
    is_func: &dyn Fn(u64) -> bool,
) -> Option<(u64, u64)> {
    for &(a, v) in words {
        if v != me || a < l.entry_private {
            continue;
        }
        let e = a - l.entry_private;
        if read(e + l.entry_flags).is_none_or(|f| f & 0xffff_ffff > MAX_FLAGS) {
            continue;
        }
        if !read(e + l.entry_func).is_some_and(is_func) {
            continue;
        }
        let node = e + l.entry_entry;
        let Some(nodes) = ring(node, read) else {
            continue;
        };
        if nodes.len() < 2 {
            continue;
        }
        let heads: Vec<u64> = nodes
            .iter()
            .copied()
            .filter(|&n| {
                n.checked_sub(l.entry_entry)
                    .and_then(|x| read(x + l.entry_func))
                    .is_none_or(|f| !is_func(f))
            })
            .collect();
        if let [h] = heads.as_slice()
            && let Some(head) = h.checked_sub(l.head_head)
        {
            return Some((e, head));
        }
    }
    None
}

impl Ctx<'_> {
    /// Task `ti`'s on-stack wait entry among the stack words up to the end of frame `fi`,
    /// and the `wait_queue_head` it is queued on: `(entry, head)` ([`find_entry`]).
    pub fn find_wait_entry(&self, ti: usize, fi: usize) -> Option<(u64, u64)> {
        let l = self.l.waitq?;
        let k = self.k;
        let read = |a: u64| k.read_u64(Kva(a), "wait queue").ok();
        let is_func = |v: u64| k.mem.xlat.is_kernel_ptr(v) && self.symbol_at(v).is_some();
        let last = self.frames[ti].len().checked_sub(1)?;
        find_entry(
            &self.stack_words(ti, fi.min(last)),
            self.tasks[ti].addr,
            &l,
            &read,
            &is_func,
        )
    }
}

/// Task `ti` sleeping in a `wait_event*()`: task → the wait queue head.
pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(l) = cx.l.waitq else {
        return false;
    };
    let frames = &cx.frames[ti];
    let Some(first) = frames.iter().position(|f| {
        f.names
            .iter()
            .all(|(n, _)| !super::SCHED_FRAMES.contains(&super::base_name(n)))
    }) else {
        return false;
    };
    // The entry lives in the frame that called wait_event() (a macro): the first frames
    // above the scheduler.
    let Some((e, head)) = cx.find_wait_entry(ti, first + 3) else {
        return false;
    };
    let k = cx.k;
    let read = |a: u64| k.read_u64(Kva(a), "wait queue").ok();
    let me = cx.tasks[ti].addr;
    let func = read(e + l.entry_func)
        .and_then(|f| cx.symbol_at(f))
        .unwrap_or_else(|| "?".into());
    let a = e + l.entry_private;
    let mut ev = crate::analysis::graph::Evidence::field(
        "wait_queue_entry.private",
        format!("{me:#x} ({})", cx.task_label(ti)),
        Some(a),
    );
    let waiter_fn = cx.frame_of_addr(ti, a).map(|f| {
        let fr = &frames[f];
        ev.frame = Some(fr.no);
        ev.function = fr.names.last().map(|n| n.0.clone());
        ev.location = fr.names.last().and_then(|n| n.1.clone());
        fr.names.last().map(|n| n.0.clone()).unwrap_or_default()
    });
    ev.note = Some(format!(
        "on-stack wait_queue_entry at {e:#x} (func = {func}) queued on the wait_queue_head at {head:#x}"
    ));
    let t = cx.task_node(g, ti);
    let label = crate::rcu::symbolize_member(k, head).unwrap_or_else(|| cx.object_label(head));
    let wid = NodeId::new(NodeKind::WaitQueue, head);
    let n = g.node(wid, label);
    if n.fields.is_empty() {
        n.fields.push(("address".into(), format!("{head:#x}")));
        n.no_waker = Some(format!(
            "a wait queue records no waker: it ends when code that makes {}'s condition true calls wake_up() on it, and nothing in the dump says which",
            waiter_fn.as_deref().unwrap_or("the waiter")
        ));
    }
    g.edge(Edge {
        from: t,
        to: wid,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some("wait queue (wait_event)".into()),
        evidence: vec![ev],
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const L: WqLayout = WqLayout {
        entry_flags: 0,
        entry_private: 8,
        entry_func: 16,
        entry_entry: 24,
        head_head: 8,
    };
    const WAKE: u64 = 0xffff_ffff_8110_0000; // autoremove_wake_function, say
    const ME: u64 = 0xffff_8880_0100_0000;
    const OTHER: u64 = 0xffff_8880_0200_0000;
    const HEAD: u64 = 0xffff_ffff_8300_0040; // a global wait_queue_head
    const E1: u64 = 0xffff_c900_0001_3e00; // on ME's stack
    const E2: u64 = 0xffff_c900_0002_3e00; // on OTHER's stack

    /// A head with two entries (ME's, OTHER's), linked HEAD.head → E1 → E2 → HEAD.head.
    fn memory() -> HashMap<u64, u64> {
        let mut m = HashMap::new();
        m.insert(HEAD, 0); // lock, unlocked
        let nodes = [HEAD + 8, E1 + 24, E2 + 24];
        for i in 0..3 {
            m.insert(nodes[i], nodes[(i + 1) % 3]);
            m.insert(nodes[i] + 8, nodes[(i + 2) % 3]);
        }
        for (e, t) in [(E1, ME), (E2, OTHER)] {
            m.insert(e, 0); // flags
            m.insert(e + 8, t);
            m.insert(e + 16, WAKE);
        }
        m
    }

    fn find(m: &HashMap<u64, u64>, words: &[(u64, u64)]) -> Option<(u64, u64)> {
        find_entry(words, ME, &L, &|a| m.get(&a).copied(), &|v| v == WAKE)
    }

    #[test]
    fn the_head_of_the_ring_is_found() {
        let m = memory();
        // ME's stack: unrelated words, its own task pointer saved elsewhere, the entry.
        let words = [(E1 - 16, ME), (E1 - 8, 42), (E1 + 8, ME), (E1 + 16, WAKE)];
        assert_eq!(find(&m, &words), Some((E1, HEAD)));
        assert_eq!(ring(HEAD + 8, &|a| m.get(&a).copied()).unwrap().len(), 3);
    }

    #[test]
    fn doubtful_entries_are_not_taken() {
        let words = [(E1 + 8, ME)];
        // Not linked: entry.next points to itself (finish_wait() ran).
        let mut m = memory();
        m.insert(E1 + 24, E1 + 24);
        m.insert(E1 + 32, E1 + 24);
        assert_eq!(find(&m, &words), None);
        // func is not a function.
        let mut m = memory();
        m.insert(E1 + 16, 7);
        assert_eq!(find(&m, &words), None);
        // flags are not WQ_FLAG_* bits.
        let mut m = memory();
        m.insert(E1, 0xdead_0000);
        assert_eq!(find(&m, &words), None);
        // Two nodes that are not entries: no single head.
        let mut m = memory();
        m.insert(E2 + 16, 0);
        assert_eq!(find(&m, &words), None);
        // A broken ring (prev does not point back).
        let mut m = memory();
        m.insert(E2 + 24 + 8, HEAD + 8);
        assert_eq!(find(&m, &words), None);
    }
}
