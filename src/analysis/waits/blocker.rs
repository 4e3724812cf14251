//! Exact edges: what the kernel itself records a task is blocked on, read before any stack
//! heuristic.
//!
//! - `task_struct.blocker` (`CONFIG_DETECT_HUNG_TASK_BLOCKER`, default y): set by the task
//!   right before it sleeps in `__mutex_lock_common`, `__down_common` (semaphores) and
//!   `rwsem_down_{read,write}_slowpath`, cleared when it wakes with the lock. The lock's
//!   address with its type in the low 2 bits (include/linux/hung_task.h):
//!   `BLOCKER_TYPE_MUTEX 0`, `BLOCKER_TYPE_SEM 1` (commit e711faaafbe5, v6.16),
//!   `BLOCKER_TYPE_RWSEM_READER 2`, `BLOCKER_TYPE_RWSEM_WRITER 3` (commit 77da18de55ac,
//!   v6.17). These are `#define`s, not in DWARF, so they are tabulated here.
//! - `task_struct.blocker_mutex` (commit 3cf67d61ff98, v6.15 only): a `struct mutex *`.
//! - `task_struct.blocked_on`: `struct mutex *` since commit 44e4e0297c3c
//!   ("locking/mutex: Rework task_struct::blocked_on", v6.17, the proxy-execution
//!   groundwork: set for every mutex sleep, no debug option needed); before it, only with
//!   `CONFIG_DEBUG_MUTEXES`, a `struct mutex_waiter *` whose `lock` names the mutex.
//!
//! An edge read here is marked exact (its evidence names the field); the frame the task
//! sleeps in is added as supporting evidence when a known one is on its stack.

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Evidence, Graph};
use crate::analysis::layout::BlockerLayout;

/// `BLOCKER_TYPE_MASK` (include/linux/hung_task.h).
pub const TYPE_MASK: u64 = 0x3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockerType {
    Mutex,
    Semaphore,
    RwsemReader,
    RwsemWriter,
}

impl BlockerType {
    pub fn name(self) -> &'static str {
        match self {
            BlockerType::Mutex => "BLOCKER_TYPE_MUTEX",
            BlockerType::Semaphore => "BLOCKER_TYPE_SEM",
            BlockerType::RwsemReader => "BLOCKER_TYPE_RWSEM_READER",
            BlockerType::RwsemWriter => "BLOCKER_TYPE_RWSEM_WRITER",
        }
    }
}

/// What a task's record says it is blocked on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub ty: BlockerType,
    /// The lock's address.
    pub lock: u64,
    /// The raw word as read.
    pub raw: u64,
    /// Which member it came from (`task_struct.blocker`, …).
    pub field: &'static str,
    /// Where that member is.
    pub at: u64,
}

/// Decode an encoded `task_struct.blocker` word: `None` when it is 0 (not blocked on a
/// tracked lock).
pub fn decode_word(raw: u64) -> Option<(BlockerType, u64)> {
    if raw == 0 {
        return None;
    }
    let ty = match raw & TYPE_MASK {
        0 => BlockerType::Mutex,
        1 => BlockerType::Semaphore,
        2 => BlockerType::RwsemReader,
        _ => BlockerType::RwsemWriter,
    };
    let lock = raw & !TYPE_MASK;
    (lock != 0).then_some((ty, lock))
}

/// The kernel's record of what task `ti` is blocked on: `blocker` (or `blocker_mutex`),
/// else `blocked_on`.
pub fn read(cx: &Ctx, ti: usize) -> Option<Blocked> {
    let task = cx.tasks[ti].addr;
    let k = cx.k;
    match cx.l.blocker {
        Some(BlockerLayout::Encoded(off)) => {
            let raw = k.read_u64(Kva(task + off), "task_struct.blocker").ok()?;
            if let Some((ty, lock)) = decode_word(raw) {
                return Some(Blocked {
                    ty,
                    lock,
                    raw,
                    field: "task_struct.blocker",
                    at: task + off,
                });
            }
        }
        Some(BlockerLayout::MutexOnly(off)) => {
            let raw = k
                .read_u64(Kva(task + off), "task_struct.blocker_mutex")
                .ok()?;
            if raw != 0 {
                return Some(Blocked {
                    ty: BlockerType::Mutex,
                    lock: raw,
                    raw,
                    field: "task_struct.blocker_mutex",
                    at: task + off,
                });
            }
        }
        None => {}
    }
    blocked_on(cx, ti)
}

