//! Walkthrough mode: a list of steps, each naming a pane, what to select there and the text
//! to show. The TUI only steps through plain data; the real steps will come from the wait
//! graph's `explain` (another module), hand-made ones drive the tests.

use super::app::Pane;

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
