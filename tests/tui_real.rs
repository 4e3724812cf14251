//! The TUI on the real bookworm fixture: the panes fed by the background jobs (tasks,
//! backtraces, SRCU, RCU, wait graph, log, source, walkthrough), a snapshot of every pane
//! (`tests/snapshots/real_*.txt`, normalized so a rebuilt fixture compares equal), theme
//! styles on real rows, and the user guide's pictures (`UPDATE_DOCS=1` rewrites them).

mod common;

use common::screen::{
    Session, buffer_text, picture, render, screen, screen_buffer, snapshot, update_doc,
};
use quiesce::tui::actions::{Action, Key, KeyCode, Keymap};
use quiesce::tui::app::{App, Effect, Pane, UiEvent};
use quiesce::tui::jobs::{JobMsg, Jobs};
use quiesce::tui::panes::{self, backtrace::BacktraceView, tasks::TasksView};
use quiesce::tui::theme::Theme;
use ratatui::widgets::Widget;
use std::path::PathBuf;

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
    let target = quiesce::report::Target::new(dump, vec![vmlinux, modules]);
    let jobs = Jobs::new(tx, target, quiesce::cli::parse_words);
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

    // The command line through the jobs: `bt PID` and `ps`.
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

// ---- the real fixture: SRCU, RCU, source, log ----------------------------------------

/// Open a bookworm dump through the jobs and wait until every job is done.
fn open_real(dump: &str) -> Option<(App, Jobs, std::sync::mpsc::Receiver<UiEvent>)> {
    let (_, vmlinux, modules) = hang_fixture()?;
    let dir = common::fixtures_root().join("bookworm/dumps");
    Some(common::screen::open_dump(dir.join(dump), vmlinux, modules))
}

