//! A pane of [`Row`]s with a cursor: the SRCU, RCU, wait-graph and log panes.

use super::block;
use crate::tui::app::visible_offset;
use crate::tui::rows::Row;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

pub struct RowsView<'a> {
    pub title: String,
    pub rows: &'a [Row],
    pub cursor: usize,
    /// First visible row as the model keeps it (adjusted here so the cursor shows).
    pub offset: usize,
    pub focused: bool,
    pub theme: &'a Theme,
}

/// One row as a line, scopes resolved through the theme.
pub fn row_line<'a>(r: &'a Row, theme: &Theme) -> Line<'a> {
    Line::from(
        r.cells
            .iter()
            .map(|c| Span::styled(c.text.as_str(), theme.get(c.scope)))
            .collect::<Vec<_>>(),
    )
}

impl Widget for &RowsView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let h = area.height.saturating_sub(2) as usize;
        let off = visible_offset(self.cursor, self.offset, h);
        let sel = super::sel_style(self.theme, self.focused);
        let lines: Vec<Line> = self
            .rows
            .iter()
            .enumerate()
            .skip(off)
            .take(h)
            .map(|(i, r)| {
                let l = row_line(r, self.theme);
                if i == self.cursor {
                    l.patch_style(sel)
                } else {
                    l
                }
            })
            .collect();
        Paragraph::new(lines)
            .block(block(self.title.clone(), self.focused, self.theme))
            .render(area, buf);
        // The cursor row's highlight spans the pane's width.
        if self.cursor >= off && self.cursor < off + h && area.width > 2 {
            let y = area.y + 1 + (self.cursor - off) as u16;
            buf.set_style(Rect::new(area.x + 1, y, area.width - 2, 1), sel);
        }
    }
}
