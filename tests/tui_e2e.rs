//! Runs `tests/e2e_tui.sh` (the TUI in tmux on the bookworm hang dump) when tmux and the
//! fixture are present; the source and notes steps when `fixtures/source.sh` has unpacked
//! the source tree.

mod common;

use std::process::Command;

#[test]
fn tmux_smoke() {
    let dir = common::fixtures_root().join("bookworm");
    let dump = dir.join("dumps/hang.elf");
    let required = std::env::var("QUIESCE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1");
    if !dump.exists() {
        assert!(!required, "missing {}", dump.display());
        eprintln!("SKIP: no fixture at {}", dump.display());
        return;
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIP: tmux is not installed");
        return;
    }
    let src = common::fixtures_root().join("src/linux-source-6.1");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e_tui.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_quiesce"))
        .arg(&dump)
        .arg(dir.join("vmlinux"))
        .arg(dir.join("modules"))
        .arg(if src.join("kernel/rcu/srcutree.c").exists() {
            src.as_os_str()
        } else {
            eprintln!(
                "no source tree at {} (fixtures/source.sh): source steps skipped",
                src.display()
            );
            assert!(!required, "missing {}", src.display());
            std::ffi::OsStr::new("")
        })
        .output()
        .expect("runs bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("PASS"), "{stdout}");
}
