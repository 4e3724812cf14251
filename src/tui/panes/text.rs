//! A scrollable text pane: command output and descriptions.

use super::block;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

pub struct TextView<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub scroll: usize,
    pub focused: bool,
    pub theme: &'a Theme,
}

impl Widget for &TextView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let h = area.height.saturating_sub(2) as usize;
        let lines: Vec<Line> = self
            .text
            .lines()
            .skip(self.scroll)
            .take(h)
            .map(|l| Line::from(l.to_string()))
            .collect();
        Paragraph::new(lines)
            .block(block(self.title.to_string(), self.focused, self.theme))
            .render(area, buf);
    }
}
