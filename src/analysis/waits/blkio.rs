//! Block I/O: the requests a disk's driver has started and not completed, and the tasks
//! that wait for them (`submit_bio_wait()`, a free tag in `blk_mq_get_tag()`; buffer heads
//! and folio writeback link here from [`super::buffer`] and [`super::folio`]).
//!
//! Teaching note: a bio (one I/O: a sector, pages, `bi_private`, `bi_end_io`) becomes a
//! `struct request` that holds a *tag*, one of the hardware queue's `queue_depth` slots
//! (`blk_mq_tags.rqs[tag]`). The driver is handed the request (`queue_rq`), starts it
//! (`state = MQ_RQ_IN_FLIGHT`) and completes it when the device answers: the bio's
//! `bi_end_io` runs and wakes whoever waits — `submit_bio_wait()`'s on-stack completion, a
//! buffer head's `BH_Lock`, a folio's `PG_writeback`. A request that is never completed
//! keeps its tag; once every tag is kept, new I/O waits in `blk_mq_get_tag()`. Who waits
//! for which request is exact: the bio's `bi_private` is the waiter's completion or
//! buffer head, its pages are the folio.
//!
//! Disks come from `blockdev_superblock`'s inodes (each a `struct bdev_inode` holding a
//! `block_device`; a whole disk is its gendisk's `part0`); a disk's requests from its tag
//! set, `request_queue.tag_set->tags[hw queue]->rqs[tag]`, kept when `rq->q` is the disk's
//! queue and `rq->state` is in flight — what crash's `dev -d` counts. Requests still inside
//! an I/O scheduler hold no driver tag and are not listed.
//!
//! Tested on the fixtures' `io` scenario: the module's `qhblk` disk stops completing
//! requests under an ext4 file system.

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};
use crate::kernel::Kernel;
use crate::kernel::tasks::duration_words;

/// Bounds on what a damaged dump can make us read.
const MAX_DISKS: usize = 4096;
const MAX_HW_QUEUES: u64 = 1024;
const MAX_TAGS: u64 = 1 << 16;
const MAX_BIOS: usize = 256;
const MAX_VECS: u64 = 256;

/// Offsets of the block layer's structures (probed in `analysis::layout`).
#[derive(Debug, Clone)]
pub struct BlockLayout {
    pub rq_q: u64,
    pub rq_cmd_flags: u64,
    pub rq_tag: u64,
    pub rq_state: u64,
    pub rq_start_ns: Option<u64>,
    pub rq_data_len: u64,
    pub rq_sector: u64,
    pub rq_bio: u64,
    pub q_tag_set: u64,
    pub set_tags: u64,
    pub set_nr_hw: u64,
    pub tags_nr: u64,
    pub tags_rqs: u64,
    /// `blk_mq_tags.bitmap_tags` and `.breserved_tags`: embedded `sbitmap_queue`s since
    /// 5.16 (commit ae0f1a732f4a "blk-mq: Stop using pointers for blk_mq_tags bitmap
    /// tags"); before, pointers (then a tag waiter is not matched to its disk).
    pub tags_bitmaps: Vec<u64>,
    pub disk_name: u64,
    pub disk_queue: u64,
    pub disk_part0: u64,
    pub bio_next: u64,
    /// `bio.bi_bdev` (5.12+, commit 309dca309fc3 "block: store a block_device pointer in
    /// struct bio"; `bi_disk` before: not read).
    pub bio_bdev: u64,
    pub bio_private: u64,
    pub bio_sector: u64,
    pub bio_io_vec: u64,
    pub bio_vcnt: u64,
    pub bvec_size: u64,
    pub bv_page: u64,
    pub bd_disk: u64,
    /// `struct bdev_inode.{bdev, vfs_inode}`.
    pub bdev_inode: (u64, u64),
    pub i_sb_list: u64,
    pub s_inodes: u64,
    /// `struct sbq_wait.{sbq, wait}`: a tag waiter's entry and the bitmap it waits on.
    pub sbq_wait: Option<(u64, u64)>,
    /// `MQ_RQ_IN_FLIGHT`.
    pub in_flight: u32,
    /// `enum req_op` values and names (`cmd_flags & REQ_OP_MASK`, the low 8 bits since
    /// 4.10, commit ef295ecf090d "block: better op and flags encoding").
    pub ops: Vec<(u32, String)>,
}

/// One bio of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BioInfo {
    pub addr: u64,
    pub private: u64,
    /// `bv_page` of each segment (a folio's head page is the folio).
    pub pages: Vec<u64>,
}

