//! A running fixture guest read over QMP (`-c qmp:SOCK`) gives exactly what a dump of the
//! same stopped machine gives. `fixtures/qmp-guest.sh` boots the bookworm fixture kernel
//! with the hang scenario (~25 s under TCG) and leaves it running; the test stops it, has
//! QEMU write an ELF dump of that state (`dump-guest-memory`), and compares every command's
//! output over QMP with its output on the dump, for each way of reading the guest's memory.

mod common;

use common::guest::Guest;
use common::{release, run_quiesce};
use quiesce::dump::Dump;
use serde_json::json;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn boot(name: &str, qemu_args: &[String], extra_files: Vec<PathBuf>) -> Guest {
    Guest::boot("qmp-guest.sh", name, qemu_args, extra_files)
}

fn args<'a>(cmd: &'a str, core: &'a str, vmlinux: &'a Path, modules: &'a Path) -> Vec<String> {
    let mut v: Vec<String> = cmd.split(' ').map(String::from).collect();
    v.extend(["-c".into(), core.into(), "-s".into()]);
    v.push(vmlinux.display().to_string());
    v.push("-s".into());
    v.push(modules.display().to_string());
    v
}

/// Run `cmd` over QMP (with `QUIESCE_QMP_READ=reader` when given) and on the dump; their
/// standard outputs must be identical. Returns the QMP run's stderr.
fn same_output(
    cmd: &str,
    g: &Guest,
    elf: &Path,
    rel: &common::Release,
    reader: Option<&str>,
) -> String {
    let (vml, mods) = (rel.vmlinux(), rel.modules_dir());
    let qa = args(cmd, &g.sock(), &vml, &mods);
    let mut c = Command::new(env!("CARGO_BIN_EXE_quiesce"));
    c.args(&qa);
    if let Some(r) = reader {
        c.env("QUIESCE_QMP_READ", r);
    }
    let q = c.output().unwrap();
    let (dc, dout, derr) = run_quiesce(&args(cmd, elf.to_str().unwrap(), &vml, &mods));
    let qerr = String::from_utf8_lossy(&q.stderr).into_owned();
    assert_eq!(
        q.status.code(),
        Some(dc),
        "{cmd} ({reader:?}): exit codes\n{qerr}\n{derr}"
    );
    let qout = String::from_utf8_lossy(&q.stdout);
    assert!(
        dout.lines().count() > 3,
        "{cmd} on the dump printed little:\n{dout}{derr}"
    );
    if qout != dout {
        let first = qout
            .lines()
            .zip(dout.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{cmd} ({reader:?}): QMP and dump outputs differ at line {first}:\n  qmp:  {:?}\n  dump: {:?}",
            qout.lines().nth(first),
            dout.lines().nth(first)
        );
    }
    qerr
}

