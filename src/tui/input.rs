//! Input: keys (text-entry overlays first, then the keymap; Ctrl-C always quits), mouse
//! clicks and scrolling, resizes, and job messages routed to [`App::apply`].

use super::actions::{Action, Key, KeyCode};
use super::app::{App, Effect, Focus, MouseKind, Overlay, Pane, UiEvent};
use ratatui::layout::Rect;

impl App {
    /// Keys: overlays with text entry take them first, then the keymap.
    pub fn handle_key(&mut self, key: Key) -> Vec<Effect> {
        self.touched = true;
        // Ctrl-C always quits, whatever the keymap says.
        if key == Key::ctrl('c') {
            return self.handle(Action::Quit);
        }
        match self.overlay.take() {
            Some(Overlay::Finder(mut f)) => {
                match key.code {
                    KeyCode::Esc => return vec![],
                    KeyCode::Enter => return self.finder_enter(&f),
                    KeyCode::Up => f.selected = f.selected.saturating_sub(1),
                    KeyCode::Down => {
                        f.selected = (f.selected + 1).min(f.hits.len().saturating_sub(1))
                    }
                    KeyCode::Backspace => {
                        f.input.pop();
                        f.selected = 0;
                        self.search(&mut f);
                    }
                    KeyCode::Char(c) if !key.ctrl && !key.alt => {
                        f.input.push(c);
                        f.selected = 0;
                        self.search(&mut f);
                    }
                    _ => {}
                }
                self.overlay = Some(Overlay::Finder(f));
                vec![]
            }
            Some(Overlay::Command { mut input }) => {
                match key.code {
                    KeyCode::Esc => return vec![],
                    KeyCode::Enter => {
                        let cmd = input.trim().to_string();
                        if cmd.is_empty() {
                            return vec![];
                        }
                        if let Some(effects) = self.timeline_save(&cmd) {
                            return effects;
                        }
                        self.message = Some(format!("running :{cmd}…"));
                        return vec![Effect::RunCommand(cmd)];
                    }
                    KeyCode::Backspace => {
                        input.pop();
                    }
                    KeyCode::Char(c) if !key.ctrl && !key.alt => input.push(c),
                    _ => {}
                }
                self.overlay = Some(Overlay::Command { input });
                vec![]
            }
            Some(Overlay::Filter { mut input }) => {
                match key.code {
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.refresh_view();
                        return vec![];
                    }
                    KeyCode::Enter => return vec![],
                    KeyCode::Backspace => {
                        input.pop();
                    }
                    KeyCode::Char(c) if !key.ctrl && !key.alt => input.push(c),
                    _ => {}
                }
                self.filter = input.clone();
                self.selected = 0;
                self.refresh_view();
                self.overlay = Some(Overlay::Filter { input });
                vec![]
            }
            Some(Overlay::Note {
                file,
                line,
                mut input,
            }) => {
                match key.code {
                    KeyCode::Esc => return vec![],
                    KeyCode::Enter => {
                        self.notes.set(&file, line, &input);
                        self.message = Some(format!("note on {file}:{line} saved"));
                        return vec![Effect::SaveNotes(self.notes.clone())];
                    }
                    KeyCode::Backspace => {
                        input.pop();
                    }
                    KeyCode::Char(c) if !key.ctrl && !key.alt => input.push(c),
                    _ => {}
                }
                self.overlay = Some(Overlay::Note { file, line, input });
                vec![]
            }
            Some(Overlay::Help { scroll }) => {
                let action = self.keymap.get(&key);
                match (key.code, action) {
                    (KeyCode::Down, _) | (_, Some(Action::Down)) => {
                        self.overlay = Some(Overlay::Help {
                            scroll: (scroll + 1).min(super::actions::ACTIONS.len()),
                        })
                    }
                    (KeyCode::Up, _) | (_, Some(Action::Up)) => {
                        self.overlay = Some(Overlay::Help {
                            scroll: scroll.saturating_sub(1),
                        })
                    }
                    (_, Some(Action::Quit)) => return self.handle(Action::Quit),
                    _ => {} // any other key closes the help
                }
                vec![]
            }
            Some(Overlay::Fields { keys, rows, cursor }) => {
                self.fields_key(key, keys, rows, cursor)
            }
            None => match self.keymap.get(&key) {
                Some(a) => self.handle(a),
                None => vec![],
            },
        }
    }

    pub fn handle_event(&mut self, ev: UiEvent) -> Vec<Effect> {
        match ev {
            UiEvent::Key(k) => self.handle_key(k),
            UiEvent::Resize(w, h) => {
                self.size = Rect::new(0, 0, w, h);
                self.clamp();
                vec![]
            }
            UiEvent::Mouse { kind, x, y } => self.mouse(kind, x, y),
            UiEvent::Job(m) => {
                self.apply(m);
                vec![]
            }
        }
    }

    pub(crate) fn mouse(&mut self, kind: MouseKind, x: u16, y: u16) -> Vec<Effect> {
        self.touched = true;
        let a = self.areas();
        let pos = ratatui::layout::Position::new(x, y);
        let in_tasks = a.tasks.contains(pos);
        let in_right = a.right.contains(pos);
        if self.overlay.is_some() && kind == MouseKind::Click {
            self.overlay = None;
            return vec![];
        }
        if in_tasks {
            self.focus = Focus::Tasks;
        } else if in_right {
            self.focus = Focus::Right;
        }
        match kind {
            MouseKind::ScrollUp if in_tasks || in_right => self.move_by(-3),
            MouseKind::ScrollDown if in_tasks || in_right => self.move_by(3),
            MouseKind::Click if in_tasks => {
                // Border, then the header row, then the rows.
                let first_row = a.tasks.y + 2;
                if y >= first_row && y < a.tasks.y + a.tasks.height - 1 {
                    let row = self.offset + (y - first_row) as usize;
                    if row < self.row_count() {
                        self.selected = row;
                        self.reset_pane(Pane::Backtrace);
                    }
                }
            }
            MouseKind::Click if a.tabs.contains(pos) => {
                if let Some(p) = super::panes::tab_at(a.tabs, x) {
                    self.show(p);
                }
            }
            _ => {}
        }
        vec![]
    }
}
