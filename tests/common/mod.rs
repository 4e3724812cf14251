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

fn required() -> bool {
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
    Some(Release { dir, manifest: m })
}

pub struct Release {
    pub dir: PathBuf,
    pub manifest: Value,
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

    pub fn crash_ref(&self, dump: &str, what: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join("ref/crash").join(dump).join(what)).ok()
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
            && cur.functions.is_empty()
        {
            let f = rest.trim_end_matches(']');
            cur.exception_rip = Some(f.split('+').next().unwrap_or(f).to_string());
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
