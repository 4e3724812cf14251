//! debuginfo against a real vmlinux, compared with numbers drgn and addr2line produced from
//! the same file when the fixtures were built (`bookworm/ref/drgn/debuginfo.json`, made by
//! `fixtures/ref/drgn_debuginfo.py`): the reference always describes the vmlinux the fixture
//! script downloaded, whichever kernel ABI Debian's archive has moved to.
//! The vmlinux: `$QUIESCE_FIXTURES/bookworm/vmlinux` (default `$HOME/.cache/quiesce/fixtures`).
//! Skipped when absent unless `QUIESCE_REQUIRE_FIXTURES=1`.

use quiesce::debuginfo::DebugInfo;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

fn bookworm() -> PathBuf {
    std::env::var_os("QUIESCE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/quiesce/fixtures")
        })
        .join("bookworm")
}

fn vmlinux() -> Option<PathBuf> {
    let p = bookworm().join("vmlinux");
    if p.exists() {
        return Some(p);
    }
    if std::env::var("QUIESCE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
        panic!(
            "QUIESCE_REQUIRE_FIXTURES=1 but no vmlinux at {}",
            p.display()
        );
    }
    eprintln!("skipping: no vmlinux at {}", p.display());
    None
}

fn di() -> Option<&'static DebugInfo> {
    static DI: OnceLock<Option<DebugInfo>> = OnceLock::new();
    DI.get_or_init(|| vmlinux().map(|p| DebugInfo::open_vmlinux(&p).expect("open vmlinux")))
        .as_ref()
}

fn reference() -> Value {
    let p = bookworm().join("ref/drgn/debuginfo.json");
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (run fixtures/build.sh bookworm)", p.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn build_id_and_banner() {
    let Some(di) = di() else { return };
    let r = reference();
    let hex: String = di
        .build_id()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, r["build_id"].as_str().unwrap());
    assert!(di.linux_banner().unwrap().starts_with("Linux version 6.1."));
}

#[test]
fn sizes_and_offsets_match_drgn() {
    let Some(di) = di() else { return };
    let r = reference();
    for (name, want) in r["sizeof"].as_object().unwrap() {
        let t = di.find_type(name).unwrap();
        assert_eq!(di.sizeof(t), want.as_u64(), "sizeof({name})");
    }
    for (key, want) in r["offsetof"].as_object().unwrap() {
        let (ty, path) = key.split_once(':').unwrap();
        let t = di.find_type(ty).unwrap();
        let m = di.member(t, path).unwrap();
        assert_eq!(Some(m.offset), want.as_u64(), "offsetof({ty}, {path})");
    }
}

