//! `sys`: what machine and kernel the dump is of, crash's `sys` line for line (KERNEL,
//! DUMPFILE, CPUS, DATE, UPTIME, LOAD AVERAGE, TASKS, NODENAME, RELEASE, VERSION, MACHINE,
//! MEMORY, PANIC), with the same values, plus the KASLR offset.

use super::Report;
use super::target::Target;
use crate::kernel::Kernel;
use serde::Serialize;

#[derive(Debug, Serialize, Default)]
pub struct SysReport {
    /// The vmlinux given.
    pub kernel: String,
    /// `tainted_mask` is not zero.
    pub tainted: bool,
    pub dumpfile: String,
    /// `ELF`, `kdump-compressed (zstd)`, `kdump-compressed (zlib), flattened`, `/proc/kcore`.
    pub format: String,
    /// CPUs in `__cpu_present_mask`, and how many of them are not online.
    pub cpus: u32,
    pub cpus_offline: u32,
    /// The wall clock at dump time (`timekeeper.xtime_sec`), seconds since the epoch, and
    /// as crash prints it (UTC).
    pub xtime_sec: Option<i64>,
    pub date: Option<String>,
    /// Seconds since boot, from `jiffies` and `HZ` (INITIAL_JIFFIES corrected).
    pub uptime_secs: Option<f64>,
    pub jiffies: Option<u64>,
    pub hz: Option<u64>,
    /// `avenrun[]` (fixed point, 11 bits of fraction) and as `/proc/loadavg` prints it.
    pub avenrun: Option<[u64; 3]>,
    pub load_average: Option<String>,
    /// Every task, the idle task of each CPU included (crash's `TASKS`, `ps`'s rows).
    pub tasks: Option<usize>,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    /// `cpu_khz / 1000`.
    pub mhz: Option<u64>,
    /// Bytes in the present pages of every node.
    pub memory_bytes: Option<u64>,
    /// The first panic line of the log.
    pub panic: Option<String>,
    pub kaslr_offset: String,
    pub warnings: Vec<String>,
    /// The fields every kernel has that could not be read (a damaged or truncated dump):
    /// the result is partial, and the exit status 2. Fields a kernel may lack (`mhz`,
    /// `panic`) are not counted.
    pub unread: Vec<&'static str>,
}

impl SysReport {
    /// Read what `sys` shows from the kernel the target opened.
    pub fn read(k: &Kernel, t: &Target) -> SysReport {
        let cpus = k.cpus().ok();
        let jiffies = k.jiffies();
        let hz = k.hz();
        // INITIAL_JIFFIES = (unsigned long)(unsigned int)(-300 * HZ) on 64-bit.
        let uptime_secs = match (jiffies, hz) {
            (Some(j), Some(hz)) => {
                let initial = (-(300 * hz as i64)) as u32 as u64;
                Some(j.wrapping_sub(initial) as f64 / hz as f64)
            }
            _ => None,
        };
        let panic = k.log().ok().and_then(|l| {
            l.records
                .iter()
                .find(|r| r.text.starts_with("Kernel panic - not syncing"))
                .map(|r| r.text.clone())
        });
        let int = |e: &str| k.eval_int(e).and_then(|v| u64::try_from(v).ok());
        let avenrun = (|| Some([int("avenrun[0]")?, int("avenrun[1]")?, int("avenrun[2]")?]))();
        let xtime_sec = k.xtime_sec();
        let mut format = k.dump.format().to_string();
        if let crate::dump::DumpFormat::Kdump { flattened } = k.dump.format() {
            let c: Vec<String> = k
                .dump
                .compressions()
                .iter()
                .filter(|c| **c != crate::dump::Compression::None)
                .map(|c| c.to_string())
                .collect();
            format = format!(
                "kdump-compressed ({}){}",
                if c.is_empty() {
                    "uncompressed".into()
                } else {
                    c.join(", ")
                },
                if flattened { ", flattened" } else { "" }
            );
        } else if k.dump.is_flattened() {
            format.push_str(", flattened");
        }
        let mut r = SysReport {
            kernel: t
                .vmlinux()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            tainted: int("tainted_mask").is_some_and(|m| m != 0),
            dumpfile: t.core.display().to_string(),
            format,
            cpus: cpus.map(|c| c.present.len() as u32).unwrap_or(0),
            cpus_offline: cpus
                .map(|c| c.present.iter().filter(|p| !c.online.contains(p)).count() as u32)
                .unwrap_or(0),
            xtime_sec,
            date: xtime_sec.map(utc_date),
            uptime_secs,
            jiffies,
            hz,
            avenrun,
            load_average: avenrun.map(load_average),
            tasks: k.tasks().ok().map(|l| l.tasks.len()),
            release: k.uts_field("release").unwrap_or_default(),
            version: k.uts_field("version").unwrap_or_default(),
            machine: k.uts_field("machine").unwrap_or_default(),
            nodename: k.uts_field("nodename").unwrap_or_default(),
            mhz: int("cpu_khz").map(|khz| khz / 1000).filter(|&m| m > 0),
            memory_bytes: present_pages(k).map(|p| p * 4096),
            panic,
            kaslr_offset: format!("{:#x}", k.kaslr_offset),
            warnings: k.warnings.clone(),
            unread: Vec::new(),
        };
        r.unread = r.unread_fields(cpus.is_some());
        r
    }

