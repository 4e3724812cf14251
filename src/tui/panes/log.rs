//! The Log pane: printk records as `[    s.us] text`, with hung-task and RCU stall lines
//! highlighted. `decode_log` runs the pasted-text parsers over it on demand.

use crate::kernel::printk::LogRecord;
use crate::tui::rows::{Row, Target};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use std::collections::{HashMap, HashSet};

/// What a log line is, for highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogClass {
    Hung,
    Stall,
    Warn,
    Plain,
}

pub fn classify(text: &str, level: u8) -> LogClass {
    if text.contains("blocked for more than") || text.contains("hung_task") {
        LogClass::Hung
    } else if text.contains("detected stall")
        || text.contains("self-detected stall")
        || text.contains("rcu_preempt kthread starved")
        || text.contains("rcu_sched kthread starved")
        || (text.contains("rcu") && text.contains("stall"))
    {
        LogClass::Stall
    } else if level <= 4 {
        LogClass::Warn
    } else {
        LogClass::Plain
    }
}

/// The log as rows: each record's lines (time stamp, text styled by class); a hung-task or
/// stall report's first line leads to its decoded fields, shown below it when expanded.
pub fn log_rows(
    records: &[LogRecord],
    decoded: &HashMap<usize, Vec<String>>,
    expanded: &HashSet<usize>,
    errors: &[String],
) -> Vec<Row> {
    let mut rows = Vec::with_capacity(records.len() + errors.len());
    for (i, r) in records.iter().enumerate() {
        let scope = match classify(&r.text, r.level) {
            LogClass::Hung => "log.hung",
            LogClass::Stall => "log.stall",
            LogClass::Warn => "log.warn",
            LogClass::Plain => "ui",
        };
        let dec = decoded.get(&i);
        for (n, line) in r.crash_line().split('\n').enumerate() {
            let (stamp, rest) = line.split_at(line.find("] ").map(|i| i + 2).unwrap_or(0));
            let mut row = Row::new()
                .cell("log.time", stamp.to_string())
                .cell(scope, rest.to_string());
            if n == 0 && dec.is_some() {
                let open = expanded.contains(&i);
                row = row
                    .cell(
                        "ui.note",
                        if open {
                            "  [−]"
                        } else {
                            "  [+ Enter decodes]"
                        },
                    )
                    .to(Target::LogRecord(i));
            }
            rows.push(row);
        }
        if let Some(d) = dec
            && expanded.contains(&i)
        {
            for l in d {
                rows.push(Row::new().cell("ui.note", format!("      │ {l}")));
            }
        }
    }
    for e in errors {
        rows.push(Row::new().cell("ui.status.error", format!("log: PARTIAL: {e}")));
    }
    rows
}

pub struct LogView<'a> {
    pub records: &'a [LogRecord],
    pub errors: &'a [String],
    pub decoded: &'a HashMap<usize, Vec<String>>,
    pub expanded: &'a HashSet<usize>,
    pub cursor: usize,
    pub scroll: usize,
    pub focused: bool,
    pub theme: &'a Theme,
}

impl Widget for &LogView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let rows = log_rows(self.records, self.decoded, self.expanded, self.errors);
        let title = if self.records.is_empty() {
            "Log".to_string()
        } else {
            format!(
                "Log · {} records · {} reports (Enter expands) · d decodes all",
                self.records.len(),
                self.decoded.len()
            )
        };
        (&super::rows::RowsView {
            title,
            rows: &rows,
            cursor: self.cursor,
            offset: self.scroll,
            focused: self.focused,
            theme: self.theme,
        })
            .render(area, buf);
    }
}
