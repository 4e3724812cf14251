//! Every field the TUI's SRCU and RCU panes show has its explanation, and `explain_field`
//! (`i`) opens it on the real fixture: the holdout row of the RCU stall dump explains
//! qsmask and "QS owed", with this kernel's source locations, and Enter on one opens the
//! source pane there.

mod common;

use common::screen::{open_with_jobs, screen};
use quiesce::rcu::fields;
use quiesce::tui::actions::{Key, KeyCode};
use quiesce::tui::app::{App, Effect, Overlay, Pane, UiEvent};
use quiesce::tui::rows::Row;

/// Rows that show no kernel field: titles, quiesce's notes and errors, placeholders.
fn exempt(r: &Row) -> bool {
    let t = r.plain();
    let t = t.trim();
    t.is_empty()
        || ["── ", "rcu_node tree", "note:", "PARTIAL", "DOMAIN", "no "]
            .iter()
            .any(|p| t.starts_with(p))
}

fn check_rows(what: &str, rows: &[Row]) -> usize {
    let mut checked = 0;
    for r in rows.iter().filter(|r| !exempt(r)) {
        assert!(
            !r.fields.is_empty(),
            "{what}: a row with no field explained: {:?}",
            r.plain()
        );
        for k in &r.fields {
            assert!(fields::lookup(k).is_some(), "{what}: unknown field key {k}");
        }
        checked += 1;
    }
    checked
}

fn wait_for_fields(app: &mut App, rx: &std::sync::mpsc::Receiver<UiEvent>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.fields.is_none() {
        let ev = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("the fields job reports");
        app.handle_event(ev);
    }
}

#[test]
fn tui_fields_are_explained_and_open_their_source() {
    let Some(rel) = common::release("bookworm") else {
        return;
    };
    let core = rel.dir.join("dumps/rcustall.elf");
    let (mut app, jobs, rx) = open_with_jobs(quiesce::report::Target::new(
        core,
        vec![rel.vmlinux(), rel.modules_dir()],
    ));
    app.handle_event(UiEvent::Resize(180, 50));

    // every row of both panes, every SRCU domain's details
    let n_domains = match &app.srcu {
        Some(Ok(r)) => r.domains.len(),
        other => panic!("srcu: {other:?}"),
    };
    let mut checked = 0;
    for i in 0..n_domains {
        app.srcu_domain = i;
        checked += check_rows("srcu", &app.rows(Pane::Srcu));
    }
    checked += check_rows("rcu", &app.rows(Pane::Rcu));
    assert!(checked > 30, "{checked} rows checked");

    // `i` on the holdout row
    app.handle_key(Key::ch('4'));
    let rows = app.rows(Pane::Rcu);
    let h = rows
        .iter()
        .position(|r| r.plain().starts_with("holdout CPU"))
        .expect("the stall dump has a holdout");
    app.set_cursor(Pane::Rcu, h);
    let effects = app.handle_key(Key::ch('i'));
    assert_eq!(effects, vec![Effect::ResolveFields]);
    quiesce::tui::run_effects(&jobs, None, effects);
    wait_for_fields(&mut app, &rx);
    let text = screen(&app);
    assert!(
        text.contains("Fields: rcu.node.qsmask, rcu.cpu.qs_owed"),
        "{text}"
    );
    assert!(
        text.contains("rcu_node.qsmask ← this kernel [every Tree RCU kernel"),
        "{text}"
    );
    assert!(
        text.contains("rcu_report_qs_rnp  kernel/rcu/tree.c:"),
        "{text}"
    );
    // a second `i` does not resolve again
    app.handle_key(Key::plain(KeyCode::Esc));
    assert!(app.overlay.is_none());
    assert!(app.handle_key(Key::ch('i')).is_empty());

    // down to the first function with a location, Enter: the source pane opens there
    let (rows, at) = match &app.overlay {
        Some(Overlay::Fields { rows, .. }) => {
            let at = rows
                .iter()
                .position(|r| r.target.is_some())
                .expect("a location");
            (rows.clone(), at)
        }
        other => panic!("{other:?}"),
    };
    for _ in 0..at {
        app.handle_key(Key::plain(KeyCode::Down));
    }
    let effects = app.handle_key(Key::plain(KeyCode::Enter));
    let want = match &rows[at].target {
        Some(quiesce::tui::rows::Target::Source { file, line }) => (file.clone(), *line),
        _ => unreachable!(),
    };
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::OpenSource { file, line, .. } if (file.clone(), *line) == want)
        ),
        "{effects:?}"
    );
    assert!(app.overlay.is_none());
    assert_eq!(app.right, Pane::Source);

    // outside the SRCU/RCU panes, a message says where it works
    app.handle_key(Key::ch('1'));
    assert!(app.handle_key(Key::ch('i')).is_empty());
    assert!(
        app.message
            .as_deref()
            .unwrap_or("")
            .contains("SRCU (3), RCU (4) or Timeline (8)")
    );
}