/// `task_struct.blocked_on`: a `struct mutex *`, or with DEBUG_MUTEXES before 6.17 a
/// `struct mutex_waiter *` (then `waiter->lock`).
pub fn blocked_on(cx: &Ctx, ti: usize) -> Option<Blocked> {
    let (off, is_mutex) = cx.l.blocked_on?;
    let at = cx.tasks[ti].addr + off;
    let p =
        cx.k.read_u64(Kva(at), "task_struct.blocked_on")
            .ok()
            .filter(|&p| p != 0)?;
    let lock = if is_mutex {
        p
    } else {
        cx.k.read_u64(Kva(p + cx.l.mutex_waiter_lock?), "mutex_waiter.lock")
            .ok()?
    };
    Some(Blocked {
        ty: BlockerType::Mutex,
        lock,
        raw: p,
        field: "task_struct.blocked_on",
        at,
    })
}

/// The exact evidence for a record.
pub fn evidence(b: &Blocked) -> Evidence {
    let mut ev = Evidence::exact(b.field, format!("{:#x}", b.raw), Some(b.at));
    ev.note = Some(if b.field == "task_struct.blocker" {
        format!(
            "the task's own record of the lock it sleeps on: {:#x} & ~0x3 = {:#x}, type {} = {}",
            b.raw,
            b.lock,
            b.raw & TYPE_MASK,
            b.ty.name()
        )
    } else if b.raw != b.lock {
        format!("mutex_waiter {:#x} → lock {:#x}", b.raw, b.lock)
    } else {
        "the task's own record of the mutex it sleeps on".to_string()
    });
    ev
}

/// Task `ti` → the lock the kernel records, with its holder: an exact edge. Returns false
/// when the kernel records nothing for this task (the stack decoders then try).
pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(b) = read(cx, ti) else {
        return false;
    };
    let frames: &[&str] = match b.ty {
        BlockerType::Mutex => super::mutex::FRAMES,
        BlockerType::RwsemReader | BlockerType::RwsemWriter => super::rwsem::FRAMES,
        BlockerType::Semaphore => super::semaphore::FRAMES,
    };
    let mut evidence = vec![evidence(&b)];
    // A second record that agrees (7.x has both blocker and blocked_on for a mutex).
    if b.field != "task_struct.blocked_on"
        && let Some(o) = blocked_on(cx, ti)
        && o.lock == b.lock
    {
        evidence.push(self::evidence(&o));
    }
    if let Some(fi) = cx.find_frame(ti, frames) {
        evidence.push(cx.frame_ev(ti, fi, frames));
    }
    let t = cx.task_node(g, ti);
    match b.ty {
        BlockerType::Mutex => {
            if cx.l.mutex.is_none() {
                return false;
            }
            super::mutex::link_mutex(cx, g, t, b.lock, evidence);
        }
        BlockerType::RwsemReader | BlockerType::RwsemWriter => {
            if cx.l.rwsem.is_none() {
                return false;
            }
            let write = b.ty == BlockerType::RwsemWriter;
            super::rwsem::link_rwsem(cx, g, t, b.lock, Some(write), evidence);
        }
        BlockerType::Semaphore => super::semaphore::link_semaphore(cx, g, t, b.lock, evidence),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words() {
        assert_eq!(decode_word(0), None);
        let m = 0xffff_8a70_0300_1040u64;
        assert_eq!(decode_word(m), Some((BlockerType::Mutex, m)));
        assert_eq!(decode_word(m | 1), Some((BlockerType::Semaphore, m)));
        assert_eq!(decode_word(m | 2), Some((BlockerType::RwsemReader, m)));
        assert_eq!(decode_word(m | 3), Some((BlockerType::RwsemWriter, m)));
        // A type with no address is no record.
        assert_eq!(decode_word(3), None);
    }
}
