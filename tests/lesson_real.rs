//! The RCU/SRCU lesson on a real kernel: `fixtures/lesson-guest.sh` boots the bookworm
//! fixture kernel (3 vCPUs) with `fixtures/lessons/quiesce_lesson.c`, and `quiesce watch`
//! takes a timeline of it over QMP (a snapshot every 200 ms, the guest stopped only while
//! read). The transitions the lesson stages must all be in it, in order:
//!
//! - SRCU: a reader inside (index 0's counters), a grace period IDLE → SCAN1 (held while
//!   the GP work cannot run) → SCAN2 (the index flipped, waiting for that reader on index
//!   0) → IDLE once it leaves (gp_seq + 4); its callback WAIT → DONE → invoked, a second
//!   one too;
//! - RCU: a grace period whose rcu_node qsmask goes 0x6 (CPUs 1 and 2 in readers) → 0x2
//!   (CPU 2 left) → 0 (CPU 1 left, the grace period over, the callback invoked);
//! - no-CBs: CPU 2 offloaded to rcuop/2 (rcu_nocbs=2), its callback waiting while CPU 2 has
//!   interrupts off, then invoked by rcuop/2.
//!
//! The timeline is saved and replayed (`quiesce timeline`), and with UPDATE_DOCS=1 its
//! steps become the user guide's lesson chapter.

mod common;

use common::guest::Guest;
use common::{release, run_quiesce};
use quiesce::report::timeline::{self, Snapshot, Timeline};
use quiesce::tui::actions::{Key, KeyCode};
use quiesce::tui::app::{Pane, UiEvent};

fn v<'a>(s: &'a Snapshot, k: &str) -> Option<&'a str> {
    s.values.get(k).map(String::as_str)
}

fn num(s: &Snapshot, k: &str) -> i64 {
    v(s, k)
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("snapshot {}: no number at {k}", s.index))
}

/// The index of the first snapshot at or after `from` for which `f` holds.
fn first(tl: &Timeline, from: usize, what: &str, f: impl Fn(&Snapshot) -> bool) -> usize {
    tl.snapshots[from..]
        .iter()
        .position(f)
        .map(|i| i + from)
        .unwrap_or_else(|| {
            panic!(
                "no snapshot after #{from} where {what}:\n{}",
                timeline_text(tl)
            )
        })
}

/// A followed task's value (`task[COMM:PID].FIELD`), by command name.
fn task<'a>(s: &'a Snapshot, comm: &str, field: &str) -> &'a str {
    s.values
        .iter()
        .find(|(k, _)| {
            k.strip_prefix(&format!("task[{comm}:"))
                .is_some_and(|r| r.ends_with(&format!("].{field}")))
        })
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("snapshot {}: {comm} not followed", s.index))
}

fn timeline_text(tl: &Timeline) -> String {
    use quiesce::report::Report;
    tl.text()
}

const D: &str = "srcu.domains[lesson_srcu]";

/// The lesson's callbacks: `(address, segment)` of each.
fn callbacks(s: &Snapshot) -> Vec<(String, String)> {
    s.values
        .iter()
        .filter_map(|(k, val)| {
            let rest = k.strip_prefix(&format!("{D}.callbacks["))?;
            let (addr, field) = rest.split_once("].")?;
            (field == "segment").then(|| (addr.to_string(), val.clone()))
        })
        .collect()
}

