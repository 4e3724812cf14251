//! The field explanations overlay's transitions: opening it on the SRCU/RCU pane's cursor
//! row, moving in it, following a function's location into the source pane.

use super::{App, Effect, Focus, Overlay, Pane};
use crate::tui::actions::{Action, Key, KeyCode};
use crate::tui::rows::{Row, Target};

/// Columns the explanation text is wrapped to (the overlay is 4 wider).
pub const FIELDS_WIDTH: usize = 80;

impl App {
    /// `explain_field`: explain the fields of the cursor row of the SRCU, RCU or Timeline
    /// pane.
    pub(super) fn explain_field(&mut self) -> Vec<Effect> {
        if self.focus != Focus::Right
            || !matches!(self.right, Pane::Srcu | Pane::Rcu | Pane::Timeline)
        {
            self.message = Some(
                "explain_field: select a row of the SRCU (3), RCU (4) or Timeline (8) pane".into(),
            );
            return vec![];
        }
        let c = self.cursor_of(self.right);
        let keys = self
            .rows(self.right)
            .into_iter()
            .nth(c)
            .map(|r| r.fields)
            .unwrap_or_default();
        let rows = self.field_rows(&keys);
        self.overlay = Some(Overlay::Fields {
            keys,
            rows,
            cursor: 0,
        });
        if self.fields_requested {
            return vec![];
        }
        self.fields_requested = true;
        vec![Effect::ResolveFields]
    }

    fn field_rows(&self, keys: &[&'static str]) -> Vec<Row> {
        crate::tui::fields::field_rows(
            keys,
            self.fields.as_ref().map(|f| f.as_slice()),
            FIELDS_WIDTH,
        )
    }

    /// The locations arrived: rebuild an open overlay's rows.
    pub(super) fn refresh_field_rows(&mut self) {
        if let Some(Overlay::Fields { keys, cursor, .. }) = self.overlay.take() {
            let rows = self.field_rows(&keys);
            let cursor = cursor.min(rows.len().saturating_sub(1));
            self.overlay = Some(Overlay::Fields { keys, rows, cursor });
        }
    }

    /// A key while the overlay is open: up/down move, Enter opens a function's source,
    /// anything else closes it.
    pub(crate) fn fields_key(
        &mut self,
        key: Key,
        keys: Vec<&'static str>,
        rows: Vec<Row>,
        cursor: usize,
    ) -> Vec<Effect> {
        let last = rows.len().saturating_sub(1);
        let cursor = match (key.code, self.keymap.get(&key)) {
            (KeyCode::Down, _) | (_, Some(Action::Down)) => (cursor + 1).min(last),
            (KeyCode::Up, _) | (_, Some(Action::Up)) => cursor.saturating_sub(1),
            (KeyCode::PageDown, _) | (_, Some(Action::PageDown)) => (cursor + 10).min(last),
            (KeyCode::PageUp, _) | (_, Some(Action::PageUp)) => cursor.saturating_sub(10),
            (KeyCode::Enter, _) | (_, Some(Action::Select)) => {
                return match rows.get(cursor).and_then(|r| r.target.clone()) {
                    Some(t @ Target::Source { .. }) => self.follow(t),
                    _ => {
                        self.message = Some(
                            "Enter opens a function's source: move to one with a file:line".into(),
                        );
                        self.overlay = Some(Overlay::Fields { keys, rows, cursor });
                        vec![]
                    }
                };
            }
            (_, Some(Action::Quit)) => return self.handle(Action::Quit),
            _ => return vec![],
        };
        self.overlay = Some(Overlay::Fields { keys, rows, cursor });
        vec![]
    }
}
