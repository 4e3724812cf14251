//! Themes: scoped styles from embedded TOML presets (`themes/dark.toml`, `light.toml`,
//! `high-contrast.toml`) with a user file (`$XDG_CONFIG_HOME/quiesce/theme.toml`) merged over
//! them scope by scope (`inherits = "light"` picks the preset).
//!
//! A scope that is not defined falls back to its parent, helix-style:
//! `ui.pane.border.focused` → `ui.pane.border` → `ui.pane` → `ui` → the default style.
//!
//! A scope's value is a colour string (the foreground) or a table
//! `{ fg = "…", bg = "…", modifiers = ["bold", "reversed"] }`. Colours are ratatui names
//! (`red`, `lightcyan`, `darkgray`, `reset`), `#rrggbb` or an index `0`–`255`.

use crate::tui::layered::line_of;
use ratatui::style::{Color, Modifier, Style};
use std::collections::BTreeMap;
use std::str::FromStr;
use thiserror::Error;

pub const PRESETS: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ThemeError {
    #[error(
        "{file}:{line}: bad colour \"{value}\" in scope {scope} (a name like \"red\", \"#rrggbb\" or 0-255)"
    )]
    BadColor {
        file: String,
        line: usize,
        scope: String,
        value: String,
    },
    #[error(
        "{file}:{line}: bad modifier \"{value}\" in scope {scope} (bold, dim, italic, underlined, reversed, crossed_out)"
    )]
    BadModifier {
        file: String,
        line: usize,
        scope: String,
        value: String,
    },
    #[error("{file}:{line}: unknown theme \"{value}\" (one of dark, light, high-contrast)")]
    UnknownTheme {
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
}

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    scopes: BTreeMap<String, Style>,
}

#[derive(serde::Deserialize)]
struct ThemeFile {
    inherits: Option<toml::Spanned<String>>,
    #[serde(default)]
    scopes: BTreeMap<String, toml::Spanned<toml::Value>>,
}

fn parse_file(file: &str, text: &str) -> Result<ThemeFile, ThemeError> {
    super::layered::parse(file, text, |file, line, message| ThemeError::Syntax {
        file,
        line,
        message,
    })
}

impl Theme {
    pub fn preset(name: &str) -> Option<Theme> {
        let empty = Theme {
            name: name.to_string(),
            scopes: BTreeMap::new(),
        };
        super::layered::preset(PRESETS, name, empty, Theme::merge)
    }

    /// The preset (named by the user file's `inherits`, else `default`), with the user file
    /// merged over it.
    pub fn load(default: &str, user: Option<(&str, &str)>) -> Result<Theme, ThemeError> {
        super::layered::load(
            PRESETS,
            default,
            user,
            |file, text| Ok(parse_file(file, text)?.inherits),
            |file, line, value| ThemeError::UnknownTheme { file, line, value },
            Theme::preset,
            Theme::merge,
        )
    }

    /// Merge a theme file's `[scopes]` over this theme, scope by scope.
    pub fn merge(&mut self, file: &str, text: &str) -> Result<(), ThemeError> {
        let f = parse_file(file, text)?;
        let mut staged = Vec::new();
        for (scope, v) in f.scopes {
            // Spans of values inside the scope's value are not kept by `toml::Value`; the
            // scope's line is what the user needs.
            let line = line_of(text, v.span().start);
            let bad_color = |value: String| ThemeError::BadColor {
                file: file.into(),
                line,
                scope: scope.clone(),
                value,
            };
            let color = |c: &toml::Value| match c {
                toml::Value::String(s) => parse_color(s).ok_or_else(|| bad_color(s.clone())),
                toml::Value::Integer(n) => u8::try_from(*n)
                    .map(Color::Indexed)
                    .map_err(|_| bad_color(n.to_string())),
                other => Err(bad_color(other.to_string())),
            };
            let style = match v.get_ref() {
                toml::Value::Table(t) => {
                    let mut s = Style::new();
                    for (k, val) in t {
                        match k.as_str() {
                            "fg" => s = s.fg(color(val)?),
                            "bg" => s = s.bg(color(val)?),
                            "modifiers" => {
                                let list = val.as_array().cloned().unwrap_or_default();
                                for m in list {
                                    let name =
                                        m.as_str().map(str::to_string).unwrap_or(m.to_string());
                                    s = s.add_modifier(parse_modifier(&name).ok_or_else(|| {
                                        ThemeError::BadModifier {
                                            file: file.into(),
                                            line,
                                            scope: scope.clone(),
                                            value: name.clone(),
                                        }
                                    })?);
                                }
                            }
                            other => {
                                return Err(ThemeError::Syntax {
                                    file: file.into(),
                                    line,
                                    message: format!(
                                        "unknown key \"{other}\" in scope {scope} (fg, bg, modifiers)"
                                    ),
                                });
                            }
                        }
                    }
                    s
                }
                c => Style::new().fg(color(c)?),
            };
            staged.push((scope.clone(), style));
        }
        self.scopes.extend(staged);
        Ok(())
    }

