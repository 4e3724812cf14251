//! The `io` scenario (fixtures/kmod `scenario=io`, fixtures/guest/init) on the real dumps of
//! the three releases: a disk (`qhblk`) that stopped completing requests under an ext4 file
//! system, and everything that piles up behind it — `syncfs()` waiting for a journal commit,
//! the jbd2 thread waiting for its journal blocks, a file creation waiting for the journal's
//! copy of its inode-table block (`BH_Shadow`), a write to the disk waiting for its folio's
//! writeback, a mutex held across `submit_bio_wait()`, a task waiting for a free tag, and
//! `rcu_barrier()` behind a sleeping RCU reader. Every object is checked against drgn's
//! read of the same dump (`fixtures/ref/drgn_waits.py`: the disk's in-flight requests found
//! through its hardware contexts and tag bitmaps, the journal found through the mounted
//! super block) and the in-flight count against crash's `dev -d`.
//! Skipped when the fixtures are absent, unless `QUIESCE_REQUIRE_FIXTURES=1`.

mod common;

use common::waits::Case;
use quiesce::analysis::graph::{Basis, Edge, EdgeKind, NodeId, NodeKind};
use serde_json::Value;

fn cases() -> Vec<Case> {
    common::waits::cases("io")
}

fn hex(v: &Value) -> u64 {
    common::hex_or_int(v)
}

fn out_of(c: &Case, from: NodeId) -> &Edge {
    c.graph
        .out_edges(from)
        .next()
        .unwrap_or_else(|| panic!("{}: {} leads nowhere", c.name, c.graph.label(from)))
}

fn disk(c: &Case) -> (NodeId, &Value) {
    let d = &c.drgn["io"]["disk"];
    (NodeId::new(NodeKind::BlockDevice, hex(&d["address"])), d)
}

/// drgn's in-flight request (tag, bios) carrying a bio whose `field` is `value`.
fn request_with(c: &Case, pred: impl Fn(&Value) -> bool) -> &Value {
    disk(c).1["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["bios"].as_array().unwrap().iter().any(&pred))
        .unwrap_or_else(|| panic!("{}: drgn has no such in-flight request", c.name))
}

/// The edge from `obj` to the disk: held up by it, exactly, through `field`.
fn held_by_disk<'a>(c: &'a Case, obj: NodeId, field: &str) -> &'a Edge {
    let io = out_of(c, obj);
    assert_eq!(
        (io.kind, io.to),
        (EdgeKind::HeldUpBy, disk(c).0),
        "{}",
        c.name
    );
    assert_eq!(exact_field(io), field, "{}", c.name);
    io
}

fn exact_field(e: &Edge) -> String {
    match e.basis() {
        Basis::Exact { field } => field,
        b => panic!("edge {:?} → {:?} is not exact: {}", e.from, e.to, b.words()),
    }
}

