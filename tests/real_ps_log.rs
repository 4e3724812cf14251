//! `ps` and `log` on every real fixture dump agree with crash's output on the same dump.

mod common;

use common::{parse_crash_ps, release};
use quiesce::kernel::{self, OpenOptions};

fn open(rel: &common::Release, dump: &common::DumpEntry) -> quiesce::kernel::Kernel {
    kernel::open(&OpenOptions {
        core: dump.path.clone(),
        vmlinux: rel.vmlinux(),
        modules: vec![rel.modules_dir()],
    })
    .unwrap_or_else(|e| panic!("{}: {e}", dump.name))
}

/// The crash reference for a dump, or the ELF one of the same scenario (same machine state)
/// when crash could not read this variant.
fn crash_ref(rel: &common::Release, dump: &common::DumpEntry, what: &str) -> (String, String) {
    if let Some(t) = rel
        .crash_ref(&dump.name, what)
        .filter(|t| !t.trim().is_empty())
    {
        return (t, dump.name.clone());
    }
    let elf = format!("{}.elf", dump.scenario);
    let t = rel
        .crash_ref(&elf, what)
        .unwrap_or_else(|| panic!("no crash reference {what} for {} or {elf}", dump.name));
    (t, elf)
}

#[test]
fn ps_matches_crash_on_every_dump() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let dumps = rel.dumps();
    assert!(
        dumps.len() >= 5,
        "expected the dump variants, got {dumps:?}"
    );
    for d in dumps {
        let k = open(&rel, &d);
        let list = k.tasks().unwrap();
        assert!(list.errors.is_empty(), "{}: {:?}", d.name, list.errors);
        let (text, from) = crash_ref(&rel, &d, "ps.txt");
        let mut want = parse_crash_ps(&text);
        assert!(
            want.len() > 20,
            "crash ps of {from} parsed to {} rows",
            want.len()
        );
        let mut got: Vec<common::CrashPs> = list
            .tasks
            .iter()
            .map(|t| common::CrashPs {
                pid: t.pid as i64,
                ppid: t.ppid as i64,
                cpu: t.cpu,
                task: t.addr,
                st: t.st.to_string(),
                comm: t.comm.clone(),
                active: t.active,
            })
            .collect();
        want.sort();
        got.sort();
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{} vs crash ps of {from}:\n missing {missing:#?}\n extra {extra:#?}",
            d.name
        );
        // The test module's threads are there, in the states the scenario puts them in.
        if d.scenario == "hang" {
            for comm in [
                "qh_srcu_reader",
                "qh_srcu_sync",
                "qh_abba_a",
                "qh_abba_b",
                "qh_completion",
            ] {
                let t = got.iter().find(|t| t.comm == comm);
                assert_eq!(t.map(|t| t.st.as_str()), Some("UN"), "{}: {comm}", d.name);
            }
        } else {
            let t = got
                .iter()
                .find(|t| t.comm == "qh_rcu_staller")
                .expect("the staller");
            assert!(t.active && t.st == "RU", "{}: {t:?}", d.name);
        }
    }
}

#[test]
fn log_matches_crash_on_every_dump() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    for d in rel.dumps() {
        let k = open(&rel, &d);
        let log = k.log().unwrap();
        assert!(log.errors.is_empty(), "{}: {:?}", d.name, log.errors);
        let (text, from) = crash_ref(&rel, &d, "log.txt");
        let want: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("crash>"))
            .collect();
        let got: Vec<String> = log
            .records
            .iter()
            .flat_map(|r| {
                r.crash_line()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(
            want.len() > 100,
            "crash log of {from} has {} lines",
            want.len()
        );
        assert_eq!(
            got.len(),
            want.len(),
            "{}: record count vs crash log of {from}",
            d.name
        );
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.trim_end(), w.trim_end(), "{} vs {from}", d.name);
        }
        let report = if d.scenario == "hang" {
            "blocked for more than"
        } else {
            "self-detected stall on CPU"
        };
        assert!(
            log.records.iter().any(|r| r.text.contains(report)),
            "{}: the {report} report is in the log",
            d.name
        );
    }
}
