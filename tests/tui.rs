//! TUI tests: panes rendered from plain state into a `TestBackend` (string snapshots under
//! `tests/snapshots/`, `UPDATE_SNAPSHOTS=1` rewrites them), style asserts for two themes,
//! model transitions, and the real bookworm fixture through the background jobs.

mod common;

use quiesce::kernel::tasks::Task;
use quiesce::tui::actions::{Action, Key, KeyCode, Keymap};
use quiesce::tui::app::{App, Effect, Focus, MouseKind, Pane, UiEvent};
use quiesce::tui::jobs::{JobMsg, Jobs};
use quiesce::tui::panes::{self, backtrace::BacktraceView, log::LogView, tasks::TasksView};
use quiesce::tui::theme::Theme;
use quiesce::unwind::task::{Backtrace, Frame};
use quiesce::unwind::walk::{FrameSource, StackEnd};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;
use std::path::PathBuf;

fn task(pid: i32, comm: &str, st: &'static str, kthread: bool, last: u64) -> Task {
    Task {
        addr: 0xffff_8880_0000_0000 + pid as u64 * 0x1000,
        pid,
        tgid: pid,
        ppid: if kthread { 2 } else { 1 },
        cpu: (pid % 2) as u32,
        state: 0,
        exit_state: 0,
        st,
        comm: comm.into(),
        flags: 0,
        kthread,
        active: st == "RU",
        last_arrival: Some(last),
        stack: 0,
    }
}

fn frame(f: &str, off: u64, file: &str, line: u32, inlined: bool, how: FrameSource) -> Frame {
    Frame {
        pc: 0xffffffff81000000 + off,
        sp: 0xffffc90000100000,
        function: Some(f.into()),
        offset: off,
        module: None,
        file: Some(file.into()),
        line: Some(line),
        inlined,
        how,
        regs_at: None,
        regs: None,
        locals: None,
    }
}

fn srcu_bt(t: &Task) -> Backtrace {
    use FrameSource::*;
    Backtrace {
        task: t.clone(),
        frames: vec![
            frame(
                "__schedule",
                0x2f4,
                "/build/linux/kernel/sched/core.c",
                6601,
                false,
                SavedContext,
            ),
            frame(
                "schedule",
                0x5e,
                "/build/linux/kernel/sched/core.c",
                6677,
                false,
                Orc,
            ),
            frame(
                "schedule_timeout",
                0x8c,
                "/build/linux/kernel/time/timer.c",
                2143,
                false,
                Orc,
            ),
            frame(
                "do_wait_for_common",
                0,
                "/build/linux/kernel/sched/completion.c",
                85,
                true,
                Orc,
            ),
            frame(
                "wait_for_completion",
                0x7b,
                "/build/linux/kernel/sched/completion.c",
                138,
                false,
                Orc,
            ),
            frame(
                "__synchronize_srcu",
                0x96,
                "/build/linux/kernel/rcu/srcutree.c",
                1368,
                false,
                Orc,
            ),
            frame(
                "synchronize_srcu",
                0x4f,
                "/build/linux/kernel/rcu/srcutree.c",
                1420,
                false,
                Orc,
            ),
        ],
        end: StackEnd::Complete,
    }
}

fn sample_app() -> App {
    let mut app = App::new(Keymap::preset("default").unwrap(), 100, 20);
    let tasks = vec![
        task(1, "systemd", "IN", false, 900),
        task(2, "kthreadd", "IN", true, 800),
        task(97, "cat", "UN", false, 300),
        task(98, "cat", "UN", false, 200),
        task(105, "qh_srcu_reader", "UN", true, 100),
        task(106, "qh_srcu_sync", "UN", true, 150),
        task(120, "bash", "RU", false, 1000),
    ];
    let bts: Vec<Backtrace> = tasks.iter().map(srcu_bt).collect();
    app.apply(JobMsg::Tasks {
        tasks,
        errors: vec![],
    });
    app.apply(JobMsg::Backtraces(bts));
    app
}

fn buffer_text(buf: &Buffer) -> String {
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

fn render(w: u16, h: u16, f: impl FnOnce(Rect, &mut Buffer)) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|fr| f(fr.area(), fr.buffer_mut())).unwrap();
    term.backend().buffer().clone()
}

