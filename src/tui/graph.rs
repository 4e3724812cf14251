//! The wait graph's shape as the TUI consumes it. The analysis (`src/analysis/`, `quiesce
//! explain`) is built separately; after it lands it fills a [`GraphData`] (nodes with a
//! kind, a label and an address; edges with evidence text and an optional source location)
//! and sends it as `JobMsg::Graph`. Until then the Wait graph pane says so.

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

/// The pane's rows: each edge as `from → to  evidence  file:line`; Enter on a task node's
/// edge selects the waiting task, on an edge with a location opens the source.
pub fn graph_rows(g: &GraphData) -> Vec<super::rows::Row> {
    use super::rows::{Row, Target};
    let label = |i: usize| {
        g.nodes
            .get(i)
            .map(|n| format!("{} {}", n.kind, n.label))
            .unwrap_or_else(|| format!("?{i}"))
    };
    let mut rows = vec![Row::new().cell(
        "ui.header",
        format!("{} nodes, {} edges", g.nodes.len(), g.edges.len()),
    )];
    for e in &g.edges {
        let mut r = Row::new()
            .cell("ui.link", label(e.from))
            .cell("ui", " waits on ")
            .cell("ui.link", label(e.to))
            .cell("ui.note", format!("  {}", e.evidence));
        if let Some(l) = &e.location {
            r = r
                .cell("frame.location", format!("  {}:{}", l.file, l.line))
                .to(Target::Source {
                    file: l.file.clone(),
                    line: l.line,
                });
        } else if let Some(n) = g.nodes.get(e.from)
            && n.kind == "task"
            && let Some(a) = n.addr
        {
            r = r.to(Target::Task(a));
        }
        rows.push(r);
    }
    rows
}
