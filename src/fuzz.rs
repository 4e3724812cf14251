//! Fuzz targets: one function per parser of untrusted bytes, each taking any byte string.
//! A target returns normally for every input — an error or a partial result is fine — and
//! must never panic, hang or allocate without bound.
//!
//! The same functions run in two harnesses: `tests/fuzz_short.rs` (a few seconds per
//! target in the test suite, mutating real seeds on the stable toolchain) and `fuzz/`
//! (cargo-fuzz / libFuzzer for long coverage-guided runs, `fuzz/run.sh`). Results are
//! recorded in docs/reliability.md.

use crate::dump::{Dump, PhysMem};

/// A fuzz target: any bytes in, nothing out.
pub type Target = fn(&[u8]);

/// Every target by name, for the harnesses.
pub const TARGETS: &[(&str, Target)] = &[
    ("dump", dump),
    ("text", text),
    ("btf", btf),
    ("kallsyms", kallsyms),
    ("orc", orc),
    ("dwarf_expr", dwarf_expr),
    ("printk_legacy", printk_legacy),
    ("ko_elf", ko_elf),
    ("keymap", keymap),
    ("theme", theme),
    ("notes", notes),
    ("vmcoreinfo", vmcoreinfo),
    ("type_spelling", type_spelling),
    ("qemu_monitor", qemu_monitor),
];

/// A target by name.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// A vmcore of any format (ELF, kdump-compressed, flattened; the header, bitmaps, page
/// descriptors, notes, VMCOREINFO), then reads of its first and last pages (the
/// decompressors) and exclusion checks.
pub fn dump(data: &[u8]) {
    let Ok(d) = Dump::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = (d.format(), d.machine(), d.compressions(), d.header());
    let _ = (
        d.vmcoreinfo(),
        d.prstatus().len(),
        d.qemu_cpu_states().len(),
    );
    let mut page = [0u8; 4096];
    for (start, len) in d.phys_ranges().into_iter().take(8) {
        let _ = d.read_phys(start, &mut page);
        if len > 4096 {
            let _ = d.read_phys(crate::addr::Pa(start.0 + len - 4096), &mut page);
        }
        let _ = d.is_excluded(crate::addr::Pfn(start.0 / 4096));
    }
}

/// A QEMU monitor's answers to an attach over QMP (`-c qmp:SOCK`). Input starting with `{`
/// is the JSON lines QEMU would send: the greeting, then one reply per command
/// (`qmp_capabilities`, `query-target`, `query-status`, `stop`, `info mtree -f`, a
/// `gpa2hva` per RAM region, `info registers -a`, the `xp` reads of the VMCOREINFO scan);
/// then reads of the guest's first and last pages. Any other input is monitor text, given
/// to each monitor-text parser directly (`info mtree -f`, `gpa2hva`, `/proc/PID/maps`,
/// `xp`, `info registers -a` of both architectures).
pub fn qemu_monitor(data: &[u8]) {
    if data.first() != Some(&b'{') {
        Dump::parse_monitor_text(&String::from_utf8_lossy(data));
        return;
    }
    if let Ok(d) = Dump::attach_replayed_qemu(data) {
        let _ = (d.vmcoreinfo(), d.prstatus().len());
        let mut page = [0u8; 4096];
        for (start, len) in d.phys_ranges().into_iter().take(4) {
            let _ = d.read_phys(start, &mut page);
            if len > 4096 {
                let _ = d.read_phys(crate::addr::Pa(start.0 + len - 4096), &mut page);
            }
        }
    }
}

/// Text people paste: crash sessions, dmesg with hung-task, RCU stall, soft lockup and
/// workqueue reports — parsed, turned into a wait graph and explained.
pub fn text(data: &[u8]) {
    let t = String::from_utf8_lossy(data);
    let _ = crate::analysis::log::explain_text(&t);
}

/// A BTF blob (dump-only mode reads vmlinux's and modules' BTF from memory).
pub fn btf(data: &[u8]) {
    use crate::debuginfo::dumponly::btf;
    let Ok(b) = btf::Btf::parse(data.to_vec(), 1, 0) else {
        return;
    };
    let name = |off: u32| b.own_str(off);
    let _ = btf::index_types(&b, &name);
    let _ = btf::index_enumerators(&b, &name);
    for (id, _) in b.iter().take(1000) {
        let _ = b.raw(id);
    }
}

