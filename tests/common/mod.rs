//! Shared helpers for the real-dump tests: where the fixtures are, what the manifest lists,
//! and parsers for the crash and drgn reference outputs stored beside the dumps.
//!
//! The fixtures are built by `fixtures/build.sh` into `$QUIESCE_FIXTURES` (default
//! `~/.cache/quiesce/fixtures`). Without them a test prints why it skipped — unless
//! `QUIESCE_REQUIRE_FIXTURES=1` (CI), where a missing fixture fails the test.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn fixtures_root() -> PathBuf {
    if let Ok(p) = std::env::var("QUIESCE_FIXTURES") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/quiesce/fixtures")
}

pub fn required() -> bool {
    std::env::var("QUIESCE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1")
}

/// A release's fixture directory, or `None` (skip) when absent and not required.
pub fn release(name: &str) -> Option<Release> {
    let dir = fixtures_root().join(name);
    let manifest = dir.join("manifest.json");
    if !manifest.exists() {
        if required() {
            panic!(
                "fixtures for {name} are missing at {} (QUIESCE_REQUIRE_FIXTURES=1): run fixtures/build.sh",
                dir.display()
            );
        }
        eprintln!(
            "SKIP: no fixtures at {} (run fixtures/build.sh)",
            dir.display()
        );
        return None;
    }
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap())
        .expect("manifest.json parses");
    Some(Release {
        name: name.to_string(),
        dir,
        manifest: m,
    })
}

/// The releases CI builds (`fixtures/build.sh bookworm trixie sid`, which adds each suite
/// booted with 5-level paging as `<suite>-la57`): with `QUIESCE_REQUIRE_FIXTURES=1` each
/// must be present.
pub const CI_RELEASES: &[&str] = &[
    "bookworm",
    "trixie",
    "sid",
    "bookworm-la57",
    "trixie-la57",
    "sid-la57",
];

/// Every x86_64 release directory with a manifest, CI's in their order first, then any
/// other. Real-dump tests iterate over all of them. The aarch64 fixtures
/// (`<suite>-arm64`, `<suite>-arm64-a57`: `"arch": "aarch64"` in their manifest) are left
/// out until quiesce reads arm64 dumps: `releases_of_arch("aarch64")` lists them.
pub fn releases() -> Vec<Release> {
    releases_of_arch("x86_64")
}

/// The release directories whose manifest says `"arch": ARCH` (a manifest without `arch`
/// predates the arm64 fixtures and is x86_64).
pub fn releases_of_arch(arch: &str) -> Vec<Release> {
    all_releases()
        .into_iter()
        .filter(|r| r.arch() == arch && !r.is_big())
        .collect()
}

/// The production-sized fixtures (`fixtures/build.sh bookworm-big`: 10 000 tasks, 16 GiB,
/// the generic kernel with several dozen modules), built only when asked for.
pub fn big_releases() -> Vec<Release> {
    let big: Vec<Release> = all_releases().into_iter().filter(|r| r.is_big()).collect();
    if big.is_empty() {
        assert!(
            std::env::var("QUIESCE_REQUIRE_BIG").as_deref() != Ok("1"),
            "no big fixture under {} (QUIESCE_REQUIRE_BIG=1): run fixtures/build.sh bookworm-big",
            fixtures_root().display()
        );
        eprintln!("SKIP: no big fixture (fixtures/build.sh bookworm-big builds one)");
    }
    big
}

fn all_releases() -> Vec<Release> {
    let mut names: Vec<String> = CI_RELEASES.iter().map(|s| s.to_string()).collect();
    let mut others: Vec<String> = std::fs::read_dir(fixtures_root())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("manifest.json").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !names.contains(n))
        .collect();
    others.sort();
    names.extend(others);
    names.iter().filter_map(|n| release(n)).collect()
}

pub struct Release {
    pub name: String,
    pub dir: PathBuf,
    pub manifest: Value,
}

/// Which reader a dump's expectations come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// crash's output for this dump name (crash read it).
    Crash(String),
    /// drgn's JSON for this dump name (crash could not read the release's dumps, e.g. sid:
    /// crash 9.0.2 fails with "invalid structure member offset: module_num_gpl_syms").
    Drgn(String),
}