/// The disk node: the in-flight count and the tag count equal drgn's (and crash's `dev -d`
/// TOTAL where crash reads the dump), every chain to it blames it.
#[test]
fn the_disk_holds_every_request_drgn_and_crash_count() {
    for c in cases() {
        let (id, d) = disk(&c);
        let n = c
            .graph
            .get(id)
            .unwrap_or_else(|| panic!("{}: no node for qhblk", c.name));
        assert_eq!(n.label, "qhblk", "{}", c.name);
        let reqs = d["requests"].as_array().unwrap();
        assert_eq!(d["nr_tags"], 8, "{}", c.name);
        assert_eq!(reqs.len(), 8, "{}: every tag held", c.name);
        assert_eq!(
            n.field("in flight"),
            Some(
                format!(
                    "{} of {} driver tags held by started requests",
                    reqs.len(),
                    d["nr_tags"]
                )
                .as_str()
            ),
            "{}",
            c.name
        );
        for r in reqs {
            let f = n
                .field(&format!("tag {}", r["tag"]))
                .unwrap_or_else(|| panic!("{}: no field for tag {}", c.name, r["tag"]));
            assert!(
                f.contains(&format!("sector {} ", r["sector"])),
                "{}: {f}",
                c.name
            );
            assert!(
                f.contains(&format!("(request {})", r["address"].as_str().unwrap())),
                "{}: {f}",
                c.name
            );
            let op = if r["op"] == 0 { "READ" } else { "WRITE" };
            assert!(f.starts_with(op), "{}: {f}", c.name);
        }
        assert!(
            n.no_waker
                .as_deref()
                .unwrap()
                .starts_with("8 request(s) its driver started")
        );
        if let Some(r) = common::release(&c.name)
            && r.crash_reads("io.elf")
        {
            let dev = r
                .crash_ref("io.elf", "dev_d.txt")
                .unwrap_or_else(|| panic!("{}: crash read io.elf but has no dev -d", c.name));
            let row = dev
                .lines()
                .find(|l| l.split_whitespace().nth(2) == Some("qhblk"))
                .unwrap_or_else(|| panic!("{}: crash dev -d has no qhblk row:\n{dev}", c.name));
            let cols: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(
                u64::from_str_radix(cols[1], 16).ok(),
                Some(id.key),
                "{}: gendisk in {row}",
                c.name
            );
            assert_eq!(
                cols[4],
                reqs.len().to_string(),
                "{}: TOTAL in {row}",
                c.name
            );
            // crash 9 splits the total by direction (older versions: ASYNC / SYNC)
            if dev.contains("TOTAL  READ WRITE") {
                let reads = reqs.iter().filter(|r| r["op"] == 0).count();
                assert_eq!(cols[5], reads.to_string(), "{}: READ in {row}", c.name);
                assert_eq!(
                    cols[6],
                    (reqs.len() - reads).to_string(),
                    "{}: WRITE in {row}",
                    c.name
                );
            }
        }
    }
}

/// The mutex held across I/O: qh_io_waiter → qh_io_mutex → qh_io_holder (owner, exact) →
/// the disk, through the bio whose `bi_private` is the completion on the holder's stack.
#[test]
fn a_mutex_held_across_io_leads_to_the_disk() {
    for c in cases() {
        let (dn, _) = disk(&c);
        let holder = c.task("qh_io_holder");
        let e = c.wait_of("qh_io_waiter");
        assert_eq!(e.to.kind, NodeKind::Mutex, "{}", c.name);
        let own = out_of(&c, e.to);
        assert_eq!(
            (own.kind, own.to),
            (EdgeKind::OwnedBy, holder),
            "{}",
            c.name
        );
        assert_eq!(hex(&c.drgn["io"]["mutex_owner"]), holder.key, "{}", c.name);
        // crash prints the owner word as a signed decimal
        if let Some(r) = common::release(&c.name)
            && r.crash_reads("io.elf")
        {
            let t = r.crash_ref("io.elf", "objects.txt").unwrap();
            let owner = common::crash_value(&t, "p qh_io_mutex", &["owner", "counter"])
                .and_then(|v| v.parse::<i64>().ok())
                .map(|v| v as u64 & !7);
            assert_eq!(
                owner,
                Some(holder.key),
                "{}: crash's qh_io_mutex.owner",
                c.name
            );
        }
        let io = c.wait_of("qh_io_holder");
        assert_eq!(io.to, dn, "{}", c.name);
        assert_eq!(exact_field(io), "bio.bi_private", "{}", c.name);
        // (submit_bio_wait's bi_end_io: bio_wait_end_io on 7.x, submit_bio_wait_endio
        // before)
        let r = request_with(&c, |b| {
            ["submit_bio_wait_endio", "bio_wait_end_io"]
                .contains(&b["end_io"].as_str().unwrap_or(""))
        });
        let bio = &r["bios"][0];
        let ev = io.evidence.iter().find(|e| e.exact).unwrap();
        assert_eq!(ev.address, Some(hex(&bio["address"])), "{}", c.name);
        assert!(
            ev.value
                .as_deref()
                .unwrap()
                .starts_with(bio["private"].as_str().unwrap())
        );
        assert!(
            io.what
                .as_deref()
                .unwrap()
                .contains(&format!("READ request, tag {}, sector 64", r["tag"])),
            "{}: {:?}",
            c.name,
            io.what
        );
        let ex = quiesce::analysis::find::findings(&c.graph);
        let f = ex
            .iter()
            .find(|f| f.tasks.contains(&c.task("qh_io_waiter")))
            .unwrap();
        assert_eq!(f.culprits, vec![dn], "{}", c.name);
        // 7.x: the hung-task blocker word names the mutex, and the edge says so.
        if let Some(raw) = c.drgn_task("qh_io_waiter").get("blocker").map(hex) {
            assert_eq!(raw & !3, e.to.key, "{}", c.name);
            assert_eq!(exact_field(e), "task_struct.blocker", "{}", c.name);
        }
    }
}

