//! `ps`: the task table, in crash's column layout.

use super::Report;
use crate::kernel::tasks::{Task, duration_words};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct PsReport {
    pub tasks: Vec<Task>,
    /// Set when the list could not be read whole; the tasks shown are what was read.
    pub partial: bool,
    pub errors: Vec<String>,
}

impl PsReport {
    /// Sorted as crash sorts its task table: by pid, idle tasks by CPU.
    pub fn new(mut tasks: Vec<Task>, errors: Vec<String>) -> Self {
        tasks.sort_by_key(|t| (t.pid, t.cpu, t.addr));
        PsReport {
            tasks,
            partial: !errors.is_empty(),
            errors,
        }
    }
}

impl Report for PsReport {
    fn text(&self) -> String {
        // BLOCKED: how long a task that is not running has been off the CPU
        // (`Task::blocked_ns`), crash `ps -m`'s figure.
        let mut s = String::from("   PID    PPID  CPU       TASK        ST       BLOCKED  COMM\n");
        for t in &self.tasks {
            let comm = if t.kthread {
                format!("[{}]", t.comm)
            } else {
                t.comm.clone()
            };
            s.push_str(&format!(
                "{}{:>6} {:>7} {:>4}  {:016x}  {:<2}  {:>12}  {}\n",
                if t.active { ">" } else { " " },
                t.pid,
                t.ppid,
                t.cpu,
                t.addr,
                t.st,
                t.blocked_ns
                    .map(duration_words)
                    .unwrap_or_else(|| "-".into()),
                comm
            ));
        }
        if self.partial {
            s.push_str(&format!(
                "ps: PARTIAL task list ({} problems):\n",
                self.errors.len()
            ));
            for e in &self.errors {
                s.push_str(&format!("  {e}\n"));
            }
        }
        s
    }
}