/// Compare with `tests/snapshots/NAME.txt`; `UPDATE_SNAPSHOTS=1` writes it.
fn snapshot(name: &str, got: &str) {
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

#[test]
fn tasks_pane_snapshot() {
    let app = sample_app();
    let theme = Theme::preset("dark").unwrap();
    let buf = render(60, 12, |a, b| {
        TasksView::from_app(&app, &theme).render(a, b)
    });
    snapshot("tasks_pane", &buffer_text(&buf));
}

#[test]
fn tasks_pane_grouped_and_sorted_snapshot() {
    let mut app = sample_app();
    app.apply(JobMsg::Backtraces(vec![Backtrace {
        task: app.tasks[0].clone(),
        frames: vec![frame(
            "ep_poll",
            0x1,
            "fs/eventpoll.c",
            1,
            false,
            FrameSource::Orc,
        )],
        end: StackEnd::UserMode,
    }]));
    app.handle(Action::GroupStacks);
    let theme = Theme::preset("dark").unwrap();
    let buf = render(70, 8, |a, b| TasksView::from_app(&app, &theme).render(a, b));
    let text = buffer_text(&buf);
    assert!(text.contains("    6 "), "{text}");
    snapshot("tasks_pane_grouped", &text);

    app.handle(Action::GroupStacks);
    app.handle(Action::SortNext); // state: UN first
    let buf = render(60, 12, |a, b| {
        TasksView::from_app(&app, &theme).render(a, b)
    });
    snapshot("tasks_pane_by_state", &buffer_text(&buf));
}

#[test]
fn backtrace_pane_snapshot() {
    let app = sample_app();
    let theme = Theme::preset("dark").unwrap();
    let t = &app.tasks[5];
    let bt = srcu_bt(t);
    let view = BacktraceView {
        task: Some(t),
        backtrace: Some(&bt),
        unwinding: false,
        scroll: 0,
        cursor: 0,
        focused: true,
        theme: &theme,
        locals: None,
    };
    let buf = render(80, 12, |a, b| view.render(a, b));
    let text = buffer_text(&buf);
    assert!(text.contains("#3  (inline) do_wait_for_common"), "{text}");
    assert!(text.contains("#3  wait_for_completion+0x7b"), "{text}");
    snapshot("backtrace_pane", &text);
}

#[test]
fn log_pane_snapshot_and_highlights() {
    use quiesce::kernel::printk::LogRecord;
    let rec = |seq, s: u64, level, text: &str| LogRecord {
        seq,
        ts_nsec: s * 1_000_000_000 + 123_456_000,
        level,
        facility: 0,
        caller_id: None,
        text: text.into(),
    };
    let records = vec![
        rec(0, 0, 6, "Linux version 6.1.0-28-amd64"),
        rec(
            1,
            242,
            3,
            "INFO: task qh_srcu_sync:106 blocked for more than 120 seconds.",
        ),
        rec(
            2,
            242,
            3,
            "      Tainted: G           O       6.1.0-28-amd64 #1",
        ),
        rec(
            3,
            250,
            3,
            "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
        ),
    ];
    for name in ["dark", "light"] {
        let theme = Theme::preset(name).unwrap();
        let decoded = Default::default();
        let expanded = Default::default();
        let view = LogView {
            records: &records,
            errors: &[],
            decoded: &decoded,
            expanded: &expanded,
            cursor: 0,
            scroll: 0,
            focused: false,
            theme: &theme,
        };
        let buf = render(80, 7, |a, b| view.render(a, b));
        if name == "dark" {
            snapshot("log_pane", &buffer_text(&buf));
        }
        // The hung-task line's text has the theme's hung style; the plain one does not.
        let x = 1 + "[  242.123456] ".len() as u16;
        assert_eq!(buf[(x, 2)].style().fg, theme.get("log.hung").fg, "{name}");
        assert_eq!(buf[(x, 4)].style().fg, theme.get("log.stall").fg, "{name}");
        assert_ne!(buf[(x, 1)].style().fg, theme.get("log.hung").fg, "{name}");
    }
}

#[test]
fn placeholder_and_whole_screen_snapshot() {
    let mut app = sample_app();
    app.title = "hang.elf 6.1.0-28-amd64".into();
    app.handle(Action::ShowWaitGraph);
    let theme = Theme::preset("dark").unwrap();
    let buf = render(100, 14, |a, b| panes::draw(&app, &theme, a, b));
    let text = buffer_text(&buf);
    assert!(text.contains("Wait graph: not yet available."), "{text}");
    snapshot("screen_graph_placeholder", &text);
}

#[test]
fn styles_differ_between_dark_and_light() {
    let app = sample_app();
    let mut colors = vec![];
    for name in ["dark", "light"] {
        let theme = Theme::preset(name).unwrap();
        let buf = render(60, 12, |a, b| {
            TasksView::from_app(&app, &theme).render(a, b)
        });
        // Focused border (top-left corner) has the theme's focused border colour.
        let border = buf[(0, 0)].style();
        assert_eq!(border.fg, theme.get("ui.pane.border.focused").fg, "{name}");
        // The selected row (first data row, y = 2) has the selection style.
        let sel = theme.get("ui.selection");
        let cell = buf[(3, 2)].style();
        assert_eq!((cell.fg, cell.bg), (sel.fg, sel.bg), "{name}");
        // An unselected row does not.
        assert_ne!(buf[(3, 3)].style().bg, sel.bg, "{name}");
        // UN state cells carry the state colour.
        let un_row = 2 + app
            .view
            .iter()
            .position(|&i| app.tasks[i].st == "UN")
            .unwrap() as u16;
        let header: Vec<char> = buffer_text(&buf).lines().nth(1).unwrap().chars().collect();
        let st_x = header.windows(2).position(|w| w == ['S', 'T']).unwrap() as u16;
        assert_eq!(
            buf[(st_x, un_row)].style().fg,
            theme.get("task.state.un").fg,
            "{name}"
        );
        colors.push((border.fg, sel.bg));
    }
    assert_ne!(colors[0].0, colors[1].0, "focused border colour differs");
    assert_ne!(colors[0].1, colors[1].1, "selection background differs");
    assert_eq!(
        Theme::preset("dark")
            .unwrap()
            .get("ui.pane.border.focused")
            .fg,
        Some(Color::LightCyan)
    );
}

#[test]
fn keys_filter_sort_finder_and_mouse() {
    let mut app = sample_app();
    // Filter with `/`.
    app.handle_key(Key::ch('/'));
    for c in "srcu".chars() {
        app.handle_key(Key::ch(c));
    }
    app.handle_key(Key::plain(KeyCode::Enter));
    assert_eq!(app.view.len(), 2);
    assert_eq!(app.selected_task().unwrap().comm, "qh_srcu_reader");
    app.handle_key(Key::plain(KeyCode::Esc));
    assert_eq!(app.view.len(), 7, "Esc clears the filter");
    // Sort by last run: oldest first.
    app.handle(Action::SortNext);
    app.handle(Action::SortNext);
    app.handle(Action::Top);
    assert_eq!(app.selected_task().unwrap().pid, 105);
    // Finder: first open asks for names; typing narrows; Enter selects the task.
    let eff = app.handle_key(Key::ctrl('p'));
    assert_eq!(eff, vec![Effect::LoadNames]);
    for c in "qh_srcu_sync".chars() {
        app.handle_key(Key::ch(c));
    }
    app.handle_key(Key::plain(KeyCode::Enter));
    assert!(app.overlay.is_none());
    assert_eq!(app.selected_task().unwrap().comm, "qh_srcu_sync");
    assert_eq!(app.right, Pane::Backtrace);
    // Finder over actions runs them.
    app.handle_key(Key::ctrl('p'));
    for c in "show_log".chars() {
        app.handle_key(Key::ch(c));
    }
    app.handle_key(Key::plain(KeyCode::Enter));
    assert_eq!(app.right, Pane::Log);
    // Command line.
    app.handle_key(Key::ch(':'));
    for c in "bt 106".chars() {
        app.handle_key(Key::ch(c));
    }
    let eff = app.handle_key(Key::plain(KeyCode::Enter));
    assert_eq!(eff, vec![Effect::RunCommand("bt 106".into())]);
    app.apply(JobMsg::Output {
        title: ":bt 106".into(),
        text: "PID: 106".into(),
    });
    assert_eq!(app.right, Pane::Result);
    // Mouse: clicking the third data row selects it and focuses the tasks pane.
    let a = app.areas();
    app.handle_event(UiEvent::Mouse {
        kind: MouseKind::Click,
        x: a.tasks.x + 3,
        y: a.tasks.y + 4,
    });
    assert_eq!(app.focus, Focus::Tasks);
    assert_eq!(app.selected, 2);
    app.handle_event(UiEvent::Mouse {
        kind: MouseKind::ScrollDown,
        x: a.right.x + 3,
        y: a.right.y + 3,
    });
    assert_eq!(app.focus, Focus::Right);
    // Resize keeps the selection visible.
    app.handle_event(UiEvent::Resize(40, 6));
    assert!(app.selected >= app.offset && app.selected < app.offset + app.table_height());
    // Quit, and Ctrl-C quits even in an overlay.
    app.handle_key(Key::ch(':'));
    assert_eq!(app.handle_key(Key::ctrl('c')), vec![Effect::Quit]);
}

#[test]
fn drawing_does_not_change_the_model() {
    let mut app = sample_app();
    app.handle(Action::Help);
    let theme = Theme::preset("light").unwrap();
    let before = format!(
        "{:?}{:?}{}{}",
        app.overlay, app.scroll, app.selected, app.offset
    );
    let a = render(100, 30, |r, b| panes::draw(&app, &theme, r, b));
    let b = render(100, 30, |r, b| panes::draw(&app, &theme, r, b));
    assert_eq!(a, b);
    let after = format!(
        "{:?}{:?}{}{}",
        app.overlay, app.scroll, app.selected, app.offset
    );
    assert_eq!(before, after);
    let text = buffer_text(&a);
    // The help overlay lists the registry.
    assert!(
        text.contains("group_stacks") && text.contains("ctrl-p"),
        "{text}"
    );
}

/// The bookworm `hang` dump and its vmlinux, or `None` (skip) when absent and not required.
fn hang_fixture() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let dir = common::fixtures_root().join("bookworm");
    let dump = dir.join("dumps/hang.elf");
    let vmlinux = dir.join("vmlinux");
    if !dump.exists() || !vmlinux.exists() {
        if std::env::var("QUIESCE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1") {
            panic!("missing {} (QUIESCE_REQUIRE_FIXTURES=1)", dump.display());
        }
        eprintln!("SKIP: no fixture at {}", dump.display());
        return None;
    }
    Some((dump, vmlinux, dir.join("modules")))
}

