//! The kernel's clock as the dump froze it: `jiffies` and `HZ`.

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
    /// (kernel/time/ntp.c, set at boot) gives it back.
    pub fn hz(&self) -> Option<u64> {
        self.symbol_addr("tick_nsec")
            .ok()
            .and_then(|a| self.read_u64(a, "tick_nsec").ok())
            .filter(|&n| n > 0)
            .map(|n| (1_000_000_000f64 / n as f64).round() as u64)
    }
}
