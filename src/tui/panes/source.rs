//! The Source pane: a highlighted file with line numbers, the frame's line marked, the
//! cursor line selected, and inline annotations (where tasks block, the wait graph's
//! evidence) and user notes at the end of their lines.

use super::block;
use crate::tui::app::visible_offset;
use crate::tui::notes::Notes;
use crate::tui::source::{Annotations, SourceFile};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

pub struct SourceView<'a> {
    pub file: Option<&'a SourceFile>,
    pub error: Option<&'a str>,
    /// `--source` was given.
    pub has_root: bool,
    pub annotations: &'a Annotations,
    /// The selected task's locals by line (see `App::locals_annotations`).
    pub values: &'a std::collections::BTreeMap<u32, Vec<String>>,
    pub notes: &'a Notes,
    pub cursor: usize,
    pub offset: usize,
    pub focused: bool,
    pub theme: &'a Theme,
}

impl Widget for &SourceView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let Some(f) = self.file else {
            let mut text = vec![Line::from(Span::styled(
                "No source open: Enter or o on a backtrace frame opens its file at the line.",
                t.get("ui.placeholder"),
            ))];
            if !self.has_root {
                text.push(Line::from(Span::styled(
                    "Kernel files need the source tree: quiesce --source KERNEL_SRC …",
                    t.get("ui.placeholder"),
                )));
            }
            if let Some(e) = self.error {
                text.push(Line::from(Span::styled(e, t.get("ui.status.error"))));
            }
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(block("Source".into(), self.focused, t))
                .render(area, buf);
            return;
        };
        let h = area.height.saturating_sub(2) as usize;
        let off = visible_offset(self.cursor, self.offset, h);
        let width = f.lines.len().to_string().len().max(4);
        let sel = super::sel_style(t, self.focused);
        let lines: Vec<Line> = f
            .lines
            .iter()
            .enumerate()
            .skip(off)
            .take(h)
            .map(|(i, pieces)| {
                let n = i as u32 + 1;
                let current = n == f.line;
                let mark = if current { "▶" } else { " " };
                let mut spans = vec![
                    Span::styled(mark, t.get("ui.source.current")),
                    Span::styled(format!("{n:>width$} "), t.get("ui.source.gutter")),
                ];
                for (c, s) in pieces {
                    let st = c.map(|c| Style::new().fg(c)).unwrap_or_default();
                    spans.push(Span::styled(s.as_str(), st));
                }
                for a in self.annotations.text(n) {
                    spans.push(Span::styled(
                        format!("  {a}"),
                        t.get("ui.source.annotation"),
                    ));
                }
                // The user's note before the (long) locals: it must stay on screen.
                if let Some(note) = self.notes.get(&f.key, n) {
                    spans.push(Span::styled(
                        format!("  ✎ {}", note.text),
                        t.get("ui.source.note"),
                    ));
                }
                for v in self.values.get(&n).into_iter().flatten() {
                    spans.push(Span::styled(
                        format!("  = {v}"),
                        t.get("ui.source.annotation"),
                    ));
                }
                let mut l = Line::from(spans);
                if current {
                    l = l.patch_style(t.get("ui.source.current_line"));
                }
                if i == self.cursor {
                    l = l.patch_style(sel);
                }
                l
            })
            .collect();
        let title = format!("Source · {}:{} · n adds a note", f.key, self.cursor + 1);
        Paragraph::new(lines)
            .block(block(title, self.focused, t))
            .render(area, buf);
    }
}