#[test]
fn real_fixture_tasks_and_backtrace() {
    let Some((dump, vmlinux, modules)) = hang_fixture() else {
        return;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let target = quiesce::cli::Target {
        core: dump,
        symbols: vec![vmlinux, modules],
        json: false,
    };
    let jobs = Jobs::new(tx, target);
    let mut app = App::new(Keymap::preset("default").unwrap(), 120, 40);
    jobs.open();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let mut progress = vec![];
    loop {
        let ev = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("jobs finish in time");
        if let UiEvent::Job(JobMsg::Progress { done, total, .. }) = &ev {
            progress.push((*done, *total));
        }
        app.handle_event(ev);
        let unwound = app
            .jobs
            .iter()
            .any(|j| j.name == "unwind tasks" && j.finished);
        if unwound && !app.busy() {
            break;
        }
    }
    for j in &app.jobs {
        assert!(j.error.is_none(), "{}: {:?}", j.name, j.error);
    }
    assert!(
        progress
            .last()
            .is_some_and(|(d, t)| d == t && *t == app.tasks.len())
    );
    assert!(!app.log.is_empty());
    assert_eq!(app.backtraces.len(), app.tasks.len());

    // Tasks pane on the real dump, filtered to the SRCU tasks.
    app.handle_key(Key::ch('/'));
    for c in "qh_".chars() {
        app.handle_key(Key::ch(c));
    }
    app.handle_key(Key::plain(KeyCode::Enter));
    let theme = Theme::preset("dark").unwrap();
    let buf = render(60, 10, |a, b| {
        TasksView::from_app(&app, &theme).render(a, b)
    });
    let tasks_text = buffer_text(&buf);
    println!("{tasks_text}");
    let row = tasks_text
        .lines()
        .find(|l| l.contains("[qh_srcu_sync]"))
        .unwrap_or_else(|| panic!("no qh_srcu_sync row:\n{tasks_text}"));
    assert!(row.contains(" UN "), "{row}");

    // Its backtrace.
    while app.selected_task().unwrap().comm != "qh_srcu_sync" {
        app.handle(Action::Down);
    }
    let t = app.selected_task().unwrap();
    let view = BacktraceView {
        task: Some(t),
        backtrace: app.backtrace_of(t),
        unwinding: false,
        scroll: 0,
        cursor: 0,
        focused: true,
        theme: &theme,
        locals: None,
    };
    let buf = render(110, 24, |a, b| view.render(a, b));
    let bt_text = buffer_text(&buf);
    println!("{bt_text}");
    assert!(bt_text.contains("synchronize_srcu"), "{bt_text}");
    assert!(bt_text.contains("COMMAND: \"qh_srcu_sync\""), "{bt_text}");

    // Whole screen, for the record.
    let buf = render(120, 30, |a, b| panes::draw(&app, &theme, a, b));
    println!("{}", buffer_text(&buf));

    // The command line through the jobs: `bt 106` and `ps`.
    let pid = t.pid;
    jobs.run_command(&format!("bt {pid}"));
    jobs.run_command("ps");
    let mut outputs = vec![];
    while outputs.len() < 2 {
        if let UiEvent::Job(JobMsg::Output { title, text }) =
            rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap()
        {
            outputs.push((title, text));
        }
    }
    let bt = outputs.iter().find(|o| o.0.starts_with(":bt")).unwrap();
    assert!(bt.1.contains("synchronize_srcu"), "{}", bt.1);
    let ps = outputs.iter().find(|o| o.0 == ":ps").unwrap();
    assert!(ps.1.contains("qh_srcu_sync"), "{}", ps.1);
}

// ---- notes -------------------------------------------------------------------------------

use quiesce::tui::notes::{self, Note, Notes};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("quiesce-tui-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn notes_roundtrip_beside_the_dump() {
    let d = tmpdir("notes-rt");
    let dump = d.join("hang.elf");
    std::fs::write(&dump, b"not really a dump").unwrap();
    let path = notes::path_for(&dump).unwrap();
    assert_eq!(path, d.join("hang.elf.quiesce-notes.json"));
    let mut n = Notes::default();
    n.set("kernel/rcu/srcutree.c", 1368, "the waiter sleeps here");
    n.set("/build/quiesce_hang.c", 42, "reader never unlocks");
    notes::save(&path, &n).unwrap();
    let (back, warn) = notes::load(&path);
    assert!(warn.is_none());
    assert_eq!(back.notes, n.notes);
    // A frame's absolute build path finds the note saved under the relative path.
    assert_eq!(
        back.get("/build/linux/kernel/rcu/srcutree.c", 1368)
            .map(|n| n.text.as_str()),
        Some("the waiter sleeps here")
    );
    // Editing and removing.
    let mut n2 = back.clone();
    n2.set("kernel/rcu/srcutree.c", 1368, "edited");
    n2.set("/build/quiesce_hang.c", 42, "  ");
    assert_eq!(
        n2.notes,
        vec![Note {
            file: "kernel/rcu/srcutree.c".into(),
            line: 1368,
            text: "edited".into()
        }]
    );
    // The dump itself is untouched.
    assert_eq!(std::fs::read(&dump).unwrap(), b"not really a dump");
    // Missing file: empty notes, no warning.
    let (empty, warn) = notes::load(&d.join("none.json"));
    assert!(empty.notes.is_empty() && warn.is_none());
}

#[test]
fn notes_save_is_atomic() {
    let d = tmpdir("notes-atomic");
    let path = d.join("x.quiesce-notes.json");
    let mut n = Notes::default();
    n.set("a.c", 1, "first");
    notes::save(&path, &n).unwrap();
    let first = std::fs::read_to_string(&path).unwrap();
    // Nothing but the notes file is left in the directory (the temp file was renamed).
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, vec!["x.quiesce-notes.json".to_string()]);
    // A save that cannot write its temp file fails and leaves the old file whole.
    let tmp = d.join(format!(".x.quiesce-notes.json.tmp-{}", std::process::id()));
    std::fs::create_dir(&tmp).unwrap();
    n.set("a.c", 2, "second");
    assert!(notes::save(&path, &n).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
    std::fs::remove_dir(&tmp).unwrap();
    // The temp file lives in the same directory as the target (rename is atomic there).
    notes::save(&path, &n).unwrap();
    assert_eq!(notes::load(&path).0.notes.len(), 2);
    assert!(!tmp.exists());
}

#[test]
fn corrupt_notes_are_kept_aside_and_reported() {
    let d = tmpdir("notes-corrupt");
    let path = d.join("hang.elf.quiesce-notes.json");
    std::fs::write(&path, "{ this is not json").unwrap();
    let (n, warn) = notes::load(&path);
    assert!(n.notes.is_empty());
    let warn = warn.expect("a corrupt file is reported");
    assert!(
        warn.contains("corrupt") && warn.contains(".corrupt-"),
        "{warn}"
    );
    assert!(!path.exists(), "moved aside");
    let aside: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&aside[0]).unwrap(),
        "{ this is not json"
    );
    // Saving afterwards writes a fresh file and leaves the corrupt copy alone.
    let mut n = Notes::default();
    n.set("a.c", 3, "new");
    notes::save(&path, &n).unwrap();
    assert!(aside[0].exists());
    // A corrupt file that is still in place is never overwritten by a save.
    std::fs::write(&path, "garbage").unwrap();
    assert!(notes::save(&path, &n).is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage");
}

