//! The Timeline pane's transitions: taking a snapshot of the live guest, stepping between
//! snapshots, a snapshot or a loaded timeline arriving, `:timeline-save FILE`.

use super::{App, Effect, Pane};
use crate::report::timeline::{Snapshot, Timeline};
use std::collections::BTreeMap;
use std::time::Instant;

impl App {
    /// `snapshot`: the first one reads the guest as it is (stopped since the TUI attached);
    /// each later one lets it run half a second first. Pressed in the task list, the
    /// selected task is followed from then on (its state, CPU and stack in every snapshot).
    pub(super) fn take_snapshot(&mut self) -> Vec<Effect> {
        let first = self
            .timeline
            .as_ref()
            .is_none_or(|t| t.snapshots.is_empty());
        let mut followed = String::new();
        if self.focus == super::Focus::Tasks
            && let Some(t) = self.selected_task()
        {
            let pid = t.pid.to_string();
            followed = format!(" (following {}:{})", t.comm, t.pid);
            if !self.timeline_tasks.contains(&pid) {
                self.timeline_tasks.push(pid);
            }
        }
        self.message = Some(format!("taking a snapshot…{followed}"));
        vec![Effect::Snapshot {
            tasks: self.timeline_tasks.clone(),
            run_ms: if first {
                0
            } else {
                crate::tui::timeline::RUN_MS
            },
            log_after: if first { None } else { self.timeline_log_seq },
        }]
    }

    pub(super) fn step_timeline(&mut self, by: isize) {
        let Some(tl) = &self.timeline else {
            self.message = Some("no timeline: S takes a snapshot, :timeline FILE loads one".into());
            return;
        };
        let last = tl.snapshots.len().saturating_sub(1) as isize;
        self.timeline_at = (self.timeline_at as isize + by).clamp(0, last) as usize;
        self.show(Pane::Timeline);
    }

    /// A snapshot arrived: append it, show it.
    pub(super) fn add_snapshot(
        &mut self,
        values: BTreeMap<String, String>,
        jiffies: Option<u64>,
        log: Vec<String>,
    ) {
        let now = Instant::now();
        let t0 = *self.timeline_t0.get_or_insert(now);
        let tl = self.timeline.get_or_insert_with(|| Timeline {
            source: self.title.clone(),
            release: String::new(),
            every_ms: crate::tui::timeline::RUN_MS,
            prints: Vec::new(),
            snapshots: Vec::new(),
        });
        tl.snapshots.push(Snapshot {
            index: tl.snapshots.len(),
            at_ms: now.duration_since(t0).as_millis() as u64,
            jiffies,
            values,
            log,
        });
        self.timeline_at = tl.snapshots.len() - 1;
        self.message = Some(format!("snapshot {} taken", tl.snapshots.len()));
        self.show(Pane::Timeline);
    }

    /// A timeline loaded from a file replaces the one here.
    pub(super) fn set_timeline(&mut self, tl: Timeline) {
        self.timeline_at = 0;
        self.timeline_t0 = None;
        self.message = Some(format!(
            "timeline of {} snapshots loaded",
            tl.snapshots.len()
        ));
        self.timeline = Some(tl);
        self.show(Pane::Timeline);
    }

    /// `:timeline-save FILE`, handled here (the timeline lives in the UI): `None` when the
    /// line is another command.
    pub(crate) fn timeline_save(&mut self, line: &str) -> Option<Vec<Effect>> {
        let path = line.strip_prefix("timeline-save")?.trim();
        Some(match (&self.timeline, path.is_empty()) {
            (_, true) => {
                self.message = Some(":timeline-save FILE".into());
                vec![]
            }
            (None, _) => {
                self.message = Some("no timeline to save: S takes a snapshot".into());
                vec![]
            }
            (Some(tl), _) => vec![Effect::SaveTimeline(path.into(), Box::new(tl.clone()))],
        })
    }
}
