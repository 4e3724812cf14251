//! The action registry and keymaps.
//!
//! Every key the user can press maps to a named, documented [`Action`] (helix's model). The
//! registry [`ACTIONS`] is the single source for the help overlay and the docs. Keymaps are
//! TOML presets embedded in the binary (`keymaps/default.toml`, `vim.toml`, `emacs.toml`);
//! a user file (`$XDG_CONFIG_HOME/quiesce/keymap.toml`) is merged over the chosen preset key
//! by key — it never replaces it. A user file may name its preset with `preset = "vim"` and
//! unbind a key with `"x" = "none"`.
//!
//! Text entry in overlays (the fuzzy finder, the command line, the filter) uses fixed keys:
//! printable characters, Backspace, Enter, Esc, Up/Down.

use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

/// A named action. Ids are snake_case, as written in keymap files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Help,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Select,
    Escape,
    Filter,
    SortNext,
    GroupStacks,
    Finder,
    CommandLine,
    ShowBacktrace,
    ShowLog,
    ShowSrcu,
    ShowRcu,
    ShowWaitGraph,
    ShowSource,
    ShowResult,
    DecodeLog,
    OpenSource,
    AddNote,
    Walkthrough,
    StepNext,
    StepPrev,
    ExplainField,
    ShowTimeline,
    Snapshot,
    TimelinePrev,
    TimelineNext,
}

/// One registry entry.
pub struct ActionInfo {
    pub action: Action,
    pub id: &'static str,
    pub description: &'static str,
}

macro_rules! registry {
    ($($a:ident, $id:literal, $d:literal;)*) => {
        /// Every action, in the order the help overlay lists them.
        pub const ACTIONS: &[ActionInfo] = &[
            $(ActionInfo { action: Action::$a, id: $id, description: $d },)*
        ];
    };
}

registry! {
    Quit, "quit", "Quit quiesce (the terminal is restored)";
    Help, "help", "Show or hide this help";
    FocusNext, "focus_next", "Focus the next pane";
    FocusPrev, "focus_prev", "Focus the previous pane";
    Up, "up", "Move the selection up / scroll up";
    Down, "down", "Move the selection down / scroll down";
    PageUp, "page_up", "Up one page";
    PageDown, "page_down", "Down one page";
    Top, "top", "Go to the first row";
    Bottom, "bottom", "Go to the last row";
    Select, "select", "Open the selected row: task → backtrace, frame → source, waiter/holdout → its task, log report → decoded fields";
    Escape, "escape", "Close the overlay, or clear the task filter";
    Filter, "filter", "Filter tasks by pid, comm or state";
    SortNext, "sort_next", "Sort tasks by the next key (pid, state, last run)";
    GroupStacks, "group_stacks", "Group tasks with identical stacks (with counts)";
    Finder, "finder", "Fuzzy-find tasks, symbols, types and actions";
    CommandLine, "command_line", "Run a subcommand: bt PID, ps, stacks, srcu, rcu, waitgraph, explain, print EXPR…";
    ShowBacktrace, "show_backtrace", "Show the backtrace pane";
    ShowLog, "show_log", "Show the kernel log pane";
    ShowSrcu, "show_srcu", "Show the SRCU pane";
    ShowRcu, "show_rcu", "Show the RCU pane";
    ShowWaitGraph, "show_wait_graph", "Show the wait-graph pane";
    ShowSource, "show_source", "Show the source pane";
    ShowResult, "show_result", "Show the last command's output";
    DecodeLog, "decode_log", "Decode the kernel log (hung-task and RCU stall reports)";
    OpenSource, "open_source", "Open the source at the selected frame (or the task's first non-scheduler frame)";
    AddNote, "add_note", "Add or edit a note on the selected source line (saved beside the dump)";
    Walkthrough, "walkthrough", "Start or end the walkthrough (steps from the wait graph's explanation)";
    StepNext, "step_next", "Walkthrough: next step";
    StepPrev, "step_prev", "Walkthrough: previous step";
    ShowTimeline, "show_timeline", "Show the timeline pane (snapshots of a live guest, or a loaded timeline)";
    Snapshot, "snapshot", "Live QEMU guest: let it run half a second, stop it, take a snapshot (timeline pane); in the task list, follow the selected task too";
    TimelinePrev, "timeline_prev", "Timeline: the snapshot before";
    TimelineNext, "timeline_next", "Timeline: the snapshot after";
    ExplainField, "explain_field", "Explain the kernel fields of the SRCU/RCU row: meaning, normal vs stuck, the code that sets and reads them (Enter opens it)";
}