#[test]
fn notes_for_non_files_go_to_the_data_dir() {
    let p = notes::path_for(std::path::Path::new("/proc/kcore")).unwrap();
    assert!(
        p.to_string_lossy().contains("quiesce/notes/"),
        "{}",
        p.display()
    );
    assert!(p.extension().is_some_and(|e| e == "json"));
}

// ---- walkthrough, source, notes overlay ------------------------------------------------

use quiesce::tui::source;
use quiesce::tui::walkthrough::{Selection, Step};

#[test]
fn walkthrough_steps_through_hand_made_steps() {
    let mut app = sample_app();
    // Without steps it says where they come from.
    app.handle(Action::Walkthrough);
    assert!(app.walkthrough.is_none());
    assert!(app.message.as_deref().unwrap().contains("explanation"));
    app.steps = vec![
        Step {
            pane: Pane::Backtrace,
            select: Selection::Pid(106),
            text: "qh_srcu_sync waits in synchronize_srcu".into(),
        },
        Step {
            pane: Pane::Log,
            select: Selection::Row(2),
            text: "the hung-task report".into(),
        },
        Step {
            pane: Pane::Source,
            select: Selection::Source {
                file: "kernel/rcu/srcutree.c".into(),
                line: 1368,
            },
            text: "where it sleeps".into(),
        },
    ];
    assert!(app.handle_key(Key::ch('W')).is_empty());
    assert_eq!(app.right, Pane::Backtrace);
    assert_eq!(app.selected_task().unwrap().pid, 106);
    let theme = Theme::preset("dark").unwrap();
    let text = buffer_text(&render(100, 20, |a, b| panes::draw(&app, &theme, a, b)));
    assert!(
        text.contains("Walkthrough 1/3") && text.contains("qh_srcu_sync waits"),
        "{text}"
    );
    app.handle_key(Key::ch(']'));
    assert_eq!(app.right, Pane::Log);
    assert_eq!(app.walkthrough.as_ref().unwrap().index, 1);
    let eff = app.handle_key(Key::ch(']'));
    assert_eq!(app.right, Pane::Source);
    assert!(
        matches!(&eff[..], [Effect::OpenSource { file, line: 1368, .. }] if file == "kernel/rcu/srcutree.c")
    );
    // Past the end stays on the last step; back goes back.
    app.handle_key(Key::ch(']'));
    assert_eq!(app.walkthrough.as_ref().unwrap().index, 2);
    app.handle_key(Key::ch('['));
    app.handle_key(Key::ch('['));
    app.handle_key(Key::ch('['));
    assert_eq!(app.walkthrough.as_ref().unwrap().index, 0);
    app.handle_key(Key::plain(KeyCode::Esc));
    assert!(app.walkthrough.is_none());
}