    fn unread_fields(&self, cpus: bool) -> Vec<&'static str> {
        [
            ("cpus", cpus),
            ("date", self.xtime_sec.is_some()),
            ("uptime", self.uptime_secs.is_some()),
            ("load_average", self.avenrun.is_some()),
            ("tasks", self.tasks.is_some()),
            ("release", !self.release.is_empty()),
            ("version", !self.version.is_empty()),
            ("machine", !self.machine.is_empty()),
            ("memory", self.memory_bytes.is_some()),
        ]
        .into_iter()
        .filter(|(_, read)| !read)
        .map(|(name, _)| name)
        .collect()
    }

    /// Some field every kernel has could not be read.
    pub fn partial(&self) -> bool {
        !self.unread.is_empty()
    }
}

/// The present pages of every node: `node_data[nid]->node_present_pages` over the nodes
/// that exist (NUMA kernels), else `contig_page_data` (crash's `total_node_memory`).
fn present_pages(k: &Kernel) -> Option<u64> {
    let int = |e: &str| k.eval_int(e).and_then(|v| u64::try_from(v).ok());
    match int("nr_node_ids") {
        Some(n) => {
            let mut total = None;
            for nid in 0..n.min(1024) {
                if int(&format!("node_data[{nid}]")).is_some_and(|p| p != 0) {
                    let p = int(&format!("node_data[{nid}]->node_present_pages"))?;
                    total = Some(total.unwrap_or(0) + p);
                }
            }
            total
        }
        None => int("contig_page_data.node_present_pages"),
    }
}

