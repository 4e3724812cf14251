//! The TUI's panes next to crash and drgn on the real fixtures: the task table and each
//! backtrace as drawn, row by row, against crash's `ps` and `foreach bt` or drgn's task
//! list and stacks; and the first screen of `-c demo` (the first finding's task selected,
//! the walkthrough's steps each selecting their task and source line).

mod common;

use common::screen::{Session, buffer_text, render, screen, source_tree};
use quiesce::tui::actions::{Action, Key};
use quiesce::tui::app::{App, Pane, UiEvent};
use quiesce::tui::panes::tasks::TasksView;
use quiesce::tui::theme::Theme;
use ratatui::widgets::Widget;

/// The rows of the task table as drawn: `(active, pid, ppid, cpu, state, comm)`.
fn task_rows(app: &App) -> Vec<(bool, i64, i64, u32, String, String)> {
    let theme = Theme::preset("dark").unwrap();
    let h = app.tasks.len() as u16 + 4;
    let buf = render(120, h, |a, b| TasksView::from_app(app, &theme).render(a, b));
    buffer_text(&buf)
        .lines()
        .filter_map(|l| {
            let l = l.trim_start_matches('│').trim_end_matches('│');
            let active = l.trim_start().starts_with('>');
            let w: Vec<&str> = l
                .trim_start_matches([' ', '>'])
                .split_whitespace()
                .collect();
            let pid = w.first()?.parse().ok()?;
            Some((
                active,
                pid,
                w.get(1)?.parse().ok()?,
                w.get(2)?.parse().ok()?,
                w.get(3)?.to_string(),
                w[4..].join(" "),
            ))
        })
        .collect()
}

/// The functions of a task's physical frames as the backtrace pane lists them.
fn pane_functions(bt: &quiesce::unwind::task::Backtrace) -> Vec<String> {
    quiesce::tui::panes::backtrace::lines(bt)
        .into_iter()
        .filter_map(|l| match l {
            quiesce::tui::panes::backtrace::BtLine::Frame {
                inlined: false,
                function,
                ..
            } => Some(
                function
                    .split(['+', ' '])
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ),
            _ => None,
        })
        .collect()
}

