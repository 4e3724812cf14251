//! `sys`: what machine and kernel the dump is of, crash's `sys` in short.

use super::Report;
use serde::Serialize;

#[derive(Debug, Serialize, Default)]
pub struct SysReport {
    pub dumpfile: String,
    pub format: String,
    pub cpus: u32,
    pub cpus_online: usize,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub nodename: String,
    /// Seconds since boot, from `jiffies` and `HZ` (INITIAL_JIFFIES corrected).
    pub uptime_secs: Option<f64>,
    pub jiffies: Option<u64>,
    pub panic: Option<String>,
    pub kaslr_offset: String,
    pub warnings: Vec<String>,
}

impl Report for SysReport {
    fn text(&self) -> String {
        let mut s = String::new();
        let mut kv = |k: &str, v: String| s.push_str(&format!("{k:>12}: {v}\n"));
        kv("DUMPFILE", format!("{}  [{}]", self.dumpfile, self.format));
        kv(
            "CPUS",
            format!("{} ({} online)", self.cpus, self.cpus_online),
        );
        if let Some(u) = self.uptime_secs {
            let t = u as u64;
            kv(
                "UPTIME",
                format!("{:02}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60),
            );
        }
        kv("NODENAME", self.nodename.clone());
        kv("RELEASE", self.release.clone());
        kv("VERSION", self.version.clone());
        kv("MACHINE", self.machine.clone());
        kv("KASLR", self.kaslr_offset.clone());
        kv(
            "PANIC",
            self.panic
                .clone()
                .map(|p| format!("\"{p}\""))
                .unwrap_or_default(),
        );
        for w in &self.warnings {
            s.push_str(&format!("     WARNING: {w}\n"));
        }
        s
    }
}
