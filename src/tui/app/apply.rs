//! How a finished job's message changes the model: tasks, backtraces, symbols, the SRCU
//! and RCU reports, the log, source files, the wait graph.

use super::*;

/// How the status line starts when the task list is partial.
const PARTIAL_TASKS: &str = "task list partial";

impl App {
    /// Apply a job's message.
    pub fn apply(&mut self, m: crate::tui::jobs::JobMsg) {
        use crate::tui::jobs::JobMsg::*;
        match m {
            Started { id, name, total } => self.jobs.push(JobStatus {
                id,
                name,
                done: 0,
                total,
                finished: false,
                error: None,
            }),
            Progress { id, done, total } => {
                if let Some(j) = self.jobs.iter_mut().find(|j| j.id == id) {
                    j.done = done;
                    j.total = total;
                }
            }
            Finished { id, error } => {
                if let Some(j) = self.jobs.iter_mut().find(|j| j.id == id) {
                    j.finished = true;
                    j.done = j.total;
                    if let Some(e) = &error {
                        self.message = Some(format!("{}: {e}", j.name));
                    }
                    j.error = error;
                }
            }
            Opened { title, warnings } => {
                self.title = title;
                if let Some(w) = warnings.first() {
                    self.message = Some(format!("warning: {w}"));
                }
            }
            Tasks {
                moment,
                tasks,
                errors,
            } => {
                if moment < self.moment {
                    return;
                }
                // the selected task stays selected in the new moment's list
                let keep = self.selected_task().map(|t| t.addr);
                if moment > self.moment {
                    self.moment = moment;
                    self.backtraces.clear();
                    self.locals.clear();
                    self.locals_asked.clear();
                }
                self.tasks = tasks;
                if errors.is_empty()
                    && self
                        .message
                        .as_ref()
                        .is_some_and(|m| m.starts_with(PARTIAL_TASKS))
                {
                    self.message = None;
                }
                if let Some(e) = errors.first() {
                    // Said where it is seen, as `ps` marks its output PARTIAL.
                    self.message = Some(format!(
                        "{PARTIAL_TASKS} ({} problem{}): {e}",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" }
                    ));
                }
                self.task_errors = errors;
                self.refresh_view_keeping(keep);
            }
            Locals { moment, trace } => {
                if moment == self.moment {
                    self.locals.insert(trace.task.addr, Arc::new(*trace));
                }
            }
            Backtraces { moment, traces } => {
                if moment != self.moment {
                    return;
                }
                for b in traces {
                    self.backtraces.insert(b.task.addr, Arc::new(b));
                }
                if self.grouped {
                    self.refresh_view();
                }
            }
            Log { records, errors } => {
                self.log = records;
                self.log_errors = errors;
            }
            Symbols(s) => {
                self.symbols = s;
                self.research();
            }
            Snapshot {
                values,
                jiffies,
                log,
                last_seq,
            } => {
                self.timeline_log_seq = last_seq.or(self.timeline_log_seq);
                self.add_snapshot(values, jiffies, log)
            }
            Timeline(t) => self.set_timeline(*t),
            Fields(f) => {
                self.fields = Some(f);
                self.refresh_field_rows();
            }
            Types(t) => {
                self.types = t;
                self.research();
            }
            Srcu(r) => {
                let mut r = Arc::unwrap_or_clone(r);
                // Domains with something under way first.
                if let Ok(r) = &mut r {
                    r.domains.sort_by_key(|d| !crate::tui::rows::srcu_active(d));
                }
                self.srcu = Some(r);
                self.srcu_domain = 0;
                self.srcu_domain_of_selected_task();
            }
            Rcu(r) => self.rcu = Some(Arc::unwrap_or_clone(r)),
            LogDecoded(d) => self.log_decoded = d.into_iter().collect(),
            Source(Ok(f)) => {
                let line = f.line.max(1) as usize - 1;
                let h = self.right_height();
                self.source = Some(f);
                self.source_error = None;
                self.message = None;
                self.cursor.insert(Pane::Source, line);
                self.scroll.insert(Pane::Source, line.saturating_sub(h / 2));
                self.refresh_annotations();
            }
            Source(Err(e)) => {
                self.message = Some(e.clone());
                self.source_error = Some(e);
            }
            NotesSaved(r) => {
                self.message = Some(match r {
                    Ok(p) => format!("notes saved to {}", p.display()),
                    Err(e) => e,
                })
            }
            Graph {
                moment,
                graph,
                steps,
            } => {
                if moment != self.moment {
                    return;
                }
                self.graph = Some(graph);
                self.refresh_annotations();
                self.steps = steps;
                self.first_screen();
            }
            Output { title, text } => {
                self.message = None;
                self.result = Some((title, text));
                self.scroll.insert(Pane::Result, 0);
                self.show(Pane::Result);
            }
        }
    }
}