#[test]
fn a_guest_over_qmp_reads_as_its_dump() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    // RAM in a shared file (the "map" reader), plus the device that lets QEMU's own dump
    // carry VMCOREINFO — quiesce does not use it: it finds the note in guest memory.
    let shm = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    };
    let ram = shm.join(format!("quiesce-qmp-test-{}", std::process::id()));
    let g = boot(
        "qmp-as-dump",
        &[
            "-device".into(),
            "vmcoreinfo".into(),
            "-object".into(),
            format!(
                "memory-backend-file,id=ram0,size=512M,mem-path={},share=on",
                ram.display()
            ),
            "-machine".into(),
            "memory-backend=ram0".into(),
        ],
        vec![ram.clone()],
    );

    // quiesce stops a running guest for the time it reads it, then resumes it
    assert!(g.running());
    let (code, out, err) = run_quiesce(&args("ps", &g.sock(), &rel.vmlinux(), &rel.modules_dir()));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("qh_srcu_sync"), "{out}");
    assert!(
        err.contains("stopped while it is read, resumed after"),
        "{err}"
    );
    assert!(g.running(), "the guest runs again after quiesce");

    // stop it, and have QEMU dump that state
    let elf = g.dir.join("state.elf");
    {
        let mut q = g.qmp();
        q.execute("stop", None).unwrap();
        q.execute(
            "dump-guest-memory",
            Some(json!({"paging": false, "protocol": format!("file:{}", elf.display()), "format": "elf"})),
        )
        .unwrap();
    }

    // the same VMCOREINFO (found in memory vs. handed to QEMU by the guest), registers, RAM
    {
        let live = Dump::open(Path::new(&g.sock())).expect("attach");
        let dump = Dump::open(&elf).expect("the dump opens");
        assert_eq!(live.vmcoreinfo(), dump.vmcoreinfo(), "VMCOREINFO");
        assert!(live.vmcoreinfo().unwrap().contains("OSRELEASE=6.1"));
        assert_eq!(live.machine(), dump.machine());
        let regs = |d: &Dump| {
            d.prstatus()
                .iter()
                .map(|p| (p.pid, p.regs.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(regs(&live), regs(&dump), "NT_PRSTATUS notes");
        assert_eq!(live.prstatus().len(), 2);
        assert_eq!(
            live.prstatus()[0].raw,
            dump.prstatus()[0].raw,
            "the whole descriptor"
        );
        let w = live.warnings().join("\n");
        assert!(w.contains("memory read by map"), "{w}");
        assert!(w.contains("left stopped"), "{w}");
    }

    for cmd in [
        "ps",
        "bt --all",
        "explain",
        "srcu",
        "rcu",
        "waitgraph",
        "log",
    ] {
        let err = same_output(cmd, &g, &elf, &rel, None);
        assert!(err.contains("memory read by map"), "{cmd}: {err}");
    }
    for cmd in ["ps", "bt --all", "explain"] {
        let err = same_output(cmd, &g, &elf, &rel, Some("procmem"));
        assert!(err.contains("memory read by procmem"), "{cmd}: {err}");
    }
    let err = same_output("ps", &g, &elf, &rel, Some("xp"));
    assert!(err.contains("memory read by xp"), "{err}");
    assert!(!g.running(), "a guest found stopped is left stopped");
}

#[test]
fn a_guest_started_with_nothing_but_qmp() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let g = boot("qmp-plain", &[], Vec::new());
    let a = args("bt --all", &g.sock(), &rel.vmlinux(), &rel.modules_dir());
    let (code, out, err) = run_quiesce(&a);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("memory read by procmem"), "{err}");
    assert!(err.contains("VMCOREINFO found at"), "{err}");
    // the scenario's SRCU waiter, unwound from its saved context
    let srcu = out
        .split("\n\n")
        .find(|b| b.contains("COMMAND: \"qh_srcu_sync\""))
        .unwrap_or_else(|| panic!("no qh_srcu_sync in:\n{out}"));
    assert!(srcu.contains("synchronize_srcu"), "{srcu}");
    assert!(g.running());

    // without -s the dump is opened once for finding the vmlinux and for reading it: one
    // QMP connection, the guest stopped once
    let proxy = Proxy::start(g.sock().strip_prefix("qmp:").unwrap());
    let (code, out, err) = run_quiesce(&["ps".into(), "-c".into(), proxy.addr()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("qh_srcu_sync"), "{out}");
    let (connections, from_qemu) = proxy.stop();
    assert_eq!(connections, 1, "{err}");
    let stops = from_qemu.matches("\"event\": \"STOP\"").count();
    let resumes = from_qemu.matches("\"event\": \"RESUME\"").count();
    assert_eq!((stops, resumes), (1, 1), "{err}");

    // a second client is refused plainly while one holds the socket
    let _held = g.qmp();
    let (code, _, err) = run_quiesce(&args("ps", &g.sock(), &rel.vmlinux(), &rel.modules_dir()));
    assert_eq!(code, 1);
    assert!(
        err.contains("another client may hold its QMP socket"),
        "{err}"
    );
}

/// A proxy in front of a guest's QMP socket that counts the connections made through it and
/// keeps what QEMU sent.
struct Proxy {
    path: PathBuf,
    connections: Arc<AtomicUsize>,
    from_qemu: Arc<Mutex<Vec<u8>>>,
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Proxy {
    fn start(qemu: &str) -> Proxy {
        let path = PathBuf::from(format!("{qemu}.proxy"));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let (connections, from_qemu, done) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(Mutex::new(Vec::new())),
            Arc::new(AtomicBool::new(false)),
        );
        let (c, f, d, q) = (
            connections.clone(),
            from_qemu.clone(),
            done.clone(),
            qemu.to_string(),
        );
        let thread = std::thread::spawn(move || {
            while !d.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    continue;
                };
                c.fetch_add(1, Ordering::Relaxed);
                client.set_nonblocking(false).unwrap();
                let server = UnixStream::connect(&q).unwrap();
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(std::net::Shutdown::Write);
                });
                let (mut s_in, mut c_out) = (server, client);
                let mut buf = [0u8; 1 << 16];
                while let Ok(n) = s_in.read(&mut buf) {
                    if n == 0 || c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    f.lock().unwrap().extend_from_slice(&buf[..n]);
                }
                let _ = c_out.shutdown(std::net::Shutdown::Both);
                let _ = up.join();
            }
        });
        Proxy {
            path,
            connections,
            from_qemu,
            done,
            thread,
        }
    }

    fn addr(&self) -> String {
        format!("qmp:{}", self.path.display())
    }

    /// Stop accepting: how many connections were made, and QEMU's side of them.
    fn stop(self) -> (usize, String) {
        self.done.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        let _ = std::fs::remove_file(&self.path);
        let bytes = self.from_qemu.lock().unwrap().clone();
        (
            self.connections.load(Ordering::Relaxed),
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }
}
