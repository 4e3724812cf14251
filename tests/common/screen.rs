//! Rendering the TUI into a `TestBackend` for snapshot tests: the buffer as text, the
//! snapshot files under `tests/snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites them), and the
//! normalization that makes a snapshot of a real dump survive a rebuilt fixture.

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

/// A screen of a real fixture dump, made comparable across rebuilt fixtures. A rebuilt
/// fixture is a new boot: KASLR moves every address, kthread pids shift with the kworkers
/// that happened to start first, tasks land on other CPUs, and jiffies, tick counts and
/// printk timestamps differ. So, line by line:
/// - the fixture root and the temporary directory become `$FIXTURES` and `$TMP` (a module's
///   DWARF names its source by absolute path under the fixture root);
/// - kernel addresses (`0x` + 8 or more hex digits, or 16 bare hex digits) become `ADDR`;
/// - printk timestamps and other decimals with a fraction become `T`;
/// - every free-standing decimal number (pids, CPUs, counters, jiffies, `kworker/1:2`'s
///   numbers) becomes `N`, except a line number after a file name (`srcutree.c:1243`) and
///   digits that are part of a word (`idx0`, `SCAN2`, `x86`, `+0x34d`);
/// - runs of blanks become one blank (masked numbers change widths; exact column layout is
///   what the hand-made snapshots in `tests/tui.rs` check).
///
/// What is left is compared exactly: pane titles, labels, names of tasks, functions,
/// objects and states, frames with their `file:line`, the order and number of rows.
pub fn normalize(screen: &str) -> String {
    let fixtures = super::fixtures_root().display().to_string();
    let tmp = std::env::temp_dir().display().to_string();
    let tmp = tmp.trim_end_matches('/');
    let mut out = String::new();
    for line in screen.lines() {
        let line = line.replace(&fixtures, "$FIXTURES").replace(tmp, "$TMP");
        let masked = mask_numbers(&line);
        let collapsed: Vec<&str> = masked.split_whitespace().collect();
        out.push_str(&collapsed.join(" "));
        out.push('\n');
    }
    out
}

fn mask_numbers(line: &str) -> String {
    let c: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let word = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        let prev = if i > 0 { Some(c[i - 1]) } else { None };
        let starts_token = prev.is_none_or(|p| !word(p));
        // 0x + hex digits, or 16 bare hex digits.
        if starts_token {
            let hex_run = |from: usize| {
                let mut j = from;
                while j < c.len() && c[j].is_ascii_hexdigit() {
                    j += 1;
                }
                j
            };
            if c[i] == '0' && c.get(i + 1) == Some(&'x') {
                let j = hex_run(i + 2);
                if j - (i + 2) >= 8 && c.get(j).is_none_or(|&n| !word(n)) {
                    out.push_str("ADDR");
                    i = j;
                    continue;
                }
            }
            let j = hex_run(i);
            if j - i == 16 && c.get(j).is_none_or(|&n| !word(n)) {
                out.push_str("ADDR");
                i = j;
                continue;
            }
        }
        if c[i].is_ascii_digit() && starts_token {
            let mut j = i;
            while j < c.len() && c[j].is_ascii_digit() {
                j += 1;
            }
            // A fraction: `0.000000`, `2596.134`.
            let mut frac = false;
            if c.get(j) == Some(&'.') && c.get(j + 1).is_some_and(|d| d.is_ascii_digit()) {
                j += 1;
                while j < c.len() && c[j].is_ascii_digit() {
                    j += 1;
                }
                frac = true;
            }
            if c.get(j).is_some_and(|&n| word(n)) {
                // Part of a word after all (`64bit`): keep.
                out.extend(&c[i..j]);
            } else if frac {
                out.push('T');
            } else if prev == Some(':') && after_file_name(&c[..i - 1]) {
                out.extend(&c[i..j]);
            } else {
                out.push('N');
            }
            i = j;
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// Does `before` end in a file name with an extension (`kernel/rcu/srcutree.c`)?
fn after_file_name(before: &[char]) -> bool {
    let mut j = before.len();
    while j > 0 && before[j - 1].is_ascii_alphanumeric() {
        j -= 1;
    }
    let ext = before.len() - j;
    (1..=3).contains(&ext) && j > 1 && before[j - 1] == '.' && before[j - 2].is_alphanumeric()
}
