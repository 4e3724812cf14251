//! The right-hand panes: which there are, in tab order, their titles and what each waits
//! for before it has data.

/// Every pane. A pane whose data is still being computed says what it waits for
/// ([`PaneInfo::not_yet`]); a new pane plugs in here and in [`super::panes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Tasks,
    Backtrace,
    Log,
    Srcu,
    Rcu,
    WaitGraph,
    Source,
    Result,
    Timeline,
}

pub struct PaneInfo {
    pub pane: Pane,
    pub title: &'static str,
    /// What the pane waits for while its data is not there yet (`None`: it always has some).
    pub not_yet: Option<&'static str>,
}

/// The pane registry, in tab order (the Tasks pane is always on the left).
pub const PANES: &[PaneInfo] = &[
    PaneInfo {
        pane: Pane::Backtrace,
        title: "Backtrace",
        not_yet: None,
    },
    PaneInfo {
        pane: Pane::Log,
        title: "Log",
        not_yet: None,
    },
    PaneInfo {
        pane: Pane::Srcu,
        title: "SRCU",
        not_yet: None,
    },
    PaneInfo {
        pane: Pane::Rcu,
        title: "RCU",
        not_yet: None,
    },
    PaneInfo {
        pane: Pane::WaitGraph,
        title: "Wait graph",
        not_yet: Some(
            "the wait graph, built once every task is unwound (who waits on whom, cycles, findings)",
        ),
    },
    PaneInfo {
        pane: Pane::Source,
        title: "Source",
        not_yet: None,
    },
    PaneInfo {
        pane: Pane::Result,
        title: "Result",
        not_yet: None,
    },
    PaneInfo {
        pane: Pane::Timeline,
        title: "Timeline",
        not_yet: None,
    },
];

impl Pane {
    pub fn info(self) -> Option<&'static PaneInfo> {
        PANES.iter().find(|p| p.pane == self)
    }
    pub fn title(self) -> &'static str {
        self.info().map(|i| i.title).unwrap_or("Tasks")
    }
}