    /// The style of `scope`, falling back to its parent scopes, then to the default style.
    pub fn get(&self, scope: &str) -> Style {
        let mut s = scope;
        loop {
            if let Some(st) = self.scopes.get(s) {
                return *st;
            }
            match s.rfind('.') {
                Some(i) => s = &s[..i],
                None => return Style::default(),
            }
        }
    }

    /// The scope that [`Theme::get`] resolves `scope` to (for tests and `--explain`).
    pub fn resolves_to<'a>(&self, scope: &'a str) -> Option<&'a str> {
        let mut s = scope;
        loop {
            if self.scopes.contains_key(s) {
                return Some(s);
            }
            s = &s[..s.rfind('.')?];
        }
    }
}

fn parse_color(s: &str) -> Option<Color> {
    if let Ok(n) = s.parse::<u8>() {
        return Some(Color::Indexed(n));
    }
    Color::from_str(s).ok()
}

fn parse_modifier(s: &str) -> Option<Modifier> {
    Some(match s {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        "slow_blink" => Modifier::SLOW_BLINK,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse() {
        for (n, _) in PRESETS {
            let t = Theme::preset(n).unwrap();
            assert_ne!(t.get("ui.selection"), Style::default(), "{n}");
        }
    }

    #[test]
    fn scopes_fall_back_to_their_parent() {
        let text = r##"
[scopes]
"ui" = { fg = "white", bg = "black" }
"ui.pane.border" = "gray"
"ui.pane.border.focused" = { fg = "cyan", modifiers = ["bold"] }
"##;
        let mut t = Theme {
            name: "t".into(),
            scopes: BTreeMap::new(),
        };
        t.merge("t.toml", text).unwrap();
        assert_eq!(
            t.get("ui.pane.border.focused"),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
        );
        assert_eq!(
            t.resolves_to("ui.pane.border.unfocused"),
            Some("ui.pane.border")
        );
        assert_eq!(
            t.get("ui.pane.border.unfocused"),
            Style::new().fg(Color::Gray)
        );
        assert_eq!(t.resolves_to("ui.pane.title"), Some("ui"));
        assert_eq!(
            t.get("ui.pane"),
            Style::new().fg(Color::White).bg(Color::Black)
        );
        assert_eq!(t.resolves_to("log.highlight"), None);
        assert_eq!(t.get("log.highlight"), Style::default());
    }

    #[test]
    fn user_file_merges_and_can_inherit() {
        let user = "inherits = \"light\"\n[scopes]\n\"ui.selection\" = { fg = \"#ff0000\" }\n";
        let t = Theme::load("dark", Some(("theme.toml", user))).unwrap();
        assert_eq!(t.name, "light");
        assert_eq!(
            t.get("ui.selection"),
            Style::new().fg(Color::Rgb(255, 0, 0))
        );
        // Other scopes of the preset survive.
        let light = Theme::preset("light").unwrap();
        assert_eq!(
            t.get("ui.pane.border.focused"),
            light.get("ui.pane.border.focused")
        );
    }

    #[test]
    fn errors_name_file_line_and_value() {
        let user = "[scopes]\n\"ui\" = \"white\"\n\"ui.pane\" = { fg = \"blurple\" }\n";
        let e = Theme::load("dark", Some(("/u/theme.toml", user))).unwrap_err();
        assert_eq!(
            e,
            ThemeError::BadColor {
                file: "/u/theme.toml".into(),
                line: 3,
                scope: "ui.pane".into(),
                value: "blurple".into()
            }
        );
        assert!(
            e.to_string()
                .starts_with("/u/theme.toml:3: bad colour \"blurple\"")
        );
        let user = "[scopes]\n\"ui\" = { modifiers = [\"bold\", \"sparkly\"] }\n";
        let e = Theme::load("dark", Some(("t", user))).unwrap_err();
        assert!(
            matches!(e, ThemeError::BadModifier { line: 2, ref value, .. } if value == "sparkly")
        );
        let e = Theme::load("dark", Some(("t", "inherits = \"neon\"\n"))).unwrap_err();
        assert!(matches!(e, ThemeError::UnknownTheme { line: 1, .. }));
        let e = Theme::load("dark", Some(("t", "[scopes\n"))).unwrap_err();
        assert!(matches!(e, ThemeError::Syntax { line: 1, .. }), "{e}");
    }
}
