//! The terminal UI: `quiesce -c DUMP -s VMLINUX` with no subcommand.
//!
//! - [`app`]: the model (no terminal types) and its pure transitions; [`input`] (keys,
//!   mouse, events), [`finder`] (the fuzzy finder), [`walkthrough`] (the first screen and
//!   the walkthrough) and [`source`] (the source pane) hold the rest of `impl App`;
//! - [`actions`]: the action registry and keymaps (embedded presets + user file merge);
//! - [`theme`]: scoped styles with parent fallback (embedded presets + user file merge);
//! - [`jobs`]: background work on threads, reporting progress over the event channel;
//! - [`panes`]: one `impl Widget for &View` per pane and overlay, and [`panes::draw`].
//!
//! The event loop blocks on one channel fed by an input thread and by jobs, and redraws
//! after each batch of events; there is no fixed tick.

pub mod actions;
pub mod app;
pub mod fields;
pub mod finder;
pub mod graph;
pub mod input;
pub mod jobs;
mod layered;
pub mod notes;
pub mod panes;
pub mod rows;
pub mod source;
pub mod theme;
pub mod timeline;
pub mod walkthrough;

use crate::report::{ParseCommand, Target};
use actions::{Key, KeyCode, Keymap};
use anyhow::{Context, Result};
use app::{App, Effect, MouseKind, UiEvent};
use crossterm::event::{self as ct, Event as CtEvent, KeyEventKind, KeyModifiers, MouseEventKind};
use crossterm::{execute, terminal};
use std::path::PathBuf;
use std::sync::mpsc;
use theme::Theme;

/// `$XDG_CONFIG_HOME/quiesce` (or `~/.config/quiesce`).
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("quiesce"))
}

fn user_file(name: &str) -> Result<Option<(String, String)>> {
    let Some(p) = config_dir().map(|d| d.join(name)) else {
        return Ok(None);
    };
    if !p.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    Ok(Some((p.display().to_string(), text)))
}

/// The keymap and theme: presets (`QUIESCE_KEYMAP`, `QUIESCE_THEME` choose them) merged
/// with the user's files. Errors name the file and line.
pub fn load_config() -> Result<(Keymap, Theme)> {
    let km_preset = std::env::var("QUIESCE_KEYMAP").unwrap_or_else(|_| "default".into());
    let th_preset = std::env::var("QUIESCE_THEME").unwrap_or_else(|_| "dark".into());
    let km = user_file("keymap.toml")?;
    let th = user_file("theme.toml")?;
    let keymap = Keymap::load(
        &km_preset,
        km.as_ref().map(|(f, t)| (f.as_str(), t.as_str())),
    )?;
    let theme = Theme::load(
        &th_preset,
        th.as_ref().map(|(f, t)| (f.as_str(), t.as_str())),
    )?;
    Ok((keymap, theme))
}

fn convert_key(k: ct::KeyEvent) -> Option<Key> {
    use ct::KeyCode as C;
    let code = match k.code {
        C::Char(c) => KeyCode::Char(c),
        C::Enter => KeyCode::Enter,
        C::Esc => KeyCode::Esc,
        C::Tab => KeyCode::Tab,
        C::BackTab => KeyCode::BackTab,
        C::Backspace => KeyCode::Backspace,
        C::Up => KeyCode::Up,
        C::Down => KeyCode::Down,
        C::Left => KeyCode::Left,
        C::Right => KeyCode::Right,
        C::PageUp => KeyCode::PageUp,
        C::PageDown => KeyCode::PageDown,
        C::Home => KeyCode::Home,
        C::End => KeyCode::End,
        C::Delete => KeyCode::Delete,
        C::F(n) => KeyCode::F(n),
        _ => return None,
    };
    Some(Key {
        code,
        ctrl: k.modifiers.contains(KeyModifiers::CONTROL),
        alt: k.modifiers.contains(KeyModifiers::ALT),
    })
}