const C_SRC: &str = "// SPDX\n#include <linux/srcu.h>\n\nvoid __synchronize_srcu(struct srcu_struct *ssp)\n{\n\twait_for_completion(&rcu.completion);\n}\n";

#[test]
fn source_pane_opens_at_the_frame_with_annotations_and_notes() {
    // A fake tree: the frame names /build/linux/kernel/rcu/srcutree.c.
    let root = tmpdir("src");
    std::fs::create_dir_all(root.join("kernel/rcu")).unwrap();
    std::fs::write(root.join("kernel/rcu/srcutree.c"), C_SRC).unwrap();
    assert_eq!(
        source::resolve(Some(&root), "/build/linux/kernel/rcu/srcutree.c").unwrap(),
        root.join("kernel/rcu/srcutree.c")
    );
    assert!(source::resolve(None, "kernel/rcu/srcutree.c").is_err());
    let hl = source::highlight("x.c", C_SRC, "base16-ocean.dark");
    assert_eq!(hl.len(), 7);
    let colors: std::collections::HashSet<_> = hl.iter().flatten().map(|p| p.0).collect();
    assert!(colors.len() > 2, "C is highlighted: {colors:?}");

    let mut app = sample_app();
    app.source_root = Some(root.clone());
    // Backtrace pane, cursor on the __synchronize_srcu frame (#5 is row 7: header, 7 frames).
    app.select_task(app.tasks.iter().find(|t| t.pid == 106).unwrap().addr);
    app.handle(Action::ShowBacktrace);
    for _ in 0..6 {
        app.handle(Action::Down);
    }
    let eff = app.handle_key(Key::ch('o'));
    let Some(Effect::OpenSource {
        root: r,
        file,
        line,
        syntax_theme,
    }) = eff.first().cloned()
    else {
        panic!("{eff:?}")
    };
    assert_eq!(
        (file.as_str(), line),
        ("/build/linux/kernel/rcu/srcutree.c", 1368)
    );
    assert_eq!(app.right, Pane::Source);
    // The job's work, done inline; line 4 stands in for 1368 in the short file.
    let mut f = source::load(r.as_deref(), &file, 4, &syntax_theme).unwrap();
    f.line = 4;
    app.apply(JobMsg::Source(Ok(f)));
    assert_eq!(app.cursor_of(Pane::Source), 3);
    // Annotations: every UN task's frame at this file (sample tasks all share the stack).
    assert_eq!(
        app.annotations.blocked.get(&1368).map(|p| p.len()),
        Some(4),
        "{:?}",
        app.annotations
    );
    // A note on the cursor line through the overlay.
    app.handle_key(Key::ch('n'));
    for c in "sleeps here".chars() {
        app.handle_key(Key::ch(c));
    }
    let eff = app.handle_key(Key::plain(KeyCode::Enter));
    assert!(matches!(&eff[..], [Effect::SaveNotes(n)] if n.notes.len() == 1));
    assert_eq!(
        app.notes
            .get("/build/linux/kernel/rcu/srcutree.c", 4)
            .unwrap()
            .text,
        "sleeps here"
    );
    // An annotation at the note's line too, by moving the frame line's annotation there.
    let pids = app.annotations.blocked.remove(&1368).unwrap();
    app.annotations.blocked.insert(6, pids);
    let theme = Theme::preset("dark").unwrap();
    let buf = render(170, 12, |a, b| panes::draw(&app, &theme, a, b));
    let text = buffer_text(&buf);
    println!("{text}");
    assert!(text.contains("▶   4 void __synchronize_srcu"), "{text}");
    assert!(text.contains("✎ sleeps here"), "{text}");
    assert!(
        text.contains("← 4 tasks block here: 97,98,105,106"),
        "{text}"
    );
    let pane = render(110, 12, |a, b| {
        (&panes::source::SourceView {
            file: app.source.as_ref(),
            error: None,
            has_root: true,
            annotations: &app.annotations,
            notes: &app.notes,
            cursor: 3,
            offset: 0,
            focused: true,
            theme: &theme,
        })
            .render(a, b)
    });
    snapshot("source_pane", &buffer_text(&pane));
    // Esc in the note overlay changes nothing.
    app.handle_key(Key::ch('n'));
    app.handle_key(Key::ch('x'));
    assert!(app.handle_key(Key::plain(KeyCode::Esc)).is_empty());
    assert_eq!(
        app.notes.get("kernel/rcu/srcutree.c", 4).unwrap().text,
        "sleeps here"
    );
}