#[test]
fn real_fixture_srcu_source_and_log() {
    let Some((mut app, jobs, rx)) = open_real("hang.elf") else {
        return;
    };
    app.handle_event(UiEvent::Resize(180, 42));
    // SRCU, opened from qh_srcu_sync: the pane shows the domain that task waits for,
    // quiesce_srcu (listed among the active ones first), with its reader on idx 0.
    let sync = app
        .tasks
        .iter()
        .find(|t| t.comm == "qh_srcu_sync")
        .unwrap()
        .addr;
    app.select_task(sync);
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
    let sync_pid = app
        .tasks
        .iter()
        .find(|t| t.comm == "qh_srcu_sync")
        .unwrap()
        .pid;
    assert!(
        text.contains(&format!("→ wakes {sync_pid} qh_srcu_sync")),
        "{text}"
    );
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
    let Some(root) = common::screen::source_tree() else {
        return;
    };
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
    // qh_srcu_sync and qh_fan_sync (the seed-shaped scenario) block on the same line.
    let fan_pid = app
        .tasks
        .iter()
        .find(|t| t.comm == "qh_fan_sync")
        .unwrap()
        .pid;
    let (a, b) = (sync_pid.min(fan_pid), sync_pid.max(fan_pid));
    assert!(
        text.lines().any(|l| l.contains(&format!("▶{line} "))
            && l.contains(&format!("← 2 tasks block here: {a},{b}"))),
        "{text}"
    );
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

// ---- a snapshot of every pane on the real fixture --------------------------------------

fn typed(s: &str) -> Vec<Key> {
    s.chars().map(Key::ch).collect()
}

#[test]
fn normalize_masks_what_a_reboot_changes() {
    let got = common::normalize::normalize(
        "PID: 106  TASK: ffff8b8a42514800  CPU: 1  COMMAND: \"qh_srcu_sync\"\n\
         #4  __synchronize_srcu+0x91  kernel/rcu/srcutree.c:1243  orc\n\
         [    0.009420] e820: update [mem 0x00000000-0x00000fff]  idx0 SCAN2 x86 \n\
         task kworker/1:2:93 → work 0xffffffffc052b770  age -5467 jiffies\n",
    );
    assert_eq!(
        got,
        "PID: N TASK: ADDR CPU: N COMMAND: \"qh_srcu_sync\"\n\
         #N __synchronize_srcu+0x91 kernel/rcu/srcutree.c:1243 orc\n\
         [ T] e820: update [mem ADDR-ADDR] idx0 SCAN2 x86\n\
         task kworker/N:N:N → work ADDR age -N jiffies\n"
    );
}

/// A pane's screen on a real dump, normalized (see `common::normalize::normalize`), compared
/// with `tests/snapshots/real_NAME.txt`.
fn real_snapshot(name: &str, app: &App) {
    let text = screen(app);
    println!("{text}");
    snapshot(
        &format!("real_{name}"),
        &common::normalize::normalize(&text),
    );
}

/// Open a dump with the task list filtered to the test module's threads (the kworkers
/// around them come and go between boots) and a title without the fixture path.
fn open_filtered(dump: &str) -> Option<Session> {
    let (mut app, jobs, rx) = open_real(dump)?;
    // Wide enough that no pane cuts a line (where a line is cut depends on the widths of
    // the numbers the normalization masks).
    app.handle_event(UiEvent::Resize(1000, 40));
    app.title = format!("{dump} (bookworm)");
    let notes =
        std::env::temp_dir().join(format!("quiesce-snap-{}-{dump}.notes", std::process::id()));
    let _ = std::fs::remove_file(&notes);
    let mut s = Session {
        app,
        jobs,
        rx,
        notes,
    };
    s.keys(&[Key::ch('/')]);
    s.keys(&typed("qh_"));
    s.keys(&[Key::plain(KeyCode::Enter)]);
    Some(s)
}

#[test]
fn real_fixture_every_pane_snapshot() {
    let Some(mut s) = open_filtered("hang.elf") else {
        return;
    };
    let esc = Key::plain(KeyCode::Esc);
    let enter = Key::plain(KeyCode::Enter);
    real_snapshot("tasks", &s.app);
    let sync = s
        .app
        .tasks
        .iter()
        .find(|t| t.comm == "qh_srcu_sync")
        .unwrap()
        .addr;
    s.app.select_task(sync);
    s.keys(&[Key::ch('1')]);
    // The cursor on __synchronize_srcu: its locals (the domain it waits for) below.
    let bt = s.app.backtrace_of(s.app.selected_task().unwrap()).unwrap();
    let at = bt
        .frames
        .iter()
        .position(|f| f.function.as_deref() == Some("__synchronize_srcu"))
        .unwrap();
    s.app.set_cursor(Pane::Backtrace, at + 1);
    let text = screen(&s.app);
    assert!(text.contains("Locals · __synchronize_srcu"), "{text}");
    assert!(text.contains("ssp = (struct srcu_struct *)0x"), "{text}");
    real_snapshot("backtrace", &s.app);
    // The user guide's picture, at a terminal's size.
    s.app.handle_event(UiEvent::Resize(180, 42));
    update_doc("pane:backtrace", &picture(&screen(&s.app)));
    s.app.handle_event(UiEvent::Resize(1000, 40));
    s.keys(&[Key::ch('g')]);
    real_snapshot("tasks_grouped", &s.app);
    s.keys(&[Key::ch('g')]);
    s.app.select_task(sync);
    s.keys(&[Key::ch('3')]);
    real_snapshot("srcu", &s.app);
    s.keys(&[Key::ch('4')]);
    real_snapshot("rcu_idle", &s.app);
    s.keys(&[Key::ch('5')]);
    real_snapshot("waitgraph", &s.app);
    // The log at its first hung-task report, decoded.
    s.keys(&[Key::ch('2')]);
    let rows = s.app.rows(Pane::Log);
    let hung = rows
        .iter()
        .position(|r| matches!(r.target, Some(quiesce::tui::rows::Target::LogRecord(_))))
        .expect("a decoded report in the log");
    s.app.set_cursor(Pane::Log, hung);
    s.keys(&[enter]);
    real_snapshot("log", &s.app);
    // The finder once every name is loaded, the help overlay, a command's output.
    s.keys(&[Key::ctrl('p')]);
    s.keys(&typed("srcu_sync"));
    real_snapshot("finder", &s.app);
    s.keys(&[esc, Key::ch('?')]);
    real_snapshot("help", &s.app);
    s.keys(&[esc, Key::ch(':')]);
    s.keys(&typed("bt 1"));
    // `bt PID` of the selected task: its pid is what a reboot changes.
    let pid = s.app.selected_task().unwrap().pid;
    s.keys(&[Key::plain(KeyCode::Backspace)]);
    s.keys(&typed(&pid.to_string()));
    s.keys(&[enter]);
    assert_eq!(s.app.right, Pane::Result);
    real_snapshot("command", &s.app);
    // The walkthrough's second step.
    s.keys(&[Key::ch('W'), Key::ch(']')]);
    real_snapshot("walkthrough", &s.app);
    // The source pane at qh_srcu_sync's __synchronize_srcu frame, with a note.
    let Some(root) = common::screen::source_tree() else {
        return;
    };
    s.app.source_root = Some(root);
    s.keys(&[Key::ch('W')]);
    s.app.select_task(sync);
    s.keys(&[Key::ch('1')]);
    let bt = s.app.backtrace_of(s.app.selected_task().unwrap()).unwrap();
    let i = bt
        .frames
        .iter()
        .position(|f| f.function.as_deref() == Some("__synchronize_srcu"))
        .unwrap();
    s.app.set_cursor(Pane::Backtrace, i + 1);
    s.keys(&[enter]);
    assert_eq!(s.app.right, Pane::Source);
    s.keys(&[Key::ch('n')]);
    s.keys(&typed("waits for quiesce_srcu's GP"));
    s.keys(&[enter]);
    // The blocking line carries the selected task's locals of that frame.
    let text = screen(&s.app);
    assert!(
        text.contains("__synchronize_srcu: ssp = (struct srcu_struct *)0x")
            && text.contains("<quiesce_srcu>"),
        "{text}"
    );
    real_snapshot("source", &s.app);
    s.app.handle_event(UiEvent::Resize(180, 42));
    update_doc("pane:source", &picture(&screen(&s.app)));
    s.app.handle_event(UiEvent::Resize(1000, 40));
    assert!(
        s.app
            .notes
            .get(
                &s.app.source.as_ref().unwrap().key,
                s.app.source.as_ref().unwrap().line
            )
            .is_some()
    );
    std::fs::remove_file(&s.notes).unwrap();
}

#[test]
fn real_fixture_rcu_stall_snapshot() {
    let Some(mut s) = open_filtered("rcustall.elf") else {
        return;
    };
    s.keys(&[Key::ch('4')]);
    real_snapshot("rcu_stall", &s.app);
}

/// The style of the first cell where `needle` starts on the screen.
fn style_at(buf: &ratatui::buffer::Buffer, needle: &str) -> ratatui::style::Style {
    let a = buf.area;
    let width = needle.chars().count() as u16;
    for y in a.y..a.y + a.height {
        for x in a.x..(a.x + a.width).saturating_sub(width) {
            let s: String = (x..x + width).map(|i| buf[(i, y)].symbol()).collect();
            if s == needle {
                return buf[(x, y)].style();
            }
        }
    }
    panic!("{needle:?} is not on the screen:\n{}", buffer_text(buf))
}

/// Each theme's colours reach the real panes: task states, the active SRCU domain and its
/// waited index, hung-task lines in the log, the RCU holdout, the selection.
#[test]
fn real_fixture_styles_per_theme() {
    let Some(mut s) = open_filtered("hang.elf") else {
        return;
    };
    let Some(mut stall) = open_filtered("rcustall.elf") else {
        return;
    };
    stall.keys(&[Key::ch('4')]);
    let mut seen = vec![];
    for name in ["dark", "light", "high-contrast"] {
        let theme = Theme::preset(name).unwrap();
        let fg = |scope: &str| theme.get(scope).fg;
        let mut got = vec![];
        let mut check = |buf: &ratatui::buffer::Buffer, needle: &str, scope: &str| {
            let st = style_at(buf, needle);
            assert_eq!(st.fg, fg(scope), "{name}: {needle:?} in {scope}");
            got.push(st.fg);
        };
        // Tasks: a UN state cell; the selected row.
        s.keys(&[Key::ch('1')]);
        let buf = screen_buffer(&s.app, name);
        check(&buf, "UN [qh_abba_a]", "task.state.un");
        let sel = style_at(&buf, "[qh_srcu_reader]");
        let scope = if s.app.focus == quiesce::tui::app::Focus::Tasks {
            "ui.selection"
        } else {
            "ui.selection.unfocused"
        };
        assert_eq!(sel.bg, theme.get(scope).bg, "{name}: {scope}");
        // SRCU: the active domain's phase, the waited index's counters.
        s.keys(&[Key::ch('3')]);
        let buf = screen_buffer(&s.app, name);
        check(&buf, "quiesce_srcu ", "ui.srcu.active");
        check(&buf, "SCAN2  gp_seq", "ui.srcu.phase");
        // Log: the hung-task report.
        s.keys(&[Key::ch('2')]);
        let rows = s.app.rows(Pane::Log);
        let hung = rows
            .iter()
            .position(|r| r.plain().contains("blocked for more than"))
            .expect("a hung-task line");
        s.app.set_cursor(Pane::Log, hung + 1);
        let buf = screen_buffer(&s.app, name);
        // Whichever task the detector reported first (a kworker on the fixture boots so far).
        check(&buf, "INFO: task ", "log.hung");
        // RCU on the stall dump: the holdout CPU.
        let buf = screen_buffer(&stall.app, name);
        check(&buf, "holdout CPU 1", "ui.rcu.holdout");
        seen.push((name, got, sel.bg));
    }
    // The three themes are three different palettes.
    for i in 0..seen.len() {
        for j in i + 1..seen.len() {
            assert_ne!(
                (&seen[i].1, seen[i].2),
                (&seen[j].1, seen[j].2),
                "{} and {} look the same",
                seen[i].0,
                seen[j].0
            );
        }
    }
}

/// The `:` command line answers every CLI subcommand on the dump (text as the CLI prints it).
#[test]
fn real_fixture_command_line_runs_every_subcommand() {
    let Some(mut s) = open_filtered("hang.elf") else {
        return;
    };
    let cases = [
        ("ps", "[qh_srcu_sync]"),
        ("log", "quiesce_hang: scenario=hang"),
        ("sys", "RELEASE"),
        ("print quiesce_srcu.srcu_idx", "= 1"),
        ("stacks -m quiesce_hang", "qh_srcu_hold"),
        ("srcu quiesce_srcu", "SCAN2"),
        ("rcu", "rcu_preempt"),
        ("waitgraph", "qh_mutex_b"),
        ("explain", "deadlock"),
        ("fields srcu.gp_seq", "srcu_gp_start kernel/rcu/srcutree.c:"),
        (
            "nonsense",
            "commands: ps, log, sys, bt, stacks, srcu, rcu, fields, timeline, explain, waitgraph, print",
        ),
    ];
    for (cmd, want) in cases {
        s.keys(&[Key::ch(':')]);
        s.keys(&typed(cmd));
        s.keys(&[Key::plain(KeyCode::Enter)]);
        let (title, text) = s.app.result.clone().expect("a result");
        assert_eq!(title, format!(":{cmd}"));
        assert!(text.contains(want), ":{cmd} → {text}");
    }
}