/// A request the driver has started and not completed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub addr: u64,
    pub hw_queue: usize,
    pub tag: i32,
    pub op: String,
    pub sector: u64,
    pub bytes: u32,
    /// `start_time_ns` (ktime), 0 when the queue keeps no I/O statistics.
    pub start_ns: u64,
    pub bios: Vec<BioInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disk {
    /// The `struct gendisk`.
    pub addr: u64,
    pub name: String,
    pub queue: u64,
    /// Each hardware queue's `struct blk_mq_tags` (driver tags).
    pub tags: Vec<u64>,
    /// Tags of all hardware queues.
    pub nr_tags: u64,
    pub requests: Vec<Request>,
    /// Why the requests could not all be read.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Disks {
    pub disks: Vec<Disk>,
    /// The scheduler clock's latest value (≈ ktime on these machines), for ages.
    pub now_ns: Option<u64>,
    pub error: Option<String>,
}

impl Disks {
    /// The first in-flight bio `pred` accepts: (disk, request, bio) indices.
    pub fn find(&self, pred: impl Fn(&BioInfo) -> bool) -> Option<(usize, usize, usize)> {
        self.disks.iter().enumerate().find_map(|(d, disk)| {
            disk.requests
                .iter()
                .enumerate()
                .find_map(|(r, rq)| rq.bios.iter().position(&pred).map(|b| (d, r, b)))
        })
    }

    /// How long ago request `rq` started, when the queue timestamps requests.
    pub fn age_ns(&self, rq: &Request) -> Option<u64> {
        (rq.start_ns != 0)
            .then_some(())
            .and(self.now_ns)
            .and_then(|n| n.checked_sub(rq.start_ns))
    }
}

/// Every whole disk of the dump with its in-flight requests.
pub fn read_disks(k: &Kernel, l: &BlockLayout) -> Disks {
    let mut out = Disks {
        now_ns: k.sched_clock_now(),
        ..Default::default()
    };
    let sb = match k
        .symbol_addr("blockdev_superblock")
        .and_then(|a| Ok(k.read_u64(a, "blockdev_superblock")?))
    {
        Ok(s) if s != 0 => s,
        Ok(_) => {
            out.error = Some("blockdev_superblock is NULL".into());
            return out;
        }
        Err(e) => {
            out.error = Some(format!("blockdev_superblock: {e}"));
            return out;
        }
    };
    let walk = k.list_walk(Kva(sb + l.s_inodes), "blockdev_superblock.s_inodes");
    if let Some(e) = &walk.error {
        out.error = Some(format!("block device inodes: {e}"));
    }
    let (bdev_off, inode_off) = l.bdev_inode;
    // Block devices that could not be read: how many, and the first reason.
    let mut unread = (0usize, String::new());
    for node in walk.nodes {
        let Some(bdev) = (node.0 + bdev_off).checked_sub(l.i_sb_list + inode_off) else {
            continue;
        };
        let disk = match k.read_u64(Kva(bdev + l.bd_disk), "block_device.bd_disk") {
            Ok(d) => d,
            Err(e) => {
                if unread.0 == 0 {
                    unread.1 = e.to_string();
                }
                unread.0 += 1;
                continue;
            }
        };
        if disk == 0 || k.read_u64(Kva(disk + l.disk_part0), "gendisk.part0") != Ok(bdev) {
            continue;
        }
        if out.disks.iter().any(|d| d.addr == disk) {
            continue;
        }
        if out.disks.len() >= MAX_DISKS {
            out.error = Some(format!("more than {MAX_DISKS} disks: the rest not read"));
            break;
        }
        out.disks.push(read_disk(k, l, disk));
    }
    if unread.0 > 0 {
        let msg = format!("{} block devices not read (first: {})", unread.0, unread.1);
        out.error = Some(match out.error.take() {
            Some(e) => format!("{e}; {msg}"),
            None => msg,
        });
    }
    out
}

