//! The TUI's model: plain state and pure transitions, no terminal types.
//!
//! Input arrives as [`UiEvent`]s (keys and mouse already translated from the terminal
//! library, job messages from [`super::jobs`]). [`App::handle_event`] and [`App::handle`]
//! change the state and return [`Effect`]s for the runner to carry out (start a job, quit).
//! Drawing ([`super::draw`]) only reads the state.

mod apply;
mod events;
mod fields;
mod panes;
mod timeline;

pub use events::{Effect, MouseKind, Overlay, UiEvent};
pub use fields::FIELDS_WIDTH;
pub use panes::{PANES, Pane, PaneInfo};

use super::actions::{Action, Keymap};
pub use super::finder::{Finder, FinderHit, FinderKind};
use super::graph::GraphData;
use super::notes::Notes;
use super::rows::{Row, Target};
use super::source::{Annotations, SourceFile};
use super::walkthrough::{Step, Walkthrough};
use crate::kernel::printk::LogRecord;
use crate::kernel::tasks::Task;
use crate::rcu::srcu::SrcuReport;
use crate::rcu::tree::RcuReport;
use crate::unwind::task::Backtrace;
use ratatui::layout::{Constraint, Layout, Rect};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Tasks,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Pid,
    /// Uninterruptible first (the hang suspects), then running, then the rest.
    State,
    /// Longest since it last ran first.
    LastRun,
}

impl SortKey {
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Pid => "pid",
            SortKey::State => "state",
            SortKey::LastRun => "last run",
        }
    }
}

/// One background job as the status line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    pub id: u64,
    pub name: String,
    pub done: usize,
    pub total: usize,
    pub finished: bool,
    pub error: Option<String>,
}

/// Tasks with identical stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackGroup {
    pub functions: Vec<String>,
    /// Indices into `App::tasks`.
    pub members: Vec<usize>,
}

/// Where things are on the screen: computed from the size alone, used by drawing and by
/// mouse hit-testing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub tabs: Rect,
    pub tasks: Rect,
    pub right: Rect,
    pub status: Rect,
}

