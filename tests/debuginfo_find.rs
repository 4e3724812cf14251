//! Debug info found without `-s`, on the real fixture dumps: through a debug tree laid out
//! the Debian way and the Fedora way (`QUIESCE_SYSROOT`), through `QUIESCE_DEBUG_PATH`, and
//! through a real `debuginfod` server on localhost; module files recognized by what they are
//! (a `.ko` under another name, compressed with xz, zstd and gzip); a vmlinux of another
//! build skipped with a message naming it. Each run's `ps` and `bt -l` output must equal the
//! run with explicit `-s` paths, and the module's frames must carry its DWARF (an inlined
//! frame and a source line only the `.ko` can give).
//!
//! The trees are built in temporary directories of symlinks to the fixture files (the
//! fixture cache is never written).

mod common;

use common::Release;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("quiesce-dbgfind-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn link(target: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// The bookworm hang dump, its release, and its vmlinux and module files.
struct Fix {
    rel: Release,
    dump: PathBuf,
    kernel: String,
}

fn fixture() -> Option<Fix> {
    let rel = common::release("bookworm")?;
    let dump = rel
        .dumps_of("hang")
        .into_iter()
        .find(|d| d.format == "elf")
        .expect("an ELF hang dump in the manifest")
        .path;
    let kernel = rel.kernel();
    assert!(!kernel.is_empty(), "manifest names the kernel release");
    Some(Fix { rel, dump, kernel })
}

impl Fix {
    fn ko(&self, name: &str) -> PathBuf {
        self.rel.modules_dir().join(format!("{name}.ko"))
    }
}

/// Run quiesce with a clean environment for the search (no paths from the caller's), a
/// temporary cache, and `env` on top.
fn quiesce(args: &[&OsStr], env: &[(&str, OsString)], cache: &Path) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quiesce"));
    c.args(args)
        .env_remove("QUIESCE_SYSROOT")
        .env_remove("QUIESCE_DEBUG_PATH")
        .env_remove("DEBUGINFOD_URLS")
        .env_remove("DEBUGINFOD_CACHE_PATH")
        .env("XDG_CACHE_HOME", cache)
        .stdin(Stdio::null());
    // The vmlinux name index stays where the other tests keep it (only speed depends on it).
    if std::env::var_os("QUIESCE_INDEX_CACHE_DIR").is_none()
        && let Some(home) = std::env::var_os("HOME")
    {
        c.env(
            "QUIESCE_INDEX_CACHE_DIR",
            PathBuf::from(home).join(".cache/quiesce/index"),
        );
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `ps` and `bt -l PID` of the SRCU reader, as one text, and the runs' stderr.
fn ps_and_bt(
    fx: &Fix,
    symbols: &[PathBuf],
    env: &[(&str, OsString)],
    cache: &Path,
) -> (String, String) {
    let mut base: Vec<&OsStr> = vec![OsStr::new("-c"), fx.dump.as_os_str()];
    for s in symbols {
        base.push(OsStr::new("-s"));
        base.push(s.as_os_str());
    }
    let mut a = base.clone();
    a.push(OsStr::new("ps"));
    let o = quiesce(&a, env, cache);
    let (ps, mut err) = text(&o);
    assert!(o.status.success(), "ps failed: {err}");
    let pid = ps
        .lines()
        .find(|l| {
            l.trim_end()
                .trim_end_matches(']')
                .ends_with("qh_srcu_reader")
        })
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no qh_srcu_reader task in ps:\n{ps}"))
        .to_string();
    let mut a = base;
    a.extend([OsStr::new("bt"), OsStr::new("-l"), OsStr::new(&pid)]);
    let o = quiesce(&a, env, cache);
    let (bt, e) = text(&o);
    assert!(o.status.success(), "bt failed: {e}");
    err.push_str(&e);
    (format!("{ps}\n{bt}"), err)
}

/// What only the module's DWARF gives its frames: the inlined helper and its source file.
fn assert_module_dwarf(out: &str, how: &str) {
    let hold = out
        .lines()
        .position(|l| l.contains("qh_srcu_hold") && l.contains("[quiesce_hang]"))
        .unwrap_or_else(|| panic!("{how}: no qh_srcu_hold [quiesce_hang] frame:\n{out}"));
    let after: Vec<&str> = out.lines().skip(hold).take(4).collect();
    assert!(
        after.iter().any(|l| l.contains("inlined: qh_wait_forever")),
        "{how}: the module frame has no inlined frame (no DWARF):\n{}",
        after.join("\n")
    );
    assert!(
        after.iter().any(|l| l.contains("quiesce_hang.c:")),
        "{how}: the module frame has no source line:\n{}",
        after.join("\n")
    );
}

/// The reference: the same commands with explicit `-s` paths.
fn reference(fx: &Fix, cache: &Path) -> String {
    let (out, err) = ps_and_bt(fx, &[fx.rel.vmlinux(), fx.rel.modules_dir()], &[], cache);
    assert!(
        !err.contains("no debug info for module"),
        "explicit -s: {err}"
    );
    assert_module_dwarf(&out, "explicit -s");
    out
}

fn no_module_warning(err: &str, how: &str) {
    assert!(
        !err.contains("no debug info for module"),
        "{how}: modules missing:\n{err}"
    );
}

fn compress(cmd: &str, args: &[&str], file: &Path) -> PathBuf {
    let st = Command::new(cmd)
        .args(args)
        .arg(file)
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (installed by fixtures/deps.sh)"));
    assert!(st.success(), "{cmd} {}", file.display());
    let ext = match cmd {
        "xz" => "xz",
        "zstd" => "zst",
        _ => "gz",
    };
    PathBuf::from(format!("{}.{ext}", file.display()))
}

/// Debian: `/usr/lib/debug/boot/vmlinux-REL` (linux-image-*-dbg), the test module under
/// `/usr/lib/debug/lib/modules/REL/`, the other only in `/lib/modules/REL/` as installed.
#[test]
fn debian_layout_without_s() {
    let Some(fx) = fixture() else { return };
    let t = TempDir::new("debian");
    let cache = t.0.join("cache");
    let want = reference(&fx, &cache);
    let root = t.0.join("root");
    let k = &fx.kernel;
    link(
        &fx.rel.vmlinux(),
        &root.join(format!("usr/lib/debug/boot/vmlinux-{k}")),
    );
    link(
        &fx.ko("quiesce_hang"),
        &root.join(format!(
            "usr/lib/debug/lib/modules/{k}/updates/quiesce_hang.ko"
        )),
    );
    link(
        &fx.ko("qemu_fw_cfg"),
        &root.join(format!(
            "lib/modules/{k}/kernel/drivers/firmware/qemu_fw_cfg.ko"
        )),
    );
    let env = [("QUIESCE_SYSROOT", root.clone().into_os_string())];
    let (got, err) = ps_and_bt(&fx, &[], &env, &cache);
    no_module_warning(&err, "debian layout");
    assert_eq!(got, want, "debian layout, no -s: stderr {err}");
    assert_module_dwarf(&got, "debian layout");
}

/// Fedora/RHEL: `/usr/lib/debug/lib/modules/REL/vmlinux` (kernel-debuginfo), a module's
/// split debug file (`.ko.debug`, matched by build-id alone), the other installed
/// xz-compressed (`/lib/modules/REL/.../qemu_fw_cfg.ko.xz`).
#[test]
fn fedora_layout_without_s() {
    let Some(fx) = fixture() else { return };
    let t = TempDir::new("fedora");
    let cache = t.0.join("cache");
    let want = reference(&fx, &cache);
    let root = t.0.join("root");
    let k = &fx.kernel;
    link(
        &fx.rel.vmlinux(),
        &root.join(format!("usr/lib/debug/lib/modules/{k}/vmlinux")),
    );
    let data = std::fs::read(fx.ko("quiesce_hang")).unwrap();
    let id = quiesce::debuginfo::elfid::ko_identity(&data).unwrap();
    let hex = quiesce::debuginfo::elfid::hex(&id.build_id.expect("the module has a build-id"));
    // Fedora's debuginfo packages hold split debug files (no .modinfo contents, no code):
    // the build-id link points at one, made here as find-debuginfo makes them, and kept
    // outside the directories searched by name so that only its build-id can find it.
    let split = t.0.join("elsewhere/quiesce_hang.ko.debug");
    std::fs::create_dir_all(split.parent().unwrap()).unwrap();
    let st = Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(fx.ko("quiesce_hang"))
        .arg(&split)
        .status()
        .expect("objcopy (binutils, installed by fixtures/deps.sh)");
    assert!(st.success());
    let split_id = quiesce::debuginfo::elfid::ko_identity(&std::fs::read(&split).unwrap()).unwrap();
    assert_eq!(
        split_id.name, None,
        "a split debug file carries no module name"
    );
    link(
        &split,
        &root.join(format!(
            "usr/lib/debug/.build-id/{}/{}.debug",
            &hex[..2],
            &hex[2..]
        )),
    );
    let fw = root.join(format!(
        "lib/modules/{k}/kernel/drivers/firmware/qemu_fw_cfg.ko"
    ));
    std::fs::create_dir_all(fw.parent().unwrap()).unwrap();
    std::fs::copy(fx.ko("qemu_fw_cfg"), &fw).unwrap();
    compress("xz", &["-q", "--check=crc32"], &fw);
    assert!(!fw.exists(), "xz replaced the file with its .xz");
    let env = [("QUIESCE_SYSROOT", root.clone().into_os_string())];
    let (got, err) = ps_and_bt(&fx, &[], &env, &cache);
    no_module_warning(&err, "fedora layout");
    assert_eq!(got, want, "fedora layout, no -s: stderr {err}");
    assert_module_dwarf(&got, "fedora layout");
    // The decompressed copy went to quiesce's cache, not beside the user's file.
    let cached: Vec<_> = walk(&cache.join("quiesce/modules"));
    assert!(
        cached.iter().any(|p| p.ends_with("qemu_fw_cfg.ko")),
        "decompressed module cached: {cached:?}"
    );
    let beside: Vec<_> = std::fs::read_dir(fw.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["qemu_fw_cfg.ko.xz"]);
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Another build's vmlinux under this release's name, first in `QUIESCE_DEBUG_PATH`, is
/// skipped with a warning naming it and its build-id; the right one (Debian layout) is used.
/// With only the wrong one, the error lists every place looked and why.
#[test]
fn wrong_build_id_vmlinux_skipped() {
    let Some(fx) = fixture() else { return };
    // Another release with another kernel build (not the same kernel booted another way,
    // like `bookworm-la57`).
    let own_id = quiesce::debuginfo::elfid::vmlinux_identity(&fx.rel.vmlinux())
        .unwrap()
        .build_id;
    let Some(other) = common::releases().into_iter().find(|r| {
        quiesce::debuginfo::elfid::vmlinux_identity(&r.vmlinux())
            .is_ok_and(|id| id.build_id.is_some() && id.build_id != own_id)
    }) else {
        if std::env::var("QUIESCE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1") {
            panic!("a second release's fixtures are needed for the wrong-build-id test");
        }
        eprintln!("SKIP: only one release's fixtures");
        return;
    };
    let t = TempDir::new("wrongid");
    let cache = t.0.join("cache");
    let want = reference(&fx, &cache);
    let k = &fx.kernel;
    let dp = t.0.join("debugpath");
    let impostor = dp.join(format!("vmlinux-{k}"));
    link(&other.vmlinux(), &impostor);
    let root = t.0.join("root");
    link(
        &fx.rel.vmlinux(),
        &root.join(format!("usr/lib/debug/boot/vmlinux-{k}")),
    );
    let env = [
        ("QUIESCE_SYSROOT", root.clone().into_os_string()),
        ("QUIESCE_DEBUG_PATH", dp.clone().into_os_string()),
    ];
    let (got, err) = ps_and_bt(&fx, &[fx.rel.modules_dir()], &env, &cache);
    assert!(
        err.lines().any(|l| l.contains("skipped")
            && l.contains(&impostor.display().to_string())
            && l.contains("wrong build-id")),
        "no warning naming the skipped vmlinux:\n{err}"
    );
    assert_eq!(got, want, "stderr {err}");

    // Only the wrong one: an error that says where it looked.
    let empty = t.0.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let env = [
        ("QUIESCE_SYSROOT", empty.clone().into_os_string()),
        ("QUIESCE_DEBUG_PATH", dp.clone().into_os_string()),
    ];
    let o = quiesce(
        &[OsStr::new("-c"), fx.dump.as_os_str(), OsStr::new("ps")],
        &env,
        &cache,
    );
    // Only the wrong one: it is not used; quiesce says so, names the impostor and why,
    // and reads the dump's own symbols and types instead (the dump-only mode).
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("no vmlinux with debug info"), "{err}");
    assert!(
        err.contains("reading the dump's own symbols and types instead"),
        "{err}"
    );
    assert!(
        err.contains(&format!("skipped {}: wrong build-id", impostor.display())),
        "{err}"
    );
    // The places where nothing was are not listed one by one.
    let absent = empty.join(format!("usr/lib/debug/boot/vmlinux-{k}"));
    assert!(!err.contains(&absent.display().to_string()), "{err}");
    // And the task list is the dump's, not the impostor's: the same pids and commands.
    let pids = |s: &str| -> Vec<String> {
        s.lines()
            .skip(1)
            .take_while(|l| !l.starts_with("PID:"))
            .filter_map(|l| l.trim_start_matches('>').split_whitespace().next())
            .map(str::to_string)
            .collect()
    };
    assert!(pids(&out).len() > 50, "{out}");
    assert_eq!(pids(&out), pids(&want), "{err}");
}

/// A module's file is recognized by its contents whatever its name: `vmcore.hangmod.ko`
/// given with `-s` (the case from the issue), a zstd and a gzip copy given with `-s`, and an
/// xz copy under another name in a `QUIESCE_DEBUG_PATH` directory.
#[test]
fn modules_recognized_by_contents() {
    let Some(fx) = fixture() else { return };
    let t = TempDir::new("bycontent");
    let cache = t.0.join("cache");
    let want = reference(&fx, &cache);
    let renamed = t.0.join("vmcore.hangmod.ko");
    std::fs::copy(fx.ko("quiesce_hang"), &renamed).unwrap();
    let fw = t.0.join("vmcore.fw.ko");
    std::fs::copy(fx.ko("qemu_fw_cfg"), &fw).unwrap();
    let (got, err) = ps_and_bt(
        &fx,
        &[fx.rel.vmlinux(), renamed.clone(), fw.clone()],
        &[],
        &cache,
    );
    no_module_warning(&err, "renamed .ko files");
    assert_eq!(got, want, "renamed .ko files: {err}");

    // Compressed, under names that say nothing.
    let zst = compress("zstd", &["-q", "--rm"], &renamed);
    let gz = compress("gzip", &["-q"], &fw);
    let (got, err) = ps_and_bt(&fx, &[fx.rel.vmlinux(), zst, gz], &[], &cache);
    no_module_warning(&err, "zstd and gzip modules");
    assert_eq!(got, want, "zstd and gzip modules: {err}");

    let dp = t.0.join("dp");
    std::fs::create_dir_all(&dp).unwrap();
    let hang = dp.join("dump-2024.hangmod.ko");
    std::fs::copy(fx.ko("quiesce_hang"), &hang).unwrap();
    compress("xz", &["-q"], &hang);
    std::fs::copy(fx.ko("qemu_fw_cfg"), dp.join("fw.ko")).unwrap();
    let env = [("QUIESCE_DEBUG_PATH", dp.clone().into_os_string())];
    let (got, err) = ps_and_bt(&fx, &[fx.rel.vmlinux()], &env, &cache);
    no_module_warning(&err, "xz module in QUIESCE_DEBUG_PATH");
    assert_eq!(got, want, "xz module in QUIESCE_DEBUG_PATH: {err}");
    assert_module_dwarf(&got, "xz module");
}

/// A `debuginfod` server started by a test, killed (and waited for) when dropped, even when
/// the test fails.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One plain HTTP GET on localhost (debuginfod answers no HEAD): the status code; the body
/// is not read.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 64];
    let n = s.read(&mut head).ok()?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Debian's `debuginfod` serving the fixture's vmlinux and modules on a free localhost port:
/// quiesce with only `DEBUGINFOD_URLS` (and an empty sysroot) fetches them by the dump's
/// build-ids, verifies and caches them, and prints the same output as with `-s`; with the
/// server stopped, a second run is served from the cache.
#[test]
fn debuginfod_on_localhost() {
    let Some(fx) = fixture() else { return };
    if Command::new("debuginfod")
        .arg("--version")
        .output()
        .is_err()
    {
        if std::env::var("QUIESCE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1") {
            panic!("debuginfod is not installed (fixtures/deps.sh installs it)");
        }
        eprintln!("SKIP: no debuginfod (install Debian's debuginfod package)");
        return;
    }
    let t = TempDir::new("debuginfod");
    let cache = t.0.join("cache");
    let want = reference(&fx, &cache);
    let srv = t.0.join("srv");
    link(&fx.rel.vmlinux(), &srv.join("vmlinux"));
    for m in ["quiesce_hang", "qemu_fw_cfg"] {
        link(&fx.ko(m), &srv.join(format!("{m}.ko")));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(t.0.join("debuginfod.log")).unwrap();
    let server = Server(
        Command::new("debuginfod")
            .args(["-L", "-F", "-t", "0", "-g", "0", "-c", "1", "-p"])
            .arg(port.to_string())
            .arg("-d")
            .arg(t.0.join("db.sqlite"))
            .arg(&srv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start debuginfod"),
    );
    // Wait until it has indexed the vmlinux and the test module.
    let vmlinux_id = quiesce::debuginfo::elfid::vmlinux_identity(&fx.rel.vmlinux())
        .unwrap()
        .build_id;
    let ko = std::fs::read(fx.ko("quiesce_hang")).unwrap();
    let ko_id = quiesce::debuginfo::elfid::ko_identity(&ko)
        .unwrap()
        .build_id;
    let paths: Vec<String> = [vmlinux_id, ko_id]
        .iter()
        .map(|b| {
            format!(
                "/buildid/{}/debuginfo",
                quiesce::debuginfo::elfid::hex(b.as_deref().expect("build-ids"))
            )
        })
        .collect();
    let t0 = std::time::Instant::now();
    while !paths.iter().all(|p| http_status(port, p) == Some(200)) {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(180),
            "debuginfod did not index the fixture files in 180 s: {}",
            std::fs::read_to_string(t.0.join("debuginfod.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let empty = t.0.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let dcache = t.0.join("debuginfod-cache");
    let env = [
        ("QUIESCE_SYSROOT", empty.clone().into_os_string()),
        (
            "DEBUGINFOD_URLS",
            OsString::from(format!("http://127.0.0.1:{port}")),
        ),
        ("DEBUGINFOD_CACHE_PATH", dcache.clone().into_os_string()),
    ];
    let (got, err) = ps_and_bt(&fx, &[], &env, &cache);
    no_module_warning(&err, "debuginfod");
    assert_eq!(got, want, "via debuginfod: {err}");
    assert_module_dwarf(&got, "debuginfod");
    for what in ["vmlinux", "module quiesce_hang", "module qemu_fw_cfg"] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("quiesce: fetched {what} ("))),
            "no line for fetching {what}: {err}"
        );
    }
    // The cache holds each file under its build-id.
    for p in &paths {
        let hexid = p.split('/').nth(2).unwrap();
        assert!(
            dcache.join(hexid).join("debuginfo").is_file(),
            "{hexid} cached"
        );
    }

    // Sources by build-id: a program built here with -g (the fixture module's own source is
    // not kept after its build, so the server has no source of it), its C file fetched by
    // the absolute path its DWARF names, byte-identical; a kernel-tree file the server does
    // not have is a 404 that the "where looked" message reports.
    use quiesce::debuginfo::sources::{SourceSearch, find};
    let csrc = srv.join("prog/hello_src.c");
    std::fs::create_dir_all(csrc.parent().unwrap()).unwrap();
    std::fs::write(&csrc, "int main(void) { return 42; }\n").unwrap();
    let prog = srv.join("prog/hello");
    let st = Command::new("gcc")
        .args(["-g", "-Wl,--build-id", "-o"])
        .arg(&prog)
        .arg(&csrc)
        .status()
        .expect("gcc (installed by fixtures/deps.sh)");
    assert!(st.success());
    let prog_id = quiesce::debuginfo::DebugInfo::open_vmlinux_uncached(&prog)
        .unwrap()
        .build_id()
        .expect("gcc -Wl,--build-id")
        .to_vec();
    let client = quiesce::debuginfo::debuginfod::Client {
        urls: vec![format!("http://127.0.0.1:{port}")],
        cache: t.0.join("source-cache"),
        timeout: std::time::Duration::from_secs(30),
        max_time: None,
        max_size: 1 << 30,
    };
    // The server picks the new program up on a rescan (SIGUSR1).
    let _ = Command::new("kill")
        .args(["-USR1", &server.0.id().to_string()])
        .status();
    let csrc_abs = csrc.to_str().unwrap();
    let t0 = std::time::Instant::now();
    let got = loop {
        match client.source(&prog_id, csrc_abs) {
            Ok(p) => break p,
            Err(e) => {
                assert!(
                    t0.elapsed() < std::time::Duration::from_secs(60),
                    "no source from debuginfod: {e}"
                );
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        }
    };
    assert!(got.starts_with(t.0.join("source-cache")), "{got:?}");
    assert_eq!(std::fs::read(&got).unwrap(), std::fs::read(&csrc).unwrap());
    let k = fx.rel.open(&fx.dump);
    let search = SourceSearch {
        release: Some(fx.kernel.clone()),
        sysroot: empty.clone(),
        debuginfod: Some(client),
        origins: k.di.source_origins(),
        ..Default::default()
    };
    let e = find(&search, "kernel/rcu/srcutree.c").unwrap_err();
    assert!(
        e.contains("debuginfod /") && e.contains("kernel/rcu/srcutree.c: ") && e.contains("404"),
        "{e}"
    );

    drop(server);
    assert_eq!(http_status(port, &paths[0]), None, "the server is stopped");
    let (again, err) = ps_and_bt(&fx, &[], &env, &cache);
    assert!(
        !err.contains("fetched"),
        "fetched again instead of using the cache: {err}"
    );
    no_module_warning(&err, "debuginfod cache");
    assert_eq!(again, want, "from the debuginfod cache: {err}");
}

/// Kernel source found by the dump's release: Debian's `linux-source-X.Y` tree under
/// `/usr/src`, else its tarball (one file streamed out into a cache, byte-identical to the
/// unpacked tree's); with neither, the error names each place looked.
#[test]
fn kernel_source_by_release() {
    use quiesce::debuginfo::sources::{SourceSearch, find};
    let Some(fx) = fixture() else { return };
    let tree = common::fixtures_root().join("src/linux-source-6.1");
    if !tree.is_dir() {
        assert!(
            !std::env::var("QUIESCE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1"),
            "no fixture source tree at {}",
            tree.display()
        );
        eprintln!("SKIP: no fixture source tree at {}", tree.display());
        return;
    }
    let t = TempDir::new("source");
    let file = "/build/reproducible-path/linux-6.1/kernel/rcu/srcutree.c";
    let search = |root: &Path| SourceSearch {
        explicit: None,
        release: Some(fx.kernel.clone()),
        sysroot: root.to_path_buf(),
        cache: Some(t.0.join("cache")),
        ..Default::default()
    };

    let root = t.0.join("tree");
    link(&tree, &root.join("usr/src/linux-source-6.1"));
    let f = find(&search(&root), file).unwrap();
    assert_eq!(
        f.path,
        root.join("usr/src/linux-source-6.1/kernel/rcu/srcutree.c")
    );

    let empty = t.0.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = find(&search(&empty), file).unwrap_err();
    for p in [
        "usr/src/linux-source-6.1: absent",
        "usr/src/linux-source-6.1.tar.xz: absent",
    ] {
        assert!(e.contains(&empty.join(p).display().to_string()), "{e}");
    }
    assert!(
        e.contains(&format!("lib/modules/{}/source: absent", fx.kernel)),
        "{e}"
    );

    let tarball = Path::new("/usr/src/linux-source-6.1.tar.xz");
    if !tarball.is_file() {
        eprintln!(
            "SKIP (tarball part): no {} (Debian's linux-source-6.1)",
            tarball.display()
        );
        return;
    }
    let root = t.0.join("tarball");
    link(tarball, &root.join("usr/src/linux-source-6.1.tar.xz"));
    // ret_from_fork's file (in every backtrace), a third of the way into the tarball: a
    // file deep in it (kernel/rcu/) takes ~40 s of pure-Rust xz decoding on CI's machine.
    let file = "arch/x86/entry/entry_64.S";
    let want = std::fs::read(tree.join(file)).unwrap();
    let t0 = std::time::Instant::now();
    let f = find(&search(&root), file).unwrap();
    eprintln!("{file} out of the tarball in {:?}", t0.elapsed());
    let kept = t.0.join("cache/linux-source-6.1.tar.xz");
    assert!(f.path.starts_with(&kept), "{f:?}");
    assert_eq!(std::fs::read(&f.path).unwrap(), want);
    // The second time it comes from the cache.
    let t0 = std::time::Instant::now();
    assert_eq!(find(&search(&root), file).unwrap().path, f.path);
    assert!(t0.elapsed() < std::time::Duration::from_secs(1));
}
