//! The Timeline pane (`8`): snapshots of a live QEMU guest taken from the TUI (`S`: let the
//! guest run a moment, stop it, read its SRCU and RCU state) or loaded from a file
//! (`:timeline FILE`, saved by `quiesce watch --out` or `:timeline-save FILE`). `<` and `>`
//! step between snapshots; the pane shows the selected one's time, what changed since the
//! one before (highlighted), then every value with the changed ones highlighted. Each row
//! names its field, so `i` explains it as on the SRCU and RCU panes.

use super::rows::Row;
use crate::report::timeline::{Snapshot, Timeline, changes, field_of};

/// How long `S` lets the guest run before the snapshot.
pub const RUN_MS: u64 = 500;

fn value_row(path: &str, text: String, changed: bool) -> Row {
    let scope = if changed { "ui.timeline.changed" } else { "ui" };
    let row = Row::new().cell(scope, text);
    match field_of(path) {
        Some(f) => row.fields(&[f]),
        None => row,
    }
}

/// The pane's rows for snapshot `at` of `tl` (`None`: none taken or loaded yet).
pub fn timeline_rows(tl: Option<&Timeline>, at: usize) -> Vec<Row> {
    let Some(tl) = tl else {
        return vec![Row::new().cell(
            "ui.placeholder",
            "No snapshots: on a live QEMU guest (-c qmp:SOCK) S takes one; :timeline FILE loads a saved timeline.",
        )];
    };
    let Some(s) = tl.snapshots.get(at) else {
        return vec![Row::new().cell("ui.placeholder", "the timeline is empty")];
    };
    let prev: Option<&Snapshot> = at.checked_sub(1).and_then(|i| tl.snapshots.get(i));
    let mut rows = vec![Row::new().cell(
        "ui.header",
        format!(
            "snapshot {} of {} · +{:.3} s{}{}",
            at + 1,
            tl.snapshots.len(),
            s.at_ms as f64 / 1000.0,
            s.jiffies.map(|j| format!(" · jiffies {j}")).unwrap_or_default(),
            match prev {
                Some(p) => format!(
                    " · {} ms{} after the one before",
                    s.at_ms.saturating_sub(p.at_ms),
                    match (p.jiffies, s.jiffies) {
                        (Some(a), Some(b)) => format!(" ({} jiffies)", b.wrapping_sub(a) as i64),
                        _ => String::new(),
                    }
                ),
                None => String::new(),
            }
        ),
    )];
    let ch = prev
        .map(|p| changes(&p.values, &s.values))
        .unwrap_or_default();
    rows.push(Row::new().cell(
        "ui.header",
        match prev {
            None => "the first snapshot: nothing to compare with".to_string(),
            Some(_) => format!("{} changed since the one before", ch.len()),
        },
    ));
    for c in &ch {
        rows.push(value_row(
            &c.path,
            format!(
                "  {}  {} → {}{}",
                c.path,
                c.from.as_deref().unwrap_or("(none)"),
                c.to.as_deref().unwrap_or("(none)"),
                c.field.map(|f| format!("   [{f}]")).unwrap_or_default()
            ),
            true,
        ));
    }
    rows.push(Row::new());
    rows.push(Row::new().cell("ui.header", format!("all {} values", s.values.len())));
    for (k, v) in &s.values {
        let changed = ch.iter().any(|c| &c.path == k);
        rows.push(value_row(k, format!("  {k} = {v}"), changed));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn snap(index: usize, vals: &[(&str, &str)]) -> Snapshot {
        Snapshot {
            index,
            at_ms: index as u64 * 500,
            jiffies: Some(1000 + index as u64 * 125),
            values: vals
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            log: vec![],
        }
    }

    #[test]
    fn a_step_shows_what_changed_highlighted_and_explained() {
        let tl = Timeline {
            source: "qmp:s".into(),
            release: "6.1".into(),
            every_ms: 500,
            prints: vec![],
            snapshots: vec![
                snap(
                    0,
                    &[("srcu.domains[d].phase", "IDLE"), ("rcu.jiffies", "1")],
                ),
                snap(
                    1,
                    &[("srcu.domains[d].phase", "SCAN1"), ("rcu.jiffies", "2")],
                ),
            ],
        };
        let rows = timeline_rows(Some(&tl), 1);
        let text: Vec<String> = rows.iter().map(|r| r.plain()).collect();
        assert_eq!(
            text[0],
            "snapshot 2 of 2 · +0.500 s · jiffies 1125 · 500 ms (125 jiffies) after the one before"
        );
        assert_eq!(text[1], "1 changed since the one before");
        assert!(
            text[2].contains("srcu.domains[d].phase  IDLE → SCAN1   [srcu.phase]"),
            "{text:?}"
        );
        assert_eq!(rows[2].cells[0].scope, "ui.timeline.changed");
        assert_eq!(rows[2].fields, vec!["srcu.phase"]);
        let phase = rows
            .iter()
            .find(|r| r.plain() == "  srcu.domains[d].phase = SCAN1")
            .unwrap();
        assert_eq!(phase.cells[0].scope, "ui.timeline.changed");
        let clock = rows
            .iter()
            .find(|r| r.plain() == "  rcu.jiffies = 2")
            .unwrap();
        assert_eq!(clock.cells[0].scope, "ui", "the clock is not a change");
        assert!(
            timeline_rows(Some(&tl), 0)[1]
                .plain()
                .starts_with("the first snapshot")
        );
        assert!(
            timeline_rows(None, 0)[0]
                .plain()
                .starts_with("No snapshots")
        );
    }
}