pub fn areas(size: Rect) -> Areas {
    let [tabs, main, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(size);
    let [tasks, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(main);
    Areas {
        tabs,
        tasks,
        right,
        status,
    }
}

pub struct App {
    pub keymap: Keymap,
    pub size: Rect,
    pub focus: Focus,
    pub right: Pane,
    pub title: String,
    pub tasks: Vec<Task>,
    pub task_errors: Vec<String>,
    pub backtraces: HashMap<u64, Arc<Backtrace>>,
    /// Backtraces with locals, by task address (computed on first view, then cached).
    pub locals: HashMap<u64, Arc<Backtrace>>,
    /// Tasks whose locals were asked for (computed or on their way).
    pub locals_asked: std::collections::HashSet<u64>,
    /// The moment the tasks, backtraces and graph are of: 0 the attach, n the n-th snapshot
    /// of a live guest (`S`).
    pub moment: u64,
    pub filter: String,
    pub sort: SortKey,
    pub grouped: bool,
    /// Rows of the flat table: indices into `tasks`, filtered and sorted.
    pub view: Vec<usize>,
    /// Rows of the grouped table.
    pub groups: Vec<StackGroup>,
    /// Selected row and first visible row of the Tasks table.
    pub selected: usize,
    pub offset: usize,
    pub scroll: HashMap<Pane, usize>,
    pub log: Vec<LogRecord>,
    pub log_errors: Vec<String>,
    pub result: Option<(String, String)>,
    pub overlay: Option<Overlay>,
    pub jobs: Vec<JobStatus>,
    pub message: Option<String>,
    pub symbols: Arc<Vec<String>>,
    pub types: Arc<Vec<String>>,
    pub names_requested: bool,
    /// Every SRCU/RCU field resolved against the dump's debug info (once asked for).
    pub fields: Option<Arc<Vec<crate::rcu::fields::Resolved>>>,
    pub fields_requested: bool,
    /// Snapshots taken here or loaded (Timeline pane), and the one shown.
    pub timeline: Option<crate::report::timeline::Timeline>,
    pub timeline_at: usize,
    /// When the first snapshot was taken here (their times count from it).
    pub timeline_t0: Option<std::time::Instant>,
    /// The kernel log's last record at the last snapshot taken here.
    pub timeline_log_seq: Option<u64>,
    /// Tasks the snapshots follow (pids): each one selected in the task list when `S` was
    /// pressed there.
    pub timeline_tasks: Vec<String>,
    pub quit: bool,
    /// Cursor row of each right pane (`scroll` is its first visible row).
    pub cursor: HashMap<Pane, usize>,
    pub srcu: Option<Result<SrcuReport, String>>,
    /// The SRCU domain whose details are shown.
    pub srcu_domain: usize,
    pub rcu: Option<Result<RcuReport, String>>,
    /// Decoded hung-task / RCU stall reports by log record index: their fields, one per line.
    pub log_decoded: HashMap<usize, Vec<String>>,
    pub log_expanded: HashSet<usize>,
    /// `--source KERNEL_SRC`.
    pub source_root: Option<PathBuf>,
    /// The syntect theme the source is highlighted with.
    pub syntax_theme: String,
    pub source: Option<SourceFile>,
    /// Why the last source could not be opened.
    pub source_error: Option<String>,
    pub annotations: Annotations,
    pub notes: Notes,
    /// The wait graph, once the analysis provides one.
    pub graph: Option<GraphData>,
    /// Walkthrough steps available (from `explain`), and the walkthrough under way.
    pub steps: Vec<Step>,
    pub walkthrough: Option<Walkthrough>,
    /// Set by the first key or click: from then on the user chooses what is selected, and
    /// the first finding arriving no longer moves the selection.
    pub touched: bool,
    /// Where to go next, on the right of the status line.
    pub hint: String,
}

/// The first row to show so that `cursor` is visible in `h` rows, starting from `offset`.
pub fn visible_offset(cursor: usize, offset: usize, h: usize) -> usize {
    let h = h.max(1);
    if cursor < offset {
        cursor
    } else if cursor >= offset + h {
        cursor + 1 - h
    } else {
        offset
    }
}

impl App {
    pub fn new(keymap: Keymap, width: u16, height: u16) -> App {
        App {
            keymap,
            size: Rect::new(0, 0, width, height),
            focus: Focus::Tasks,
            right: Pane::Backtrace,
            title: String::new(),
            tasks: vec![],
            task_errors: vec![],
            backtraces: HashMap::new(),
            locals: HashMap::new(),
            locals_asked: Default::default(),
            moment: 0,
            filter: String::new(),
            sort: SortKey::Pid,
            grouped: false,
            view: vec![],
            groups: vec![],
            selected: 0,
            offset: 0,
            scroll: HashMap::new(),
            log: vec![],
            log_errors: vec![],
            result: None,
            overlay: None,
            jobs: vec![],
            message: None,
            symbols: Arc::new(vec![]),
            types: Arc::new(vec![]),
            names_requested: false,
            fields: None,
            fields_requested: false,
            timeline: None,
            timeline_at: 0,
            timeline_t0: None,
            timeline_log_seq: None,
            timeline_tasks: Vec::new(),
            quit: false,
            cursor: HashMap::new(),
            srcu: None,
            srcu_domain: 0,
            rcu: None,
            log_decoded: HashMap::new(),
            log_expanded: HashSet::new(),
            source_root: None,
            syntax_theme: super::source::syntax_theme_for("dark").to_string(),
            source: None,
            source_error: None,
            annotations: Annotations::default(),
            notes: Notes::default(),
            graph: None,
            steps: vec![],
            walkthrough: None,
            touched: false,
            hint: "? help".into(),
        }
    }

    pub fn areas(&self) -> Areas {
        areas(self.size)
    }

    /// Rows of the task table that fit (borders and header row taken off).
    pub fn table_height(&self) -> usize {
        (self.areas().tasks.height as usize)
            .saturating_sub(3)
            .max(1)
    }

    pub fn right_height(&self) -> usize {
        (self.areas().right.height as usize)
            .saturating_sub(2)
            .max(1)
    }

    pub fn row_count(&self) -> usize {
        if self.grouped {
            self.groups.len()
        } else {
            self.view.len()
        }
    }

    /// The task whose backtrace is shown: the selected row (first member of a group).
    pub fn selected_task(&self) -> Option<&Task> {
        let i = if self.grouped {
            *self.groups.get(self.selected)?.members.first()?
        } else {
            *self.view.get(self.selected)?
        };
        self.tasks.get(i)
    }

    /// The locals job to start, if the backtrace pane shows a task whose locals were never
    /// asked for (the runner calls this after each batch of events).
    pub fn wanted_locals(&mut self) -> Vec<Effect> {
        if !matches!(self.right, Pane::Backtrace | Pane::Tasks) {
            return vec![];
        }
        let Some(t) = self.selected_task() else {
            return vec![];
        };
        let addr = t.addr;
        if !self.backtraces.contains_key(&addr) || !self.locals_asked.insert(addr) {
            return vec![];
        }
        vec![Effect::Locals(addr)]
    }

    pub fn backtrace_of(&self, t: &Task) -> Option<&Backtrace> {
        self.backtraces.get(&t.addr).map(|b| b.as_ref())
    }

    pub fn busy(&self) -> bool {
        self.jobs.iter().any(|j| !j.finished)
    }

    fn task_matches(t: &Task, filter: &str) -> bool {
        filter.split_whitespace().all(|w| {
            let w = w.to_ascii_lowercase();
            t.pid.to_string().starts_with(&w)
                || t.comm.to_ascii_lowercase().contains(&w)
                || t.st.eq_ignore_ascii_case(&w)
        })
    }

    /// Recompute the table rows after the tasks, filter, sort or grouping changed, keeping
    /// the selected task selected when it is still shown.
    pub fn refresh_view(&mut self) {
        let keep = self.selected_task().map(|t| t.addr);
        self.refresh_view_keeping(keep);
    }

    /// [`App::refresh_view`], keeping the task at `keep` selected when it is shown.
    fn refresh_view_keeping(&mut self, keep: Option<u64>) {
        let mut view: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| Self::task_matches(&self.tasks[i], &self.filter))
            .collect();
        let rank = |st: &str| match st {
            "UN" => 0,
            "RU" => 1,
            _ => 2,
        };
        let tasks = &self.tasks;
        match self.sort {
            SortKey::Pid => view.sort_by_key(|&i| (tasks[i].pid, tasks[i].cpu, tasks[i].addr)),
            SortKey::State => view.sort_by_key(|&i| (rank(tasks[i].st), tasks[i].st, tasks[i].pid)),
            SortKey::LastRun => view.sort_by_key(|&i| {
                (
                    tasks[i].last_arrival.is_none(),
                    tasks[i].last_arrival,
                    tasks[i].pid,
                )
            }),
        }
        let mut groups: Vec<StackGroup> = Vec::new();
        let mut index: HashMap<Vec<String>, usize> = HashMap::new();
        for &i in &view {
            let key: Vec<String> = match self.backtraces.get(&tasks[i].addr) {
                Some(bt) => bt.functions().iter().map(|s| s.to_string()).collect(),
                None => vec!["(not unwound yet)".to_string()],
            };
            let gi = *index.entry(key.clone()).or_insert_with(|| {
                groups.push(StackGroup {
                    functions: key,
                    members: vec![],
                });
                groups.len() - 1
            });
            groups[gi].members.push(i);
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.members.len()));
        self.view = view;
        self.groups = groups;
        if let Some(addr) = keep {
            let pos = if self.grouped {
                self.groups
                    .iter()
                    .position(|g| g.members.iter().any(|&m| self.tasks[m].addr == addr))
            } else {
                self.view.iter().position(|&i| self.tasks[i].addr == addr)
            };
            if let Some(p) = pos {
                self.selected = p;
            }
        }
        self.clamp();
    }

    pub(crate) fn clamp(&mut self) {
        let n = self.row_count();
        self.selected = self.selected.min(n.saturating_sub(1));
        let h = self.table_height();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        self.offset = self.offset.min(n.saturating_sub(1));
    }

    /// Select a task by address (clears filter and grouping if they hide it).
    pub fn select_task(&mut self, addr: u64) {
        if !self.view.iter().any(|&i| self.tasks[i].addr == addr) {
            self.filter.clear();
        }
        self.grouped = false;
        self.refresh_view();
        if let Some(p) = self.view.iter().position(|&i| self.tasks[i].addr == addr) {
            self.selected = p;
            self.reset_pane(Pane::Backtrace);
        }
        self.clamp();
    }

    pub(crate) fn reset_pane(&mut self, p: Pane) {
        self.scroll.insert(p, 0);
        self.cursor.insert(p, 0);
    }

    pub fn cursor_of(&self, p: Pane) -> usize {
        *self.cursor.get(&p).unwrap_or(&0)
    }

    /// Rows of the row-based panes (SRCU, RCU, wait graph, log).
    pub fn rows(&self, p: Pane) -> Vec<Row> {
        match p {
            Pane::Srcu => super::rows::srcu_rows(self.srcu.as_ref(), self.srcu_domain),
            Pane::Timeline => {
                super::timeline::timeline_rows(self.timeline.as_ref(), self.timeline_at)
            }
            Pane::Rcu => super::rows::rcu_rows(self.rcu.as_ref()),
            Pane::WaitGraph => self
                .graph
                .as_ref()
                .map(|g| super::graph::graph_rows(g, self.selected_task().map(|t| t.addr)))
                .unwrap_or_default(),
            Pane::Log => super::panes::log::log_rows(
                &self.log,
                &self.log_decoded,
                &self.log_expanded,
                &self.log_errors,
            ),
            _ => vec![],
        }
    }

    /// The target of the right pane's cursor row.
    pub fn cursor_target(&self) -> Option<Target> {
        let c = self.cursor_of(self.right);
        match self.right {
            Pane::Backtrace | Pane::Tasks => {
                let bt = self.selected_task().and_then(|t| self.backtrace_of(t))?;
                let f = bt.frames.get(c.checked_sub(1)?)?;
                Some(Target::Source {
                    file: f.file.clone()?,
                    line: f.line?,
                })
            }
            Pane::Source | Pane::Result => None,
            p => self.rows(p).into_iter().nth(c)?.target,
        }
    }

    /// Number of lines the right pane has, for clamping its scroll.
    fn right_lines(&self) -> usize {
        match self.right {
            Pane::Srcu | Pane::Rcu | Pane::WaitGraph | Pane::Log | Pane::Timeline => {
                self.rows(self.right).len().max(1)
            }
            Pane::Source => self.source.as_ref().map(|s| s.lines.len()).unwrap_or(1),
            Pane::Backtrace => self
                .selected_task()
                .and_then(|t| self.backtrace_of(t))
                .map(|b| b.frames.len() + 3)
                .unwrap_or(1),
            Pane::Result => self
                .result
                .as_ref()
                .map(|r| r.1.lines().count())
                .unwrap_or(1),
            _ => 1,
        }
    }

    pub(crate) fn move_by(&mut self, delta: isize) {
        match self.focus {
            Focus::Tasks => {
                let n = self.row_count() as isize;
                let s = (self.selected as isize + delta).clamp(0, (n - 1).max(0));
                if s as usize != self.selected {
                    self.selected = s as usize;
                    self.reset_pane(Pane::Backtrace);
                }
                self.clamp();
            }
            Focus::Right => {
                let max = self.right_lines().saturating_sub(1) as isize;
                let cur = self.cursor_of(self.right) as isize;
                let c = (cur + delta).clamp(0, max.max(0)) as usize;
                self.set_cursor(self.right, c);
            }
        }
    }

    /// Put a pane's cursor on a row and scroll it into view.
    pub fn set_cursor(&mut self, p: Pane, c: usize) {
        self.cursor.insert(p, c);
        let off = *self.scroll.get(&p).unwrap_or(&0);
        self.scroll
            .insert(p, visible_offset(c, off, self.right_height()));
        if p == Pane::Srcu
            && let Some(Target::SrcuDomain(i)) =
                self.rows(p).into_iter().nth(c).and_then(|r| r.target)
        {
            self.srcu_domain = i;
        }
    }

    /// Follow a row's target.
    pub fn follow(&mut self, t: Target) -> Vec<Effect> {
        match t {
            Target::Task(addr) => {
                if self.tasks.iter().any(|t| t.addr == addr) {
                    self.select_task(addr);
                    self.show(Pane::Backtrace);
                } else {
                    self.message = Some(format!("task {addr:#x} is not in the task list"));
                }
                vec![]
            }
            Target::SrcuDomain(i) => {
                self.srcu_domain = i;
                vec![]
            }
            Target::Source { file, line } => self.open_source(&file, line),
            Target::LogRecord(i) => {
                if !self.log_expanded.remove(&i) {
                    self.log_expanded.insert(i);
                    // Show the decoded fields: the report's line goes to the top.
                    self.scroll.insert(Pane::Log, self.cursor_of(Pane::Log));
                }
                vec![]
            }
        }
    }

    pub(crate) fn show(&mut self, pane: Pane) {
        self.right = pane;
        self.focus = Focus::Right;
        if pane == Pane::Srcu {
            self.srcu_domain_of_selected_task();
        }
    }

    /// On the SRCU pane, the domain the selected task waits for (it is in one of the
    /// domains' `synchronize_srcu()` waiters), if any; else the domain stays as it was.
    fn srcu_domain_of_selected_task(&mut self) {
        let Some(addr) = self.selected_task().map(|t| t.addr) else {
            return;
        };
        if let Some(Ok(r)) = &self.srcu
            && let Some(i) = r
                .domains
                .iter()
                .position(|d| d.waiters.iter().any(|w| w.addr == addr))
        {
            self.srcu_domain = i;
        }
    }

    /// Carry out a named action.
    pub fn handle(&mut self, action: Action) -> Vec<Effect> {
        use Action::*;
        let page = match self.focus {
            Focus::Tasks => self.table_height(),
            Focus::Right => self.right_height(),
        } as isize;
        match action {
            Quit => {
                self.quit = true;
                return vec![Effect::Quit];
            }
            Help => {
                self.overlay = match self.overlay {
                    Some(Overlay::Help { .. }) => None,
                    _ => Some(Overlay::Help { scroll: 0 }),
                }
            }
            FocusNext | FocusPrev => {
                self.focus = match self.focus {
                    Focus::Tasks => Focus::Right,
                    Focus::Right => Focus::Tasks,
                }
            }
            Up => self.move_by(-1),
            Down => self.move_by(1),
            PageUp => self.move_by(-page),
            PageDown => self.move_by(page),
            Top => self.move_by(isize::MIN / 2),
            Bottom => self.move_by(isize::MAX / 2),
            Select => match self.focus {
                Focus::Tasks => self.show(Pane::Backtrace),
                Focus::Right => {
                    if let Some(t) = self.cursor_target() {
                        return self.follow(t);
                    }
                }
            },
            OpenSource => {
                let target = match self.focus {
                    Focus::Tasks => self
                        .interesting_frame()
                        .map(|(file, line)| Target::Source { file, line }),
                    Focus::Right => self.cursor_target(),
                };
                match target {
                    Some(Target::Source { file, line }) => return self.open_source(&file, line),
                    _ => self.message = Some("no source location here".into()),
                }
            }
            AddNote => match &self.source {
                Some(src) if self.right == Pane::Source => {
                    let line = self.cursor_of(Pane::Source) as u32 + 1;
                    let input = self
                        .notes
                        .get(&src.key, line)
                        .map(|n| n.text.clone())
                        .unwrap_or_default();
                    self.overlay = Some(Overlay::Note {
                        file: src.key.clone(),
                        line,
                        input,
                    });
                }
                _ => self.message = Some("notes go on source lines: open the source pane".into()),
            },
            Walkthrough => return self.toggle_walkthrough(),
            StepNext => return self.step_by(1),
            StepPrev => return self.step_by(-1),
            ExplainField => return self.explain_field(),
            ShowTimeline => self.show(Pane::Timeline),
            Snapshot => return self.take_snapshot(),
            TimelinePrev => self.step_timeline(-1),
            TimelineNext => self.step_timeline(1),
            Escape => {
                if self.overlay.is_some() {
                    self.overlay = None;
                } else if self.walkthrough.is_some() {
                    self.walkthrough = None;
                } else if !self.filter.is_empty() {
                    self.filter.clear();
                    self.refresh_view();
                } else {
                    self.focus = Focus::Tasks;
                }
            }
            Filter => {
                self.overlay = Some(Overlay::Filter {
                    input: self.filter.clone(),
                })
            }
            SortNext => {
                self.sort = match self.sort {
                    SortKey::Pid => SortKey::State,
                    SortKey::State => SortKey::LastRun,
                    SortKey::LastRun => SortKey::Pid,
                };
                self.refresh_view();
            }
            GroupStacks => {
                self.grouped = !self.grouped;
                self.selected = 0;
                self.offset = 0;
                self.refresh_view();
            }
            Finder => {
                let mut f = self::Finder::default();
                self.search(&mut f);
                self.overlay = Some(Overlay::Finder(f));
                if !self.names_requested {
                    self.names_requested = true;
                    return vec![Effect::LoadNames];
                }
            }
            CommandLine => {
                self.overlay = Some(Overlay::Command {
                    input: String::new(),
                })
            }
            ShowBacktrace => self.show(Pane::Backtrace),
            ShowLog => self.show(Pane::Log),
            ShowSrcu => self.show(Pane::Srcu),
            ShowRcu => self.show(Pane::Rcu),
            ShowWaitGraph => self.show(Pane::WaitGraph),
            ShowSource => self.show(Pane::Source),
            ShowResult => self.show(Pane::Result),
            DecodeLog => {
                self.message = Some("decoding the log…".into());
                return vec![Effect::DecodeLog];
            }
        }
        vec![]
    }
}
