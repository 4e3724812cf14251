//! TUI tests: panes rendered from plain state into a `TestBackend` (string snapshots under
//! `tests/snapshots/`, `UPDATE_SNAPSHOTS=1` rewrites them), style asserts for two themes,
//! model transitions, and the real bookworm fixture through the background jobs.

mod common;

use common::screen::{buffer_text, render, screen, snapshot};

use quiesce::kernel::tasks::Task;
use quiesce::tui::actions::{Action, Key, KeyCode, Keymap};
use quiesce::tui::app::{App, Effect, Focus, MouseKind, Pane, UiEvent};
use quiesce::tui::jobs::JobMsg;
use quiesce::tui::panes::{self, backtrace::BacktraceView, log::LogView, tasks::TasksView};
use quiesce::tui::theme::Theme;
use quiesce::unwind::task::{Backtrace, Frame};
use quiesce::unwind::walk::{FrameSource, StackEnd};
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
        blocked_ns: None,
        stack: 0,
        saved_sp: 0,
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
        moment: 0,
        tasks,
        errors: vec![],
    });
    app.apply(JobMsg::Backtraces {
        moment: 0,
        traces: bts,
    });
    app
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

/// A snapshot of a live guest (`S`) makes a new moment: its task list replaces the one
/// shown, the backtraces of the moment before are dropped (and any still arriving from its
/// unwind job), the selected task stays selected where it now sits.
#[test]
fn a_new_moment_replaces_tasks_and_drops_stale_backtraces() {
    let mut app = sample_app();
    let sel = app
        .view
        .iter()
        .position(|&i| app.tasks[i].pid == 105)
        .unwrap();
    app.selected = sel;
    assert_eq!(app.selected_task().unwrap().pid, 105);
    assert_eq!(app.backtraces.len(), 7);
    // pid 97 exited; pid 105 woke up
    let mut woke = task(105, "qh_srcu_reader", "RU", true, 100);
    woke.cpu = 1;
    let tasks = vec![
        task(1, "systemd", "IN", false, 900),
        task(2, "kthreadd", "IN", true, 800),
        task(98, "cat", "UN", false, 200),
        woke,
    ];
    app.apply(JobMsg::Tasks {
        moment: 1,
        tasks: tasks.clone(),
        errors: vec![],
    });
    assert_eq!(app.moment, 1);
    assert_eq!(app.tasks.len(), 4);
    assert!(
        app.backtraces.is_empty(),
        "the moment before's stacks are stale"
    );
    let t = app.selected_task().unwrap();
    assert_eq!((t.pid, t.st), (105, "RU"));
    // the unwind job of moment 0 was still sending: dropped
    app.apply(JobMsg::Backtraces {
        moment: 0,
        traces: vec![srcu_bt(&task(98, "cat", "UN", false, 200))],
    });
    assert!(app.backtraces.is_empty());
    // and its task list too, were it later still
    app.apply(JobMsg::Tasks {
        moment: 0,
        tasks: vec![],
        errors: vec![],
    });
    assert_eq!(app.tasks.len(), 4);
    app.apply(JobMsg::Backtraces {
        moment: 1,
        traces: tasks.iter().map(srcu_bt).collect(),
    });
    assert_eq!(app.backtraces.len(), 4);
}

#[test]
fn tasks_pane_grouped_and_sorted_snapshot() {
    let mut app = sample_app();
    app.apply(JobMsg::Backtraces {
        moment: 0,
        traces: vec![Backtrace {
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
        }],
    });
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
            task: None,
            finding: 1,
        },
        Step {
            pane: Pane::Log,
            select: Selection::Row(2),
            text: "the hung-task report".into(),
            task: None,
            finding: 1,
        },
        Step {
            pane: Pane::Source,
            select: Selection::Source {
                file: "kernel/rcu/srcutree.c".into(),
                line: 1368,
            },
            text: "where it sleeps".into(),
            task: None,
            finding: 1,
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
        source::resolve(Some(&root), None, "/build/linux/kernel/rcu/srcutree.c").unwrap(),
        root.join("kernel/rcu/srcutree.c")
    );
    assert!(source::resolve(None, None, "kernel/rcu/srcutree.c").is_err());
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
    let mut f = source::load(r.as_deref(), None, &file, 4, &syntax_theme).unwrap();
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
            values: &Default::default(),
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
    app.apply(JobMsg::Locals {
        moment: 0,
        trace: Box::new(bt),
    });
    let text = screen(&app);
    println!("{text}");
    assert!(text.contains("Locals · __schedule"), "{text}");
    assert!(
        text.contains("prev = (struct task_struct *)0xffff8b8a42514800"),
        "{text}"
    );
    assert!(text.contains("cpu = <unavailable: needs %rbx>"), "{text}");
}