/// `avenrun[]` as the kernel's `/proc/loadavg` and crash print it: rounded to hundredths.
pub fn load_average(avenrun: [u64; 3]) -> String {
    const FSHIFT: u32 = 11;
    const FIXED_1: u64 = 1 << FSHIFT;
    avenrun
        .iter()
        .map(|&x| {
            let a = x + FIXED_1 / 200;
            format!(
                "{}.{:02}",
                a >> FSHIFT,
                ((a & (FIXED_1 - 1)) * 100) >> FSHIFT
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds since the epoch as `date` prints them in UTC: `Wed Dec  2 16:00:47 UTC 2026`.
pub fn utc_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let t = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} UTC {year}",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        t / 3600,
        (t / 60) % 60,
        t % 60
    )
}

/// Seconds as crash's `convert_time` prints them: `[N days, ]HH:MM:SS`.
pub fn uptime(secs: f64) -> String {
    let t = secs as u64;
    let days = t / 86_400;
    let mut s = if days > 0 {
        format!("{days} days, ")
    } else {
        String::new()
    };
    s.push_str(&format!(
        "{:02}:{:02}:{:02}",
        (t / 3600) % 24,
        (t / 60) % 60,
        t % 60
    ));
    s
}

/// Bytes as crash's `pages_to_size` prints them (`511.5 MB`, `2 GB`), rounded up to the
/// next GB when that is within 64 MB (crash's `get_memory_size`).
pub fn memory_size(bytes: u64) -> String {
    const MB: u64 = 1 << 20;
    const GB: u64 = 1 << 30;
    let next_gig = bytes.div_ceil(GB) * GB;
    let total = if next_gig - bytes <= 64 * MB {
        next_gig
    } else {
        bytes
    };
    let s = if total >= GB {
        format!("{:.1} GB", total as f64 / GB as f64)
    } else if total >= MB {
        format!("{:.1} MB", total as f64 / MB as f64)
    } else {
        format!("{} KB", total / 1024)
    };
    s.replace(".0 ", " ")
}

impl Report for SysReport {
    fn text(&self) -> String {
        let mut s = String::new();
        let mut kv = |k: &str, v: String| s.push_str(&format!("{k:>12}: {v}\n"));
        let unknown = || "(unknown)".to_string();
        kv(
            "KERNEL",
            format!(
                "{}{}",
                self.kernel,
                if self.tainted { "  [TAINTED]" } else { "" }
            ),
        );
        kv("DUMPFILE", format!("{}  [{}]", self.dumpfile, self.format));
        kv(
            "CPUS",
            if self.cpus_offline > 0 {
                format!("{} [OFFLINE: {}]", self.cpus, self.cpus_offline)
            } else {
                self.cpus.to_string()
            },
        );
        kv("DATE", self.date.clone().unwrap_or_else(unknown));
        kv(
            "UPTIME",
            self.uptime_secs.map(uptime).unwrap_or_else(unknown),
        );
        kv(
            "LOAD AVERAGE",
            self.load_average.clone().unwrap_or_else(unknown),
        );
        kv(
            "TASKS",
            self.tasks.map(|n| n.to_string()).unwrap_or_else(unknown),
        );
        kv("NODENAME", self.nodename.clone());
        kv("RELEASE", self.release.clone());
        kv("VERSION", self.version.clone());
        kv(
            "MACHINE",
            format!(
                "{}  ({} Mhz)",
                self.machine,
                self.mhz.map_or("unknown".into(), |m| m.to_string())
            ),
        );
        kv(
            "MEMORY",
            self.memory_bytes.map(memory_size).unwrap_or_else(unknown),
        );
        kv("KASLR", format!("offset {}", self.kaslr_offset));
        kv(
            "PANIC",
            format!("\"{}\"", self.panic.as_deref().unwrap_or_default()),
        );
        for w in &self.warnings {
            s.push_str(&format!("     WARNING: {w}\n"));
        }
        if self.partial() {
            s.push_str(&format!(
                "     PARTIAL: could not read {} (the warnings above say where)\n",
                self.unread.join(", ")
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_crash_does() {
        // avenrun of the bookworm hang dump; crash printed "3.97, 0.91, 0.30".
        assert_eq!(load_average([8140, 1859, 613]), "3.97, 0.91, 0.30");
        assert_eq!(utc_date(0), "Thu Jan  1 00:00:00 UTC 1970");
        assert_eq!(utc_date(951_782_400), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(memory_size(130_942 * 4096), "511.5 MB");
        assert_eq!(memory_size(2_090_000 * 4096), "8 GB");
        assert_eq!(memory_size(2_031_616 * 4096), "7.8 GB");
        assert_eq!(uptime(24.9), "00:00:24");
        assert_eq!(uptime(90_061.0), "1 days, 01:01:01");
    }
}