impl Action {
    pub fn info(self) -> &'static ActionInfo {
        ACTIONS
            .iter()
            .find(|i| i.action == self)
            .expect("every action is in the registry")
    }

    pub fn id(self) -> &'static str {
        self.info().id
    }

    pub fn from_id(id: &str) -> Option<Action> {
        ACTIONS.iter().find(|i| i.id == id).map(|i| i.action)
    }
}

/// A key with modifiers, independent of the terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Delete,
    F(u8),
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ch(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// Parse `j`, `G`, `?`, `ctrl-c`, `C-c`, `alt-x`, `M-x`, `enter`, `shift-tab`, `f1`,
    /// `pageup`, `space`.
    pub fn parse(s: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let stripped = ["ctrl-", "c-"]
                .iter()
                .find(|p| lower.starts_with(*p) && rest.len() > p.len())
                .map(|p| (p.len(), 0))
                .or_else(|| {
                    ["alt-", "m-", "a-"]
                        .iter()
                        .find(|p| lower.starts_with(*p) && rest.len() > p.len())
                        .map(|p| (p.len(), 1))
                })
                .or_else(|| {
                    ["shift-", "s-"]
                        .iter()
                        .find(|p| lower.starts_with(*p) && rest.len() > p.len())
                        .map(|p| (p.len(), 2))
                });
            let Some((n, which)) = stripped else { break };
            match which {
                0 => ctrl = true,
                1 => alt = true,
                _ => shift = true,
            }
            rest = &rest[n..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                let c = if shift { c.to_ascii_uppercase() } else { c };
                KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "ret" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if shift => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" | "bs" => KeyCode::Backspace,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "del" | "delete" => KeyCode::Delete,
                "space" => KeyCode::Char(' '),
                "minus" => KeyCode::Char('-'),
                f if f.starts_with('f') && f.len() > 1 => {
                    let n: u8 = f[1..].parse().ok().filter(|n| (1..=24).contains(n))?;
                    KeyCode::F(n)
                }
                _ => return None,
            },
        };
        Some(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            other => write!(f, "{}", format!("{other:?}").to_ascii_lowercase()),
        }
    }
}

/// A keymap problem, naming the file, the line and the bad value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error(
        "{file}:{line}: unknown action \"{value}\" (see the help overlay, `?`, for action names)"
    )]
    UnknownAction {
        file: String,
        line: usize,
        value: String,
    },
    #[error(
        "{file}:{line}: bad key \"{value}\" (write keys like \"j\", \"ctrl-c\", \"alt-x\", \"enter\", \"pageup\")"
    )]
    BadKey {
        file: String,
        line: usize,
        value: String,
    },
    #[error("{file}:{line}: unknown preset \"{value}\" (one of default, vim, emacs)")]
    UnknownPreset {
        file: String,
        line: usize,
        value: String,
    },
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Io { file: String, message: String },
}

/// The embedded presets.
pub const PRESETS: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
    ("emacs", include_str!("../../keymaps/emacs.toml")),
];

/// Key → action. `None` means explicitly unbound.
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    pub name: String,
    bindings: BTreeMap<Key, Option<Action>>,
}

#[derive(serde::Deserialize)]
struct KeymapFile {
    preset: Option<toml::Spanned<String>>,
    #[serde(default)]
    keys: BTreeMap<toml::Spanned<String>, toml::Spanned<String>>,
}