/// kallsyms tables in memory: the first 64 bytes give the table addresses, the rest is
/// memory at address 0x1000.
pub fn kallsyms(data: &[u8]) {
    use crate::debuginfo::dumponly::kallsyms::{KallsymsAddrs, read};
    struct Mem<'a>(&'a [u8]);
    impl crate::debuginfo::dumponly::MemRead for Mem<'_> {
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
            let off = addr.checked_sub(0x1000).ok_or("below")? as usize;
            let end = off.checked_add(buf.len()).ok_or("overflow")?;
            let src = self.0.get(off..end).ok_or("past the end")?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }
    if data.len() < 64 {
        return;
    }
    let word = |i: usize| u64::from_le_bytes(data[i * 8..i * 8 + 8].try_into().unwrap());
    // addresses inside the memory (or absent when the word's top bit is set)
    let at = |i: usize| {
        let w = word(i);
        (w >> 63 == 0).then(|| 0x1000 + (w % (data.len() as u64 + 64)))
    };
    let a = KallsymsAddrs {
        names: at(0),
        num_syms: at(1),
        token_table: at(2),
        token_index: at(3),
        offsets: at(4),
        relative_base: at(5),
        addresses: at(6),
        stext: Some(word(7)),
    };
    let _ = read(&Mem(&data[64..]), &a);
}

/// ORC tables (`.orc_unwind_ip` + `.orc_unwind`) split from the input, looked up.
pub fn orc(data: &[u8]) {
    use crate::unwind::orc::{OrcFormat, OrcTable, RegNumbering};
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let n = rest.len() / 10;
    let (ips, entries) = rest.split_at(n * 4);
    let fmt = if sel & 1 == 0 {
        OrcFormat::WithEndBit
    } else {
        OrcFormat::WithUndefinedType
    };
    let regs = RegNumbering::detect(None, entries, fmt);
    let t = OrcTable::new(ips, 0xffff_ffff_8100_0000, entries, fmt).with_numbering(regs);
    for i in 0..16u64 {
        let _ = t.find(0xffff_ffff_8100_0000 + i * 997);
    }
}

/// A DWARF location expression evaluated against a frame whose registers and memory hold
/// fixed values.
pub fn dwarf_expr(data: &[u8]) {
    use crate::arch::Regs;
    use crate::unwind::locals::{EvalFrame, LocalsMemory, locate};
    struct Mem;
    impl LocalsMemory for Mem {
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
            if addr % 4096 < 2048 {
                buf.fill(0x5a);
                Ok(())
            } else {
                Err(format!("{addr:#x} not in the dump"))
            }
        }
    }
    let mut regs = Regs::new(crate::arch::x86_64::NREGS);
    for i in 0..8 {
        regs.set(i, Some(0x1000 * (i as u64 + 1)));
    }
    let (fb, expr) = match data.split_first() {
        Some((&n, rest)) if (n as usize) <= rest.len() && n < 16 => {
            let (a, b) = rest.split_at(n as usize);
            (Some(a), b)
        }
        _ => (None, data),
    };
    let f = EvalFrame {
        regs: &regs,
        cfa: Some(0x7000),
        frame_base: fb,
        encoding: gimli::Encoding {
            format: gimli::Format::Dwarf32,
            version: 5,
            address_size: 8,
        },
        reloc: 0x1000_0000,
        arch: &crate::arch::x86_64::X86_64,
    };
    let _ = locate(expr, &f, &Mem);
}

/// The legacy printk ring (`log_buf` before 5.10) with a 6.x-like record header.
pub fn printk_legacy(data: &[u8]) {
    use crate::kernel::printk::{LegacyLayout, parse_legacy_log};
    let l = LegacyLayout {
        hdr: 16,
        o_ts: 0,
        o_len: 8,
        o_text_len: 10,
        o_fac: 13,
        o_caller: None,
        level_byte: Some(15),
        level_shift: 5,
    };
    let len = data.len() as u64;
    let first = data.first().map_or(0, |&b| b as u64 % len.max(1));
    let _ = parse_legacy_log(data, l, first, len / 2, 0);
}

/// A kernel module `.ko` (ELF): its name, build id and `.modinfo`.
pub fn ko_elf(data: &[u8]) {
    let _ = crate::debuginfo::elfid::ko_identity(data);
}

/// A user keymap file (TOML).
pub fn keymap(data: &[u8]) {
    let t = String::from_utf8_lossy(data);
    let _ = crate::tui::actions::Keymap::load("default", Some(("keymap.toml", &t)));
}

/// A user theme file (TOML).
pub fn theme(data: &[u8]) {
    let t = String::from_utf8_lossy(data);
    let _ = crate::tui::theme::Theme::load("dark", Some(("theme.toml", &t)));
}

