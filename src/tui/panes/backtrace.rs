//! The Backtrace pane: the selected task's frames (`#n function+off [module] file:line how`),
//! inline frames marked, and how the stack ended.

use super::{block, short_path};
use crate::kernel::tasks::Task;
use crate::tui::theme::Theme;
use crate::unwind::task::Backtrace;
use crate::unwind::walk::{FrameSource, StackEnd};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BtLine {
    Header(String),
    Frame {
        num: usize,
        inlined: bool,
        function: String,
        location: String,
        how: &'static str,
    },
    End(String),
}

impl BtLine {
    pub fn text(&self) -> String {
        match self {
            BtLine::Header(s) | BtLine::End(s) => s.clone(),
            BtLine::Frame {
                num,
                inlined,
                function,
                location,
                how,
            } => {
                let mark = if *inlined { "(inline) " } else { "" };
                format!("#{num:<2} {mark}{function}  {location}  {how}")
                    .trim_end()
                    .to_string()
            }
        }
    }
}

pub fn how_label(h: FrameSource) -> &'static str {
    match h {
        FrameSource::Prstatus => "prstatus",
        FrameSource::SavedContext => "saved",
        FrameSource::Orc => "orc",
        FrameSource::PtRegs => "pt_regs",
        FrameSource::FramePointer => "fp",
        FrameSource::Cfi => "cfi",
        FrameSource::LinkRegister => "lr",
    }
}

/// The lines of a backtrace, crash's numbering: inline frames share their physical frame's
/// number.
pub fn lines(bt: &Backtrace) -> Vec<BtLine> {
    let t = &bt.task;
    let mut out = vec![BtLine::Header(format!(
        "PID: {}  TASK: {:x}  CPU: {}  COMMAND: \"{}\"  ST: {}",
        t.pid, t.addr, t.cpu, t.comm, t.st
    ))];
    let mut n = 0;
    for f in &bt.frames {
        let mut function = f.function.clone().unwrap_or_else(|| format!("{:#x}", f.pc));
        if !f.inlined && f.function.is_some() {
            function.push_str(&format!("+{:#x}", f.offset));
        }
        if let Some(m) = &f.module {
            function.push_str(&format!(" [{m}]"));
        }
        let location = match (&f.file, f.line) {
            (Some(file), Some(l)) => format!("{}:{l}", short_path(file, 3)),
            (Some(file), None) => short_path(file, 3).to_string(),
            _ => String::new(),
        };
        out.push(BtLine::Frame {
            num: n,
            inlined: f.inlined,
            function,
            location,
            how: if f.inlined { "" } else { how_label(f.how) },
        });
        if !f.inlined {
            n += 1;
        }
    }
    out.push(BtLine::End(match &bt.end {
        StackEnd::Complete => "-- end of stack --".into(),
        StackEnd::UserMode => "-- user mode --".into(),
        StackEnd::Truncated(why) => format!("-- truncated: {why} --"),
    }));
    out
}

pub struct BacktraceView<'a> {
    pub task: Option<&'a Task>,
    pub backtrace: Option<&'a Backtrace>,
    /// Unwinding is still under way (so a missing backtrace is coming).
    pub unwinding: bool,
    pub scroll: usize,
    /// The cursor row (0 is the header, frames from 1).
    pub cursor: usize,
    pub focused: bool,
    pub theme: &'a Theme,
    /// The same backtrace with locals, once the locals job has computed them; `None` while
    /// it runs (or when it was never asked for).
    pub locals: Option<&'a Backtrace>,
}

/// The lines of the locals section for the frame on cursor row `cursor` (row 1 = frame 0):
/// a title and `name = value` lines.
pub fn locals_lines(bt: &Backtrace, cursor: usize) -> Option<(String, Vec<String>)> {
    let f = bt.frames.get(cursor.checked_sub(1)?)?;
    let title = format!("Locals · {}", f.function.as_deref().unwrap_or("?"));
    let lines = match &f.locals {
        Some(l) if l.is_empty() => vec!["(no variables in scope)".to_string()],
        Some(l) => l.iter().map(|l| l.text()).collect(),
        None => vec!["(not computed)".to_string()],
    };
    Some((title, lines))
}

impl Widget for &BacktraceView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let mut area = area;
        if let Some((title, lines)) = self
            .locals
            .and_then(|bt| locals_lines(bt, self.cursor.max(1)))
            && area.height >= 10
        {
            let h = (lines.len() as u16 + 2).clamp(3, area.height / 2);
            let bottom = Rect::new(area.x, area.y + area.height - h, area.width, h);
            area.height -= h;
            let body: Vec<Line> = lines
                .into_iter()
                .map(|l| Line::from(Span::styled(l, t.get("frame.how"))))
                .collect();
            Paragraph::new(body)
                .block(block(title, false, t))
                .render(bottom, buf);
        }
        let title = match self.task {
            Some(task) => format!("Backtrace · {} {}", task.pid, task.comm),
            None => "Backtrace".to_string(),
        };
        let h = area.height.saturating_sub(2) as usize;
        let scroll = crate::tui::app::visible_offset(self.cursor, self.scroll, h);
        let body: Vec<Line> = match (self.task, self.backtrace) {
            (None, _) => vec![Line::from(Span::styled(
                "No task selected.",
                t.get("ui.placeholder"),
            ))],
            (Some(_), None) => vec![Line::from(Span::styled(
                if self.unwinding {
                    "Unwinding…"
                } else {
                    "No backtrace."
                },
                t.get("ui.placeholder"),
            ))],
            (Some(_), Some(bt)) => lines(bt)
                .into_iter()
                .enumerate()
                .skip(scroll)
                .map(|(i, l)| {
                    (
                        i,
                        match &l {
                            BtLine::Header(s) => {
                                Line::from(Span::styled(s.clone(), t.get("ui.header")))
                            }
                            BtLine::End(s) => {
                                Line::from(Span::styled(s.clone(), t.get("frame.how")))
                            }
                            BtLine::Frame {
                                num,
                                inlined,
                                function,
                                location,
                                how,
                            } => {
                                let fstyle = if *inlined {
                                    t.get("frame.inline")
                                } else {
                                    t.get("frame.function")
                                };
                                let mut spans = vec![Span::raw(format!("#{num:<2} "))];
                                if *inlined {
                                    spans.push(Span::styled("(inline) ", t.get("frame.inline")));
                                }
                                spans.push(Span::styled(function.clone(), fstyle));
                                if !location.is_empty() {
                                    spans.push(Span::raw("  "));
                                    spans.push(Span::styled(
                                        location.clone(),
                                        t.get("frame.location"),
                                    ));
                                }
                                if !how.is_empty() {
                                    spans.push(Span::raw("  "));
                                    spans.push(Span::styled(*how, t.get("frame.how")));
                                }
                                Line::from(spans)
                            }
                        },
                    )
                })
                .map(|(i, l)| {
                    if i == self.cursor && self.focused {
                        l.patch_style(super::sel_style(t, true))
                    } else {
                        l
                    }
                })
                .collect(),
        };
        Paragraph::new(body)
            .block(block(title, self.focused, t))
            .render(area, buf);
    }
}
