//! Rendering the TUI into a `TestBackend` for snapshot tests: the buffer as text, the
//! snapshot files under `tests/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites them).

use quiesce::tui::app::App;
use quiesce::tui::panes;
use quiesce::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::path::PathBuf;

pub fn buffer_text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut s = String::new();
    for y in a.y..a.y + a.height {
        let mut line = String::new();
        for x in a.x..a.x + a.width {
            line.push_str(buf[(x, y)].symbol());
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

pub fn render(w: u16, h: u16, f: impl FnOnce(Rect, &mut Buffer)) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|fr| f(fr.area(), fr.buffer_mut())).unwrap();
    term.backend().buffer().clone()
}

/// The whole screen of `app` in a theme.
pub fn screen_buffer(app: &App, theme: &str) -> Buffer {
    let theme = Theme::preset(theme).unwrap();
    render(app.size.width, app.size.height, |a, b| {
        panes::draw(app, &theme, a, b)
    })
}

pub fn screen(app: &App) -> String {
    buffer_text(&screen_buffer(app, "dark"))
}

/// Compare with `tests/snapshots/NAME.txt`; `UPDATE_SNAPSHOTS=1` writes it.
pub fn snapshot(name: &str, got: &str) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/snapshots/{name}.txt"));
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&p, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&p).unwrap_or_else(|e| {
        panic!(
            "snapshot {} ({e}): UPDATE_SNAPSHOTS=1 writes it",
            p.display()
        )
    });
    assert_eq!(
        got, want,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 to accept)\n{got}"
    );
}
