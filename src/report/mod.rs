//! Results as plain data, printed as text (crash-like where crash users have habits) or
//! JSON, and the commands that build them ([`commands`]), called by both the CLI and the
//! TUI's `:` line on a [`target::Target`].

pub mod bt;
pub mod commands;
pub mod explain;
pub mod fields;
pub mod ps;
pub mod rcu;
pub mod srcu;
pub mod sys;
pub mod target;
pub mod timeline;

pub use commands::{Command, ParseCommand, Request, open_kernel};
pub use target::Target;

use serde::Serialize;

/// A report that can be written as text or JSON.
pub trait Report: Serialize {
    fn text(&self) -> String;
    fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}
