//! Live: inside the fixture guest, `quiesce ps -c /proc/kcore` lists the guest's processes
//! as the guest's own /proc does. `fixtures/live.sh` boots the fixture kernel under QEMU
//! with the quiesce binary and the vmlinux in its initramfs and brings the outputs back.

mod common;

use common::release;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

/// `/proc/<pid>/stat` lines → pid → (ppid, comm).
fn parse_stat(text: &str) -> HashMap<i64, (i64, String)> {
    text.lines()
        .filter_map(|l| {
            let open = l.find('(')?;
            let close = l.rfind(')')?;
            let pid = l[..open].trim().parse().ok()?;
            // /proc shows a kworker's last or current workqueue after its name
            // (`kworker/u4:1-events_unbound`, `kworker/0:2+events`: wq_worker_comm());
            // task->comm has no suffix.
            let mut comm = l[open + 1..close].to_string();
            if comm.starts_with("kworker/")
                && let Some(dash) = comm.find(['-', '+'])
            {
                comm.truncate(dash);
            }
            let rest: Vec<&str> = l[close + 1..].split_whitespace().collect();
            Some((pid, (rest.get(1)?.parse().ok()?, comm)))
        })
        .collect()
}

/// Boot the fixture guest with the quiesce binary and run `quiesce ARGS -c /proc/kcore -s
/// /host/vmlinux` in it (`fixtures/live.sh`, outputs in `CARGO_TARGET_TMPDIR/NAME-out`):
/// its JSON output, and the directory of live.sh's outputs. It must exit 0.
fn in_guest(rel: &common::Release, name: &str, args: &[&str]) -> (serde_json::Value, PathBuf) {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let bindir = tmp.join(format!("{name}-bin"));
    std::fs::create_dir_all(&bindir).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_quiesce"), bindir.join("quiesce")).unwrap();
    let out = tmp.join(format!("{name}-out"));
    let _ = std::fs::remove_dir_all(&out);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/live.sh");
    let st = Command::new("bash")
        .arg(&script)
        .arg(&bindir)
        .arg(rel.vmlinux())
        .arg("/host/quiesce")
        .args(args)
        .args(["-c", "/proc/kcore", "-s", "/host/vmlinux"])
        .env("QUIESCE_LIVE_OUT", &out)
        .status()
        .expect("run fixtures/live.sh");
    assert!(st.success(), "live.sh failed: see {}", out.display());
    let rc = std::fs::read_to_string(out.join("cmd.rc")).unwrap();
    let cmd_out = std::fs::read_to_string(out.join("cmd.out")).unwrap();
    assert_eq!(rc.trim(), "0", "quiesce in the guest: {cmd_out}");
    let json_start = cmd_out.find('{').expect("JSON from quiesce");
    (serde_json::from_str(&cmd_out[json_start..]).unwrap(), out)
}

#[test]
fn ps_on_proc_kcore_matches_the_guests_proc() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let (ps, out) = in_guest(&rel, "live", &["ps", "--json"]);
    let ours: HashMap<i64, (i64, String)> = ps["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["pid"].as_i64().unwrap(),
                (
                    t["ppid"].as_i64().unwrap(),
                    t["comm"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    // Processes present both before and after quiesce ran are stable; every one of them
    // must be in quiesce's list with the same parent and command.
    let before = parse_stat(&std::fs::read_to_string(out.join("ref_stat_before.txt")).unwrap());
    let after = parse_stat(&std::fs::read_to_string(out.join("ref_stat_after.txt")).unwrap());
    let stable: Vec<_> = before
        .iter()
        .filter(|(p, v)| after.get(p) == Some(v))
        .collect();
    assert!(stable.len() > 50, "only {} stable processes", stable.len());
    for (pid, (ppid, comm)) in &stable {
        let (our_ppid, our_comm) = ours
            .get(pid)
            .unwrap_or_else(|| panic!("pid {pid} ({comm}) of the guest's /proc is missing"));
        assert_eq!(our_ppid, ppid, "pid {pid} ({comm}) ppid");
        // /proc shows a kthread's full name (kthread->full_name, longer than
        // TASK_COMM_LEN); task->comm holds its first 15 bytes.
        assert!(
            our_comm == comm || (our_comm.len() == 15 && comm.starts_with(our_comm.as_str())),
            "pid {pid}: comm {our_comm:?} vs /proc {comm:?}"
        );
    }
    // And quiesce invents nothing: its processes (tgid == pid) are in /proc, except
    // quiesce itself and its short-lived siblings.
    for t in ps["tasks"].as_array().unwrap() {
        let pid = t["pid"].as_i64().unwrap();
        if pid == 0
            || pid != t["tgid"].as_i64().unwrap()
            || before.contains_key(&pid)
            || after.contains_key(&pid)
        {
            continue;
        }
        let comm = t["comm"].as_str().unwrap();
        assert!(
            matches!(comm, "quiesce" | "ps" | "cat" | "sh"),
            "pid {pid} ({comm}) is not in /proc"
        );
    }
    // The scenario's hung kthreads are seen live too.
    assert!(ours.values().any(|(_, c)| c == "qh_srcu_sync"));
}

/// `watch` on the running kernel: inside the guest, `quiesce watch -c /proc/kcore` takes its
/// snapshots while the kernel runs (nothing can stop it): jiffies move on between them, and
/// every one holds RCU's state.
#[test]
fn watch_on_proc_kcore_takes_snapshots_while_it_runs() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let (tl, _) = in_guest(
        &rel,
        "live-watch",
        &[
            "watch", "--json", "--count", "4", "--every", "300", "--print", "jiffies",
        ],
    );
    let snaps = tl["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 4);
    let jiffies: Vec<i64> = snaps
        .iter()
        .map(|s| {
            s["values"]["print.jiffies"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        jiffies.windows(2).all(|w| w[1] > w[0]),
        "the kernel ran between the snapshots: {jiffies:?}"
    );
    for s in snaps {
        assert_eq!(s["values"]["rcu.name"].as_str(), Some("rcu_preempt"), "{s}");
        assert!(s["values"]["rcu.gp_seq"].as_str().is_some(), "{s}");
    }
}
