//! The wait graph and the walkthrough of a hang.
//!
//! - [`graph`]: plain data — nodes keyed by (kind, address), edges with evidence;
//! - [`waits`]: from a dump, task → waited object from each blocked task's stack (one file
//!   per wait kind), object → who holds or advances it;
//! - [`log`]: the graph pasted text allows (`crate::artifacts::parse_text`), no dump needed;
//! - [`find`]: cycles, chains from each stuck task to where the hang stops, ranked findings;
//! - [`walkthrough`]: numbered steps from each stuck task to its root cause, with evidence
//!   and short teaching notes on the RCU / SRCU mechanisms involved.
//!
//! Entry points: [`graph_from_dump`], [`log::graph_from_parsed`], [`walkthrough::explain`].

pub mod chains;
pub mod find;
pub mod graph;
pub mod layout;
pub mod log;
pub mod svg;
pub mod waits;
pub mod walkthrough;

use crate::kernel::{Kernel, KernelError};
use crate::unwind::task::{Backtrace, Unwinder};
use graph::Graph;
use waits::Ctx;

/// Build the wait graph of every blocked (`D` / `UN`) task of a dump, plus an RCU grace
/// period that is held up with nobody seen waiting for it.
pub fn graph_from_dump(k: &Kernel) -> Result<Graph, KernelError> {
    use rayon::prelude::*;
    let list = k.tasks()?;
    let u = Unwinder::new(k)?;
    let traces: Vec<_> = list.tasks.par_iter().map(|t| u.backtrace(k, t)).collect();
    let mut g = graph_from_traces(k, &u, traces, Known::default());
    g.errors.extend(list.errors);
    Ok(g)
}

/// Reports the caller has already decoded (the TUI's SRCU and RCU panes): the graph uses
/// them instead of decoding the same state again.
#[derive(Default)]
pub struct Known {
    pub srcu: Option<crate::rcu::srcu::SrcuReport>,
    pub rcu: Option<crate::rcu::tree::RcuReport>,
}

/// The wait graph from backtraces already taken (one per task; the TUI has them from its
/// unwinding job), so no task is unwound twice.
pub fn graph_from_traces(k: &Kernel, u: &Unwinder, traces: Vec<Backtrace>, known: Known) -> Graph {
    let tasks = traces.iter().map(|b| b.task.clone()).collect();
    let cx = Ctx::new(k, u, tasks, traces);
    if let Some(r) = known.srcu {
        let _ = cx.srcu.set(Some(r));
    }
    if let Some(r) = known.rcu {
        let _ = cx.rcu.set(Some(r));
    }
    let mut g = Graph::new("dump");
    for ti in 0..cx.tasks.len() {
        if cx.tasks[ti].st != "UN" {
            continue;
        }
        // What the kernel records first (exact), then what the stack shows (inferred).
        let decoded = waits::blocker::decode(&cx, ti, &mut g)
            || waits::mutex::decode(&cx, ti, &mut g)
            || waits::rwsem::decode(&cx, ti, &mut g)
            || waits::semaphore::decode(&cx, ti, &mut g)
            || waits::percpu_rwsem::decode(&cx, ti, &mut g)
            || waits::jbd2::decode(&cx, ti, &mut g)
            || waits::buffer::decode(&cx, ti, &mut g)
            || waits::folio::decode(&cx, ti, &mut g)
            || waits::blkio::decode(&cx, ti, &mut g)
            || waits::rcu::decode_barrier(&cx, ti, &mut g)
            || waits::fanotify::decode(&cx, ti, &mut g)
            || waits::completion::decode(&cx, ti, &mut g)
            || waits::sleep::decode(&cx, ti, &mut g)
            || waits::waitqueue::decode(&cx, ti, &mut g);
        if !decoded {
            let t = cx.task_node(&mut g, ti);
            if let Some(n) = g.get_mut(t) {
                n.fields.push(("wait".into(), "not decoded".into()));
            }
        }
    }
    waits::rcu::link_stall(&cx, &mut g);
    drop_waiting_candidates(&mut g);
    g
}

/// A task found as a candidate holder of an object it is itself waiting on is a waiter
/// decoded later, not a holder (candidates come from code that names the object, and a
/// waiter's code does): drop those edges once every task is decoded. An object left with
/// no way out says so.
fn drop_waiting_candidates(g: &mut graph::Graph) {
    use graph::EdgeKind;
    let waits: std::collections::HashSet<(graph::NodeId, graph::NodeId)> = g
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::WaitsOn)
        .map(|e| (e.from, e.to))
        .collect();
    let stale =
        |e: &graph::Edge| e.kind == EdgeKind::CandidateHolder && waits.contains(&(e.to, e.from));
    let objs: Vec<graph::NodeId> = g
        .edges
        .iter()
        .filter(|e| stale(e))
        .map(|e| e.from)
        .collect();
    if objs.is_empty() {
        return;
    }
    g.edges.retain(|e| !stale(e));
    for obj in objs {
        if g.out_edges(obj).next().is_none()
            && let Some(n) = g.get_mut(obj)
        {
            n.no_waker.get_or_insert_with(|| {
                "only its own waiters name it: no holder found on any other task's stack or in its code".into()
            });
        }
    }
}