fn read_disk(k: &Kernel, l: &BlockLayout, disk: u64) -> Disk {
    let rd = |a: u64, what: &str| k.read_u64(Kva(a), what);
    let mut d = Disk {
        addr: disk,
        name: k
            .read_cstr(Kva(disk + l.disk_name), 32, "gendisk.disk_name")
            .unwrap_or_else(|_| format!("disk {disk:#x}")),
        ..Default::default()
    };
    let set = (|| {
        d.queue = rd(disk + l.disk_queue, "gendisk.queue")?;
        rd(d.queue + l.q_tag_set, "request_queue.tag_set")
    })();
    let set = match set {
        Ok(s) if s != 0 => s,
        // bio-based drivers (device mapper, md, …) have no tag set: nothing to list
        Ok(_) => return d,
        Err(e) => {
            d.error = Some(e.to_string());
            return d;
        }
    };
    let nr_hw = match k.read_u32(Kva(set + l.set_nr_hw), "blk_mq_tag_set.nr_hw_queues") {
        Ok(n) => n as u64,
        Err(e) => {
            d.error = Some(e.to_string());
            return d;
        }
    };
    let Ok(tags_arr) = rd(set + l.set_tags, "blk_mq_tag_set.tags") else {
        d.error = Some("blk_mq_tag_set.tags unreadable".into());
        return d;
    };
    for hw in 0..nr_hw.min(MAX_HW_QUEUES) {
        let Ok(tags) = rd(tags_arr + 8 * hw, "blk_mq_tag_set.tags[]") else {
            d.error = Some(format!("tags of hardware queue {hw} unreadable"));
            continue;
        };
        // shared tags (BLK_MQ_F_TAG_HCTX_SHARED): the same blk_mq_tags for every queue
        if tags == 0 || d.tags.contains(&tags) {
            continue;
        }
        d.tags.push(tags);
        let read = (|| {
            let nr =
                (k.read_u32(Kva(tags + l.tags_nr), "blk_mq_tags.nr_tags")? as u64).min(MAX_TAGS);
            let rqs = rd(tags + l.tags_rqs, "blk_mq_tags.rqs")?;
            let mut buf = vec![0u8; (nr * 8) as usize];
            if nr > 0 && rqs != 0 {
                k.read(Kva(rqs), &mut buf, "blk_mq_tags.rqs[]")?;
            }
            Ok::<_, crate::translate::ReadError>((nr, buf))
        })();
        let (nr, buf) = match read {
            Ok(r) => r,
            Err(e) => {
                d.error = Some(format!("requests of hardware queue {hw}: {e}"));
                continue;
            }
        };
        d.nr_tags += nr;
        for w in buf.chunks_exact(8) {
            let rq = u64::from_le_bytes(w.try_into().unwrap());
            if rq == 0 || !k.mem.xlat.is_kernel_ptr(rq) {
                continue;
            }
            if rd(rq + l.rq_q, "request.q") != Ok(d.queue)
                || k.read_u32(Kva(rq + l.rq_state), "request.state") != Ok(l.in_flight)
                || d.requests.iter().any(|r| r.addr == rq)
            {
                continue;
            }
            d.requests.push(read_request(k, l, rq, hw as usize));
        }
    }
    d.requests.sort_by_key(|r| (r.hw_queue, r.tag));
    d
}

fn read_request(k: &Kernel, l: &BlockLayout, rq: u64, hw: usize) -> Request {
    let rd = |a: u64, what: &str| k.read_u64(Kva(a), what).unwrap_or(0);
    let flags = k
        .read_u32(Kva(rq + l.rq_cmd_flags), "request.cmd_flags")
        .unwrap_or(0);
    let op = flags & 0xff;
    let mut r = Request {
        addr: rq,
        hw_queue: hw,
        tag: k.read_i32(Kva(rq + l.rq_tag), "request.tag").unwrap_or(-1),
        op: l
            .ops
            .iter()
            .find(|(v, _)| *v == op)
            .map_or_else(|| format!("op {op}"), |(_, n)| n.clone()),
        sector: rd(rq + l.rq_sector, "request.__sector"),
        bytes: k
            .read_u32(Kva(rq + l.rq_data_len), "request.__data_len")
            .unwrap_or(0),
        start_ns: l
            .rq_start_ns
            .map_or(0, |o| rd(rq + o, "request.start_time_ns")),
        bios: Vec::new(),
    };
    let mut bio = rd(rq + l.rq_bio, "request.bio");
    while bio != 0 && r.bios.len() < MAX_BIOS && !r.bios.iter().any(|b| b.addr == bio) {
        let vecs = rd(bio + l.bio_io_vec, "bio.bi_io_vec");
        let n = k
            .read_u32(Kva(bio + l.bio_vcnt), "bio.bi_vcnt")
            .map_or(0, |v| (v & 0xffff) as u64)
            .min(MAX_VECS);
        let pages = (0..n)
            .filter_map(|i| {
                k.read_u64(Kva(vecs + i * l.bvec_size + l.bv_page), "bio_vec.bv_page")
                    .ok()
            })
            .collect();
        r.bios.push(BioInfo {
            addr: bio,
            private: rd(bio + l.bio_private, "bio.bi_private"),
            pages,
        });
        bio = rd(bio + l.bio_next, "bio.bi_next");
    }
    r
}

