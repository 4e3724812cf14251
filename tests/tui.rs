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
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") || !p.exists() {
        std::fs::write(&p, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&p).unwrap();
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
