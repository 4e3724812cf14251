//! Soft-lockup reports (kernel/watchdog.c `watchdog_timer_fn`): a CPU ran kernel code without
//! scheduling for longer than `2 * watchdog_thresh` seconds.
//!
//! ```text
//! watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [cc1plus:171665]
//! BUG: soft lockup - CPU#3 stuck for 22s! [java:4695]            (before 4.x: no "watchdog: ")
//! ```
//!
//! The registers and the stack of the interrupted code follow (`CPU: N PID: N Comm: X`, `RIP:`
//! or `pc :`, `Call Trace:`); [`super::call_trace`] reads them as a stack of that CPU. A paste
//! may end inside the header (`watchdog: BUG: soft lockup - CPU#8`): the CPU is still known.

use serde::Serialize;

use super::Line;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoftLockup {
    pub line: usize,
    pub cpu: u32,
    pub stuck_secs: Option<u64>,
    /// The task that was running: `[comm:pid]`.
    pub comm: Option<String>,
    pub pid: Option<u32>,
    /// The paste ends inside the header.
    pub cut: bool,
}

/// Parses one soft-lockup header.
pub fn parse_header(text: &str, line: usize) -> Option<SoftLockup> {
    let t = text.trim();
    let t = t
        .strip_prefix("watchdog:")
        .map(str::trim_start)
        .unwrap_or(t);
    let rest = t.strip_prefix("BUG: soft lockup - CPU#")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let cpu = rest[..digits].parse().ok()?;
    let rest = rest[digits..].trim();
    let mut out = SoftLockup {
        line,
        cpu,
        stuck_secs: None,
        comm: None,
        pid: None,
        cut: true,
    };
    if let Some(r) = rest.strip_prefix("stuck for ") {
        let secs = r.split('s').next()?;
        out.stuck_secs = secs.parse().ok();
        if let Some(open) = r.find('[')
            && let Some(who) = r[open + 1..].strip_suffix(']')
            && let Some((comm, pid)) = who.rsplit_once(':')
        {
            out.comm = Some(comm.to_string());
            out.pid = pid.parse().ok();
            out.cut = false;
        }
    } else if !rest.is_empty() {
        return None;
    }
    Some(out)
}

/// Finds soft-lockup headers, marking them consumed.
pub fn parse_lines(lines: &[Line], used: &mut [bool]) -> Vec<SoftLockup> {
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        if let Some(s) = parse_header(&l.text, l.no) {
            used[i] = true;
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_soft_lockup_headers() {
        let s = parse_header(
            "watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [cc1plus:171665]",
            4,
        )
        .unwrap();
        assert_eq!(
            (s.cpu, s.stuck_secs, s.comm.as_deref(), s.pid, s.cut),
            (1, Some(22), Some("cc1plus"), Some(171665), false)
        );
        let s = parse_header(
            "BUG: soft lockup - CPU#10 stuck for 23s! [migration/10:346]",
            1,
        )
        .unwrap();
        assert_eq!((s.cpu, s.comm.as_deref()), (10, Some("migration/10")));
        let s = parse_header("watchdog: BUG: soft lockup - CPU#8", 1).unwrap();
        assert!(s.cut && s.cpu == 8);
        assert!(parse_header("BUG: soft lockup - CPU#x stuck", 1).is_none());
        assert!(parse_header("BUG: workqueue lockup - pool cpus=0", 1).is_none());
    }
}