/// The name of the disk a `struct block_device` at `bdev` belongs to (`bd_disk->disk_name`).
pub fn bdev_disk_name(cx: &Ctx, bdev: u64) -> Option<String> {
    let l = cx.block_layout()?;
    let k = cx.k;
    let disk = k
        .read_u64(Kva(bdev + l.bd_disk), "block_device.bd_disk")
        .ok()
        .filter(|&d| k.mem.xlat.is_kernel_ptr(d))?;
    k.read_cstr(Kva(disk + l.disk_name), 32, "gendisk.disk_name")
        .ok()
}

/// The node of disk `d`: its requests in flight, and why nothing completes them.
pub fn disk_node(cx: &Ctx, g: &mut Graph, d: usize) -> Option<NodeId> {
    let ds = cx.disks()?;
    let disk = ds.disks.get(d)?;
    let id = NodeId::new(NodeKind::BlockDevice, disk.addr);
    if g.get(id).is_some() {
        return Some(id);
    }
    let oldest = disk
        .requests
        .iter()
        .filter_map(|r| ds.age_ns(r).map(|a| (a, r)))
        .max_by_key(|(a, _)| *a);
    let n = g.node(id, disk.name.clone());
    n.fields
        .push(("gendisk".into(), format!("{:#x}", disk.addr)));
    n.fields
        .push(("queue".into(), format!("{:#x}", disk.queue)));
    n.fields.push((
        "in flight".into(),
        format!(
            "{} of {} driver tags held by started requests",
            disk.requests.len(),
            disk.nr_tags
        ),
    ));
    for r in disk.requests.iter().take(8) {
        n.fields.push((
            format!("tag {}", r.tag),
            format!(
                "{} sector {} +{} bytes{} (request {:#x})",
                r.op,
                r.sector,
                r.bytes,
                ds.age_ns(r)
                    .map(|a| format!(", started {} ago", duration_words(a)))
                    .unwrap_or_default(),
                r.addr
            ),
        ));
    }
    if let Some(e) = &disk.error {
        n.fields.push(("partial".into(), e.clone()));
    }
    n.no_waker = Some(format!(
        "{} request(s) its driver started are still outstanding{}: a request ends only when the device answers and the driver completes it (or its timeout handler gives up), and nothing in the dump shows either — look at the device, what emulates or serves it, and the driver's timeout handling",
        disk.requests.len(),
        oldest
            .map(|(a, _)| format!(", the oldest for {}", duration_words(a)))
            .unwrap_or_default()
    ));
    Some(id)
}

/// Words and evidence for request `r` of disk `d` carrying bio `b`.
fn request_evidence(
    ds: &Disks,
    (d, r, b): (usize, usize, usize),
    field: &str,
    value: String,
) -> (String, Evidence) {
    let disk = &ds.disks[d];
    let rq = &disk.requests[r];
    let bio = &rq.bios[b];
    let what = format!(
        "{} request, tag {}, sector {}{}",
        rq.op,
        rq.tag,
        rq.sector,
        ds.age_ns(rq)
            .map(|a| format!(", started {} ago", duration_words(a)))
            .unwrap_or_default()
    );
    let mut ev = Evidence::exact(field, value, Some(bio.addr));
    ev.note = Some(format!(
        "bio {:#x} is in request {:#x}, which {}'s driver started (MQ_RQ_IN_FLIGHT, blk_mq_tags.rqs[{}]) and has not completed",
        bio.addr, rq.addr, disk.name, rq.tag
    ));
    (what, ev)
}

/// Link `obj` (a buffer head, a folio under writeback) to the disk whose in-flight
/// request carries it: a bio whose `bi_private` is `private`, or whose pages hold `page`.
/// False when no in-flight request does.
pub fn link_object(
    cx: &Ctx,
    g: &mut Graph,
    obj: NodeId,
    private: Option<u64>,
    page: Option<u64>,
) -> bool {
    let Some(ds) = cx.disks() else {
        return false;
    };
    let found = ds.find(|b| {
        private.is_some_and(|p| b.private == p) || page.is_some_and(|p| b.pages.contains(&p))
    });
    let Some((d, r, b)) = found else {
        // Say why the request may be missing: the disks could not all be read.
        if let Some(e) = &ds.error {
            let msg = format!("block devices: {e}");
            if !g.errors.contains(&msg) {
                g.errors.push(msg);
            }
        }
        return false;
    };
    let (field, value) = match private {
        Some(p) if ds.disks[d].requests[r].bios[b].private == p => {
            ("bio.bi_private", format!("{p:#x} ({})", g.label(obj)))
        }
        _ => (
            "bio.bi_io_vec[].bv_page",
            format!("{:#x} ({})", page.unwrap_or(0), g.label(obj)),
        ),
    };
    let (what, ev) = request_evidence(ds, (d, r, b), field, value);
    let Some(dn) = disk_node(cx, g, d) else {
        return false;
    };
    g.edge(Edge {
        from: obj,
        to: dn,
        kind: EdgeKind::HeldUpBy,
        candidate: false,
        what: Some(what),
        evidence: vec![ev],
    });
    true
}

