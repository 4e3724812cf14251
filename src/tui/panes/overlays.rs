//! Overlays drawn over the panes: help (generated from the action registry), the fuzzy
//! finder, the command line and the task filter.

use crate::tui::actions::Keymap;
use crate::tui::app::Overlay;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

pub struct OverlayView<'a> {
    pub overlay: &'a Overlay,
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(r);
    r
}

impl Widget for &OverlayView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let frame = |title: String| {
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.get("ui.overlay.border"))
                .style(t.get("ui.overlay"))
                .title(title)
        };
        match self.overlay {
            Overlay::Help { scroll } => {
                let r = centered(area, 78, area.height.saturating_sub(4));
                Clear.render(r, buf);
                let lines: Vec<Line> = self
                    .keymap
                    .help()
                    .into_iter()
                    .skip(*scroll)
                    .map(|(keys, id, desc)| {
                        Line::from(vec![
                            Span::styled(format!("{keys:<18}"), t.get("ui.overlay.match")),
                            Span::raw(format!("{id:<16}")),
                            Span::raw(desc),
                        ])
                    })
                    .collect();
                Paragraph::new(lines)
                    .block(frame(format!(
                        "Help · keymap {} · any key closes",
                        self.keymap.name
                    )))
                    .render(r, buf);
            }
            Overlay::Fields { rows, cursor, keys } => {
                let w = crate::tui::app::FIELDS_WIDTH as u16 + 4;
                let r = centered(area, w, area.height.saturating_sub(2));
                Clear.render(r, buf);
                let visible = r.height.saturating_sub(2) as usize;
                (&super::rows::RowsView {
                    title: format!(
                        "Fields: {} · ↑↓ move · Enter opens the source · any other key closes",
                        keys.join(", ")
                    ),
                    rows,
                    cursor: *cursor,
                    offset: cursor.saturating_sub(visible.saturating_sub(1)),
                    focused: true,
                    theme: t,
                })
                    .render(r, buf);
            }
            Overlay::Finder(f) => {
                let r = centered(area, 80, area.height.saturating_sub(4));
                Clear.render(r, buf);
                let inner_h = r.height.saturating_sub(3) as usize;
                let mut lines = vec![Line::from(format!("> {}", f.input))];
                let skip = f.selected.saturating_sub(inner_h.saturating_sub(1));
                for (i, h) in f.hits.iter().enumerate().skip(skip).take(inner_h) {
                    let mut spans = vec![Span::raw(format!("{:<7}", h.kind.label()))];
                    for (ci, c) in h.text.chars().enumerate() {
                        let st = if h.positions.contains(&ci) {
                            t.get("ui.overlay.match")
                        } else {
                            t.get("ui.overlay")
                        };
                        spans.push(Span::styled(c.to_string(), st));
                    }
                    let mut line = Line::from(spans);
                    if i == f.selected {
                        line = line.style(t.get("ui.selection"));
                    }
                    lines.push(line);
                }
                Paragraph::new(lines)
                    .block(frame(format!(
                        "Find · {} of {} · Enter jumps, Esc closes",
                        f.hits.len(),
                        f.searched
                    )))
                    .render(r, buf);
            }
            Overlay::Command { input }
            | Overlay::Filter { input }
            | Overlay::Note { input, .. } => {
                let note_title;
                let (prefix, title) = match self.overlay {
                    Overlay::Command { .. } => (
                        ":",
                        "Command · any subcommand: bt PID, stacks, srcu, rcu, waitgraph, explain…",
                    ),
                    Overlay::Note { file, line, .. } => {
                        note_title = format!(
                            "Note on {file}:{line} · Enter saves (empty removes) · Esc cancels"
                        );
                        ("✎ ", note_title.as_str())
                    }
                    _ => ("/", "Filter tasks · pid, comm or state"),
                };
                let r = Rect::new(
                    area.x,
                    area.y + area.height.saturating_sub(4),
                    area.width,
                    3.min(area.height),
                );
                Clear.render(r, buf);
                Paragraph::new(format!("{prefix}{input}"))
                    .block(frame(title.to_string()))
                    .render(r, buf);
            }
        }
    }
}
