//! Page-cache folio waits: `folio_lock()` and `folio_wait_writeback()` (`__lock_page()`,
//! `wait_on_page_writeback()` before folios) → the folio, its file and who may hold it.
//!
//! Teaching note: a folio's lock is one bit of its flags (`PG_locked`), and writeback
//! another (`PG_writeback`). A task that wants either puts an on-stack
//! `struct wait_page_queue { folio, bit_nr, wait }` on one of 256 hashed wait queues
//! (`folio_waitqueue()`: `folio_wait_table[hash_ptr(folio)]`) and sleeps in
//! `folio_wait_bit_common()` until the bit clears (mm/filemap.c). The kernel records no
//! owner for either bit: a folio stays locked while I/O runs on it (read, or a filesystem
//! holding it across a call that blocks) and whoever locked it must call
//! `folio_unlock()`. So the folio and its file are named exactly (from the waiter's own
//! `wait_page_queue`), and the holder is a candidate: a task whose stack holds the folio's
//! address.
//!
//! Tested on the fixtures' `waits` scenario (`qh_folio_holder` locks the first folio of
//! `/waits/file` and sleeps; `qh_folio_waiter` waits in `folio_lock()`) and `io` scenario
//! (a write to the stalled disk waits in `folio_wait_writeback()`: the in-flight request
//! whose bio carries the folio is named, [`super::blkio::link_object`]).
//!
//! The entry is found like any wait-queue sleeper ([`super::waitqueue::find_entry`]);
//! `container_of` it gives the `wait_page_queue`. The file: `folio->mapping->host` (the
//! inode), one of its dentries (`i_dentry`) and their parents, and the superblock's `s_id`.

use super::Ctx;
use crate::addr::Kva;
use crate::analysis::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

pub const FRAMES: &[&str] = &[
    "folio_wait_bit_common",
    "folio_wait_bit",
    "folio_wait_bit_killable",
    "__folio_lock",
    "__folio_lock_killable",
    "__folio_lock_or_retry",
    "folio_wait_writeback",
    "folio_wait_stable",
    "wait_on_page_bit_common",
    "__lock_page",
    "__lock_page_killable",
    "wait_on_page_writeback",
];

/// `PG_locked` is the first page flag (include/linux/page-flags.h `enum pageflags`).
const PG_LOCKED: u32 = 0;
/// Dentry parents followed when naming a file.
const MAX_DEPTH: usize = 32;

/// Offsets for folio waits and for naming a folio's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolioLayout {
    /// `wait_page_queue.folio` (or `.page` before 5.16).
    pub wpq_obj: u64,
    pub wpq_bit: u64,
    pub wpq_wait: u64,
    pub is_folio: bool,
    /// In `struct folio` (or `struct page`).
    pub flags: u64,
    pub mapping: u64,
    pub index: u64,
    /// `address_space.host`.
    pub host: u64,
    pub i_ino: u64,
    pub i_sb: u64,
    pub i_dentry: u64,
    /// `dentry.d_u.d_alias` (its node in the inode's `i_dentry`).
    pub d_alias: u64,
    pub d_parent: u64,
    /// `dentry.d_name.name`.
    pub d_name: u64,
    pub s_id: u64,
    /// `PG_writeback` from the kernel's `enum pageflags` (its value moves between releases).
    pub pg_writeback: Option<u32>,
}

/// What a folio is, as far as the dump tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolioInfo {
    pub flags: u64,
    pub index: u64,
    pub mapping: u64,
    pub ino: Option<u64>,
    /// The inode (`mapping->host`).
    pub inode: Option<u64>,
    /// `s_id` of the superblock (`sda1`, `tmpfs`, `rootfs`).
    pub sb: Option<String>,
    /// The file's path from its dentries (`/waits/file`), when it has one.
    pub path: Option<String>,
}

/// Read the folio at `folio`: flags, index, and its file through mapping → inode → dentry.
pub fn folio_info(cx: &Ctx, l: &FolioLayout, folio: u64) -> Option<FolioInfo> {
    let k = cx.k;
    let rd = |a: u64, what: &str| k.read_u64(Kva(a), what).ok();
    let mut fi = FolioInfo {
        flags: rd(folio + l.flags, "folio.flags")?,
        index: rd(folio + l.index, "folio.index").unwrap_or(0),
        mapping: rd(folio + l.mapping, "folio.mapping").unwrap_or(0),
        ..Default::default()
    };
    // An anonymous folio's mapping has bit 0 set (PAGE_MAPPING_ANON): no file.
    if fi.mapping == 0 || fi.mapping & 1 != 0 || !k.mem.xlat.is_kernel_ptr(fi.mapping) {
        return Some(fi);
    }
    let Some(inode) = rd(fi.mapping + l.host, "address_space.host").filter(|&i| i != 0) else {
        return Some(fi);
    };
    fi.inode = Some(inode);
    fi.ino = rd(inode + l.i_ino, "inode.i_ino");
    if let Some(sb) = rd(inode + l.i_sb, "inode.i_sb").filter(|&s| s != 0) {
        fi.sb = k.read_cstr(Kva(sb + l.s_id), 32, "super_block.s_id").ok();
    }
    let first = rd(inode + l.i_dentry, "inode.i_dentry.first").filter(|&d| d != 0);
    if let Some(node) = first {
        let mut d = node.wrapping_sub(l.d_alias);
        let mut parts = Vec::new();
        for _ in 0..MAX_DEPTH {
            let Some(name) = rd(d + l.d_name, "dentry.d_name.name")
                .and_then(|p| k.read_cstr(Kva(p), 256, "dentry name").ok())
            else {
                break;
            };
            let parent = rd(d + l.d_parent, "dentry.d_parent").unwrap_or(d);
            if parent == d || name == "/" {
                break;
            }
            parts.push(name);
            d = parent;
        }
        if !parts.is_empty() {
            parts.reverse();
            fi.path = Some(format!("/{}", parts.join("/")));
        }
    }
    Some(fi)
}

