//! Tests of the cycle, chain and finding logic in `find.rs`, on hand-built graphs.

use super::*;
use crate::analysis::graph::{Edge, Evidence};

fn edge(g: &mut Graph, a: NodeId, b: NodeId, kind: EdgeKind) {
    g.edge(Edge {
        from: a,
        to: b,
        kind,
        candidate: false,
        what: Some("mutex".into()),
        evidence: vec![Evidence::note("test")],
    });
}

#[test]
fn cycle_made_on_purpose_is_found_and_walks_terminate() {
    let mut g = Graph::new("test");
    let t = |k| NodeId::new(NodeKind::Task, k);
    let m = |k| NodeId::new(NodeKind::Mutex, k);
    for (id, l) in [
        (t(1), "a:1"),
        (t(2), "b:2"),
        (t(3), "c:3"),
        (m(10), "ma"),
        (m(11), "mb"),
    ] {
        g.node(id, l);
    }
    edge(&mut g, t(1), m(11), EdgeKind::WaitsOn);
    edge(&mut g, m(11), t(2), EdgeKind::OwnedBy);
    edge(&mut g, t(2), m(10), EdgeKind::WaitsOn);
    edge(&mut g, m(10), t(1), EdgeKind::OwnedBy);
    edge(&mut g, t(3), m(10), EdgeKind::WaitsOn);
    // A second, overlapping loop and a self-loop: still terminates.
    edge(&mut g, m(11), m(11), EdgeKind::AdvancedBy);
    let cyc = cycles(&g);
    assert_eq!(cyc.len(), 1, "{cyc:?}");
    assert_eq!(cyc[0], vec![t(1), m(11), t(2), m(10)]);
    let c = chain_from(&g, t(3));
    assert_eq!(c.end, ChainEnd::Cycle { at: 1 });
    let f = findings(&g);
    assert_eq!(f[0].kind, FindingKind::Deadlock);
    assert_eq!(f[0].tasks, vec![t(1), t(2), t(3)]);
    assert!(
        f[0].explanation
            .contains("Also blocked behind the cycle: c:3")
    );
}

#[test]
fn a_deadlock_is_its_smallest_cycle_with_the_others_apart() {
    // t1 → ma → t2 → mb → t3 → mc → t1 is a 3-task loop, but mb is also (a candidate)
    // held by t1: the smallest cycle is t1 → ma → t2 → mb → t1. t3 sits in the same
    // strongly connected component off that cycle; t4 only waits on ma.
    let mut g = Graph::new("test");
    let t = |k| NodeId::new(NodeKind::Task, k);
    let m = |k| NodeId::new(NodeKind::Mutex, k);
    for (id, l) in [
        (t(1), "t1:1"),
        (t(2), "t2:2"),
        (t(3), "t3:3"),
        (t(4), "t4:4"),
        (m(10), "ma"),
        (m(11), "mb"),
        (m(12), "mc"),
    ] {
        g.node(id, l);
    }
    edge(&mut g, t(1), m(10), EdgeKind::WaitsOn);
    edge(&mut g, m(10), t(2), EdgeKind::OwnedBy);
    edge(&mut g, t(2), m(11), EdgeKind::WaitsOn);
    edge(&mut g, m(11), t(3), EdgeKind::OwnedBy);
    edge(&mut g, t(3), m(12), EdgeKind::WaitsOn);
    edge(&mut g, m(12), t(1), EdgeKind::OwnedBy);
    g.edge(Edge {
        from: m(11),
        to: t(1),
        kind: EdgeKind::CandidateHolder,
        candidate: true,
        what: None,
        evidence: vec![Evidence::note("test")],
    });
    edge(&mut g, t(4), m(10), EdgeKind::WaitsOn);
    assert_eq!(cycles(&g), vec![vec![t(1), m(10), t(2), m(11)]]);
    let f = findings(&g);
    assert_eq!(f[0].kind, FindingKind::Deadlock);
    assert_eq!(f[0].cycle, vec![t(1), m(10), t(2), m(11)]);
    assert_eq!(f[0].behind, vec![t(3), t(4)]);
    assert_eq!(f[0].tasks, vec![t(1), t(2), t(3), t(4)]);
    assert!(f[0].culprit_is_candidate);
    // Everything is explained by the one deadlock.
    assert_eq!(f.len(), 1, "{f:#?}");
    // The same graph with the labels swapped starts at the task that sorts first.
    g.get_mut(t(2)).unwrap().label = "a:2".into();
    assert_eq!(cycles(&g), vec![vec![t(2), m(11), t(1), m(10)]]);
}

#[test]
fn dense_random_graphs_terminate() {
    // Every node points at every other: cycles() and chains stay bounded.
    let mut g = Graph::new("test");
    let ids: Vec<NodeId> = (0..40).map(|i| NodeId::new(NodeKind::Task, i)).collect();
    for &i in &ids {
        g.node(i, format!("t{}", i.key));
    }
    for &a in &ids {
        for &b in &ids {
            edge(&mut g, a, b, EdgeKind::WaitsOn);
        }
    }
    assert_eq!(cycles(&g).len(), 1);
    for &a in &ids {
        let c = chain_from(&g, a);
        assert!(matches!(c.end, ChainEnd::Cycle { .. }));
        assert!(c.edges.len() <= MAX_CHAIN);
    }
    assert!(!findings(&g).is_empty());
}

#[test]
fn chain_ends_are_classified() {
    let mut g = Graph::new("test");
    let t = NodeId::new(NodeKind::Task, 1);
    let c = NodeId::new(NodeKind::Completion, 2);
    g.node(t, "w:1");
    g.node(c, "never").no_waker = Some("global completion, no task references it".into());
    edge(&mut g, t, c, EdgeKind::WaitsOn);
    let f = findings(&g);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FindingKind::NoWaker);
    assert!(f[0].explanation.contains("no waker found for never"));
    let cpu = NodeId::new(NodeKind::Cpu, 1);
    let gp = NodeId::new(NodeKind::RcuGp, 3);
    let t2 = NodeId::new(NodeKind::Task, 4);
    g.node(gp, "rcu_preempt");
    g.node(cpu, "CPU 1");
    g.node(t2, "spin:4").running = true;
    edge(&mut g, gp, cpu, EdgeKind::HeldUpBy);
    edge(&mut g, cpu, t2, EdgeKind::Running);
    assert_eq!(chain_from(&g, gp).end, ChainEnd::Running);
}
