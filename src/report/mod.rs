//! Results as plain data, printed as text (crash-like where crash users have habits) or
//! JSON. The CLI and the TUI both render from here.

pub mod bt;
pub mod ps;
pub mod srcu;
pub mod sys;

use serde::Serialize;

/// A report that can be written as text or JSON.
pub trait Report: Serialize {
    fn text(&self) -> String;
    fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}
