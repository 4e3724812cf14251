//! Seed and edge-case tests for `parse_text`.

use super::*;

fn seed(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/seeds")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn artifacts_debug_dump() {
    for n in [
        "000_crash_foreach_bt_fanotify.txt",
        "001_ai_analysis_stack_trees.txt",
        "002_lkml_rcu_self_detected_stall.txt",
        "003_nocb_race_prose.txt",
        "004_qemu_rcu_stall_logs.txt",
    ] {
        let p = parse_text(&seed(n));
        eprintln!(
            "==== {n}: tasks={} stalls={} hung={} unparsed={} joined={}",
            p.tasks.len(),
            p.stalls.len(),
            p.hung_tasks.len(),
            p.unparsed_lines,
            p.joined_lines
        );
        for t in &p.tasks {
            eprintln!(
                "  task {:?} {:?} cpu={:?} st={:?} {:?} line={} shared={} :: {}",
                t.pid,
                t.comm,
                t.cpu,
                t.state,
                t.origin,
                t.line,
                t.stack_shared_by_hand,
                t.funcs().join(",")
            );
        }
        for g in p.stack_groups() {
            eprintln!(
                "  group n={} hand={} {:?}",
                g.members.len(),
                g.shared_by_hand,
                &g.funcs[..g.funcs.len().min(4)]
            );
        }
        for s in &p.unparsed_samples {
            eprintln!("  unparsed {s:?}");
        }
        eprintln!("{}", serde_json::to_string_pretty(&p.stalls).unwrap());
    }
}
