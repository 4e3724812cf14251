//! The kernel's clock as the dump froze it: `jiffies`, `HZ` and the wall clock.

use super::Kernel;

impl Kernel {
    /// The current `jiffies` (read from `jiffies_64`, the storage `jiffies` aliases).
    pub fn jiffies(&self) -> Option<u64> {
        self.symbol_addr("jiffies_64")
            .or_else(|_| self.symbol_addr("jiffies"))
            .ok()
            .and_then(|a| self.read_u64(a, "jiffies").ok())
    }

    /// `HZ`, a build constant that is in no variable: `tick_nsec` = NSEC_PER_SEC / HZ
    /// (kernel/time/ntp.c, set at boot) gives it back; kernels without that variable (7.x)
    /// still have `clocksource_jiffies.mult` = TICK_NSEC << JIFFIES_SHIFT
    /// (kernel/time/jiffies.c), which the timekeeping core never adjusts.
    pub fn hz(&self) -> Option<u64> {
        let tick_nsec = self
            .symbol_addr("tick_nsec")
            .ok()
            .and_then(|a| self.read_u64(a, "tick_nsec").ok())
            .or_else(|| {
                let mult = self.eval_int("clocksource_jiffies.mult")?;
                let shift = self.eval_int("clocksource_jiffies.shift")?;
                u64::try_from(mult >> shift.clamp(0, 63)).ok()
            });
        tick_nsec
            .filter(|&n| n > 0)
            .map(|n| (1_000_000_000f64 / n as f64).round() as u64)
    }

    /// The wall clock in seconds since the epoch (`timekeeper.xtime_sec`: in `tk_core` since
    /// 3.17, in `timekeeper_data[TIMEKEEPER_CORE]` since 6.14, as crash's `get_xtime` reads).
    pub fn xtime_sec(&self) -> Option<i64> {
        [
            "tk_core.timekeeper.xtime_sec",
            "timekeeper_data[0].timekeeper.xtime_sec",
            "timekeeper.xtime_sec",
            // The dump-only mode has no type for tk_core (an anonymous struct, so not in
            // BTF); timekeeping_advance() builds each update in shadow_timekeeper and copies
            // it whole into tk_core, so outside an update the two agree.
            "shadow_timekeeper.xtime_sec",
        ]
        .iter()
        .find_map(|e| self.eval_int(e))
        .and_then(|v| i64::try_from(v).ok())
    }
}
