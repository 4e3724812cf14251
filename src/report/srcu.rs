//! `srcu`: one block per SRCU domain, those with something under way first — a header
//! line, the per-CPU reader counters, the callbacks, the GP work item, waiters and notes.

use super::Report;
use crate::rcu::srcu::{Found, SrcuDomain, SrcuReport};

impl Report for SrcuReport {
    fn text(&self) -> String {
        let mut s = String::new();
        if self.domains.is_empty() {
            s.push_str("no SRCU domains found\n");
        }
        // Domains with something under way first, as the SRCU pane lists them.
        let mut domains: Vec<&SrcuDomain> = self.domains.iter().collect();
        domains.sort_by_key(|d| !active(d));
        for d in domains {
            domain_text(d, &mut s);
            s.push('\n');
        }
        for e in &self.errors {
            s.push_str(&format!("srcu: PARTIAL: {e}\n"));
        }
        s
    }
}

/// A domain is "active" when it has a grace period, readers, callbacks or waiters.
pub fn active(d: &SrcuDomain) -> bool {
    d.phase != "IDLE" || d.readers != [0, 0] || !d.callbacks.is_empty() || !d.waiters.is_empty()
}

fn found(f: &Found) -> String {
    match f {
        Found::Vmlinux => "vmlinux".into(),
        Found::Module(m) => format!("module {m}"),
        Found::WaiterStack(pid) => format!("stack of pid {pid}"),
        Found::Address => "address".into(),
    }
}

fn domain_text(d: &SrcuDomain, s: &mut String) {
    let where_: Vec<String> = d.found.iter().map(found).collect();
    s.push_str(&format!(
        "SRCU {} {:#x} [{}] ({})\n",
        d.name,
        d.addr,
        where_.join(", "),
        d.generation
    ));
    let mut line = format!(
        "  gp_seq {} {}  idx {}",
        d.gp_seq as i64, d.phase, d.current_idx
    );
    if let Some(n) = d.gp_seq_needed {
        line.push_str(&format!("  needed {}", n as i64));
    }
    if let Some(n) = d.gp_seq_needed_exp {
        line.push_str(&format!("  needed_exp {}", n as i64));
    }
    if let Some(a) = d.gp_age_jiffies {
        line.push_str(&format!("  gp age {a} jiffies"));
    }
    if let Some(z) = &d.size_state {
        line.push_str(&format!("  size {}", z.describe()));
    }
    if let Some(f) = d.reader_flavor {
        line.push_str(&format!("  flavor {f:#x}"));
        if !d.reader_flavor_names.is_empty() {
            line.push_str(&format!(" ({})", d.reader_flavor_names.join("|")));
        }
    }
    if !d.initialized {
        line.push_str("  (uninitialized)");
    }
    s.push_str(&line);
    s.push('\n');
    s.push_str(&format!(
        "  readers: idx0 {}  idx1 {}{}\n",
        d.readers[0],
        d.readers[1],
        match d.waits_on_idx {
            Some(i) => format!("   GP waits on idx {i}"),
            None => String::new(),
        }
    ));
    let busy: Vec<_> = d
        .cpus
        .iter()
        .filter(|c| c.locks != [0, 0] || c.unlocks.is_some_and(|u| u != [0, 0]) || c.callbacks != 0)
        .collect();
    if !busy.is_empty() {
        s.push_str("   cpu          idx0 locks/unlocks          idx1 locks/unlocks   cbs\n");
        for c in busy {
            let u = c.unlocks.unwrap_or([0, 0]);
            s.push_str(&format!(
                "  {:>4}  {:>12}/{:<12}  {:>12}/{:<12}  {:>4}{}\n",
                c.cpu,
                c.locks[0],
                u[0],
                c.locks[1],
                u[1],
                c.callbacks,
                if c.cblist_invoking == Some(true) {
                    "  invoking"
                } else {
                    ""
                }
            ));
        }
    }
    if !d.callbacks.is_empty() {
        s.push_str(&format!("  callbacks ({}):\n", d.callbacks.len()));
        for c in &d.callbacks {
            let mut l = format!("    {:#x} {:<10} {}", c.addr, c.segment, c.func.describe());
            if let Some(cpu) = c.cpu {
                l.push_str(&format!("  cpu {cpu}"));
            }
            if let Some(g) = c.gp_seq {
                l.push_str(&format!("  ready at gp_seq {}", g as i64));
            }
            for t in &c.wakes {
                l.push_str(&format!("  wakes {} [{}]", t.short(), t.st));
            }
            s.push_str(&l);
            s.push('\n');
        }
    }
    if let Some(w) = &d.gp_work {
        s.push_str(&format!("  GP {}\n", w.describe()));
    }
    for t in &d.waiters {
        s.push_str(&format!(
            "  waiter: {} {:#x} [{}] in synchronize_srcu\n",
            t.short(),
            t.addr,
            t.st
        ));
    }
    for n in &d.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    for e in &d.errors {
        s.push_str(&format!("  PARTIAL: {e}\n"));
    }
}
