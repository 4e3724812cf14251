//! Phase timing for profiling, off unless `QUIESCE_TIMING=1`: each [`lap`] prints, on stderr,
//! the time since the first lap, the time since the previous one, and the resident memory
//! (anonymous and file-backed, from `/proc/self/status`).

use std::sync::Mutex;
use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("QUIESCE_TIMING").is_ok_and(|v| v == "1"))
}

/// Record the end of phase `what` (no-op unless `QUIESCE_TIMING=1`).
pub fn lap(what: &str) {
    if !enabled() {
        return;
    }
    static STATE: Mutex<Option<(Instant, Instant)>> = Mutex::new(None);
    let now = Instant::now();
    let mut st = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let (t0, last) = st.get_or_insert((now, now));
    let (total, delta) = (now - *t0, now - *last);
    *last = now;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().trim_end_matches(" kB").trim().to_owned())
            .unwrap_or_default()
    };
    eprintln!(
        "timing: {what:<32} +{:>8.2} ms  total {:>8.2} ms  anon {:>7} kB  file {:>7} kB",
        delta.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        field("RssAnon:"),
        field("RssFile:")
    );
}
