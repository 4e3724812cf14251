//! The Log pane: printk records as `[    s.us] text`, with hung-task and RCU stall lines
//! highlighted. `decode_log` runs the pasted-text parsers over it on demand.

use super::block;
use crate::kernel::printk::LogRecord;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

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

pub struct LogView<'a> {
    pub records: &'a [LogRecord],
    pub errors: &'a [String],
    pub scroll: usize,
    pub focused: bool,
    pub theme: &'a Theme,
}

impl Widget for &LogView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let h = area.height.saturating_sub(2) as usize;
        let mut lines: Vec<Line> = Vec::new();
        'outer: for r in self.records {
            let class = classify(&r.text, r.level);
            let style = match class {
                LogClass::Hung => t.get("log.hung"),
                LogClass::Stall => t.get("log.stall"),
                LogClass::Warn => t.get("log.warn"),
                LogClass::Plain => t.get("ui"),
            };
            for line in r.crash_line().split('\n') {
                if lines.len() >= self.scroll + h {
                    break 'outer;
                }
                let (stamp, rest) = line.split_at(line.find("] ").map(|i| i + 2).unwrap_or(0));
                lines.push(Line::from(vec![
                    Span::styled(stamp.to_string(), t.get("log.time")),
                    Span::styled(rest.to_string(), style),
                ]));
            }
        }
        for e in self.errors {
            lines.push(Line::from(Span::styled(
                format!("log: PARTIAL: {e}"),
                t.get("ui.status.error"),
            )));
        }
        let lines: Vec<Line> = lines.into_iter().skip(self.scroll).collect();
        let title = if self.records.is_empty() {
            "Log".to_string()
        } else {
            format!("Log · {} records · d decodes", self.records.len())
        };
        Paragraph::new(lines)
            .block(block(title, self.focused, t))
            .render(area, buf);
    }
}
