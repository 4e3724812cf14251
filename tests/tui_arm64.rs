//! The TUI on the real arm64 fixtures: the seed-shaped hang (a `synchronize_srcu()` caller
//! whose domain's readers wait for fanotify permission events a listener never answers)
//! opened through the background jobs, with and without the vmlinux, and read off the
//! panes as a user would: the task table, a backtrace through arm64 frame records, the
//! SRCU pane on the selected task's domain, and the wait graph's chain to the listener.
//!
//! Skips, like `arm64_real.rs`, when no arm64 fixture is built.

mod common;

use common::screen::screen;
use quiesce::tui::actions::Key;
use quiesce::tui::app::{App, Pane, UiEvent};
use quiesce::tui::jobs::Jobs;
use std::path::PathBuf;

/// Open a dump through the TUI's jobs; `symbols` empty: the dump-only mode.
fn open(core: PathBuf, symbols: Vec<PathBuf>) -> (App, Jobs, std::sync::mpsc::Receiver<UiEvent>) {
    common::screen::open_with_jobs(quiesce::report::Target {
        no_debuginfo: symbols.is_empty(),
        ..quiesce::report::Target::new(core, symbols)
    })
}

#[test]
fn arm64_seed_shaped_hang_in_the_panes() {
    let rels = common::releases_of_arch("aarch64");
    if rels.is_empty() {
        eprintln!("SKIP: no arm64 fixtures (fixtures/build.sh arm64)");
        return;
    }
    let mut opened = 0;
    for rel in rels {
        let Some(d) = rel.elf_of("hang") else {
            continue;
        };
        let with_dwarf = vec![rel.vmlinux(), rel.modules_dir()];
        for symbols in [with_dwarf, vec![]] {
            let what = format!(
                "{} {} ({})",
                rel.name,
                d.name,
                if symbols.is_empty() {
                    "dump-only"
                } else {
                    "DWARF"
                }
            );
            let (mut app, _jobs, _rx) = open(d.path.clone(), symbols);
            opened += 1;
            app.handle_event(UiEvent::Resize(200, 60));
            // The task table: the seed-shaped scenario's tasks are there.
            let text = screen(&app);
            assert!(text.contains("Tasks "), "{what}:\n{text}");
            for comm in ["qh_fan_sync", "qh_srcu_sync", "cat"] {
                assert!(
                    app.tasks.iter().any(|t| t.comm == comm),
                    "{what}: task table lacks {comm}"
                );
            }
            // qh_fan_sync's backtrace: asleep in synchronize_srcu, switched out by
            // __switch_to (arm64's cpu_context), down to its kthread.
            let sync = app
                .tasks
                .iter()
                .find(|t| t.comm == "qh_fan_sync")
                .unwrap_or_else(|| panic!("{what}: no qh_fan_sync"))
                .addr;
            app.select_task(sync);
            app.handle_key(Key::ch('1'));
            assert_eq!(app.right, Pane::Backtrace, "{what}");
            let text = screen(&app);
            for f in [
                "__switch_to",
                "synchronize_srcu",
                "kthread",
                "ret_from_fork",
            ] {
                assert!(text.contains(f), "{what}: backtrace lacks {f}:\n{text}");
            }
            // The SRCU pane opens on the selected task's domain: the fanotify readers'
            // domain, with its grace period stuck in SCAN2 and a waiter.
            app.handle_key(Key::ch('3'));
            assert_eq!(app.right, Pane::Srcu, "{what}");
            let Some(Ok(r)) = &app.srcu else {
                panic!("{what}: SRCU not decoded")
            };
            let dom = &r.domains[app.srcu_domain];
            assert!(
                dom.waiters.iter().any(|w| w.comm == "qh_fan_sync"),
                "{what}: selected domain {} has no qh_fan_sync waiter: {:?}",
                dom.name,
                dom.waiters
            );
            let text = screen(&app);
            assert!(text.contains("SCAN2"), "{what}:\n{text}");
            // The wait graph, qh_fan_sync selected: the chain runs from it through the
            // domain and its blocked readers to the fanotify group and the listener.
            app.handle_key(Key::ch('5'));
            assert_eq!(app.right, Pane::WaitGraph, "{what}");
            let text = screen(&app);
            for s in [
                "qh_fan_sync",
                "fanotify group",
                "is answered by",
                "fanotify_hold",
            ] {
                assert!(text.contains(s), "{what}: wait graph lacks {s}:\n{text}");
            }
        }
    }
    assert!(opened > 0, "no arm64 hang dump opened");
}