#[test]
fn enumerators_match_drgn() {
    let Some(di) = di() else { return };
    for (name, want) in reference()["enumerators"].as_object().unwrap() {
        let (v, _) = di.find_enumerator(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(Some(v), want.as_i64(), "{name}");
    }
}

#[test]
fn variables_match_drgn() {
    let Some(di) = di() else { return };
    for (name, want) in reference()["variables"].as_object().unwrap() {
        let v = di.find_variable(name).unwrap();
        assert_eq!(Some(v.addr), want["addr"].as_u64(), "{name}");
        assert_eq!(v.percpu, name == "runqueues", "{name} percpu");
    }
    let rq = di.find_variable("runqueues").unwrap();
    let t = di.ty(di.strip(rq.ty)).unwrap();
    assert_eq!(t.name.as_deref(), Some("rq"));
    // A linker-script alias (`jiffies = jiffies_64;`): DWARF only declares it, the ELF
    // symbol places it; its own type, not jiffies_64's.
    let j = di.find_variable("jiffies").unwrap();
    let j64 = di.find_variable("jiffies_64").unwrap();
    assert_eq!(j.addr, j64.addr);
    assert_eq!(Some(j.addr), di.symbol("jiffies").map(|s| s.addr));
    assert_eq!(
        di.ty(di.strip(j.ty)).unwrap().name.as_deref(),
        Some("long unsigned int")
    );
    assert_eq!(di.ty(j64.ty).unwrap().name.as_deref(), Some("u64"));
    assert!(di.find_variable("no_such_variable_anywhere").is_err());
}

#[test]
fn function_lines_and_symbols() {
    let Some(di) = di() else { return };
    let r = reference();
    let f = di.find_function("schedule").unwrap();
    assert_eq!(Some(f.low_pc), r["function"]["addr"].as_u64());
    assert!(
        f.decl_file
            .as_deref()
            .unwrap_or("")
            .ends_with("kernel/sched/core.c")
    );
    let l = &r["lines_binutils_addr2line"];
    let frames = di.lines(l["addr"].as_u64().unwrap());
    let want = l["frames"].as_array().unwrap();
    assert_eq!(frames.len(), want.len(), "{frames:?}");
    for (got, want) in frames.iter().zip(want) {
        assert_eq!(got.function.as_deref(), want["function"].as_str());
        assert_eq!(got.line.map(u64::from), want["line"].as_u64());
        assert!(
            got.file
                .as_deref()
                .unwrap()
                .ends_with(want["file_suffix"].as_str().unwrap())
        );
    }
    // addr2line -i lists the inline chain innermost first; only the last is a real function.
    let n = frames.len();
    assert!(n >= 2, "schedule+0x10 is in an inlined callee: {frames:?}");
    assert!(frames[..n - 1].iter().all(|f| f.inlined) && !frames[n - 1].inlined);
    let (s, off) = di.symbolize(f.low_pc + 5).unwrap();
    assert_eq!((s.name.as_str(), off), ("schedule", 5));
    assert!(di.section("orc_unwind").is_none());
    assert!(!di.section(".orc_unwind_ip").unwrap().is_empty());
}

/// `lines()` finds the unit through `.debug_aranges` and builds a context over that unit only;
/// it must give exactly what one context over the whole file gives, for addresses spread over
/// the whole kernel text (start, middle and last byte of functions).
#[test]
fn per_unit_lines_equal_whole_file_lines() {
    let Some(di) = di() else { return };
    let funcs: Vec<_> = di
        .symbols()
        .filter(|s| s.kind == quiesce::debuginfo::SymKind::Func && s.size > 0)
        .collect();
    assert!(funcs.len() > 10_000);
    let step = funcs.len() / 150;
    let mut with_lines = 0;
    for s in funcs.iter().step_by(step) {
        for addr in [s.addr, s.addr + s.size / 2, s.addr + s.size - 1] {
            let got = di.lines(addr);
            assert_eq!(
                got,
                di.lines_whole_file(addr),
                "{}+{:#x}",
                s.name,
                addr - s.addr
            );
            with_lines += usize::from(!got.is_empty());
        }
    }
    assert!(with_lines > 300, "only {with_lines} addresses had lines");
    // Outside the kernel image (a module address with no module debug info): nothing, as
    // from the whole file.
    assert_eq!(di.lines(0xffff_ffff_c000_1000), []);
    assert_eq!(di.lines_whole_file(0xffff_ffff_c000_1000), []);
}

/// The on-disk index cache: a saved index loads, answers exactly as a fresh scan does and
/// continues scanning past what it covers; corrupt, truncated or foreign files are ignored.
#[test]
fn index_cache_roundtrip_and_corruption() {
    let Some(path) = vmlinux() else { return };
    let dir = std::env::temp_dir().join(format!("quiesce-idx-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let open = |use_cache: bool| {
        let mut di = DebugInfo::open_vmlinux_uncached(&path).unwrap();
        let loaded = use_cache && di.use_index_cache(Some(dir.clone()));
        (di, loaded)
    };
    let probe = |di: &DebugInfo| {
        let rq = di.find_type("struct rq").unwrap();
        let v = di.find_variable("runqueues").unwrap();
        (
            rq,
            di.sizeof(rq),
            v,
            di.find_enumerator("PIDTYPE_TGID"),
            di.find_function("schedule"),
        )
    };
    let (cold, loaded) = open(true);
    assert!(!loaded, "no cache yet");
    let want = probe(&cold);
    let file = cold.save_index_cache().unwrap().expect("a cache file");
    assert_eq!(
        cold.save_index_cache().unwrap(),
        None,
        "nothing new to save"
    );
    let progress = cold.index_progress();

    let (warm, loaded) = open(true);
    assert!(loaded);
    assert_eq!(warm.index_progress(), progress);
    assert_eq!(probe(&warm), want);
    assert_eq!(
        warm.index_progress(),
        progress,
        "answered from the cache alone"
    );
    // Beyond the cached units: a name that does not exist scans the rest, as without cache.
    assert!(warm.find_type("struct no_such_type_anywhere").is_err());
    assert_eq!(warm.index_progress().0, warm.index_progress().1);
    let (uncached, _) = open(false);
    assert_eq!(probe(&uncached), want);

    let good = std::fs::read(&file).unwrap();
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", b"not an index".repeat(100)),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("flipped byte", {
            let mut b = good.clone();
            let i = b.len() / 2;
            b[i] ^= 0x40;
            b
        }),
        ("bad magic", {
            let mut b = good.clone();
            b[0] = b'X';
            b
        }),
    ];
    for (what, bytes) in damaged {
        std::fs::write(&file, &bytes).unwrap();
        let (di, loaded) = open(true);
        assert!(!loaded, "{what} cache was used");
        assert_eq!(di.index_progress().0, 0, "{what}");
        assert_eq!(probe(&di), want, "{what}");
        // The next save replaces the damaged file with a good one.
        di.save_index_cache().unwrap().unwrap();
        assert!(open(true).1, "{what}: not repaired");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
