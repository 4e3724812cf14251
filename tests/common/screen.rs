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

/// [`open_with_jobs`] on a dump with its vmlinux and modules.
pub fn open_dump(
    core: std::path::PathBuf,
    vmlinux: std::path::PathBuf,
    modules: std::path::PathBuf,
) -> (
    App,
    quiesce::tui::jobs::Jobs,
    std::sync::mpsc::Receiver<quiesce::tui::app::UiEvent>,
) {
    open_with_jobs(quiesce::report::Target::new(core, vec![vmlinux, modules]))
}

/// Open a target through the TUI's jobs in a 200×60 app and wait (5 minutes at most) until
/// the jobs every pane needs are done; every job must end without an error.
pub fn open_with_jobs(
    target: quiesce::report::Target,
) -> (
    App,
    quiesce::tui::jobs::Jobs,
    std::sync::mpsc::Receiver<quiesce::tui::app::UiEvent>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let jobs = quiesce::tui::jobs::Jobs::new(tx, target, quiesce::cli::parse_words);
    let mut app = App::new(
        quiesce::tui::actions::Keymap::preset("default").unwrap(),
        200,
        60,
    );
    jobs.open();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let ev = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|e| panic!("jobs finish in time ({e}): {:?}", app.jobs));
        app.handle_event(ev);
        let done = |n: &str| app.jobs.iter().any(|j| j.name == n && j.finished);
        if done("unwind tasks")
            && done("decode srcu")
            && done("decode rcu")
            && done("wait graph")
            && !app.busy()
        {
            break;
        }
    }
    for j in &app.jobs {
        assert!(j.error.is_none(), "{}: {:?}", j.name, j.error);
    }
    (app, jobs, rx)
}

/// Replace `<!-- NAME -->`…`<!-- /NAME -->` in docs/user-guide.md (with UPDATE_DOCS=1).
pub fn update_doc(name: &str, body: &str) {
    if !std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
        return;
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/user-guide.md");
    let doc = std::fs::read_to_string(&p).unwrap();
    let (open, close) = (format!("<!-- {name} -->\n"), format!("<!-- /{name} -->"));
    let a = doc
        .find(&open)
        .unwrap_or_else(|| panic!("no {open} in the guide"))
        + open.len();
    let b = a + doc[a..].find(&close).unwrap();
    std::fs::write(&p, format!("{}{body}{}", &doc[..a], &doc[b..])).unwrap();
}

/// A screen as a picture in the guide.
pub fn picture(text: &str) -> String {
    format!("```text\n{text}```\n")
}

/// The source tree `fixtures/source.sh` unpacks, or `None` (skip) when absent and not required.
pub fn source_tree() -> Option<PathBuf> {
    let p = super::fixtures_root().join("src/linux-source-6.1");
    if p.join("kernel/rcu/srcutree.c").exists() {
        return Some(p);
    }
    assert!(
        !std::env::var("QUIESCE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1"),
        "missing {} (run fixtures/source.sh)",
        p.display()
    );
    eprintln!(
        "SKIP: no source tree at {} (fixtures/source.sh)",
        p.display()
    );
    None
}

/// A real dump open in the TUI model, driven by key presses whose effects run on the
/// background jobs; notes go to a private temporary file.
pub struct Session {
    pub app: quiesce::tui::app::App,
    pub jobs: quiesce::tui::jobs::Jobs,
    pub rx: std::sync::mpsc::Receiver<quiesce::tui::app::UiEvent>,
    pub notes: std::path::PathBuf,
}

impl Session {
    /// Press keys, run their effects, and let every job they started finish.
    pub fn keys(&mut self, ks: &[quiesce::tui::actions::Key]) {
        for k in ks {
            let mut eff = self.app.handle_key(*k);
            // What the event loop does after each batch of events.
            eff.extend(self.app.wanted_locals());
            quiesce::tui::run_effects(&self.jobs, Some(&self.notes), eff);
            self.settle();
        }
    }

    /// Handle events until no job runs and none is queued.
    pub fn settle(&mut self) {
        loop {
            let ev = if self.app.busy() {
                self.rx
                    .recv_timeout(std::time::Duration::from_secs(120))
                    .unwrap_or_else(|e| panic!("jobs finish ({e}): {:?}", self.app.jobs))
            } else {
                match self.rx.try_recv() {
                    Ok(ev) => ev,
                    Err(_) => return,
                }
            };
            self.app.handle_event(ev);
        }
    }
}
