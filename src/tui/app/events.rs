//! What flows into the model (input and job results, [`UiEvent`]) and out of it (what the
//! runner must do, [`Effect`]), and the overlays drawn over the panes.

use crate::tui::actions::Key;
use crate::tui::finder::{Finder, FinderKind};
use crate::tui::notes::Notes;
use crate::tui::rows::Row;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseKind {
    Click,
    ScrollUp,
    ScrollDown,
}

/// Input and job results, already free of terminal types.
#[derive(Debug)]
pub enum UiEvent {
    Key(Key),
    Mouse { kind: MouseKind, x: u16, y: u16 },
    Resize(u16, u16),
    Job(crate::tui::jobs::JobMsg),
}

/// What the runner must do after a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Run a command line (`ps`, `log`, `sys`, `print EXPR`, `bt PID`) as a job.
    RunCommand(String),
    /// Load symbol and type names for the fuzzy finder (once).
    LoadNames,
    /// Resolve the SRCU/RCU field explanations against the debug info (once).
    ResolveFields,
    /// Live guest: let it run `run_ms`, stop it, take a snapshot (Timeline pane) with the
    /// kernel log's records after `log_after`.
    Snapshot {
        run_ms: u64,
        log_after: Option<u64>,
        /// Tasks to follow (`timeline::WatchOptions::tasks`).
        tasks: Vec<String>,
    },
    /// Write the timeline to a file.
    SaveTimeline(PathBuf, Box<crate::report::timeline::Timeline>),
    /// Describe a symbol or a type in the result pane.
    Describe(FinderKind, String),
    /// Decode the log with the pasted-text parsers.
    DecodeLog,
    /// Read and highlight a source file (resolved against `root`).
    OpenSource {
        root: Option<PathBuf>,
        file: String,
        line: u32,
        syntax_theme: String,
    },
    /// Save the notes (atomically, beside the dump).
    SaveNotes(Notes),
    /// Compute the locals of a task's frames (task address) off the UI thread.
    Locals(u64),
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help {
        scroll: usize,
    },
    Finder(Finder),
    Command {
        input: String,
    },
    Filter {
        input: String,
    },
    /// A note on a source line.
    Note {
        file: String,
        line: u32,
        input: String,
    },
    /// What the fields of an SRCU/RCU row mean (`tui::fields`); `rows` are built from
    /// `keys` and rebuilt when the functions' locations arrive.
    Fields {
        keys: Vec<&'static str>,
        rows: Vec<Row>,
        cursor: usize,
    },
}