/// syncfs() → the journal (drgn's, from the mounted super block) → its commit thread
/// (j_task, exact) → the journal block it waits for (BH_Lock) → the request writing it
/// (bio.bi_private, exact) → the disk.
#[test]
fn a_journal_commit_waits_for_the_disk() {
    for c in cases() {
        let j = &c.drgn["io"]["journal"];
        let jid = NodeId::new(NodeKind::Journal, hex(&j["address"]));
        assert_eq!(j["dev"], "qhblk-8", "{}", c.name);
        assert_eq!(j["task"], "jbd2/qhblk-8", "{}", c.name);
        let e = c.wait_of("sync");
        assert_eq!(e.to, jid, "{}", c.name);
        let n = c.graph.get(jid).unwrap();
        assert_eq!(n.label, "qhblk-8");
        assert_eq!(
            n.field("j_commit_sequence"),
            Some(j["commit_sequence"].to_string().as_str())
        );
        assert_eq!(
            n.field("j_commit_request"),
            Some(j["commit_request"].to_string().as_str())
        );
        let tid = j["committing_tid"]
            .as_u64()
            .expect("a transaction is committing");
        assert!(
            n.field("committing")
                .unwrap()
                .starts_with(&format!("tid {tid}, T_COMMIT")),
            "{}",
            c.name
        );
        let adv = out_of(&c, jid);
        assert_eq!(
            (adv.kind, adv.to),
            (EdgeKind::AdvancedBy, c.task("jbd2/qhblk-8")),
            "{}",
            c.name
        );
        assert_eq!(exact_field(adv), "journal_t.j_task");
        let w = c.wait_of("jbd2/qhblk-8");
        assert_eq!(w.to.kind, NodeKind::BufferIo, "{}", c.name);
        assert_eq!(
            w.what.as_deref(),
            Some("BH_Lock of the buffer"),
            "{}",
            c.name
        );
        let bh = format!("{:#x}", w.to.key);
        // (the buffer's bi_end_io: end_bio_bh_io_sync, jbd2's own
        // journal_end_buffer_io_sync on 7.x)
        let r = request_with(&c, |b| {
            b["private"] == bh.as_str()
                && ["end_bio_bh_io_sync", "journal_end_buffer_io_sync"]
                    .contains(&b["end_io"].as_str().unwrap_or(""))
        });
        let io = held_by_disk(&c, w.to, "bio.bi_private");
        assert!(
            io.what
                .as_deref()
                .unwrap()
                .starts_with(&format!("WRITE request, tag {},", r["tag"])),
            "{}",
            c.name
        );
    }
}

/// A file created in the inode-table block the commit is writing: dd waits on BH_Shadow,
/// held up by the journal (its journal_head's transaction, exact).
#[test]
fn a_shadowed_buffer_waits_for_the_commit() {
    for c in cases() {
        let jid = NodeId::new(NodeKind::Journal, hex(&c.drgn["io"]["journal"]["address"]));
        let w = c.wait_of("dd");
        assert_eq!(w.to.kind, NodeKind::BufferIo, "{}", c.name);
        assert_eq!(
            w.what.as_deref(),
            Some("BH_Shadow of the buffer"),
            "{}",
            c.name
        );
        let h = out_of(&c, w.to);
        assert_eq!((h.kind, h.to), (EdgeKind::HeldUpBy, jid), "{}", c.name);
        assert_eq!(exact_field(h), "journal_head.b_transaction");
    }
}

