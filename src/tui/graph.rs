//! The wait graph's shape as the TUI consumes it: [`from_analysis`] turns the analysis'
//! graph (`src/analysis/`, `quiesce explain`) into a [`GraphData`] (nodes with a kind, a
//! label and an address; edges with evidence text and an optional source location) and
//! [`steps_from`] turns `explain`'s findings into walkthrough steps; a background job sends
//! both once every task is unwound.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// `task`, `srcu`, `mutex`, `cpu`, `completion`…
    pub kind: String,
    pub label: String,
    pub addr: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLoc {
    pub file: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEdge {
    /// Indices into `GraphData::nodes`: `from` waits on `to`.
    pub from: usize,
    pub to: usize,
    pub evidence: String,
    pub location: Option<SourceLoc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphData {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// The pane's rows: each edge as `from → to  verb: evidence  file:line`. With a task
/// selected, the edges reachable from it come first, in the order a person follows them
/// (the task's wait, who holds that, what that one waits on…), then the rest. Enter
/// follows an edge to the task at its end, else opens the source where the wait happens.
pub fn graph_rows(g: &GraphData, from_task: Option<u64>) -> Vec<super::rows::Row> {
    use super::rows::{Row, Target};
    let label = |i: usize| {
        g.nodes
            .get(i)
            .map(|n| format!("{} {}", n.kind, n.label))
            .unwrap_or_else(|| format!("?{i}"))
    };
    let task_at = |i: usize| {
        g.nodes
            .get(i)
            .filter(|n| n.kind == "task")
            .and_then(|n| n.addr)
    };
    let mut rows = vec![Row::new().cell(
        "ui.header",
        format!("{} nodes, {} edges", g.nodes.len(), g.edges.len()),
    )];
    for e in follow_order(g, from_task).into_iter().map(|i| &g.edges[i]) {
        let mut r = Row::new()
            .cell("ui.link", label(e.from))
            .cell("ui", " → ")
            .cell("ui.link", label(e.to))
            .cell("ui.note", format!("  {}", e.evidence));
        if let Some(l) = &e.location {
            r = r.cell("frame.location", format!("  {}:{}", l.file, l.line));
        }
        // Enter follows the edge: to the task at its end (the holder, the worker, the task
        // on a CPU), else to the line where the wait happens, else to the waiting task.
        if let Some(a) = task_at(e.to) {
            r = r.to(Target::Task(a));
        } else if let Some(l) = &e.location {
            r = r.to(Target::Source {
                file: l.file.clone(),
                line: l.line,
            });
        } else if let Some(a) = task_at(e.from) {
            r = r.to(Target::Task(a));
        }
        rows.push(r);
    }
    rows
}

/// Edge indices: breadth-first from the selected task's node (bounded: each edge once),
/// then every edge not reached.
fn follow_order(g: &GraphData, from_task: Option<u64>) -> Vec<usize> {
    let mut order = Vec::with_capacity(g.edges.len());
    let mut used = vec![false; g.edges.len()];
    if let Some(start) = from_task.and_then(|a| {
        g.nodes
            .iter()
            .position(|n| n.kind == "task" && n.addr == Some(a))
    }) {
        let mut queue = std::collections::VecDeque::from([start]);
        let mut seen = vec![false; g.nodes.len()];
        seen[start] = true;
        while let Some(n) = queue.pop_front() {
            for (i, e) in g.edges.iter().enumerate() {
                if e.from == n && !used[i] {
                    used[i] = true;
                    order.push(i);
                    if e.to < seen.len() && !seen[e.to] {
                        seen[e.to] = true;
                        queue.push_back(e.to);
                    }
                }
            }
        }
    }
    order.extend((0..g.edges.len()).filter(|&i| !used[i]));
    order
}

/// The analysis' wait graph as the pane shows it: every edge with its most telling piece of
/// evidence, and the outermost evidence location (the line where a task blocks).
pub fn from_analysis(g: &crate::analysis::graph::Graph) -> GraphData {
    use crate::analysis::graph::NodeKind;
    let nodes = g
        .nodes
        .iter()
        .map(|n| GraphNode {
            kind: n.id.kind.name().to_string(),
            label: n.label.clone(),
            addr: (n.id.kind == NodeKind::Task).then_some(n.id.key),
        })
        .collect();
    let pos = |id| g.nodes.iter().position(|n| n.id == id);
    let edges = g
        .edges
        .iter()
        .filter_map(|e| {
            // The most telling piece: a field with its value, else the outermost frame.
            let ev = e
                .evidence
                .iter()
                .find(|ev| ev.field.is_some() && ev.value.is_some())
                .or(e.evidence.last());
            let text = ev
                .map(|ev| {
                    let mut s = String::new();
                    if let (Some(f), Some(v)) = (&ev.field, &ev.value) {
                        s.push_str(&format!("{f} = {v}"));
                    } else if let Some(f) = &ev.function {
                        s.push_str(f);
                    }
                    if let Some(n) = &ev.note {
                        if !s.is_empty() {
                            s.push_str(" — ");
                        }
                        s.push_str(n);
                    }
                    s
                })
                .unwrap_or_default();
            Some(GraphEdge {
                from: pos(e.from)?,
                to: pos(e.to)?,
                evidence: format!(
                    "{}{} [{}]{}",
                    e.kind.verb(),
                    if e.candidate { " (candidate)" } else { "" },
                    e.basis().words(),
                    if text.is_empty() {
                        String::new()
                    } else {
                        format!(": {text}")
                    }
                ),
                // The outermost frame of the evidence: `__synchronize_srcu` rather than the
                // inlined `do_wait_for_common` every completion wait shares.
                location: e
                    .evidence
                    .iter()
                    .rev()
                    .find_map(|ev| parse_location(ev.location.as_deref()?)),
            })
        })
        .collect();
    GraphData { nodes, edges }
}

/// `kernel/rcu/srcutree.c:1243` → a source location.
fn parse_location(s: &str) -> Option<SourceLoc> {
    let (file, line) = s.rsplit_once(':')?;
    Some(SourceLoc {
        file: file.to_string(),
        line: line.parse().ok()?,
    })
}

/// Walkthrough steps from `explain`: each step moves to the pane that shows its evidence —
/// the source line where a task blocks, the SRCU domain, the RCU CPU, or the task.
pub fn steps_from(e: &crate::analysis::walkthrough::Explanation) -> Vec<super::walkthrough::Step> {
    use super::app::Pane;
    use super::walkthrough::{Selection, Step};
    use crate::analysis::graph::NodeKind;
    let mut out = Vec::new();
    for (fi, w) in e.findings.iter().enumerate() {
        let f = &w.finding;
        let also: Vec<u64> = f
            .tasks
            .iter()
            .skip(1)
            .filter(|t| !f.cycle.contains(t) && f.chain.nodes.first() != Some(*t))
            .filter(|&&t| e.graph.out_edges(t).next().is_some())
            .map(|t| t.key)
            .collect();
        for (si, s) in w.steps.iter().enumerate() {
            let node = w
                .finding
                .chain
                .nodes
                .get(si)
                .and_then(|id| e.graph.nodes.iter().find(|n| n.id == *id));
            let loc = s
                .evidence
                .iter()
                .find_map(|ev| parse_location(ev.location.as_deref()?));
            let (pane, select) = match (node.map(|n| n.id.kind), loc) {
                (Some(NodeKind::SrcuDomain), _) => (
                    Pane::Srcu,
                    Selection::SrcuDomain(node.unwrap().label.clone()),
                ),
                (Some(NodeKind::Cpu), _) => {
                    (Pane::Rcu, Selection::RcuCpu(node.unwrap().id.key as u32))
                }
                (_, Some(l)) => (
                    Pane::Source,
                    Selection::Source {
                        file: l.file,
                        line: l.line,
                    },
                ),
                (Some(NodeKind::Task), None) => {
                    (Pane::Backtrace, Selection::Task(node.unwrap().id.key))
                }
                _ => (Pane::WaitGraph, Selection::None),
            };
            // The task: the edge's end when it is one (the holder, the worker), else its
            // start (the waiter); the "also" steps after the chain are the finding's other
            // waiting tasks, in the order the walkthrough lists them.
            let task_of =
                |id: &crate::analysis::graph::NodeId| (id.kind == NodeKind::Task).then_some(id.key);
            let task = match w.finding.chain.edges.get(si) {
                Some(&ei) => e
                    .graph
                    .edges
                    .get(ei)
                    .and_then(|edge| task_of(&edge.to).or_else(|| task_of(&edge.from))),
                None => also.get(si - w.finding.chain.edges.len()).copied(),
            };
            let mut text = format!("{}.{} {}", fi + 1, s.n, s.text);
            if let Some(t) = s.teaching {
                text.push_str("\n▸ ");
                text.push_str(t);
            }
            if si + 1 == w.steps.len() {
                text.push_str(&format!("\n⇒ {}", w.root_cause));
            }
            out.push(Step {
                pane,
                select,
                text,
                task,
                finding: fi + 1,
            });
        }
    }
    out
}
