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

    /// The scheduler's "now" as the dump froze it: the latest `rq->clock` of any possible
    /// CPU.
    ///
    /// Why this clock: a task's `sched_info.last_arrival` (when it was last switched in,
    /// `sched_info_arrive()`) is stamped with its run queue's `rq_clock()`, so the time a
    /// sleeping task has been off the CPU is `rq->clock − last_arrival` in that same clock —
    /// what crash's `ps -m` shows. `rq->clock` is `sched_clock_cpu()`, synchronized across
    /// CPUs on x86 with a stable TSC (and kvm-clock); it advances only when its CPU does
    /// scheduler work, so an idle (NOHZ) CPU's clock lags: the latest one is the best
    /// "now" the dump holds. The alternatives are worse: `task_struct.last_switch_time` is
    /// in jiffies and written only by khungtaskd when it first sees a task not switching
    /// (0 for tasks it has not checked yet); `se.exec_start` is the tighter sleep start but
    /// in `rq_clock_task()`, which leaves out IRQ and steal time per CPU.
    pub fn sched_clock_now(&self) -> Option<u64> {
        let l = self.layout().ok()?;
        let off = l.rq.clock?;
        let cpus = self.cpus().ok()?;
        cpus.possible
            .iter()
            .filter_map(|&c| {
                let rq = self.runqueue(c).ok()?;
                self.read_u64(rq.add(off), "rq.clock").ok()
            })
            .max()
    }
}
