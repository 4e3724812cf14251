//! Panes and overlays, each a plain view struct over borrowed state with
//! `impl Widget for &View`. [`draw`] lays out the whole screen from an [`App`] without
//! changing it.

pub mod backtrace;
pub mod log;
pub mod overlays;
pub mod placeholder;
pub mod rows;
pub mod source;
pub mod tasks;
pub mod text;

use super::app::{App, Focus, PANES, Pane};
use super::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

/// A pane's frame: border and title styled by focus.
pub fn block<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    let border = if focused {
        theme.get("ui.pane.border.focused")
    } else {
        theme.get("ui.pane.border")
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, theme.get("ui.pane.title")))
}

fn tab_labels() -> Vec<(Pane, String)> {
    PANES
        .iter()
        .enumerate()
        .map(|(i, p)| (p.pane, format!(" {} {} ", i + 1, p.title)))
        .collect()
}

/// Which tab is at column `x` of the tab bar.
pub fn tab_at(area: Rect, x: u16) -> Option<Pane> {
    let mut col = area.x + " quiesce ".len() as u16;
    for (p, l) in tab_labels() {
        let w = l.chars().count() as u16;
        if x >= col && x < col + w {
            return Some(p);
        }
        col += w;
    }
    None
}

pub struct TabsView<'a> {
    pub active: Pane,
    pub theme: &'a Theme,
}

impl Widget for &TabsView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut spans = vec![Span::styled(" quiesce ", self.theme.get("ui.header"))];
        for (p, l) in tab_labels() {
            let st = if p == self.active {
                self.theme.get("ui.tabs.active")
            } else {
                self.theme.get("ui.tabs")
            };
            spans.push(Span::styled(l, st));
        }
        Line::from(spans).render(area, buf);
    }
}

pub struct StatusView<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for &StatusView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let a = self.app;
        let base = self.theme.get("ui.status");
        buf.set_style(area, base);
        let (left, style) = if let Some(j) = a.jobs.iter().find(|j| !j.finished) {
            let pct = (j.done * 100).checked_div(j.total).unwrap_or(0);
            (
                format!(" {} {}/{} ({pct}%) ", j.name, j.done, j.total),
                self.theme.get("ui.status.job"),
            )
        } else if let Some(m) = &a.message {
            let st = if a.jobs.iter().any(|j| j.error.is_some()) {
                self.theme.get("ui.status.error")
            } else {
                base
            };
            (format!(" {m} "), st)
        } else {
            (format!(" {} ", a.title), base)
        };
        let mut right = format!(
            "{} tasks{} · sort {}{}{} · {} ",
            a.tasks.len(),
            if a.task_errors.is_empty() {
                ""
            } else {
                " (partial)"
            },
            a.sort.label(),
            if a.grouped { " · grouped" } else { "" },
            if a.filter.is_empty() {
                String::new()
            } else {
                format!(" · filter \"{}\"", a.filter)
            },
            a.hint
        );
        let lw = left.chars().count();
        let rw = right.chars().count();
        if lw + rw > area.width as usize {
            right.clear();
        }
        Line::from(vec![Span::styled(left, style)]).render(area, buf);
        let rw = right.chars().count() as u16;
        if rw > 0 && rw <= area.width {
            let r = Rect::new(area.x + area.width - rw, area.y, rw, 1);
            Line::from(Span::styled(right, base)).render(r, buf);
        }
    }
}