/// A block device's own page cache (its inode is in the `bdev` pseudo file system and has
/// no dentry): `block device <disk>`, from `struct bdev_inode`.
fn bdev_name(cx: &Ctx, i: &FolioInfo) -> Option<String> {
    let b = cx.block_layout()?;
    if i.sb.as_deref() != Some("bdev") {
        return None;
    }
    let bdev = (i.inode? + b.bdev_inode.0).checked_sub(b.bdev_inode.1)?;
    let name = super::blkio::bdev_disk_name(cx, bdev)?;
    Some(format!("block device {name}"))
}

pub fn decode(cx: &Ctx, ti: usize, g: &mut Graph) -> bool {
    let Some(l) = cx.l.folio else {
        return false;
    };
    let Some(fi) = cx.find_frame(ti, FRAMES) else {
        return false;
    };
    let k = cx.k;
    let read = |a: u64| k.read_u64(Kva(a), "wait_page_queue").ok();
    let frame = cx.frame_ev(ti, fi, FRAMES);
    let t = cx.task_node(g, ti);
    let found = cx.find_wait_entry(ti, fi + 1).and_then(|(e, _)| {
        let q = e.checked_sub(l.wpq_wait)?;
        let folio = read(q + l.wpq_obj).filter(|&f| k.mem.xlat.is_kernel_ptr(f))?;
        let bit = k
            .read_u32(Kva(q + l.wpq_bit), "wait_page_queue.bit_nr")
            .ok()?;
        Some((e, q, folio, bit))
    });
    let Some((e, q, folio, bit)) = found else {
        if let Some(n) = g.get_mut(t) {
            n.fields.push((
                "wait".into(),
                "folio: its wait_page_queue was not found on the stack".into(),
            ));
        }
        return true;
    };
    let obj = if l.is_folio { "folio" } else { "page" };
    let writeback = l.pg_writeback == Some(bit);
    let (kind, what) = if bit == PG_LOCKED {
        (NodeKind::PageLock, format!("{obj} lock (PG_locked)"))
    } else if writeback {
        (
            NodeKind::Writeback,
            format!("{obj} writeback (PG_writeback)"),
        )
    } else {
        (NodeKind::PageLock, format!("{obj} flag bit {bit}"))
    };
    let info = folio_info(cx, &l, folio);
    let name = info
        .as_ref()
        .and_then(|i| {
            let file = i.path.clone().or_else(|| bdev_name(cx, i))?;
            Some(format!("{file} index {}", i.index))
        })
        .unwrap_or_else(|| "no file".into());
    let id = NodeId::new(kind, folio);
    let fresh = g.get(id).is_none();
    let n = g.node(id, format!("{obj} {folio:#x} ({name})"));
    if fresh {
        n.fields.push(("address".into(), format!("{folio:#x}")));
        if let Some(i) = &info {
            n.fields.push(("flags".into(), format!("{:#x}", i.flags)));
            n.fields.push(("index".into(), i.index.to_string()));
            n.fields
                .push(("mapping".into(), format!("{:#x}", i.mapping)));
            if let Some(ino) = i.ino {
                n.fields.push(("inode".into(), ino.to_string()));
            }
            if let Some(sb) = &i.sb {
                n.fields.push(("superblock".into(), sb.clone()));
            }
            if let Some(p) = &i.path {
                n.fields.push(("file".into(), p.clone()));
            }
        }
    }
    let mut ev = Evidence::field(
        "wait_page_queue.folio",
        format!("{folio:#x} (bit_nr {bit})"),
        Some(q + l.wpq_obj),
    );
    ev.note = Some(format!(
        "on-stack wait_page_queue at {q:#x} (its wait entry at {e:#x} names this task) waits for bit {bit} of the {obj}'s flags to clear"
    ));
    g.edge(Edge {
        from: t,
        to: id,
        kind: EdgeKind::WaitsOn,
        candidate: false,
        what: Some(what),
        evidence: vec![frame, ev],
    });
    if !fresh {
        return true;
    }
    if let Some(i) = &info
        && i.flags >> bit & 1 == 0
    {
        if let Some(n) = g.get_mut(id) {
            n.no_waker = Some(format!(
                "bit {bit} is clear in flags {:#x}: released, the waiter is about to be woken",
                i.flags
            ));
        }
        return true;
    }
    // Writeback ends when the bio carrying the folio completes: an in-flight request
    // holding it is exactly what the waiter waits for.
    if writeback && super::blkio::link_object(cx, g, id, None, Some(folio)) {
        return true;
    }
    let found = super::rwsem::stack_candidates(cx, g, id, folio, &[]);
    if found == 0
        && let Some(n) = g.get_mut(id)
    {
        n.no_waker = Some(format!(
            "a {obj}'s {} records no owner, and no task's stack holds the {obj}'s address",
            if writeback { "writeback" } else { "lock" }
        ));
    }
    true
}