/// Frames of a task that submitted a bio and waits for it.
pub const BIO_WAIT_FRAMES: &[&str] = &["submit_bio_wait", "bio_await", "blk_wait_io"];
/// Frames of a task waiting for a free tag.
pub const TAG_FRAMES: &[&str] = &["blk_mq_get_tag"];

/// Task `ti` in `submit_bio_wait()` (its bio's `bi_private` is on its own stack) or in
/// `blk_mq_get_tag()` (its `sbq_wait` waits on a disk's tag bitmap) → the disk.
pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    if let Some(fi) = cx.find_frame(ti, BIO_WAIT_FRAMES) {
        return decode_bio_wait(cx, ti, fi, g);
    }
    if let Some(fi) = cx.find_frame(ti, TAG_FRAMES) {
        return decode_tag_wait(cx, ti, fi, g);
    }
    false
}

fn decode_bio_wait(cx: &Ctx, ti: usize, fi: usize, g: &mut Graph) -> bool {
    let Some(ds) = cx.disks() else {
        return false;
    };
    let Some((d, r, b)) = ds.find(|b| cx.on_stack_of(ti, b.private)) else {
        return false;
    };
    let private = ds.disks[d].requests[r].bios[b].private;
    let (what, ev) = request_evidence(
        ds,
        (d, r, b),
        "bio.bi_private",
        format!(
            "{private:#x} (the completion on the stack of {})",
            cx.task_label(ti)
        ),
    );
    let evidence = vec![cx.frame_ev(ti, fi, BIO_WAIT_FRAMES), ev];
    wait_on_disk(cx, g, ti, d, format!("its bio: {what}"), evidence)
}

/// Task `ti` waits on disk `d`: the edge, with what it waits for and why.
fn wait_on_disk(
    cx: &Ctx,
    g: &mut Graph,
    ti: usize,
    d: usize,
    what: String,
    evidence: Vec<Evidence>,
) -> bool {
    let t = cx.task_node(g, ti);
    let Some(dn) = disk_node(cx, g, d) else {
        return false;
    };
    g.edge(Edge {
        from: t,
        to: dn,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some(what),
        evidence,
    });
    true
}

fn decode_tag_wait(cx: &Ctx, ti: usize, fi: usize, g: &mut Graph) -> bool {
    let (Some(l), Some(ds)) = (cx.block_layout(), cx.disks()) else {
        return false;
    };
    let Some((sbq_off, wait_off)) = l.sbq_wait else {
        return false;
    };
    let Some((e, _)) = cx.find_wait_entry(ti, fi + 1) else {
        return false;
    };
    let Some(sbq) = e
        .checked_sub(wait_off)
        .and_then(|w| cx.k.read_u64(Kva(w + sbq_off), "sbq_wait.sbq").ok())
    else {
        return false;
    };
    let found = ds.disks.iter().enumerate().find_map(|(d, disk)| {
        disk.tags.iter().find_map(|&tags| {
            l.tags_bitmaps
                .iter()
                .any(|&o| tags + o == sbq)
                .then_some((d, tags))
        })
    });
    let Some((d, tags)) = found else {
        return false;
    };
    let disk = &ds.disks[d];
    let mut ev = Evidence::field(
        "sbq_wait.sbq",
        format!("{sbq:#x} (the tag bitmap of blk_mq_tags {tags:#x})"),
        Some(e - wait_off + sbq_off),
    );
    ev.note = Some(format!(
        "on-stack sbq_wait at {:#x} waits for a free tag of {}: {} of its {} tags are held by requests its driver started",
        e - wait_off,
        disk.name,
        disk.requests.len(),
        disk.nr_tags
    ));
    let evidence = vec![cx.frame_ev(ti, fi, TAG_FRAMES), ev];
    wait_on_disk(cx, g, ti, d, "a free tag".into(), evidence)
}
