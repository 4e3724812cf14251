//! `sys` on every release's dumps line by line next to crash's `sys` (bookworm, trixie), or
//! next to the raw values drgn reads (`fixtures/ref/drgn_sys.py`) where crash cannot read
//! the release (sid).

mod common;

use quiesce::report::Report;
use quiesce::report::sys::{SysReport, load_average, memory_size, utc_date};
use std::collections::BTreeMap;

/// `KEY: value` lines (crash's, ours) by key.
fn fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn sys_matches_crash_or_drgn() {
    let mut compared = 0;
    for rel in common::releases() {
        for scenario in ["hang", "rcustall"] {
            let dump = rel.dir.join(format!("dumps/{scenario}.elf"));
            let name = format!("{scenario}.elf");
            let k = rel.open(&dump);
            let t = quiesce::report::Target::new(&dump, vec![rel.vmlinux(), rel.modules_dir()]);
            let r = SysReport::read(&k, &t);
            let ours = fields(&r.text());
            println!("{} {name}:\n{}", rel.name, r.text());
            assert!(!r.text().contains("{ "), "Rust debug text: {}", r.text());
            // Uptime against the log: the last record was printed before the dump was taken.
            let last = k.log().unwrap().records.last().unwrap().ts_nsec as f64 / 1e9;
            let up = r.uptime_secs.expect("uptime");
            assert!(
                up + 1.0 >= last && up < last + 120.0,
                "{} {name}: uptime {up} s, last log record at {last} s",
                rel.name
            );
            if rel.crash_reads(&name) {
                let crash = fields(&rel.crash_ref(&name, "sys.txt").unwrap());
                for key in [
                    "CPUS",
                    "DATE",
                    "LOAD AVERAGE",
                    "TASKS",
                    "NODENAME",
                    "RELEASE",
                    "VERSION",
                    "MACHINE",
                    "MEMORY",
                    "PANIC",
                ] {
                    assert_eq!(ours.get(key), crash.get(key), "{} {name}: {key}", rel.name);
                }
                assert_eq!(
                    ours["KERNEL"].ends_with("[TAINTED]"),
                    crash["KERNEL"].ends_with("[TAINTED]"),
                    "{} {name}: KERNEL",
                    rel.name
                );
                // crash takes HZ from the kernel's embedded config and falls back to 1000
                // without one (trixie's kernel has none: 00:03:51 for a 25 s boot); quiesce
                // reads HZ back from tick_nsec. Where crash's HZ was right, the lines agree.
                let hz = r.hz.unwrap();
                let at_1000 = {
                    let j = r.jiffies.unwrap();
                    let initial = (-(300i64 * 1000)) as u32 as u64;
                    quiesce::report::sys::uptime(j.wrapping_sub(initial) as f64 / 1000.0)
                };
                if hz != 1000 && crash["UPTIME"] == at_1000 {
                    eprintln!(
                        "{} {name}: crash's UPTIME {} assumes HZ=1000; HZ is {hz}: {}",
                        rel.name, crash["UPTIME"], ours["UPTIME"]
                    );
                } else {
                    assert_eq!(ours["UPTIME"], crash["UPTIME"], "{} {name}", rel.name);
                }
            } else {
                let Some(d) = common::drgn_script(
                    "drgn_sys.py",
                    &dump,
                    &rel.vmlinux(),
                    &rel.modules_dir().join("quiesce_hang.ko"),
                ) else {
                    continue;
                };
                let n = |k: &str| d[k].as_u64().unwrap();
                let av = d["avenrun"].as_array().unwrap();
                let av = [0, 1, 2].map(|i| av[i].as_u64().unwrap());
                let want = [
                    ("CPUS", n("cpus_present").to_string()),
                    ("DATE", utc_date(d["xtime_sec"].as_i64().unwrap())),
                    ("LOAD AVERAGE", load_average(av)),
                    ("TASKS", n("tasks").to_string()),
                    ("NODENAME", d["nodename"].as_str().unwrap().to_string()),
                    ("RELEASE", d["release"].as_str().unwrap().to_string()),
                    ("VERSION", d["version"].as_str().unwrap().to_string()),
                    (
                        "MACHINE",
                        format!(
                            "{}  ({} Mhz)",
                            d["machine"].as_str().unwrap(),
                            n("cpu_khz") / 1000
                        ),
                    ),
                    ("MEMORY", memory_size(n("present_pages") * 4096)),
                ];
                for (key, v) in want {
                    assert_eq!(ours[key], v, "{} {name}: {key} vs drgn", rel.name);
                }
                assert_eq!(
                    ours["KERNEL"].ends_with("[TAINTED]"),
                    n("tainted_mask") != 0
                );
                assert_eq!(r.jiffies, Some(n("jiffies")), "{} {name}", rel.name);
            }
            compared += 1;
        }
    }
    eprintln!("sys compared on {compared} dumps");
}