/// What the Tasks and Backtrace panes show on the hang dump of every release, row by row,
/// next to crash's `ps` and `foreach bt` (bookworm, trixie) or drgn's task list and stacks
/// (sid, where crash 9.0.2 cannot start).
#[test]
fn real_fixture_panes_agree_with_crash_and_drgn() {
    for rel in common::releases() {
        let dump = rel.dir.join("dumps/hang.elf");
        let (mut app, _jobs, _rx) =
            common::screen::open_dump(dump, rel.vmlinux(), rel.modules_dir());
        app.handle_event(UiEvent::Resize(200, 60));
        let crash_ps = rel
            .crash_ref("hang.elf", "ps.txt")
            .map(|t| common::parse_crash_ps(&t));
        let want_ps = match &crash_ps {
            Some(p) if !p.is_empty() => p.clone(),
            _ => common::drgn_ps(&rel.drgn_ref("hang.elf").expect("drgn reference")),
        };
        let reader = if crash_ps.as_ref().is_some_and(|p| !p.is_empty()) {
            "crash"
        } else {
            "drgn"
        };
        // Tasks pane vs ps, row by row (sorted by pid, as both list them), from the top:
        // the first screen selected the first finding's task, further down.
        app.handle(Action::Top);
        let mut ours = task_rows(&app);
        let mut want: Vec<_> = want_ps
            .iter()
            .map(|p| (p.active, p.pid, p.ppid, p.cpu, p.st.clone(), p.comm.clone()))
            .collect();
        ours.sort();
        want.sort();
        // crash and the pane put kernel threads in brackets; drgn gives the bare name.
        let unbracket = |v: &mut Vec<(bool, i64, i64, u32, String, String)>| {
            for r in v.iter_mut() {
                r.5 =
                    r.5.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string();
            }
        };
        unbracket(&mut ours);
        unbracket(&mut want);
        assert_eq!(ours.len(), want.len(), "{}: tasks vs {reader}", rel.name);
        assert_eq!(ours, want, "{}: task pane vs {reader} ps", rel.name);

        // Backtrace pane vs crash's foreach bt (or drgn's stacks), task by task.
        let crash_bt = rel
            .crash_ref("hang.elf", "foreach_bt.txt")
            .map(|t| common::parse_crash_bt(&t))
            .unwrap_or_default();
        let drgn = rel.drgn_ref("hang.elf");
        let (mut same, mut differ) = (0, vec![]);
        for t in app.tasks.clone() {
            let bt = app.backtrace_of(&t).expect("unwound").clone();
            let mut ours = pane_functions(&bt);
            let want: Vec<String> = if !crash_bt.is_empty() {
                let c = crash_bt.iter().find(|c| c.task == t.addr).unwrap();
                if let Some(rip) = &c.exception_rip {
                    // crash shows a running task's pc as its exception RIP, not a frame.
                    assert_eq!(
                        ours.first().map(|f| rip.starts_with(f.as_str())),
                        Some(true),
                        "{}: pid {} exception RIP {rip} vs {ours:?}",
                        rel.name,
                        t.pid
                    );
                    ours.remove(0);
                }
                c.functions.clone()
            } else {
                let key = format!("{}@{:#x}", t.pid, t.addr);
                let Some(frames) = drgn
                    .as_ref()
                    .and_then(|j| j["stacks"][&key]["frames"].as_array().cloned())
                else {
                    continue;
                };
                // drgn names clones by their symbol (`.constprop.0`, `.cold`) and the boot and
                // entry paths by other labels (`common_startup_64` inside
                // `secondary_startup_64`, `entry_SYSCALL_64`; tests/real_bt.rs maps them):
                // here the module's threads, by base name.
                if !t.comm.starts_with("qh_") {
                    continue;
                }
                ours = ours
                    .iter()
                    .map(|f| f.split('.').next().unwrap().to_string())
                    .collect();
                frames
                    .iter()
                    .filter(|f| !f["is_inline"].as_bool().unwrap_or(false))
                    .filter_map(|f| f["name"].as_str())
                    .map(|n| n.split('.').next().unwrap().to_string())
                    .collect()
            };
            if ours == want {
                same += 1;
            } else {
                differ.push((t.pid, t.comm.clone(), ours, want));
            }
        }
        eprintln!(
            "{}: tasks pane = {reader} ps ({} rows); backtrace pane = {reader} for {same} tasks, differs for {}",
            rel.name,
            ours.len(),
            differ.len()
        );
        // The one known disagreement (tests/real_bt.rs): on 6.1 crash leaves out
        // do_dentry_open under the fanotify readers, which drgn and quiesce both find.
        for (pid, comm, ours, want) in &differ {
            let extra: Vec<&String> = ours.iter().filter(|f| !want.contains(f)).collect();
            assert!(
                comm == "cat" && extra == ["do_dentry_open"],
                "{}: pid {pid} {comm}: pane {ours:?} vs {reader} {want:?}",
                rel.name
            );
        }
        assert!(same > 8, "{}: only {same} backtraces compared", rel.name);

        // SRCU pane vs drgn (fixtures/ref/drgn_rcu.py at test time): every static domain of
        // the vmlinux is a row, and quiesce_srcu's row has drgn's phase and reader counts.
        let Some(want) = common::drgn_script(
            "drgn_rcu.py",
            &rel.dir.join("dumps/hang.elf"),
            &rel.vmlinux(),
            &rel.modules_dir().join("quiesce_hang.ko"),
        ) else {
            continue;
        };
        let rows: Vec<String> = app.rows(Pane::Srcu).iter().map(|r| r.plain()).collect();
        let names: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.split_whitespace().next())
            .collect();
        for d in want["vmlinux"].as_array().unwrap() {
            let d = d.as_str().unwrap();
            assert!(
                names.contains(&d),
                "{}: no SRCU row {d}: {rows:#?}",
                rel.name
            );
        }
        let w = &want["modules"]["quiesce_srcu"];
        let row: Vec<&str> = rows
            .iter()
            .find(|r| r.starts_with("quiesce_srcu "))
            .unwrap()
            .split_whitespace()
            .collect();
        let readers: Vec<String> = w["readers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            &row[1..4],
            [w["phase"].as_str().unwrap(), &readers[0], &readers[1]],
            "{}: SRCU pane row {row:?} vs drgn",
            rel.name
        );
        eprintln!(
            "{}: SRCU pane = drgn: {} static domains, quiesce_srcu {} readers {}/{}",
            rel.name,
            want["vmlinux"].as_array().unwrap().len(),
            row[1],
            readers[0],
            readers[1]
        );
    }
}

