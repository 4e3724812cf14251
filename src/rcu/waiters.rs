//! Who waits on what: the tasks sleeping on a `struct completion` (the `rcu_synchronize`
//! that `wakeme_after_rcu()` completes), and `struct rcu_synchronize` itself.
//!
//! `struct completion { done; wait }`: `wait` is a `struct swait_queue_head` since 5.7
//! (commit a5c6234e10280 "completion: Use simple wait queues") with on-stack
//! `struct swait_queue { task; task_list }` entries, and a `wait_queue_head_t` before, with
//! `wait_queue_entry { flags; private (the task); func; entry }` entries. The type of
//! `completion.wait` in the debug info decides which.

use super::TaskRef;
use crate::addr::Kva;
use crate::kernel::layout::Probe;
use crate::kernel::value::type_name;
use crate::kernel::{Kernel, KernelError};

/// How to find the waiters of a completion.
#[derive(Debug, Clone)]
pub struct CompletionLayout {
    pub done: u64,
    /// Offset of the list head inside the completion (`wait.task_list` / `wait.head`).
    pub list: u64,
    /// Offset of the entry's list node and of its task pointer.
    pub entry_node: u64,
    pub entry_task: u64,
    /// `struct rcu_synchronize`: offsets of `head` and `completion`.
    pub rs_head: u64,
    pub rs_completion: u64,
}

impl CompletionLayout {
    pub fn probe(k: &Kernel) -> Result<CompletionLayout, KernelError> {
        let why = "synchronous waiters";
        let c = Probe::new(&k.di, "struct completion")?;
        let wait_ty =
            k.di.member(c.ty, "wait")
                .map_err(|e| KernelError::Debug(e.to_string()))?
                .ty;
        let swait = type_name(&k.di, k.di.strip(wait_ty)) == "struct swait_queue_head";
        let (list, entry_node, entry_task) = if swait {
            let q = Probe::new(&k.di, "struct swait_queue")?;
            (
                c.off("wait.task_list", why)?,
                q.off("task_list", why)?,
                q.off("task", why)?,
            )
        } else {
            let q = Probe::new(&k.di, "struct wait_queue_entry")?;
            let (_, head) = c.first_of(&["wait.head", "wait.task_list"], why)?;
            let (_, node) = q.first_of(&["entry", "task_list"], why)?;
            (head, node, q.off("private", why)?)
        };
        let rs = Probe::new(&k.di, "struct rcu_synchronize")?;
        Ok(CompletionLayout {
            done: c.off("done", why)?,
            list,
            entry_node,
            entry_task,
            rs_head: rs.off("head", why)?,
            rs_completion: rs.off("completion", why)?,
        })
    }

    /// Tasks queued on the completion at `c` (bounded list walk).
    pub fn waiters(&self, k: &Kernel, c: Kva) -> Vec<TaskRef> {
        let head = c.add(self.list);
        // An swait head that was never waited on may hold NULL pointers (static init).
        if k.read_u64(head, "completion.wait").map_or(true, |p| p == 0) {
            return Vec::new();
        }
        let walk = k.list_walk(head, "completion wait list");
        walk.nodes
            .iter()
            .filter_map(|n| {
                let t = k
                    .read_ptr(
                        n.sub(self.entry_node).add(self.entry_task),
                        "wait entry task",
                    )
                    .ok()?;
                TaskRef::read(k, t).ok()
            })
            .take(64)
            .collect()
    }

    /// The tasks `wakeme_after_rcu(head)` will wake: waiters of the completion of the
    /// `rcu_synchronize` whose `head` is at `head`.
    pub fn synchronize_waiters(&self, k: &Kernel, head: Kva) -> Vec<TaskRef> {
        let rs = head.sub(self.rs_head);
        self.waiters(k, rs.add(self.rs_completion))
    }
}
