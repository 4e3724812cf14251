//! Buffer heads: a task waiting for a bit of `bh->b_state` to clear (`wait_on_buffer()`,
//! `lock_buffer()`, jbd2's `BH_Shadow` in `do_get_write_access()`) → the buffer, its disk
//! block, and what holds the bit.
//!
//! Teaching note: a buffer head is one block of a block device cached in memory (file
//! system metadata: bitmaps, inode tables, directory blocks, journal blocks). `BH_Lock`
//! is held while I/O runs on it: `submit_bh()` sends a bio whose `bi_private` is the
//! buffer head, and the bio's completion unlocks it — so the in-flight request carrying
//! that bio is exactly what the waiter waits for. `BH_Shadow` (jbd2) marks a metadata
//! buffer whose copy the committing transaction is writing to the journal: anyone who
//! wants to modify it waits until that journal write completes, i.e. for the journal's
//! commit thread. Waiters sleep in `out_of_line_wait_on_bit()` on a hashed wait queue
//! with an on-stack `wait_bit_queue_entry` whose key is `&bh->b_state` and the bit.
//!
//! Tested on the fixtures' `io` scenario (the jbd2 thread waits for its journal blocks
//! on `BH_Lock`; `dd` creating a file waits on `BH_Shadow` of an inode-table block).

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &[
    "out_of_line_wait_on_bit",
    "out_of_line_wait_on_bit_lock",
    "__wait_on_bit",
    "__wait_on_bit_lock",
    "__wait_on_buffer",
    "__lock_buffer",
];

/// Offsets for bit waits on buffer heads, and the journal they may belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferLayout {
    /// `struct wait_bit_queue_entry.{key.flags, key.bit_nr, wq_entry}`.
    pub key_flags: u64,
    pub key_bit: u64,
    pub wq_entry: u64,
    /// `struct buffer_head`.
    pub b_state: u64,
    pub b_blocknr: u64,
    pub b_size: u64,
    pub b_bdev: u64,
    pub b_private: u64,
    /// `journal_head.b_transaction` and `transaction_t.{t_journal, t_tid}` (jbd2).
    pub jh_transaction: Option<u64>,
    pub t_journal: Option<u64>,
    /// The `BH_*` bits by value (`enum bh_state_bits`, jbd2's `enum jbd_state_bits`).
    pub bits: Vec<(u32, String)>,
}

impl BufferLayout {
    fn bit(&self, name: &str) -> Option<u32> {
        self.bits.iter().find(|(_, n)| n == name).map(|(v, _)| *v)
    }

    fn bit_name(&self, v: u32) -> String {
        self.bits
            .iter()
            .find(|(b, _)| *b == v)
            .map_or_else(|| format!("bit {v}"), |(_, n)| n.clone())
    }
}

pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let Some(l) = cx.buffer_layout() else {
        return false;
    };
    let k = cx.k;
    let rd = |a: u64, what: &str| k.read_u64(Kva(a), what).ok();
    let Some((e, _)) = cx.find_wait_entry(ti, fi + 1) else {
        return false;
    };
    let Some(q) = e.checked_sub(l.wq_entry) else {
        return false;
    };
    let Some(flags) = rd(q + l.key_flags, "wait_bit_queue_entry.key.flags") else {
        return false;
    };
    let Ok(bit) = k.read_u32(Kva(q + l.key_bit), "wait_bit_queue_entry.key.bit_nr") else {
        return false;
    };
    // Is the word a buffer head's b_state? Its device must lead to a named disk and its
    // size be a block size; other bit waits (inode bits, …) are left to the wait-queue
    // decoder.
    let Some(bh) = flags.checked_sub(l.b_state) else {
        return false;
    };
    let size = rd(bh + l.b_size, "buffer_head.b_size").unwrap_or(0);
    let disk = rd(bh + l.b_bdev, "buffer_head.b_bdev")
        .filter(|&b| k.mem.xlat.is_kernel_ptr(b))
        .and_then(|b| super::blkio::bdev_disk_name(cx, b));
    let (Some(disk), true) = (
        disk,
        size.is_power_of_two() && (512..=65536).contains(&size),
    ) else {
        return false;
    };
    let state = rd(bh + l.b_state, "buffer_head.b_state").unwrap_or(0);
    let block = rd(bh + l.b_blocknr, "buffer_head.b_blocknr").unwrap_or(0);
    let bit_name = l.bit_name(bit);
    let id = NodeId::new(NodeKind::BufferIo, bh);
    let fresh = g.get(id).is_none();
    let n = g.node(id, format!("{disk} block {block}"));
    if fresh {
        n.fields.push(("buffer_head".into(), format!("{bh:#x}")));
        n.fields.push(("b_state".into(), format!("{state:#x}")));
        n.fields.push(("b_blocknr".into(), block.to_string()));
        n.fields.push(("b_size".into(), size.to_string()));
        n.fields.push(("device".into(), disk.clone()));
    }
    let mut ev = Evidence::field(
        "wait_bit_queue_entry.key.flags",
        format!("{flags:#x} (&buffer_head.b_state, bit_nr {bit} = {bit_name})"),
        Some(q + l.key_flags),
    );
    ev.note = Some(format!(
        "on-stack wait_bit_queue_entry at {q:#x} (its wait entry at {e:#x} names this task) waits for {bit_name} of buffer {bh:#x} to clear"
    ));
    let t = cx.task_node(g, ti);
    g.edge(Edge {
        from: t,
        to: id,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some(format!("{bit_name} of the buffer")),
        evidence: vec![cx.frame_ev(ti, fi, FRAMES), ev],
    });
    if !fresh || g.out_edges(id).next().is_some() {
        return true;
    }
    if state >> bit & 1 == 0 {
        if let Some(n) = g.get_mut(id) {
            n.no_waker = Some(format!(
                "{bit_name} is clear in b_state {state:#x}: released, the waiter is about to be woken"
            ));
        }
        return true;
    }
    let linked = if Some(bit) == l.bit("BH_Shadow") {
        link_shadow(cx, g, l, id, bh)
    } else {
        super::blkio::link_object(cx, g, id, Some(bh), None)
    };
    if !linked
        && super::rwsem::stack_candidates(cx, g, id, bh, &[]) == 0
        && let Some(n) = g.get_mut(id)
    {
        n.no_waker = Some(format!(
            "{bit_name} is set, no in-flight request carries the buffer (bio.bi_private) and no task's stack holds its address"
        ));
    }
    true
}

/// `BH_Shadow`: the buffer's journal head → its transaction → the journal, whose commit
/// thread clears the bit once the journal copy is written.
fn link_shadow(cx: &Ctx, g: &mut Graph, l: &BufferLayout, id: NodeId, bh: u64) -> bool {
    let (Some(jt), Some(tj)) = (l.jh_transaction, l.t_journal) else {
        return false;
    };
    let k = cx.k;
    let rd = |a: u64, what: &str| k.read_u64(Kva(a), what).ok().filter(|&v| v != 0);
    let Some(jh) = rd(bh + l.b_private, "buffer_head.b_private") else {
        return false;
    };
    let Some(tr) = rd(jh + jt, "journal_head.b_transaction") else {
        return false;
    };
    let Some(journal) = rd(tr + tj, "transaction_t.t_journal") else {
        return false;
    };
    let Some(jn) = super::jbd2::journal_node(cx, g, journal) else {
        return false;
    };
    let mut ev = Evidence::exact(
        "journal_head.b_transaction",
        format!("{tr:#x} (t_journal = {journal:#x})"),
        Some(jh + jt),
    );
    ev.note = Some(format!(
        "buffer_head.b_private = journal_head {jh:#x}: the buffer belongs to transaction {tr:#x}, whose commit is writing its copy to the journal; BH_Shadow clears when that write completes"
    ));
    g.edge(Edge {
        from: id,
        to: jn,
        kind: EdgeKind::HeldUpBy,
        candidate: false,
        what: Some("the journal commit writing its copy".into()),
        evidence: vec![ev],
    });
    true
}
