//! The Tasks pane: a table of pid, ppid, cpu, state and command, filtered and sorted, or
//! in grouped-stacks mode one row per distinct stack with its task count.

use super::{block, sel_style};
use crate::kernel::tasks::Task;
use crate::tui::app::{App, Focus, SortKey, StackGroup};
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, Widget};

pub struct TasksView<'a> {
    pub tasks: &'a [Task],
    /// Flat mode: indices into `tasks`.
    pub view: &'a [usize],
    /// Grouped mode when `Some`.
    pub groups: Option<&'a [StackGroup]>,
    pub selected: usize,
    pub offset: usize,
    pub filter: &'a str,
    pub sort: SortKey,
    pub focused: bool,
    pub theme: &'a Theme,
}

impl<'a> TasksView<'a> {
    pub fn from_app(app: &'a App, theme: &'a Theme) -> TasksView<'a> {
        TasksView {
            tasks: &app.tasks,
            view: &app.view,
            groups: app.grouped.then_some(&app.groups[..]),
            selected: app.selected,
            offset: app.offset,
            filter: &app.filter,
            sort: app.sort,
            focused: app.focus == Focus::Tasks,
            theme,
        }
    }
}

pub fn comm_label(t: &Task) -> String {
    if t.kthread {
        format!("[{}]", t.comm)
    } else {
        t.comm.clone()
    }
}

fn state_style(theme: &Theme, st: &str) -> Style {
    theme.get(&format!("task.state.{}", st.to_ascii_lowercase()))
}

impl Widget for &TasksView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let h = area.height.saturating_sub(3) as usize;
        let header_style = t.get("ui.header");
        let sel = sel_style(t, self.focused);
        let (title, table) = match self.groups {
            None => {
                let rows =
                    self.view
                        .iter()
                        .enumerate()
                        .skip(self.offset)
                        .take(h)
                        .map(|(row, &i)| {
                            let task = &self.tasks[i];
                            let r = Row::new(vec![
                                Cell::from(if task.active { ">" } else { " " }),
                                Cell::from(format!("{:>6}", task.pid)),
                                Cell::from(format!("{:>6}", task.ppid)),
                                Cell::from(format!("{:>3}", task.cpu)),
                                Cell::from(Span::styled(task.st, state_style(t, task.st))),
                                Cell::from(comm_label(task)),
                            ]);
                            if row == self.selected {
                                r.style(sel)
                            } else {
                                r
                            }
                        });
                let header =
                    Row::new(["", "   PID", "  PPID", "CPU", "ST", "COMM"]).style(header_style);
                (
                    format!(
                        "Tasks {}/{} · {}",
                        self.view.len(),
                        self.tasks.len(),
                        self.sort.label()
                    ),
                    Table::new(
                        rows,
                        [
                            Constraint::Length(1),
                            Constraint::Length(6),
                            Constraint::Length(6),
                            Constraint::Length(3),
                            Constraint::Length(2),
                            Constraint::Min(8),
                        ],
                    )
                    .header(header),
                )
            }
            Some(groups) => {
                let rows = groups
                    .iter()
                    .enumerate()
                    .skip(self.offset)
                    .take(h)
                    .map(|(row, g)| {
                        // The state most members are in.
                        let mut counts: Vec<(&str, usize)> = Vec::new();
                        for &m in &g.members {
                            let st = self.tasks[m].st;
                            match counts.iter_mut().find(|c| c.0 == st) {
                                Some(c) => c.1 += 1,
                                None => counts.push((st, 1)),
                            }
                        }
                        let st = counts.iter().max_by_key(|c| c.1).map(|c| c.0).unwrap_or("");
                        let mut comms: Vec<String> = g
                            .members
                            .iter()
                            .take(3)
                            .map(|&m| comm_label(&self.tasks[m]))
                            .collect();
                        if g.members.len() > 3 {
                            comms.push("…".into());
                        }
                        let stack: Vec<&str> = g
                            .functions
                            .iter()
                            .map(String::as_str)
                            .filter(|f| !is_sched_plumbing(f))
                            .take(4)
                            .collect();
                        let r = Row::new(vec![
                            Cell::from(format!("{:>5}", g.members.len())),
                            Cell::from(Span::styled(st, state_style(t, st))),
                            Cell::from(comms.join(" ")),
                            Cell::from(stack.join(" < ")),
                        ]);
                        if row == self.selected {
                            r.style(sel)
                        } else {
                            r
                        }
                    });
                let header = Row::new(["COUNT", "ST", "TASKS", "STACK"]).style(header_style);
                (
                    format!("Tasks · {} distinct stacks", groups.len()),
                    Table::new(
                        rows,
                        [
                            Constraint::Length(5),
                            Constraint::Length(2),
                            Constraint::Percentage(35),
                            Constraint::Min(10),
                        ],
                    )
                    .header(header),
                )
            }
        };
        let title = if self.filter.is_empty() {
            title
        } else {
            format!("{title} · /{}", self.filter)
        };
        table.block(block(title, self.focused, t)).render(area, buf);
    }
}

/// Frames every sleeping task has; left out of the grouped view's summary.
fn is_sched_plumbing(f: &str) -> bool {
    matches!(
        f,
        "__schedule" | "schedule" | "__switch_to" | "__switch_to_asm" | "schedule_timeout"
    )
}