// ---- the first screen and the walkthrough --------------------------------------------

/// What a newcomer sees on `quiesce -c demo`: once the wait graph is computed the task
/// table selects the first finding's task (an uninterruptible task in crash's `ps`, the
/// one `quiesce explain` names first) and the status line says how many findings there
/// are and that W walks through them. Every walkthrough step selects its task in the table,
/// and a step at a source line opens that line from the fixture's source tree, which
/// `-c demo` finds by itself.
#[test]
fn real_fixture_opens_on_the_first_finding_and_walks_its_tasks() {
    let Some(rel) = common::release("bookworm") else {
        return;
    };
    let mut demo = quiesce::report::Target::new("demo", vec![]);
    demo.resolve_demo().unwrap();
    assert_eq!(demo.core, rel.dir.join("dumps/hang.elf"));
    let Some(root) = source_tree() else { return };
    assert_eq!(
        demo.source.as_deref(),
        Some(root.as_path()),
        "-c demo's source tree"
    );

    let (mut app, jobs, rx) =
        common::screen::open_dump(demo.core.clone(), rel.vmlinux(), rel.modules_dir());
    app.handle_event(UiEvent::Resize(200, 50));
    app.source_root = demo.source.clone();
    // The findings as `quiesce explain` computes them from the same dump.
    let k = rel.open(&demo.core);
    let e =
        quiesce::analysis::walkthrough::explain(quiesce::analysis::graph_from_dump(&k).unwrap());
    let first = e.findings[0].finding.tasks[0];
    let t = app.selected_task().expect("a task is selected").clone();
    assert_eq!(t.addr, first.key, "the first finding's task is selected");
    let crash = common::parse_crash_ps(&rel.crash_ref("hang.elf", "ps.txt").unwrap());
    let row = crash
        .iter()
        .find(|p| p.task == t.addr)
        .expect("in crash's ps");
    assert_eq!(
        (row.pid, row.st.as_str()),
        (t.pid as i64, "UN"),
        "crash: {row:?}"
    );
    let text = screen(&app);
    let hint = format!("{} findings: W walks through them", e.findings.len());
    assert!(text.lines().last().unwrap().contains(&hint), "{text}");
    assert!(text.contains(&format!("COMMAND: \"{}\"", t.comm)), "{text}");

    // Walk every step: each one with a task selects it, and its text names that task.
    let mut s = Session {
        app,
        jobs,
        rx,
        notes: std::env::temp_dir().join(format!("quiesce-first-{}.notes", std::process::id())),
    };
    s.keys(&[Key::ch('W')]);
    let n = s.app.steps.len();
    let mut sources = 0;
    for i in 0..n {
        let step = s.app.steps[i].clone();
        assert_eq!(s.app.walkthrough.as_ref().unwrap().index, i);
        if let Some(a) = step.task {
            let sel = s.app.selected_task().unwrap();
            assert_eq!(sel.addr, a, "step {}: {}", i + 1, step.text);
            assert!(
                step.text.contains(&format!("{}:{}", sel.comm, sel.pid)),
                "step {} selects {}:{}: {}",
                i + 1,
                sel.comm,
                sel.pid,
                step.text
            );
        }
        if let quiesce::tui::walkthrough::Selection::Source { file, line } = &step.select {
            assert_eq!(s.app.right, Pane::Source);
            let src = s
                .app
                .source
                .as_ref()
                .unwrap_or_else(|| panic!("step {}: {:?}", i + 1, s.app.source_error));
            assert!(
                src.key.ends_with(file.as_str()) && src.line == *line,
                "{}",
                src.key
            );
            assert!(s.app.source_error.is_none());
            sources += 1;
        }
        s.keys(&[Key::ch(']')]);
    }
    assert!(sources > 0, "no step opened a source line");
    assert!(n >= 10, "{n} steps");
}