/// Draw the whole screen. Reads `app`; never changes it.
pub fn draw(app: &App, theme: &Theme, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, theme.get("ui"));
    let a = super::app::areas(area);
    (&TabsView {
        active: app.right,
        theme,
    })
        .render(a.tabs, buf);
    (&tasks::TasksView::from_app(app, theme)).render(a.tasks, buf);
    let focused = app.focus == Focus::Right;
    let scroll = *app.scroll.get(&app.right).unwrap_or(&0);
    let cursor = app.cursor_of(app.right);
    match app.right {
        Pane::Tasks | Pane::Backtrace => {
            let task = app.selected_task();
            (&backtrace::BacktraceView {
                task,
                backtrace: task.and_then(|t| app.backtrace_of(t)),
                unwinding: app.busy(),
                scroll,
                cursor,
                focused,
                theme,
                locals: task
                    .and_then(|t| app.locals.get(&t.addr))
                    .map(|b| b.as_ref()),
            })
                .render(a.right, buf)
        }
        Pane::Log => (&log::LogView {
            records: &app.log,
            errors: &app.log_errors,
            decoded: &app.log_decoded,
            expanded: &app.log_expanded,
            cursor,
            scroll,
            focused,
            theme,
        })
            .render(a.right, buf),
        Pane::Srcu | Pane::Rcu | Pane::WaitGraph | Pane::Timeline
            if app.right != Pane::WaitGraph || app.graph.is_some() =>
        {
            let rows = app.rows(app.right);
            let title = match (app.right, &app.srcu) {
                (Pane::Srcu, Some(Ok(r))) => format!(
                    "SRCU · {} domains · Enter on a waiter jumps to it",
                    r.domains.len()
                ),
                (Pane::Srcu, _) => "SRCU".to_string(),
                (Pane::Rcu, _) => "RCU · Enter on a holdout jumps to its task".to_string(),
                (Pane::Timeline, _) => match &app.timeline {
                    Some(_) => "Timeline · < > step · i explains a field".to_string(),
                    None => "Timeline · S takes a snapshot of a live guest".to_string(),
                },
                _ => "Wait graph".to_string(),
            };
            (&rows::RowsView {
                title,
                rows: &rows,
                cursor,
                offset: scroll,
                focused,
                theme,
            })
                .render(a.right, buf)
        }
        Pane::Source => {
            let values = app.locals_annotations();
            (&source::SourceView {
                file: app.source.as_ref(),
                error: app.source_error.as_deref(),
                has_root: app.source_root.is_some(),
                annotations: &app.annotations,
                values: &values,
                notes: &app.notes,
                cursor,
                offset: scroll,
                focused,
                theme,
            })
                .render(a.right, buf)
        }
        Pane::Result => {
            let (title, text) = app
                .result
                .as_ref()
                .map(|(t, x)| (t.as_str(), x.as_str()))
                .unwrap_or((
                    "Result",
                    "Run a subcommand with `:` (bt PID, stacks, srcu, rcu, waitgraph, explain, print EXPR…).",
                ));
            (&text::TextView {
                title,
                text,
                scroll,
                focused,
                theme,
            })
                .render(a.right, buf)
        }
        p => (&placeholder::PlaceholderView {
            pane: p,
            focused,
            theme,
        })
            .render(a.right, buf),
    }
    if let Some(w) = &app.walkthrough
        && let Some(step) = w.current()
    {
        let h = 4.min(a.right.height);
        let r = Rect::new(a.right.x, a.right.y + a.right.height - h, a.right.width, h);
        ratatui::widgets::Clear.render(r, buf);
        ratatui::widgets::Paragraph::new(step.text.as_str())
            .wrap(ratatui::widgets::Wrap { trim: true })
            .style(theme.get("ui.overlay"))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.get("ui.overlay.border"))
                    .title(format!(
                        "Walkthrough {}/{} · ] next · [ previous · W ends",
                        w.index + 1,
                        w.steps.len()
                    )),
            )
            .render(r, buf);
    }
    (&StatusView { app, theme }).render(a.status, buf);
    if let Some(o) = &app.overlay {
        (&overlays::OverlayView {
            overlay: o,
            keymap: &app.keymap,
            theme,
        })
            .render(area, buf);
    }
}

/// The last `n` path components (DWARF file names are often absolute build paths).
pub fn short_path(p: &str, n: usize) -> &str {
    let mut idx = p.len();
    for _ in 0..n {
        match p[..idx].rfind('/') {
            Some(i) => idx = i,
            None => return p,
        }
    }
    &p[idx + 1..]
}

pub(crate) fn sel_style(theme: &Theme, focused: bool) -> Style {
    if focused {
        theme.get("ui.selection")
    } else {
        theme.get("ui.selection.unfocused")
    }
}
