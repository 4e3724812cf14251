//! Classic and Tiny SRCU (no Debian kernel has them): layouts from committed gcc objects
//! (`tests/data/srcu/`, see its README), memory laid out here in an ELF core, decoded
//! through the same `SrcuDecoder::decode` as real dumps.

use super::srcu::SrcuDecoder;
use crate::addr::Kva;
use crate::debuginfo::DebugInfo;
use crate::kernel::{Kernel, OpenOptions, open::open_with};
use std::path::PathBuf;

/// The kernel image mapping with phys_base 0: KVA 0xffffffff80000000 + x is physical x.
const BASE: u64 = 0xffff_ffff_8010_0000;
const PHYS: u64 = 0x10_0000;

fn kernel(obj: &str, mem: Vec<u8>) -> Kernel {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/srcu")
        .join(obj);
    let di = DebugInfo::open_vmlinux(&path).unwrap();
    let dump = crate::dump::test_elf_core(&[(PHYS, BASE, mem)], "OSRELEASE=test\nPAGESIZE=4096\n");
    open_with(dump, di, &OpenOptions::default()).unwrap()
}

fn off(di: &DebugInfo, ty: &str, path: &str) -> usize {
    let t = di.find_type(ty).unwrap();
    di.member(t, path).unwrap().offset as usize
}

fn put(mem: &mut [u8], at: usize, v: u64) {
    mem[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn classic_srcu_v4_11() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/srcu/classic.o");
    let di = DebugInfo::open_vmlinux(&path).unwrap();
    let s = "struct srcu_struct";
    let mut mem = vec![0u8; 0x2000];
    put(&mut mem, off(&di, s, "completed"), 5);
    put(&mut mem, off(&di, s, "per_cpu_ref"), BASE + 0x800);
    mem[off(&di, s, "running")] = 1;
    // per-CPU srcu_array (one CPU): lock [3, 7], unlock [1, 7] → 2 readers on index 0.
    for (i, v) in [3u64, 7, 1, 7].into_iter().enumerate() {
        put(&mut mem, 0x800 + 8 * i, v);
    }
    // batch_check0: two callbacks; batch_queue and the others empty.
    put(&mut mem, off(&di, s, "batch_check0.head"), BASE + 0x900);
    put(&mut mem, 0x900, BASE + 0x910);
    put(&mut mem, 0x908, BASE + 0xf00);
    put(&mut mem, 0x918, BASE + 0xf40);
    // The delayed work: PENDING, timer armed.
    put(&mut mem, off(&di, s, "work.work.data"), 1);
    put(
        &mut mem,
        off(&di, s, "work.timer.entry.pprev"),
        BASE + 0xa00,
    );
    put(&mut mem, off(&di, s, "work.timer.expires"), 1234);
    drop(di);
    let k = kernel("classic.o", mem);
    let dec = SrcuDecoder::new(&k).unwrap();
    assert_eq!(dec.layout.implementation(), "classic");
    let d = dec.decode(Kva(BASE), "classic_srcu", vec![]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.generation, "classic, srcu_array (4.11)");
    assert_eq!(d.phase, "RUNNING");
    assert_eq!(d.current_idx, 1);
    assert_eq!(d.waits_on_idx, Some(0));
    assert_eq!(d.readers, [2, 0]);
    let cbs: Vec<(u64, &str, u64)> = d
        .callbacks
        .iter()
        .map(|c| (c.addr, c.segment.as_str(), c.func.addr))
        .collect();
    assert_eq!(
        cbs,
        vec![
            (BASE + 0x900, "batch_check0", BASE + 0xf00),
            (BASE + 0x910, "batch_check0", BASE + 0xf40)
        ]
    );
    let w = d.gp_work.unwrap();
    assert!(w.pending && w.timer_armed);
    assert_eq!(w.timer_expires, Some(1234));
    assert_eq!(w.state, "timer");
}

#[test]
fn tiny_srcu_v5_15() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/srcu/tiny.o");
    let di = DebugInfo::open_vmlinux(&path).unwrap();
    let s = "struct srcu_struct";
    let mut mem = vec![0u8; 0x2000];
    // One reader on index 0; srcu_idx 5 (odd: GP in progress, waiting on (5 & 2) >> 1 = 0;
    // new readers take ((5 + 1) & 2) >> 1 = 1); srcu_idx_max 8 (one more GP wanted).
    let n = off(&di, s, "srcu_lock_nesting");
    mem[n..n + 2].copy_from_slice(&1i16.to_le_bytes());
    let i = off(&di, s, "srcu_idx");
    mem[i..i + 2].copy_from_slice(&5u16.to_le_bytes());
    let m = off(&di, s, "srcu_idx_max");
    mem[m..m + 2].copy_from_slice(&8u16.to_le_bytes());
    mem[off(&di, s, "srcu_gp_running")] = 1;
    mem[off(&di, s, "srcu_gp_waiting")] = 1;
    put(&mut mem, off(&di, s, "srcu_cb_head"), BASE + 0x900);
    put(&mut mem, 0x908, BASE + 0xf00);
    drop(di);
    let k = kernel("tiny.o", mem);
    let dec = SrcuDecoder::new(&k).unwrap();
    let d = dec.decode(Kva(BASE), "tiny_srcu", vec![]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.generation, "tiny, polling srcu_idx (~5.12+)");
    assert_eq!(d.phase, "WAITING");
    assert_eq!(d.current_idx, 1);
    assert_eq!(d.waits_on_idx, Some(0));
    assert_eq!(d.readers, [1, 0]);
    assert!(d.gp_requested);
    assert_eq!(d.callbacks.len(), 1);
    assert_eq!(d.callbacks[0].segment, "srcu_cb_head");
    assert_eq!(d.gp_work.unwrap().state, "idle");
    assert!(d.notes[0].contains("1 reader on index 0"), "{:?}", d.notes);
}