#[test]
fn a_lesson_watched_over_qmp_shows_every_transition() {
    let Some(rel) = release("bookworm") else {
        return;
    };
    let g = Guest::boot("lesson-guest.sh", "lesson", &[], Vec::new());
    let out = g.dir.join("timeline.json");
    let ko = g.dir.join("quiesce_lesson.ko");
    let (code, _, err) = run_quiesce(&[
        "watch",
        "-c",
        &g.sock(),
        "-s",
        rel.vmlinux().to_str().unwrap(),
        "-s",
        ko.to_str().unwrap(),
        "--every",
        "200",
        "--srcu",
        "lesson_srcu",
        "--print",
        "lesson_step",
        "--print",
        "lesson_srcu_cbs_invoked",
        "--print",
        "lesson_rcu_cbs_invoked",
        "--print",
        "lesson_nocb_cbs_invoked",
        "--task",
        "qhl_cpu0",
        "--task",
        "qhl_cpu1",
        "--until",
        "lesson_step=13",
        "--seconds",
        "180",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let tl = timeline::load(&out).unwrap();
    let last = tl.snapshots.last().unwrap();
    assert_eq!(
        num(last, "print.lesson_step"),
        13,
        "the lesson ran to its end"
    );
    assert!(
        g.running(),
        "watch leaves a guest it found running, running"
    );

    // SRCU: the reader inside, then SCAN1, SCAN2, IDLE
    let step = |s: &Snapshot| num(s, "print.lesson_step");
    let reader_in = first(&tl, 0, "the reader is inside, no GP yet", |s| {
        step(s) == 1 && v(s, &format!("{D}.phase")) == Some("IDLE")
    });
    let s = &tl.snapshots[reader_in];
    assert_eq!(num(s, &format!("{D}.readers[0]")), 1);
    assert_eq!(num(s, &format!("{D}.current_idx")), 0);
    let gp0 = num(s, &format!("{D}.gp_seq"));
    let scan1 = first(&tl, reader_in, "SCAN1", |s| {
        v(s, &format!("{D}.phase")) == Some("SCAN1")
    });
    let s = &tl.snapshots[scan1];
    assert_eq!(
        num(s, &format!("{D}.gp_seq")),
        gp0 + 1,
        "rcu_seq_start: state 1"
    );
    assert_eq!(num(s, &format!("{D}.readers[0]")), 1);
    assert_eq!(callbacks(s).len(), 1);
    // CPU 1 runs qhl_cpu1's busy loop (that is what holds SCAN1; the last snapshot of step
    // 2 is well inside its 1.5 s): its stack is unwound from the vCPU's registers read at
    // that snapshot's stop, not at the first one's
    let busy = tl.snapshots[scan1..]
        .iter()
        .take_while(|s| step(s) <= 2)
        .last()
        .unwrap();
    assert_eq!(task(busy, "qhl_cpu1", "state"), "RU");
    let stack = task(busy, "qhl_cpu1", "stack");
    assert!(
        stack.contains("qhl_cpu1 < kthread") && !stack.contains("do_idle"),
        "{stack}"
    );
    let scan2 = first(&tl, scan1, "SCAN2", |s| {
        v(s, &format!("{D}.phase")) == Some("SCAN2")
    });
    let s = &tl.snapshots[scan2];
    assert_eq!(num(s, &format!("{D}.gp_seq")), gp0 + 2);
    assert_eq!(num(s, &format!("{D}.current_idx")), 1, "the index flipped");
    assert_eq!(num(s, &format!("{D}.waits_on_idx")), 0);
    assert_eq!(
        num(s, &format!("{D}.readers[0]")),
        1,
        "the reader still on index 0"
    );
    assert_eq!(num(s, "print.lesson_srcu_cbs_invoked"), 0);
    // the followed task: the reader's kthread waits for the step-4 signal
    // (wait_for_completion, D state; it tail-calls __wait_for_common, so that is the frame
    // under qhl_cpu0)
    assert_eq!(task(s, "qhl_cpu0", "state"), "UN");
    let stack = task(s, "qhl_cpu0", "stack");
    assert!(
        stack.contains("schedule < ") && stack.contains("__wait_for_common < qhl_cpu0"),
        "{stack}"
    );
    let idle = first(&tl, scan2, "IDLE again", |s| {
        v(s, &format!("{D}.phase")) == Some("IDLE")
    });
    let s = &tl.snapshots[idle];
    assert_eq!(
        num(s, &format!("{D}.gp_seq")),
        gp0 + 4,
        "rcu_seq_end: one grace period"
    );
    assert_eq!(num(s, &format!("{D}.readers[0]")), 0);
    // the first callback WAIT, then DONE (the second queued), then both invoked
    let wait = callbacks(&tl.snapshots[scan2]);
    assert_eq!(wait[0].1, "WAIT", "{wait:?}");
    let done = first(&tl, idle, "the first callback in DONE", |s| {
        callbacks(s)
            .iter()
            .any(|(a, seg)| *a == wait[0].0 && seg == "DONE")
    });
    assert_eq!(callbacks(&tl.snapshots[done]).len(), 2);
    assert_eq!(num(&tl.snapshots[done], "print.lesson_srcu_cbs_invoked"), 0);
    let invoked = first(&tl, done, "both callbacks invoked", |s| {
        num(s, "print.lesson_srcu_cbs_invoked") == 2
    });
    assert!(callbacks(&tl.snapshots[invoked]).is_empty());

    // RCU: qsmask 0x6 → 0x2 → 0 with the grace period in progress, then over
    let mask = |s: &Snapshot| num(s, "rcu.nodes[0].qsmask");
    let rcu_from = first(&tl, invoked, "the RCU lesson", |s| step(s) >= 7);
    let both = first(&tl, rcu_from, "qsmask 0x6", |s| mask(s) == 6);
    assert_eq!(v(&tl.snapshots[both], "rcu.gp_in_progress"), Some("true"));
    let gp = num(&tl.snapshots[both], "rcu.gp_seq");
    let one = first(&tl, both, "qsmask 0x2", |s| mask(s) == 2);
    assert_eq!(
        num(&tl.snapshots[one], "rcu.gp_seq"),
        gp,
        "the same grace period"
    );
    assert_eq!(v(&tl.snapshots[one], "rcu.holdouts[1].cpu"), Some("1"));
    // the holdout's task is the one running on CPU 1, inside its reader
    assert_eq!(task(&tl.snapshots[one], "qhl_cpu1", "state"), "RU");
    assert_eq!(task(&tl.snapshots[one], "qhl_cpu1", "cpu"), "1");
    let over = first(&tl, one, "the grace period over", |s| {
        num(s, "print.lesson_rcu_cbs_invoked") == 1
    });
    let s = &tl.snapshots[over];
    assert!(num(s, "rcu.gp_seq") >= gp + 3, "gp_seq moved on past {gp}");
    // no-CBs: CPU 2 offloaded (rcu_nocbs=2) to rcuop/2, its callback waits while CPU 2 has
    // interrupts off, then rcuop/2 invokes it (the kernel log says so between snapshots)
    let s0 = &tl.snapshots[0];
    assert_eq!(v(s0, "rcu.cpus[2].nocb.offloaded"), Some("true"));
    assert_eq!(v(s0, "rcu.cpus[2].nocb.cb_kthread.comm"), Some("rcuop/2"));
    assert_eq!(
        v(s0, "rcu.cpus[0].nocb.offloaded"),
        Some("false"),
        "only CPU 2"
    );
    let queued = first(&tl, over, "the no-CBs callback queued", |s| {
        step(s) == 11 && num(s, "rcu.cpus[2].cb_len") >= 1
    });
    assert_eq!(
        num(&tl.snapshots[queued], "print.lesson_nocb_cbs_invoked"),
        0
    );
    let by_rcuop = first(&tl, queued, "the no-CBs callback invoked", |s| {
        num(s, "print.lesson_nocb_cbs_invoked") == 1
    });
    // qhl_cpu1 returned after its reader (step 9): gone, and said so
    assert_eq!(v(last, "task[qhl_cpu1]"), Some("no such task"));
    assert!(
        tl.snapshots[queued..=by_rcuop]
            .iter()
            .flat_map(|s| &s.log)
            .any(|l| l.contains("no-CBs callback invoked by rcuop/2")),
        "the log between the snapshots names rcuop/2"
    );
    // every change found its field explanation, except quiesce's own notes and the prints
    let changes = timeline::changes(&tl.snapshots[scan1 - 1].values, &tl.snapshots[scan1].values);
    let phase = changes
        .iter()
        .find(|c| c.path == format!("{D}.phase"))
        .unwrap();
    assert_eq!(phase.field, Some("srcu.phase"));

    // replayed from the file, no guest needed
    let (code, text, err) = run_quiesce(&["timeline", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("IDLE → SCAN1   [srcu.phase]"), "{text}");
    assert!(text.contains("rcu.nodes[0].qsmask"), "{text}");
    update_guide(
        &tl,
        &[
            reader_in, scan1, scan2, idle, done, invoked, both, one, over, queued, by_rcuop,
        ],
    );

    // the TUI on the same guest: S takes snapshots (the guest runs half a second between
    // them), :timeline FILE loads the watched one, > steps to SCAN1, its change highlighted
    let (mut app, jobs, rx) = common::screen::open_with_jobs(quiesce::report::Target::new(
        g.sock(),
        vec![rel.vmlinux(), ko.clone()],
    ));
    app.handle_event(UiEvent::Resize(200, 60));
    // S in the task list also follows the selected task
    pump(&mut app, &rx, |a| !a.tasks.is_empty());
    let sel = app.selected_task().unwrap().clone();
    let attached: Vec<_> = app.tasks.iter().map(|t| (t.pid, t.last_arrival)).collect();
    for n in 1..=2 {
        let effects = app.handle_key(Key::ch('S'));
        quiesce::tui::run_effects(&jobs, None, effects);
        pump(&mut app, &rx, |a| {
            a.timeline.as_ref().is_some_and(|t| t.snapshots.len() == n)
        });
    }
    // every pane shows the moment of the last snapshot, not the attach: the task list,
    // each backtrace (read again here, the guest stopped since) and the wait graph
    pump(&mut app, &rx, |a| !a.busy() && a.moment == 2);
    let k = jobs.kernel().unwrap();
    let now = k.tasks().unwrap().tasks;
    let shown = |ts: &[quiesce::kernel::tasks::Task]| -> Vec<_> {
        ts.iter().map(|t| (t.pid, t.st, t.last_arrival)).collect()
    };
    assert_eq!(shown(&app.tasks), shown(&now));
    assert_ne!(
        attached,
        now.iter()
            .map(|t| (t.pid, t.last_arrival))
            .collect::<Vec<_>>(),
        "the guest ran a second between attach and the last snapshot: some task was switched in"
    );
    let uw = quiesce::unwind::task::Unwinder::new(&k).unwrap();
    for t in &now {
        let bt = app
            .backtraces
            .get(&t.addr)
            .unwrap_or_else(|| panic!("{} not unwound", t.pid));
        assert_eq!(
            bt.functions(),
            uw.backtrace(&k, t).functions(),
            "pid {}",
            t.pid
        );
    }
    let snap = &app.timeline.as_ref().unwrap().snapshots[1];
    let key = format!("task[{}:{}].state", sel.comm, sel.pid);
    assert!(snap.values.contains_key(&key), "{key} not in the snapshot");
    assert_eq!(app.right, Pane::Timeline);
    let rows = app.rows(Pane::Timeline);
    let head = rows[0].plain();
    assert!(head.starts_with("snapshot 2 of 2"), "{head}");
    let jiffies: i64 = head
        .split(" (")
        .nth(1)
        .and_then(|x| x.split(' ').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{head}"));
    assert!(jiffies > 0, "the guest ran between the snapshots: {head}");
    app.handle_key(Key::ch('<'));
    assert!(
        app.rows(Pane::Timeline)[1]
            .plain()
            .starts_with("the first snapshot")
    );
    let saved = g.dir.join("tui-timeline.json");
    run_line(
        &mut app,
        &jobs,
        &format!("timeline-save {}", saved.display()),
    );
    pump(&mut app, &rx, |_| saved.exists());
    assert_eq!(timeline::load(&saved).unwrap().snapshots.len(), 2);
    // the watched timeline, loaded
    run_line(&mut app, &jobs, &format!("timeline {}", out.display()));
    let n = tl.snapshots.len();
    // the pane gets the timeline, and the command's own output (the replay's text) comes
    // to the result pane
    pump(&mut app, &rx, |a| {
        a.timeline.as_ref().is_some_and(|t| t.snapshots.len() == n)
            && a.result
                .as_ref()
                .is_some_and(|(t, _)| t.starts_with(":timeline"))
    });
    let (_, replay) = app.result.as_ref().unwrap();
    assert!(replay.contains("IDLE → SCAN1   [srcu.phase]"), "{replay}");
    app.handle_key(Key::ch('8'));
    for _ in 0..scan1 {
        app.handle_key(Key::ch('>'));
    }
    let rows = app.rows(Pane::Timeline);
    let phase = rows
        .iter()
        .find(|r| r.plain().contains(&format!("{D}.phase  IDLE → SCAN1")))
        .unwrap_or_else(|| panic!("{:?}", rows.iter().map(|r| r.plain()).collect::<Vec<_>>()));
    assert_eq!(phase.cells[0].scope, "ui.timeline.changed");
    assert_eq!(phase.fields, vec!["srcu.phase"]);
    let text = common::screen::screen(&app);
    assert!(text.contains("8 Timeline"), "{text}");
    // the guide's picture of the pane, at the size of its other pictures, once the
    // `:timeline` job has ended (its path is not on the status line)
    pump(&mut app, &rx, |a| !a.busy());
    app.handle_event(UiEvent::Resize(180, 42));
    let text = common::screen::screen(&app);
    assert!(text.contains("IDLE → SCAN1"), "{text}");
    // the status line names the socket: as the guide's commands do, and in the same width
    let sock = g.sock();
    let text = text.replace(&sock, &format!("{:<1$}", "qmp:OUT/qmp.sock", sock.len()));
    common::screen::update_doc("lesson:pane", &common::screen::picture(&text));
}

/// Type `:line` and Enter, and run what that starts.
fn run_line(app: &mut quiesce::tui::app::App, jobs: &quiesce::tui::jobs::Jobs, line: &str) {
    app.handle_key(Key::ch(':'));
    for c in line.chars() {
        app.handle_key(Key::ch(c));
    }
    let effects = app.handle_key(Key::plain(KeyCode::Enter));
    quiesce::tui::run_effects(jobs, None, effects);
}

/// Handle the jobs' messages until `done` holds (60 s at most).
fn pump(
    app: &mut quiesce::tui::app::App,
    rx: &std::sync::mpsc::Receiver<UiEvent>,
    done: impl Fn(&quiesce::tui::app::App) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done(app) {
        let ev = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|e| panic!("the TUI's jobs ({e}): {:?} {:?}", app.jobs, app.message));
        app.handle_event(ev);
    }
}

/// With UPDATE_DOCS=1: the lesson chapter's pictures, the changes at each step.
fn update_guide(tl: &Timeline, at: &[usize]) {
    let mut body = String::from("```text\n");
    for &i in at {
        let s = &tl.snapshots[i];
        let ch = timeline::changes(&tl.snapshots[i - 1].values, &s.values);
        // a followed task where its state changed (a running task's stack moves at every
        // snapshot: noise in a picture)
        let woke_or_slept: Vec<&str> = ch
            .iter()
            .filter_map(|c| c.path.strip_suffix(".state"))
            .filter(|t| t.starts_with("task["))
            .collect();
        let shown = |path: &str| match path.strip_prefix("task[") {
            Some(_) => match path.rsplit_once("].") {
                Some((t, _)) => woke_or_slept.contains(&&path[..t.len() + 1]),
                None => true,
            },
            None => true,
        };
        let keep: Vec<_> = ch
            .iter()
            .filter(|c| {
                !c.path.contains(".notes[")
                    && !c.path.contains(".curr.")
                    && !c.path.contains(".func.")
                    && shown(&c.path)
            })
            .cloned()
            .collect();
        body.push_str(&timeline::snapshot_text(s, &keep));
        body.push('\n');
    }
    body.push_str("```\n");
    common::screen::update_doc("lesson:timeline", &body);
}