fn convert(ev: CtEvent) -> Option<UiEvent> {
    match ev {
        CtEvent::Key(k) if k.kind != KeyEventKind::Release => convert_key(k).map(UiEvent::Key),
        CtEvent::Mouse(m) => {
            let kind = match m.kind {
                MouseEventKind::Down(_) => MouseKind::Click,
                MouseEventKind::ScrollUp => MouseKind::ScrollUp,
                MouseEventKind::ScrollDown => MouseKind::ScrollDown,
                _ => return None,
            };
            Some(UiEvent::Mouse {
                kind,
                x: m.column,
                y: m.row,
            })
        }
        CtEvent::Resize(w, h) => Some(UiEvent::Resize(w, h)),
        _ => None,
    }
}

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        ct::DisableMouseCapture,
        terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Carry out effects: start jobs, quit. `notes_path` is where notes are saved.
pub fn run_effects(jobs: &jobs::Jobs, notes_path: Option<&PathBuf>, effects: Vec<Effect>) {
    for e in effects {
        match e {
            Effect::Quit => {}
            Effect::RunCommand(c) => jobs.run_command(&c),
            Effect::LoadNames => jobs.load_names(),
            Effect::ResolveFields => jobs.resolve_fields(),
            Effect::Snapshot {
                run_ms,
                log_after,
                tasks,
            } => jobs.snapshot(run_ms, log_after, tasks),
            Effect::SaveTimeline(path, tl) => jobs.save_timeline(path, *tl),
            Effect::Describe(k, n) => jobs.describe(k, &n),
            Effect::DecodeLog => jobs.decode_log(),
            Effect::OpenSource {
                root,
                file,
                line,
                syntax_theme,
            } => jobs.open_source(root, &file, line, &syntax_theme),
            Effect::SaveNotes(n) => jobs.save_notes(notes_path.cloned(), n),
            Effect::Locals(task) => jobs.locals(task),
        }
    }
}

/// Open the TUI on a dump; `parse` reads its `:` line. Returns when the user quits; the
/// terminal is restored on return, on error and on panic.
pub fn run(target: Target, parse: ParseCommand) -> Result<()> {
    let (keymap, theme) = load_config()?;
    // Fail before touching the terminal when there is nothing to open.
    if crate::dump::qmp_address(&target.core).is_none() && !target.core.exists() {
        anyhow::bail!("{}: no such dump", target.core.display());
    }
    let (tx, rx) = mpsc::channel::<UiEvent>();

    terminal::enable_raw_mode().context("terminal raw mode")?;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
    execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        ct::EnableMouseCapture
    )
    .context("entering the alternate screen")?;
    let result = event_loop(tx, rx, keymap, theme, target, parse);
    restore_terminal();
    result
}

fn event_loop(
    tx: mpsc::Sender<UiEvent>,
    rx: mpsc::Receiver<UiEvent>,
    keymap: Keymap,
    theme: Theme,
    target: Target,
    parse: ParseCommand,
) -> Result<()> {
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut term = ratatui::Terminal::new(backend)?;
    let size = term.size()?;
    let mut app = App::new(keymap, size.width, size.height);
    app.source_root = target.source.clone();
    app.syntax_theme = source::syntax_theme_for(&theme.name).to_string();
    let notes_path = notes::path_for(&target.core);
    if let Some(p) = &notes_path {
        let (n, warning) = notes::load(p);
        app.notes = n;
        app.message = warning;
    }

    // Input thread: blocks on the terminal, forwards translated events.
    let itx = tx.clone();
    std::thread::Builder::new()
        .name("quiesce-input".into())
        .spawn(move || {
            while let Ok(ev) = ct::read() {
                if let Some(e) = convert(ev)
                    && itx.send(e).is_err()
                {
                    break;
                }
            }
        })?;

    let jobs = jobs::Jobs::new(tx, target, parse);
    jobs.open();
    loop {
        term.draw(|f| panes::draw(&app, &theme, f.area(), f.buffer_mut()))?;
        let Ok(first) = rx.recv() else { break };
        let mut effects = app.handle_event(first);
        // Take everything already queued before the next redraw.
        while let Ok(ev) = rx.try_recv() {
            effects.extend(app.handle_event(ev));
        }
        if app.quit {
            break;
        }
        effects.extend(app.wanted_locals());
        run_effects(&jobs, notes_path.as_ref(), effects);
    }
    Ok(())
}
