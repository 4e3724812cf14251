//! An explicit "not yet available" pane for views whose decoders are still being built.

use super::block;
use crate::tui::app::Pane;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

pub struct PlaceholderView<'a> {
    pub pane: Pane,
    pub focused: bool,
    pub theme: &'a Theme,
}

impl Widget for &PlaceholderView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let st = self.theme.get("ui.placeholder");
        let what = self
            .pane
            .info()
            .and_then(|i| i.not_yet)
            .unwrap_or("this view");
        let text = vec![
            Line::from(Span::styled(
                format!("{}: not yet available.", self.pane.title()),
                st,
            )),
            Line::from(""),
            Line::from(Span::styled(format!("Waiting for {what}."), st)),
        ];
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(block(
                self.pane.title().to_string(),
                self.focused,
                self.theme,
            ))
            .render(area, buf);
    }
}
