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
    /// Why nothing will wake what waits here (a root cause), when the analysis says.
    pub no_waker: Option<String>,
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
    /// Inferred with no record that it holds (drawn dashed).
    pub candidate: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphData {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// The pane's rows: every chain drawn as boxes and arrows, the waiting task at the top and
/// what it waits for below, down to the root (a node nothing will wake, marked ⚑ with the
/// reason); a candidate edge is dashed (┆), an edge back to a node already drawn (a cycle)
/// ends in ↻. The selected task's chain comes first, then every other waiter's, each edge
/// drawn once. Enter on a box goes to its task; on an arrow it follows the edge to the task
/// at its end, else opens the source where the wait happens.
pub fn graph_rows(g: &GraphData, from_task: Option<u64>) -> Vec<super::rows::Row> {
    use super::rows::{Row, Target};
    use crate::analysis::chains::{Piece, draw_order, starts};
    let mut rows = vec![Row::new().cell(
        "ui.header",
        format!("{} nodes, {} edges", g.nodes.len(), g.edges.len()),
    )];
    let pairs: Vec<(usize, usize)> = g.edges.iter().map(|e| (e.from, e.to)).collect();
    let selected = from_task.and_then(|a| {
        g.nodes
            .iter()
            .position(|n| n.kind == "task" && n.addr == Some(a))
    });
    let first = starts(g.nodes.len(), &pairs, selected, &|i| {
        g.nodes[i].kind == "task"
    });
    let task_at = |i: usize| {
        g.nodes
            .get(i)
            .filter(|n| n.kind == "task")
            .and_then(|n| n.addr)
    };
    let indent = "  ";
    for piece in draw_order(g.nodes.len(), &pairs, &first) {
        match piece {
            Piece::Start => {
                if rows.len() > 1 {
                    rows.push(Row::new());
                }
            }
            Piece::Node(n) => box_rows(g, n, indent, &mut rows),
            Piece::Branch(n) => rows.push(
                Row::new()
                    .cell("ui", format!("{indent}⤷ also from "))
                    .cell("ui.link", node_text(&g.nodes[n])),
            ),
            Piece::Arrow(ei) | Piece::Back(ei) => {
                let e = &g.edges[ei];
                let bar = if e.candidate { "┆" } else { "│" };
                let mut r = Row::new()
                    .cell("ui", format!("{indent}   {bar} "))
                    .cell("ui.note", e.evidence.clone());
                if let Some(l) = &e.location {
                    r = r.cell("frame.location", format!("  {}:{}", l.file, l.line));
                }
                // Enter follows the edge: to the task at its end (the holder, the worker,
                // the task on a CPU), else to the line where the wait happens, else to the
                // waiting task.
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
                rows.push(if matches!(piece, Piece::Back(_)) {
                    Row::new()
                        .cell("ui", format!("{indent}   ▼ ↻ "))
                        .cell("ui.link", node_text(&g.nodes[e.to]))
                        .cell("ui.note", " (drawn above)")
                } else {
                    Row::new().cell("ui", format!("{indent}   ▼"))
                });
            }
        }
    }
    rows
}

/// Widest box drawn; longer labels are cut with `…`.
const BOX_WIDTH: usize = 64;

fn node_text(n: &GraphNode) -> String {
    format!("{} {}", n.kind, n.label)
}

/// One node's box (3 rows) at `indent`, and why nothing wakes it when that is known.
fn box_rows(g: &GraphData, i: usize, indent: &str, rows: &mut Vec<super::rows::Row>) {
    use super::rows::{Row, Target};
    let n = &g.nodes[i];
    let mut text = node_text(n);
    if text.chars().count() > BOX_WIDTH - 4 {
        text = text.chars().take(BOX_WIDTH - 5).collect::<String>() + "…";
    }
    let w = text.chars().count() + 2;
    let target = |r: Row| match (n.kind.as_str(), n.addr) {
        ("task", Some(a)) => r.to(Target::Task(a)),
        _ => r,
    };
    rows.push(target(
        Row::new().cell("ui", format!("{indent}┌{}┐", "─".repeat(w))),
    ));
    rows.push(target(
        Row::new()
            .cell("ui", format!("{indent}│ "))
            .cell("ui.link", text)
            .cell("ui", " │"),
    ));
    rows.push(target(
        Row::new().cell("ui", format!("{indent}└{}┘", "─".repeat(w))),
    ));
    if let Some(why) = &n.no_waker {
        rows.push(Row::new().cell("ui.note", format!("{indent}  ⚑ {why}")));
    }
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
            no_waker: n.no_waker.clone(),
        })
        .collect();
    let pos = |id| g.position(id);
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
                candidate: e.candidate,
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
