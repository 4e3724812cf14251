//! Walkthrough mode: a list of steps, each naming a pane, what to select there, the task it
//! is about (selected in the task table) and the text to show. The steps come from the wait
//! graph's `explain` ([`super::graph::steps_from`]); hand-made ones drive the tests.

use super::app::{App, Effect, Pane};

/// What a step selects in its pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    None,
    /// A task, by pid (the first task with it).
    Pid(i32),
    /// A task, by `task_struct` address.
    Task(u64),
    /// An SRCU domain, by name.
    SrcuDomain(String),
    /// A CPU's row in the RCU pane.
    RcuCpu(u32),
    /// A source line (opens the source pane there).
    Source {
        file: String,
        line: u32,
    },
    /// A row of the pane, by index.
    Row(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub pane: Pane,
    pub select: Selection,
    pub text: String,
    /// The task the step is about (`task_struct` address): the waiter, or the holder a
    /// step about an object leads to. The task table selects it.
    pub task: Option<u64>,
    /// Which finding (1 = look at this first) the step belongs to.
    pub finding: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walkthrough {
    pub steps: Vec<Step>,
    pub index: usize,
}

impl Walkthrough {
    pub fn current(&self) -> Option<&Step> {
        self.steps.get(self.index)
    }
}

impl App {
    /// `W`: start at the first step, or end the walkthrough.
    pub(crate) fn toggle_walkthrough(&mut self) -> Vec<Effect> {
        if self.walkthrough.take().is_some() {
            return vec![];
        }
        if self.steps.is_empty() {
            self.message =
                Some("no walkthrough yet: its steps come from the wait graph's explanation".into());
            return vec![];
        }
        self.walkthrough = Some(Walkthrough {
            steps: self.steps.clone(),
            index: 0,
        });
        self.apply_step()
    }

    /// `]` / `[`: the next or previous step (staying on the first and last).
    pub(crate) fn step_by(&mut self, delta: isize) -> Vec<Effect> {
        let Some(w) = &mut self.walkthrough else {
            self.message = Some("no walkthrough under way (W starts it)".into());
            return vec![];
        };
        let last = w.steps.len().saturating_sub(1);
        w.index = w.index.saturating_add_signed(delta).min(last);
        self.apply_step()
    }

    /// Once the findings arrive: unless the user has already chosen something, select the
    /// first finding's task (else the task blocked longest), and say where to go next.
    pub fn first_screen(&mut self) {
        use super::actions::Action;
        let key = |a: Action| {
            self.keymap
                .keys_for(a)
                .first()
                .map_or_else(|| format!(":{}", a.id()), |k| k.to_string())
        };
        let (walk, help) = (key(Action::Walkthrough), key(Action::Help));
        let findings = self.steps.iter().map(|s| s.finding).max().unwrap_or(0);
        self.hint = match findings {
            0 => format!("no findings · {help} keys"),
            1 => format!("1 finding: {walk} walks through it · {help} keys"),
            n => format!("{n} findings: {walk} walks through them · {help} keys"),
        };
        if self.touched {
            return;
        }
        let task = self.steps.iter().find_map(|s| s.task).or_else(|| {
            self.tasks
                .iter()
                .filter(|t| t.st == "UN")
                .min_by_key(|t| (t.last_arrival.is_none(), t.last_arrival, t.pid))
                .map(|t| t.addr)
        });
        if let Some(a) = task {
            self.select_task(a);
        }
    }

    /// Show an SRCU domain, by name, in the SRCU pane.
    pub(crate) fn select_srcu_domain(&mut self, name: &str) -> Vec<Effect> {
        if let Some(Ok(r)) = &self.srcu
            && let Some(i) = r.domains.iter().position(|d| d.name == name)
        {
            self.srcu_domain = i;
            self.show(Pane::Srcu);
            self.set_cursor(Pane::Srcu, i + 1);
        }
        vec![]
    }

    /// Go to the current step: its task in the task table, its pane, its selection there;
    /// the text shows in a band.
    fn apply_step(&mut self) -> Vec<Effect> {
        let Some(step) = self.walkthrough.as_ref().and_then(|w| w.current()).cloned() else {
            return vec![];
        };
        if let Some(a) = step.task
            && self.tasks.iter().any(|t| t.addr == a)
        {
            self.select_task(a);
        }
        self.show(step.pane);
        match step.select {
            Selection::None => vec![],
            Selection::Pid(pid) => {
                if let Some(t) = self.tasks.iter().find(|t| t.pid == pid) {
                    let a = t.addr;
                    self.select_task(a);
                }
                vec![]
            }
            Selection::Task(a) => {
                self.select_task(a);
                vec![]
            }
            Selection::SrcuDomain(name) => self.select_srcu_domain(&name),
            Selection::RcuCpu(cpu) => {
                let rows = self.rows(Pane::Rcu);
                let want = format!("{cpu:>4} ");
                let header = rows
                    .iter()
                    .position(|r| r.plain().trim_start().starts_with("CPU"));
                if let Some(h) = header
                    && let Some(i) = rows[h + 1..]
                        .iter()
                        .position(|r| r.plain().starts_with(&want))
                {
                    self.set_cursor(Pane::Rcu, h + 1 + i);
                }
                vec![]
            }
            Selection::Source { file, line } => self.open_source(&file, line),
            Selection::Row(r) => {
                self.set_cursor(step.pane, r);
                vec![]
            }
        }
    }
}