fn parse_file(file: &str, text: &str) -> Result<KeymapFile, KeymapError> {
    super::layered::parse(file, text, |file, line, message| KeymapError::Syntax {
        file,
        line,
        message,
    })
}

impl Keymap {
    /// An embedded preset by name.
    pub fn preset(name: &str) -> Option<Keymap> {
        let empty = Keymap {
            name: name.to_string(),
            bindings: BTreeMap::new(),
        };
        super::layered::preset(PRESETS, name, empty, Keymap::merge)
    }

    /// Load: the preset named by the user file (or `default_preset`), then the user file
    /// merged over it.
    pub fn load(default_preset: &str, user: Option<(&str, &str)>) -> Result<Keymap, KeymapError> {
        super::layered::load(
            PRESETS,
            default_preset,
            user,
            |file, text| Ok(parse_file(file, text)?.preset),
            |file, line, value| KeymapError::UnknownPreset { file, line, value },
            Keymap::preset,
            Keymap::merge,
        )
    }

    /// Merge a keymap file's `[keys]` over this map, key by key.
    pub fn merge(&mut self, file: &str, text: &str) -> Result<(), KeymapError> {
        let f = parse_file(file, text)?;
        let mut staged = Vec::new();
        for (k, a) in f.keys {
            let key = Key::parse(k.get_ref()).ok_or_else(|| KeymapError::BadKey {
                file: file.to_string(),
                line: super::layered::line_of(text, k.span().start),
                value: k.get_ref().clone(),
            })?;
            let action = if a.get_ref() == "none" {
                None
            } else {
                Some(
                    Action::from_id(a.get_ref()).ok_or_else(|| KeymapError::UnknownAction {
                        file: file.to_string(),
                        line: super::layered::line_of(text, a.span().start),
                        value: a.get_ref().clone(),
                    })?,
                )
            };
            staged.push((key, action));
        }
        self.bindings.extend(staged);
        Ok(())
    }

    pub fn get(&self, key: &Key) -> Option<Action> {
        self.bindings.get(key).copied().flatten()
    }