// ---- the real fixture: SRCU, RCU, source, log ----------------------------------------

/// Open a bookworm dump through the jobs and wait until every job is done.
fn open_real(dump: &str) -> Option<(App, Jobs, std::sync::mpsc::Receiver<UiEvent>)> {
    let (_, vmlinux, modules) = hang_fixture()?;
    let dir = common::fixtures_root().join("bookworm/dumps");
    let (tx, rx) = std::sync::mpsc::channel();
    let jobs = Jobs::new(
        tx,
        quiesce::cli::Target {
            core: dir.join(dump),
            symbols: vec![vmlinux, modules],
            json: false,
        },
    );
    let mut app = App::new(Keymap::preset("default").unwrap(), 200, 60);
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
    Some((app, jobs, rx))
}

/// The source tree `fixtures/source.sh` unpacks, or `None` (skip) when absent and not required.
fn source_tree() -> Option<PathBuf> {
    let p = common::fixtures_root().join("src/linux-source-6.1");
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

fn screen(app: &App) -> String {
    let theme = Theme::preset("dark").unwrap();
    buffer_text(&render(app.size.width, app.size.height, |a, b| {
        panes::draw(app, &theme, a, b)
    }))
}

/// Replace `<!-- NAME -->`…`<!-- /NAME -->` in docs/user-guide.md (with UPDATE_DOCS=1).
fn update_doc(name: &str, body: &str) {
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

fn picture(text: &str) -> String {
    format!("```text\n{text}```\n")
}

#[test]
fn real_fixture_srcu_source_and_log() {
    let Some((mut app, jobs, rx)) = open_real("hang.elf") else {
        return;
    };
    app.handle_event(UiEvent::Resize(180, 42));
    update_doc(
        "pane:backtrace",
        &picture(&{
            let t = app
                .tasks
                .iter()
                .find(|t| t.comm == "qh_srcu_sync")
                .unwrap()
                .addr;
            app.select_task(t);
            screen(&app)
        }),
    );
    // SRCU: quiesce_srcu is listed first (active) with its reader on idx 0.
    app.handle_key(Key::ch('3'));
    let text = screen(&app);
    println!("{text}");
    let row = text
        .lines()
        .find(|l| l.contains("quiesce_srcu"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("SCAN2") && row.contains("       1        0"),
        "{row}"
    );
    assert!(text.contains("GP waits on idx 0"), "{text}");
    assert!(text.contains("→ wakes 106 qh_srcu_sync"), "{text}");
    assert!(text.contains("GP work: timer work"), "{text}");
    update_doc("pane:srcu", &picture(&text));
    // Enter on the waiter row jumps to the task.
    let rows = app.rows(Pane::Srcu);
    let w = rows
        .iter()
        .position(|r| r.plain().starts_with("waiter: "))
        .unwrap();
    app.set_cursor(Pane::Srcu, w);
    app.handle_key(Key::plain(KeyCode::Enter));
    assert_eq!(app.right, Pane::Backtrace);
    assert_eq!(app.selected_task().unwrap().comm, "qh_srcu_sync");

    // RCU on the hang dump: idle, no holdouts.
    app.handle_key(Key::ch('4'));
    let text = screen(&app);
    assert!(
        text.contains("rcu_preempt") && text.contains("no holdout CPUs"),
        "{text}"
    );

    // Log: the hung-task report expands into its decoded fields.
    app.handle_key(Key::ch('2'));
    let rows = app.rows(Pane::Log);
    let hung = rows
        .iter()
        .position(|r| matches!(r.target, Some(quiesce::tui::rows::Target::LogRecord(_))))
        .expect("a decoded report in the log");
    app.set_cursor(Pane::Log, hung);
    app.handle_key(Key::plain(KeyCode::Enter));
    let text = screen(&app);
    println!("{text}");
    assert!(text.contains("(decoded)") && text.contains("│ "), "{text}");
    update_doc("pane:log", &picture(&text));

    // Source: the __synchronize_srcu frame of qh_srcu_sync.
    let Some(root) = source_tree() else { return };
    app.source_root = Some(root);
    let t = app
        .tasks
        .iter()
        .find(|t| t.comm == "qh_srcu_sync")
        .unwrap()
        .addr;
    app.select_task(t);
    app.handle_key(Key::ch('1'));
    let bt = app.backtrace_of(app.selected_task().unwrap()).unwrap();
    let i = bt
        .frames
        .iter()
        .position(|f| f.function.as_deref() == Some("__synchronize_srcu"))
        .unwrap();
    app.set_cursor(Pane::Backtrace, i + 1);
    let eff = app.handle_key(Key::plain(KeyCode::Enter));
    let Some(Effect::OpenSource { file, line, .. }) = eff.first().cloned() else {
        panic!("{eff:?}")
    };
    assert!(file.ends_with("kernel/rcu/srcutree.c"), "{file}");
    quiesce::tui::run_effects(&jobs, None, eff);
    loop {
        let ev = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
        let src = matches!(ev, UiEvent::Job(JobMsg::Source(_)));
        app.handle_event(ev);
        if src {
            break;
        }
    }
    let f = app.source.as_ref().expect("source opened");
    assert_eq!(f.line, line);
    let text = screen(&app);
    println!("{text}");
    assert!(
        text.lines()
            .any(|l| l.contains(&format!("▶{line} ")) && l.contains("← 1 task blocks here: 106")),
        "{text}"
    );
    update_doc("pane:source", &picture(&text));
}

#[test]
fn real_fixture_rcu_holdout_jumps_to_its_task() {
    let Some((mut app, _jobs, _rx)) = open_real("rcustall.elf") else {
        return;
    };
    app.handle_event(UiEvent::Resize(140, 40));
    app.handle_key(Key::ch('4'));
    let text = screen(&app);
    println!("{text}");
    assert!(text.contains("RCU_GP_WAIT_FQS"), "{text}");
    assert!(
        text.contains("holdout CPU 1 running") && text.contains("qh_rcu_staller [RU]"),
        "{text}"
    );
    update_doc("pane:rcu", &picture(&text));
    // The holdout's CPU row is in the holdout style.
    let rows = app.rows(Pane::Rcu);
    let h = rows
        .iter()
        .position(|r| r.plain().starts_with("holdout CPU 1"))
        .unwrap();
    assert_eq!(rows[h].cells[0].scope, "ui.rcu.holdout");
    app.set_cursor(Pane::Rcu, h);
    app.handle_key(Key::plain(KeyCode::Enter));
    assert_eq!(app.right, Pane::Backtrace);
    assert_eq!(app.selected_task().unwrap().comm, "qh_rcu_staller");
}

#[test]
fn user_guide_key_table_is_generated_from_the_registry() {
    let km = Keymap::preset("default").unwrap();
    let mut t = String::from("| Keys | Action | What it does |\n|---|---|---|\n");
    for (keys, id, desc) in km.help() {
        let keys: Vec<String> = keys.split(' ').map(|k| format!("`{k}`")).collect();
        t.push_str(&format!("| {} | `{id}` | {desc} |\n", keys.join(" ")));
    }
    update_doc("keys", &t);
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/user-guide.md");
    let doc = std::fs::read_to_string(p).unwrap();
    assert!(
        doc.contains(&t),
        "docs/user-guide.md's key table is stale: UPDATE_DOCS=1 cargo test --test tui user_guide"
    );
}

#[test]
fn real_fixture_wait_graph_pane_and_walkthrough() {
    let Some((mut app, _jobs, _rx)) = open_real("hang.elf") else {
        return;
    };
    app.handle_event(UiEvent::Resize(200, 50));
    // The graph from the analysis is in the pane: the ABBA edges with their evidence and the
    // blocking line as a source location.
    let g = app.graph.clone().expect("the wait graph arrived");
    let label = |i: usize| g.nodes[i].label.clone();
    let abba = g
        .edges
        .iter()
        .find(|e| label(e.from).starts_with("qh_abba_a") && label(e.to) == "qh_mutex_b")
        .expect("qh_abba_a waits on qh_mutex_b");
    assert!(abba.evidence.starts_with("waits on"), "{}", abba.evidence);
    assert_eq!(
        abba.location.as_ref().unwrap().file,
        "kernel/locking/mutex.c"
    );
    assert!(g.edges.iter().any(|e| label(e.from) == "quiesce_srcu"
        && label(e.to).starts_with("qh_srcu_reader")
        && e.evidence.contains("candidate")));
    // The walkthrough steps come from explain: the deadlock first, then the SRCU hang,
    // whose domain step selects quiesce_srcu in the SRCU pane.
    assert!(app.steps.len() >= 10, "{} steps", app.steps.len());
    assert!(
        app.steps[0].text.starts_with("1.1 task qh_abba_"),
        "{}",
        app.steps[0].text
    );
    let srcu = app
        .steps
        .iter()
        .find(|s| {
            s.select == quiesce::tui::walkthrough::Selection::SrcuDomain("quiesce_srcu".into())
        })
        .expect("a step selects the SRCU domain");
    assert_eq!(srcu.pane, quiesce::tui::app::Pane::Srcu);
    assert!(
        app.steps.iter().any(|s| s.text.contains("▸ SRCU:")),
        "teaching notes ride along"
    );
    // The pane, with qh_srcu_sync selected: its chain first.
    let sync = app
        .tasks
        .iter()
        .find(|t| t.comm == "qh_srcu_sync")
        .unwrap()
        .addr;
    app.select_task(sync);
    app.handle_key(Key::ch('5'));
    let text = screen(&app);
    assert!(text.contains("task qh_srcu_sync:"), "{text}");
    update_doc("pane:waitgraph", &picture(&text));
    // The finder knows the SRCU domains: Enter shows the domain in the SRCU pane.
    app.handle_key(Key::ctrl('p'));
    for c in "quiesce_srcu".chars() {
        app.handle_key(Key::ch(c));
    }
    app.handle_key(Key::plain(KeyCode::Enter));
    assert_eq!(app.right, quiesce::tui::app::Pane::Srcu);
    let text = screen(&app);
    assert!(text.contains("quiesce_srcu"), "{text}");
    let idx = app.srcu_domain;
    let Some(Ok(r)) = &app.srcu else {
        panic!("SRCU decoded")
    };
    assert_eq!(r.domains[idx].name, "quiesce_srcu");
    // Walking: W starts, ] moves on, the screen shows the step text.
    app.handle_key(Key::ch('W'));
    app.handle_key(Key::ch(']'));
    let text = screen(&app);
    assert!(text.contains("1.2"), "{text}");
}

/// The backtrace pane asks for the selected task's locals once (a job, off the UI thread), and
/// shows the cursor frame's locals below the frames, dim, when they arrive.
#[test]
fn locals_are_asked_for_once_and_shown_for_the_cursor_frame() {
    use quiesce::debuginfo::VarKind;
    use quiesce::unwind::locals::{Absent, Local};
    let mut app = sample_app();
    app.handle_event(UiEvent::Resize(100, 30));
    let sel = app.selected_task().unwrap().clone();
    assert_eq!(app.wanted_locals(), vec![Effect::Locals(sel.addr)]);
    assert!(app.wanted_locals().is_empty(), "asked once");
    assert!(!screen(&app).contains("Locals ·"));
    let mut bt = srcu_bt(&sel);
    bt.frames[0].locals = Some(vec![
        Local {
            name: "prev".into(),
            ty: "struct task_struct *".into(),
            kind: VarKind::Var,
            value: Some("(struct task_struct *)0xffff8b8a42514800".into()),
            number: Some(0xffff8b8a42514800),
            address: None,
            absent: None,
        },
        Local {
            name: "cpu".into(),
            ty: "int".into(),
            kind: VarKind::Var,
            value: None,
            number: None,
            address: None,
            absent: Some(Absent::NeedsRegister("rbx".into())),
        },
    ]);
    app.apply(JobMsg::Locals(Box::new(bt)));
    let text = screen(&app);
    println!("{text}");
    assert!(text.contains("Locals · __schedule"), "{text}");
    assert!(
        text.contains("prev = (struct task_struct *)0xffff8b8a42514800"),
        "{text}"
    );
    assert!(text.contains("cpu = <unavailable: needs %rbx>"), "{text}");
}