/// A page of the disk written and fsync'ed: the folio under writeback is carried by an
/// in-flight request (bv_page, exact), and the folio is named by its disk and index.
#[test]
fn a_writeback_wait_names_the_request() {
    for c in cases() {
        let w = c.wait_of("busybox");
        assert_eq!(w.to.kind, NodeKind::Writeback, "{}", c.name);
        assert!(
            c.graph
                .label(w.to)
                .ends_with("(block device qhblk index 4000)"),
            "{}: {}",
            c.name,
            c.graph.label(w.to)
        );
        let folio = format!("{:#x}", w.to.key);
        let r = request_with(&c, |b| {
            b["pages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == folio.as_str())
        });
        assert_eq!(r["sector"], 32000, "{}: block 4000 of 4 KiB", c.name);
        held_by_disk(&c, w.to, "bio.bi_io_vec[].bv_page");
    }
}

/// The tags used up: qh_io_tags waits in blk_mq_get_tag on the disk's own tag bitmap.
#[test]
fn a_tag_waiter_waits_on_the_disk() {
    for c in cases() {
        let w = c.wait_of("qh_io_tags");
        assert_eq!(w.to, disk(&c).0, "{}", c.name);
        assert_eq!(w.what.as_deref(), Some("a free tag"), "{}", c.name);
        let ev = w
            .evidence
            .iter()
            .find(|e| e.field.as_deref() == Some("sbq_wait.sbq"))
            .unwrap();
        assert!(
            ev.note.as_deref().unwrap().contains("8 of its 8 tags"),
            "{}",
            c.name
        );
    }
}

/// rcu_barrier() waits for the grace period the sleeping reader holds (drgn finds the
/// reader on an rcu_node's blkd_tasks list).
#[test]
fn rcu_barrier_waits_for_the_grace_period() {
    for c in cases() {
        let w = c.wait_of("qh_rcu_barrier");
        assert_eq!(w.to.kind, NodeKind::RcuGp, "{}", c.name);
        let held: Vec<NodeId> = c
            .graph
            .out_edges(w.to)
            .filter(|e| e.kind == EdgeKind::HeldUpBy)
            .map(|e| e.to)
            .collect();
        assert_eq!(
            c.drgn["io"]["rcu_blocked_readers"],
            serde_json::json!(["qh_io_rcu_rd"]),
            "{}",
            c.name
        );
        assert!(
            held.contains(&c.task("qh_io_rcu_rd")),
            "{}: {held:?}",
            c.name
        );
    }
}

/// The disks cannot be listed (the block-device super block's inode list damaged in a copy
/// of the bookworm io dump): the graph says so instead of silently losing the edges from
/// buffers and folios to their requests, and `explain` is partial.
#[test]
fn unreadable_block_devices_are_said_not_skipped() {
    use common::corpus::{NOWHERE, Recipe, elf_loads, kva_offset, lvalue};
    let Some(rel) = common::release("bookworm") else {
        return;
    };
    let elf = rel.elf_of("io").expect("the io ELF dump");
    let k = rel.open(&elf.path);
    let (at, _) = lvalue(&k, &["&blockdev_superblock->s_inodes.next".to_string()])
        .expect("blockdev_superblock");
    let off = kva_offset(&k, &elf_loads(&elf.path), at, 8).expect("in the ELF");
    let mut r = Recipe::new(
        "block",
        &elf.path,
        "s_inodes",
        "inode list into nowhere".into(),
    );
    r.patches = vec![(off, NOWHERE.to_le_bytes().to_vec())];
    let dir = common::corpus_run::work_dir().join("io");
    let copy = r.materialize(&rel, &dir).unwrap();
    let (code, out, err) = common::run_quiesce(&[
        "explain",
        "-c",
        &copy.core.display().to_string(),
        "-s",
        &rel.vmlinux().display().to_string(),
        "-s",
        &rel.modules_dir().display().to_string(),
    ]);
    copy.remove();
    assert_eq!(code, 2, "{err}\n{out}");
    assert!(
        out.contains("block devices: block device inodes:") && out.contains("0xffffdeadbeef0000"),
        "{out}"
    );
}
