//! Untrusted input: truncated and garbage dumps, a vmlinux that does not match, excluded
//! pages and a corrupted list in a copy of a real dump. Each gives a clear one-line error
//! or a result marked partial, a non-zero exit where it failed, and never a panic or hang.

mod common;

use common::release;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn quiesce(args: &[&str]) -> Output {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_quiesce"))
        .args(args)
        .output()
        .expect("run quiesce");
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{args:?} took too long"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bad_input");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn one_error_line(out: &Output) -> String {
    let e = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("quiesce: error:"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {e}");
    lines[0].to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn garbage_and_empty_files_are_refused() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let vm = rel.vmlinux();
    let garbage = scratch("garbage.bin");
    let bytes: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, bytes).unwrap();
    let out = quiesce(&["ps", "-c", s(&garbage), "-s", s(&vm)]);
    assert_eq!(out.status.code(), Some(1));
    let e = one_error_line(&out);
    assert!(e.contains("garbage.bin") && e.contains("not a dump"), "{e}");

    let empty = scratch("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let out = quiesce(&["ps", "-c", s(&empty), "-s", s(&vm)]);
    assert_eq!(out.status.code(), Some(1));
    one_error_line(&out);
}

#[test]
fn truncated_dumps_fail_cleanly_or_mark_partial() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let vm = rel.vmlinux();
    for d in rel
        .dumps_of("hang")
        .iter()
        .filter(|d| d.name.ends_with(".kdump"))
    {
        let data = std::fs::read(&d.path).unwrap();
        for frac in [0.001, 0.3, 0.7] {
            let cut = scratch(&format!("{}.cut{frac}", d.name));
            std::fs::write(&cut, &data[..(data.len() as f64 * frac) as usize]).unwrap();
            let out = quiesce(&["ps", "-c", s(&cut), "-s", s(&vm)]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            match out.status.code() {
                Some(0) => panic!("{} cut at {frac}: a truncated dump read as whole", d.name),
                Some(1) => {
                    one_error_line(&out);
                }
                Some(2) => assert!(stdout.contains("PARTIAL"), "{stdout}"),
                other => panic!("{}: exit {other:?}", d.name),
            }
            // Everything that reads further (stacks with their locals, SRCU, the wait
            // graph) ends with an answer or an error, never a panic (exit 101) or a signal.
            for args in [&["bt", "--all", "--locals"][..], &["srcu"], &["explain"]] {
                let mut a = args.to_vec();
                a.extend(["-c", s(&cut), "-s", s(&vm)]);
                let out = quiesce(&a);
                assert!(
                    matches!(out.status.code(), Some(0..=2)),
                    "{} cut at {frac}: {args:?} exit {:?}: {}",
                    d.name,
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

#[test]
fn a_vmlinux_of_another_release_is_refused_naming_both() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    // A copy of a dump whose VMCOREINFO claims another release (and build-id): the vmlinux
    // no longer matches it.
    let d = rel
        .dumps_of("hang")
        .into_iter()
        .find(|d| d.name.ends_with("zstd.kdump"))
        .unwrap();
    let mut data = std::fs::read(&d.path).unwrap();
    let kernel = rel.kernel();
    let needle = format!("OSRELEASE={kernel}");
    let at = data
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .expect("VMCOREINFO in the kdump header");
    let patched = needle.replace("6.1.0-", "6.1.9-");
    data[at..at + needle.len()].copy_from_slice(patched.as_bytes());
    let bid = b"BUILD-ID=";
    if let Some(b) = data.windows(bid.len()).position(|w| w == bid) {
        data[b + bid.len()] = if data[b + bid.len()] == b'0' {
            b'1'
        } else {
            b'0'
        };
    }
    let copy = scratch("other-release.kdump");
    std::fs::write(&copy, &data).unwrap();
    let out = quiesce(&["ps", "-c", s(&copy), "-s", s(&rel.vmlinux())]);
    assert_eq!(out.status.code(), Some(1));
    let e = one_error_line(&out);
    assert!(e.contains("does not match"), "{e}");
    assert!(
        e.contains(s(&rel.vmlinux())) && e.contains("other-release.kdump"),
        "{e}"
    );
}

#[test]
fn an_excluded_page_reads_as_excluded_never_zeros() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let d = rel
        .dumps_of("hang")
        .into_iter()
        .find(|d| d.name.ends_with("zlib.kdump") && d.name.contains("mkd"))
        .unwrap();
    let dump = quiesce::dump::Dump::open(&d.path).unwrap();
    let pfn = (0x1000u64..0x20000)
        .map(quiesce::addr::Pfn)
        .find(|&p| dump.is_excluded(p))
        .expect("makedumpfile -d 31 excluded some page");
    let k = quiesce::kernel::open(&quiesce::kernel::OpenOptions {
        core: d.path.clone(),
        vmlinux: rel.vmlinux(),
        modules: vec![],
    })
    .unwrap();
    let kva = k.mem.xlat.direct_map().unwrap().0 + pfn.pa().0;
    let out = quiesce(&[
        "print",
        &format!("*(unsigned long *){kva:#x}"),
        "-c",
        s(&d.path),
        "-s",
        s(&rel.vmlinux()),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let e = one_error_line(&out);
    assert!(e.contains("excluded"), "{e}");
}

#[test]
fn a_cycle_in_the_task_list_gives_a_partial_list() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let d = rel
        .dumps_of("hang")
        .into_iter()
        .find(|d| d.name.ends_with(".elf"))
        .unwrap();
    let k = quiesce::kernel::open(&quiesce::kernel::OpenOptions {
        core: d.path.clone(),
        vmlinux: rel.vmlinux(),
        modules: vec![],
    })
    .unwrap();
    let tasks = k.tasks().unwrap().tasks;
    let l = k.layout().unwrap();
    // Point the 40th process's tasks.next back at the 30th: a cycle that never returns to
    // init_task's head.
    let procs: Vec<_> = tasks
        .iter()
        .filter(|t| t.pid == t.tgid && t.pid > 0)
        .collect();
    let (victim, target) = (procs[40], procs[30]);
    let next_kva = quiesce::addr::Kva(victim.addr + l.task.tasks + l.list_next);
    let pa = k.mem.translate(next_kva).unwrap().0;
    let mut data = std::fs::read(&d.path).unwrap();
    let at = common::corpus::elf_offset(&common::corpus::elf_loads(&d.path), pa, 8)
        .expect("page in the ELF") as usize;
    data[at..at + 8].copy_from_slice(&(target.addr + l.task.tasks).to_le_bytes());
    let copy = scratch("cycle.elf");
    std::fs::write(&copy, &data).unwrap();
    drop(data);
    let out = quiesce(&["ps", "-c", s(&copy), "-s", s(&rel.vmlinux())]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("PARTIAL") && stdout.contains("cycle"),
        "{stdout}"
    );
    // What was read before the cycle is there.
    assert!(stdout.contains(&format!("{:016x}", victim.addr)));
    std::fs::remove_file(&copy).ok();
}