    /// The keys bound to an action, for the help overlay.
    pub fn keys_for(&self, action: Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, a)| **a == Some(action))
            .map(|(k, _)| *k)
            .collect()
    }

    /// Help lines generated from the registry: (keys, id, description).
    pub fn help(&self) -> Vec<(String, &'static str, &'static str)> {
        ACTIONS
            .iter()
            .map(|i| {
                let keys: Vec<String> = self
                    .keys_for(i.action)
                    .iter()
                    .map(|k| k.to_string())
                    .collect();
                (keys.join(" "), i.id, i.description)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_bind_quit() {
        for (name, _) in PRESETS {
            let km = Keymap::preset(name).unwrap();
            assert_eq!(km.get(&Key::ctrl('c')), Some(Action::Quit), "{name}");
        }
    }

    #[test]
    fn every_action_has_a_default_key() {
        let km = Keymap::preset("default").unwrap();
        for i in ACTIONS {
            assert!(!km.keys_for(i.action).is_empty(), "{} has no key", i.id);
        }
    }

    #[test]
    fn key_strings() {
        assert_eq!(Key::parse("ctrl-c"), Some(Key::ctrl('c')));
        assert_eq!(Key::parse("C-c"), Some(Key::ctrl('c')));
        assert_eq!(Key::parse("G"), Some(Key::ch('G')));
        assert_eq!(Key::parse("shift-g"), Some(Key::ch('G')));
        assert_eq!(Key::parse("shift-tab"), Some(Key::plain(KeyCode::BackTab)));
        assert_eq!(Key::parse("pageup"), Some(Key::plain(KeyCode::PageUp)));
        assert_eq!(Key::parse("f5"), Some(Key::plain(KeyCode::F(5))));
        let alt_x = Key::parse("alt-x").unwrap();
        assert!(alt_x.alt && alt_x.code == KeyCode::Char('x'));
        assert_eq!(Key::parse("ctrl-"), None);
        assert_eq!(Key::parse("hyper-q"), None);
        assert_eq!(Key::parse("f99"), None);
        for s in [
            "ctrl-c",
            "alt-x",
            "j",
            "enter",
            "shift-tab",
            "f5",
            "space",
            "pageup",
        ] {
            assert_eq!(
                Key::parse(&Key::parse(s).unwrap().to_string()),
                Key::parse(s),
                "{s}"
            );
        }
    }

    #[test]
    fn user_file_merges_over_preset() {
        let user = "[keys]\n\"x\" = \"quit\"\n\"j\" = \"none\"\n";
        let km = Keymap::load("vim", Some(("keymap.toml", user))).unwrap();
        assert_eq!(km.get(&Key::ch('x')), Some(Action::Quit));
        assert_eq!(km.get(&Key::ch('j')), None, "unbound by the user");
        // Everything else of the preset is kept.
        assert_eq!(km.get(&Key::ch('k')), Some(Action::Up));
        assert_eq!(km.get(&Key::ch('q')), Some(Action::Quit));
        assert_eq!(km.get(&Key::plain(KeyCode::Down)), Some(Action::Down));
    }

    #[test]
    fn user_file_can_choose_preset() {
        let user = "preset = \"emacs\"\n[keys]\n";
        let km = Keymap::load("default", Some(("k.toml", user))).unwrap();
        assert_eq!(km.name, "emacs");
        assert_eq!(km.get(&Key::ctrl('n')), Some(Action::Down));
    }

    #[test]
    fn unknown_action_names_file_line_and_value() {
        let user = "[keys]\n\"x\" = \"quit\"\n\"y\" = \"explode\"\n";
        let e = Keymap::load("default", Some(("/home/u/keymap.toml", user))).unwrap_err();
        assert_eq!(
            e,
            KeymapError::UnknownAction {
                file: "/home/u/keymap.toml".into(),
                line: 3,
                value: "explode".into()
            }
        );
        assert!(
            e.to_string()
                .starts_with("/home/u/keymap.toml:3: unknown action \"explode\"")
        );
    }

    #[test]
    fn bad_key_names_file_line_and_value() {
        let user = "[keys]\n\n\"ctrl-shift-hyper\" = \"quit\"\n";
        let e = Keymap::load("default", Some(("km.toml", user))).unwrap_err();
        assert_eq!(
            e,
            KeymapError::BadKey {
                file: "km.toml".into(),
                line: 3,
                value: "ctrl-shift-hyper".into()
            }
        );
    }

    #[test]
    fn bad_preset_and_syntax_errors() {
        let e = Keymap::load("default", Some(("k.toml", "preset = \"nano\"\n"))).unwrap_err();
        assert!(
            matches!(e, KeymapError::UnknownPreset { line: 1, ref value, .. } if value == "nano")
        );
        let e = Keymap::load("default", Some(("k.toml", "[keys]\n\"x\" = quit\n"))).unwrap_err();
        assert!(matches!(e, KeymapError::Syntax { line: 2, .. }), "{e}");
        // A failed merge leaves nothing half-applied.
        let mut km = Keymap::preset("default").unwrap();
        let before = km.get(&Key::ch('x'));
        let _ = km.merge("k.toml", "[keys]\n\"x\" = \"quit\"\n\"y\" = \"bogus\"\n");
        assert_eq!(km.get(&Key::ch('x')), before);
    }

    #[test]
    fn help_is_generated_from_the_registry() {
        let km = Keymap::preset("default").unwrap();
        let help = km.help();
        assert_eq!(help.len(), ACTIONS.len());
        let quit = help.iter().find(|h| h.1 == "quit").unwrap();
        assert!(
            quit.0.contains("q") && quit.0.contains("ctrl-c"),
            "{:?}",
            quit
        );
    }
}