impl Reference {
    pub fn dump(&self) -> &str {
        match self {
            Reference::Crash(d) | Reference::Drgn(d) => d,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DumpEntry {
    pub name: String,
    pub scenario: String,
    pub format: String,
    pub path: PathBuf,
}

impl Release {
    pub fn vmlinux(&self) -> PathBuf {
        self.dir
            .join(self.manifest["vmlinux"].as_str().unwrap_or("vmlinux"))
    }

    pub fn modules_dir(&self) -> PathBuf {
        self.dir.join("modules")
    }

    /// A dump of this release opened with its vmlinux and its modules' `.ko` files.
    pub fn open(&self, core: &Path) -> quiesce::kernel::Kernel {
        quiesce::kernel::open(&quiesce::kernel::OpenOptions {
            core: core.to_path_buf(),
            vmlinux: self.vmlinux(),
            modules: vec![self.modules_dir()],
        })
        .unwrap_or_else(|e| panic!("{} {}: {e}", self.name, core.display()))
    }

    /// The manifest's `arch` (`x86_64` for fixtures made before it was recorded).
    pub fn arch(&self) -> &str {
        self.manifest["arch"].as_str().unwrap_or("x86_64")
    }

    /// A production-sized fixture (`<suite>-big`).
    pub fn is_big(&self) -> bool {
        self.manifest["big"].as_bool().unwrap_or(false)
    }

    pub fn kernel(&self) -> String {
        self.manifest["kernel"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn dumps(&self) -> Vec<DumpEntry> {
        self.manifest["dumps"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| DumpEntry {
                        name: d["name"].as_str().unwrap_or_default().to_string(),
                        scenario: d["scenario"].as_str().unwrap_or_default().to_string(),
                        format: d["format"].as_str().unwrap_or_default().to_string(),
                        path: self
                            .dir
                            .join("dumps")
                            .join(d["name"].as_str().unwrap_or_default()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn dumps_of(&self, scenario: &str) -> Vec<DumpEntry> {
        self.dumps()
            .into_iter()
            .filter(|d| d.scenario == scenario)
            .collect()
    }

    /// The ELF dump of `scenario`, when the release has one.
    pub fn elf_of(&self, scenario: &str) -> Option<DumpEntry> {
        self.dumps_of(scenario)
            .into_iter()
            .find(|d| d.name.ends_with(".elf"))
    }

    pub fn crash_ref(&self, dump: &str, what: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join("ref/crash").join(dump).join(what)).ok()
    }

    fn reader(&self, dump: &str, who: &str) -> String {
        self.manifest["dumps"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["name"] == dump)
            .and_then(|d| d["readers"][who].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// crash read this dump (manifest `readers.crash` = "ok" and its outputs exist).
    pub fn crash_reads(&self, dump: &str) -> bool {
        self.reader(dump, "crash") == "ok"
            && self
                .crash_ref(dump, "ps.txt")
                .is_some_and(|t| !t.trim().is_empty())
    }

    /// drgn read this dump's tasks without errors (none at the top level, none in any
    /// task: sid's makedumpfile rcustall outputs list 65 tasks, but several with
    /// "Excluded page" errors for their state and flags).
    pub fn drgn_reads(&self, dump: &str) -> bool {
        self.drgn_ref(dump).is_some_and(|j| {
            j["tasks"].as_array().is_some_and(|t| {
                !t.is_empty()
                    && t.iter()
                        .all(|t| t["errors"].as_array().is_none_or(|e| e.is_empty()))
            }) && j["errors"].as_array().is_none_or(|e| e.is_empty())
        })
    }

    /// Neither crash nor drgn could read this dump's task list: on sid, makedumpfile
    /// 1.7.8's `-d 31` output of the hang dump excluded pages drgn needs (0 tasks). Tests
    /// compare what quiesce reads there with the same scenario's ELF reference.
    pub fn unreadable_by_references(&self, dump: &str) -> bool {
        // drgn opened the dump (it has the log) but could not read all its tasks.
        !self.crash_reads(dump)
            && !self.drgn_reads(dump)
            && self.drgn_ref(dump).is_some_and(|j| j.get("log").is_some())
    }

    /// The reference for a dump: crash where crash reads it (this dump, else the scenario's
    /// ELF: the same machine state), drgn otherwise (this dump, else the scenario's ELF:
    /// drgn cannot open QEMU's kdump files, and some makedumpfile outputs lost pages).
    pub fn reference(&self, dump: &DumpEntry) -> Reference {
        let twin = self.twin(dump);
        if self.crash_reads(&dump.name) {
            Reference::Crash(dump.name.clone())
        } else if self.crash_reads(&twin) {
            Reference::Crash(twin)
        } else if self.drgn_reads(&dump.name) {
            Reference::Drgn(dump.name.clone())
        } else {
            assert!(
                self.drgn_reads(&twin),
                "{}: neither crash nor drgn read {twin}",
                self.name
            );
            Reference::Drgn(twin)
        }
    }

    /// The dump whose references stand in for `dump`'s (the same boot, so the same
    /// machine state): the scenario's ELF, or — in the big fixture, which keeps no 16 GiB
    /// ELF — its other dump that drgn reads (drgn cannot open QEMU's kdump files).
    pub fn twin(&self, dump: &DumpEntry) -> String {
        let elf = format!("{}.elf", dump.scenario);
        if self.elf_of(&dump.scenario).is_some() {
            return elf;
        }
        self.dumps_of(&dump.scenario)
            .into_iter()
            .map(|d| d.name)
            .find(|n| *n != dump.name && self.drgn_reads(n))
            .unwrap_or(elf)
    }

    /// drgn's JSON for the dump, or for its twin (above) when drgn could not read it.
    pub fn drgn_for(&self, dump: &DumpEntry) -> (Value, String) {
        let name = if self.drgn_reads(&dump.name) {
            dump.name.clone()
        } else {
            self.twin(dump)
        };
        let v = self
            .drgn_ref(&name)
            .unwrap_or_else(|| panic!("{}: no drgn reference for {name}", self.name));
        (v, name)
    }

    pub fn drgn_ref(&self, dump: &str) -> Option<Value> {
        let t =
            std::fs::read_to_string(self.dir.join("ref/drgn").join(format!("{dump}.json"))).ok()?;
        serde_json::from_str(&t).ok()
    }
}

/// One row of crash's `ps`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrashPs {
    pub pid: i64,
    pub ppid: i64,
    pub cpu: u32,
    pub task: u64,
    pub st: String,
    pub comm: String,
    pub active: bool,
}

/// drgn's task list as crash `ps` rows: crash's state letters from `__state` (drgn's `Z`
/// and `X` letters come from `exit_state`), ppid 0 for the idle tasks, `>` for the task
/// that is `cpu_curr()` of its CPU.
pub fn drgn_ps(j: &Value) -> Vec<CrashPs> {
    j["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let state = t["__state"].as_u64().unwrap_or(0);
            let exit = match t["state"].as_str() {
                Some("Z") => 0x20,
                Some("X") => 0x10,
                _ => 0,
            };
            let pid = t["pid"].as_i64().unwrap_or(-1);
            CrashPs {
                pid,
                ppid: if pid == 0 {
                    0
                } else {
                    t["ppid"].as_i64().unwrap_or(-1)
                },
                cpu: t["cpu"].as_u64().unwrap_or(0) as u32,
                task: hex_or_int(&t["address"]),
                st: quiesce::kernel::tasks::state_letters(state, exit).to_string(),
                comm: t["comm"].as_str().unwrap_or_default().to_string(),
                active: t["is_current"].as_bool().unwrap_or(false),
            }
        })
        .collect()
}

/// A JSON number or a "0x…" string.
pub fn hex_or_int(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| {
            v.as_str()
                .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        })
        .unwrap_or(0)
}

/// Parse crash `ps` output:
/// `>     0      0   0  ffffffff82a13940  RU   0.0        0        0  [swapper/0]`
pub fn parse_crash_ps(text: &str) -> Vec<CrashPs> {
    text.lines()
        .filter_map(|l| {
            let active = l.starts_with('>');
            let rest = l.trim_start_matches('>');
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() < 9 || f[0].parse::<i64>().is_err() {
                return None;
            }
            // COMM may contain spaces: everything after the 8th column.
            let comm_start = nth_field_end(rest, 8)?;
            let comm = rest[comm_start..].trim();
            let comm = comm
                .strip_prefix('[')
                .and_then(|c| c.strip_suffix(']'))
                .unwrap_or(comm);
            Some(CrashPs {
                pid: f[0].parse().ok()?,
                ppid: f[1].parse().ok()?,
                cpu: f[2].parse().ok()?,
                task: u64::from_str_radix(f[3], 16).ok()?,
                st: f[4].to_string(),
                comm: comm.to_string(),
                active,
            })
        })
        .collect()
}

fn nth_field_end(s: &str, n: usize) -> Option<usize> {
    let mut count = 0;
    let mut in_field = false;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            if in_field {
                count += 1;
                in_field = false;
                if count == n {
                    return Some(i);
                }
            }
        } else {
            in_field = true;
        }
    }
    None
}

/// One task of crash `foreach bt`: header and frame function names.
#[derive(Debug, Clone)]
pub struct CrashBt {
    pub pid: i64,
    pub task: u64,
    pub cpu: String,
    pub comm: String,
    pub functions: Vec<String>,
    /// `[exception RIP: func+off]` of a task running at dump time (its prstatus pc).
    pub exception_rip: Option<String>,
}

/// Parse `PID: 915  TASK: ffff…  CPU: 3  COMMAND: "x"` blocks with `#N [sp] func at addr`.
pub fn parse_crash_bt(text: &str) -> Vec<CrashBt> {
    let mut out: Vec<CrashBt> = Vec::new();
    for l in text.lines() {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix("PID:") {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let get = |k: &str| {
                f.iter()
                    .position(|x| *x == k)
                    .and_then(|i| f.get(i + 1))
                    .copied()
            };
            let comm = t
                .split("COMMAND: ")
                .nth(1)
                .unwrap_or("")
                .trim_matches('"')
                .to_string();
            out.push(CrashBt {
                pid: f.first().and_then(|p| p.parse().ok()).unwrap_or(-1),
                task: get("TASK:")
                    .and_then(|x| u64::from_str_radix(x, 16).ok())
                    .unwrap_or(0),
                cpu: get("CPU:").unwrap_or("").to_string(),
                comm,
                functions: vec![],
                exception_rip: None,
            });
        } else if let Some(rest) = t.strip_prefix("[exception RIP: ")
            && let Some(cur) = out.last_mut()
        {
            let f = rest.trim_end_matches(']');
            let f = f.split('+').next().unwrap_or(f).to_string();
            if cur.functions.is_empty() {
                // where the CPU was: the prstatus pc
                cur.exception_rip = Some(f);
            } else {
                // an interrupted function further down (after `--- <IRQ stack> ---`): crash
                // prints the pt_regs' RIP instead of a numbered frame; it is a frame
                cur.functions.push(f);
            }
        } else if t.starts_with('#')
            && let Some(cur) = out.last_mut()
        {
            // "#3 [ffffc9000001bd48] schedule_timeout at ffffffff81a1d0b5 [module]"
            let after = t.split(']').nth(1).unwrap_or("").trim();
            if let Some(func) = after.split(" at ").next() {
                cur.functions.push(func.trim().to_string());
            }
        }
    }
    out
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
pub mod corpus;
pub mod corpus_objects;
pub mod corpus_run;
pub mod guest;
pub mod modes;
pub mod normalize;
pub mod screen;
pub mod waits;

/// Run a drgn reference script of `fixtures/ref/` on a dump at test time (`SCRIPT DUMP
/// VMLINUX MODULE`): its JSON, or `None` (skip) when drgn's venv is missing, unless
/// `QUIESCE_REQUIRE_FIXTURES=1` makes that a failure.
pub fn drgn_script(script: &str, dump: &Path, vmlinux: &Path, module: &Path) -> Option<Value> {
    let py = fixtures_root().join("tools/venv/bin/python");
    if !py.exists() {
        if std::env::var("QUIESCE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!(
                "QUIESCE_REQUIRE_FIXTURES=1 but drgn's venv is missing at {}",
                py.display()
            );
        }
        eprintln!("SKIP: no drgn venv at {}", py.display());
        return None;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ref")
        .join(script);
    let out = std::process::Command::new(&py)
        .arg(&path)
        .arg(dump)
        .arg(vmlinux)
        .arg(module)
        .output()
        .expect("drgn runs");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script}: {e}")))
}

/// A value crash printed for `p SYMBOL` (the `objects.txt` reference): the section of
/// command `crash> {cmd}`, then each key of `path` in turn (`["writer", "task"]` finds
/// `writer = {` and then the first `task = ` after it); the value without its trailing
/// comma.
pub fn crash_value(text: &str, cmd: &str, path: &[&str]) -> Option<String> {
    let start = text.find(&format!("crash> {cmd}\n"))?;
    let rest = &text[start + cmd.len() + 8..];
    let sec = &rest[..rest.find("crash> ").unwrap_or(rest.len())];
    let mut pos = 0;
    let mut value = None;
    for key in path {
        let pat = format!("{key} = ");
        let i = sec[pos..]
            .lines()
            .scan(pos, |off, l| {
                let here = *off;
                *off += l.len() + 1;
                Some((here, l))
            })
            .find(|(_, l)| l.trim_start().starts_with(&pat))?;
        let line = i.1.trim_start();
        value = Some(line[pat.len()..].trim_end_matches(',').trim().to_string());
        pos = i.0 + i.1.len() + 1;
    }
    value
}

/// Run the quiesce binary (from the repository's root): exit code, stdout, stderr.
pub fn run_quiesce<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quiesce"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run quiesce");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