/// The notes file (JSON).
pub fn notes(data: &[u8]) {
    let t = String::from_utf8_lossy(data);
    let _ = crate::tui::notes::parse(&t);
}

/// VMCOREINFO text, and what the address translation takes from it.
pub fn vmcoreinfo(data: &[u8]) {
    use crate::translate::vmcoreinfo::VmcoreInfo;
    let t = String::from_utf8_lossy(data);
    let vi = VmcoreInfo::parse(&t);
    let _ = (
        vi.osrelease(),
        vi.page_size(),
        vi.kernel_offset(),
        vi.build_id(),
    );
    let _ = (
        vi.crash_time(),
        vi.symbol("init_top_pgt"),
        vi.offset("page.flags"),
    );
    let _ = crate::translate::TranslateConfig::from_vmcoreinfo(&vi);
    let _ = crate::translate::arm64::Arm64Paging::from_vmcoreinfo(&vi);
}

/// C type spellings as the dump-only globals table writes them (`const struct foo *[4]`).
pub fn type_spelling(data: &[u8]) {
    let t = String::from_utf8_lossy(data);
    for line in t.lines().take(256) {
        let _ = crate::debuginfo::dumponly::globals::parse(line);
        let _ = crate::debuginfo::dumponly::globals::type_of(line);
    }
}

/// A small deterministic generator (xorshift64*), so a short run repeats exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Values parsers mis-handle most often: zero, all ones, sign boundaries, small counts.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// One mutation of `seed` (another seed of `pool` may be spliced in). The result is at
/// most twice the seed plus 64 KiB.
pub fn mutate(seed: &[u8], pool: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = v.len();
        match rng.below(9) {
            // flip a bit
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            // a random byte
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next_u64() as u8;
            }
            // an interesting word, 1, 2, 4 or 8 bytes wide
            2 if len > 0 => {
                let w = 1 << rng.below(4);
                let i = rng.below(len);
                let x = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                let n = w.min(len - i);
                v[i..i + n].copy_from_slice(&x[..n]);
            }
            // truncate
            3 if len > 0 => v.truncate(rng.below(len)),
            // delete a range
            4 if len > 1 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                v.drain(i..i + n);
            }
            // duplicate a range in place
            5 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(512));
                let chunk = v[i..i + n].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            // insert random bytes
            6 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                v.splice(at..at, bytes);
            }
            // splice: this seed's head, another's tail
            7 if !pool.is_empty() => {
                let o = &pool[rng.below(pool.len())];
                let cut = rng.below(v.len() + 1);
                let from = rng.below(o.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&o[from..o.len().min(from + 65536)]);
            }
            // copy a range over another place
            _ if len > 1 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let j = rng.below(len - n + 1);
                let chunk = v[i..i + n].to_vec();
                v[j..j + n].copy_from_slice(&chunk);
            }
            _ => {}
        }
        v.truncate(2 * seed.len() + 65536);
    }
    v
}

/// What a short run did.
#[derive(Debug, Clone, Default)]
pub struct ShortRun {
    pub executions: u64,
    /// The slowest input's time and the input itself.
    pub slowest_ns: u64,
    pub slowest: Vec<u8>,
}

/// Run `f` on every seed, then on mutations of them until `budget` has passed or `max`
/// executions are done. A panic propagates (the caller keeps the input: `on_input` sees
/// each one before it runs).
pub fn short_run(
    f: Target,
    seeds: &[Vec<u8>],
    budget: std::time::Duration,
    max: u64,
    rng_seed: u64,
    mut on_input: impl FnMut(&[u8]),
) -> ShortRun {
    let start = std::time::Instant::now();
    let mut out = ShortRun::default();
    let mut rng = Rng::new(rng_seed);
    let mut run = |input: &[u8], out: &mut ShortRun| {
        on_input(input);
        let t = std::time::Instant::now();
        f(input);
        let ns = t.elapsed().as_nanos() as u64;
        out.executions += 1;
        if ns > out.slowest_ns {
            out.slowest_ns = ns;
            out.slowest = input.to_vec();
        }
    };
    for s in seeds {
        run(s, &mut out);
    }
    let empty = [Vec::new()];
    let pool = if seeds.is_empty() { &empty[..] } else { seeds };
    while out.executions < max && start.elapsed() < budget {
        let seed = &pool[rng.below(pool.len())];
        let input = mutate(seed, pool, &mut rng);
        run(&input, &mut out);
    }
    out
}
