//! The wait graph as a standalone SVG (`quiesce waitgraph --svg`), for reports: the same
//! chains as the TUI's Wait graph pane ([`super::chains`]), each a column of boxes from the
//! waiting task down to its root, arrows labelled with the verb and whether the edge is
//! exact or inferred, candidates dashed, roots outlined in orange with why nothing wakes
//! them, CPUs running something in red. No Graphviz needed; the text is escaped.

use super::chains::{Piece, draw_order, starts};
use super::graph::{Basis, Graph, NodeKind};

const CHAR_W: usize = 7;
const BOX_H: usize = 26;
const ARROW_H: usize = 40;
const GAP: usize = 40;
const MARGIN: usize = 20;
/// Past this width, the next chain starts a new band of columns.
const MAX_WIDTH: usize = 2400;
/// Longest label drawn in a box (characters); longer ones are cut with `…`.
const MAX_LABEL: usize = 72;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

impl Graph {
    /// The graph as an SVG document.
    pub fn svg(&self) -> String {
        // (from, to) node indices, and each pair's index in `self.edges` (an edge to an
        // unknown node is dropped).
        let (pairs, edge_of): (Vec<(usize, usize)>, Vec<usize>) = self
            .edges
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some(((self.position(e.from)?, self.position(e.to)?), i)))
            .unzip();
        let first = starts(self.nodes.len(), &pairs, None, &|i| {
            self.nodes[i].id.kind == NodeKind::Task
        });
        let order = draw_order(self.nodes.len(), &pairs, &first);
        let mut body = String::new();
        let (mut x, mut y, mut col_w, mut max_h) = (MARGIN, MARGIN + 20, 0usize, 0usize);
        let mut band_top = MARGIN + 20;
        let mut width = 0usize;
        // Where each node's box was drawn (for the ↻ notes).
        let mut cur: Option<(usize, usize)> = None; // (node, bottom y) of the last box
        let mut pending: Option<usize> = None; // edge whose arrow ends at the next box
        let mut columns = 0;
        for p in order {
            match p {
                Piece::Start => {
                    max_h = max_h.max(y);
                    if columns > 0 {
                        x += col_w + GAP;
                        width = width.max(x);
                    }
                    // Columns wrap into a new band below once the drawing is this wide.
                    if x > MAX_WIDTH {
                        x = MARGIN;
                        band_top = max_h + GAP;
                    }
                    columns += 1;
                    y = band_top;
                    col_w = 0;
                    cur = None;
                }
                Piece::Branch(n) => {
                    let label = cut(&format!("⤷ also from {}", self.nodes[n].label), MAX_LABEL);
                    y += 18;
                    body.push_str(&format!(
                        "<text x=\"{x}\" y=\"{y}\" class=\"branch\">{}</text>\n",
                        esc(&label)
                    ));
                    col_w = col_w.max(label.chars().count() * CHAR_W);
                    y += 8;
                }
                Piece::Arrow(ei) | Piece::Back(ei) => {
                    let e = &self.edges[edge_of[ei]];
                    let top = cur.map(|c| c.1).unwrap_or(y);
                    let bottom = top + ARROW_H;
                    let cx = x + 20;
                    let dash = if e.candidate {
                        " stroke-dasharray=\"5,4\""
                    } else {
                        ""
                    };
                    let how = match (e.candidate, e.basis()) {
                        (true, _) => "candidate".to_string(),
                        (false, Basis::Exact { field }) => format!("exact: {field}"),
                        (false, Basis::Inferred { .. }) => "inferred".to_string(),
                    };
                    let what = e
                        .what
                        .as_deref()
                        .map(|w| format!(" ({w})"))
                        .unwrap_or_default();
                    let label = cut(&format!("{}{what} [{how}]", e.kind.verb()), MAX_LABEL);
                    body.push_str(&format!(
                        "<line x1=\"{cx}\" y1=\"{top}\" x2=\"{cx}\" y2=\"{}\" class=\"edge\"{dash} marker-end=\"url(#arrow)\"/>\n\
                         <text x=\"{}\" y=\"{}\" class=\"verb\">{}</text>\n",
                        bottom - 2,
                        cx + 10,
                        top + ARROW_H / 2 + 4,
                        esc(&label)
                    ));
                    col_w = col_w.max(30 + label.chars().count() * CHAR_W);
                    y = bottom;
                    if matches!(p, Piece::Back(_)) {
                        let to = self.get(e.to).map(|n| n.label.as_str());
                        let label =
                            cut(&format!("↻ {} (drawn above)", to.unwrap_or("?")), MAX_LABEL);
                        y += 14;
                        body.push_str(&format!(
                            "<text x=\"{x}\" y=\"{y}\" class=\"back\">{}</text>\n",
                            esc(&label)
                        ));
                        col_w = col_w.max(label.chars().count() * CHAR_W);
                        y += 8;
                        cur = Some((usize::MAX, y));
                    } else {
                        pending = Some(ei);
                    }
                }
                Piece::Node(n) => {
                    let node = &self.nodes[n];
                    let text = cut(
                        &format!("{} {}", node.id.kind.name(), node.label),
                        MAX_LABEL,
                    );
                    let w = 16 + text.chars().count() * CHAR_W;
                    let class = if node.running {
                        "running"
                    } else if node.no_waker.is_some() {
                        "root"
                    } else if node.id.kind == NodeKind::Task {
                        "task"
                    } else {
                        "object"
                    };
                    let top = if pending.take().is_some() {
                        y
                    } else {
                        cur.map(|c| c.1 + 10).unwrap_or(y)
                    };
                    body.push_str(&format!(
                        "<rect x=\"{x}\" y=\"{top}\" width=\"{w}\" height=\"{BOX_H}\" rx=\"4\" class=\"{class}\"/>\n\
                         <text x=\"{}\" y=\"{}\">{}</text>\n",
                        x + 8,
                        top + 17,
                        esc(&text)
                    ));
                    col_w = col_w.max(w);
                    y = top + BOX_H;
                    if let Some(why) = &node.no_waker {
                        let why = cut(&format!("⚑ {why}"), 2 * MAX_LABEL);
                        y += 16;
                        body.push_str(&format!(
                            "<text x=\"{}\" y=\"{y}\" class=\"why\">{}</text>\n",
                            x + 4,
                            esc(&why)
                        ));
                        col_w = col_w.max(why.chars().count() * 6);
                        y += 4;
                    }
                    cur = Some((n, y));
                }
            }
        }
        max_h = max_h.max(y);
        let width = width.max(x + col_w) + MARGIN;
        let height = max_h + MARGIN;
        let title = format!(
            "wait graph from {}: {} nodes, {} edges{}",
            self.source,
            self.nodes.len(),
            self.edges.len(),
            if self.errors.is_empty() {
                ""
            } else {
                " (PARTIAL)"
            }
        );
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"12\">\n\
             <title>{}</title>\n\
             <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
             markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\
             <path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>\n\
             <style>rect{{fill:#fff;stroke:#444}} rect.task{{fill:#eef4ff}} \
             rect.root{{stroke:#d9822b;stroke-width:2}} rect.running{{stroke:#c00;stroke-width:2}} \
             line.edge{{stroke:#333}} text.verb{{fill:#333}} text.why{{fill:#a05a00;font-style:italic}} \
             text.back,text.branch{{fill:#666}}</style>\n\
             <text x=\"{MARGIN}\" y=\"{}\" font-weight=\"bold\">{}</text>\n{body}</svg>\n",
            esc(&title),
            MARGIN,
            esc(&title)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::graph::{Edge, EdgeKind, Evidence, Graph, NodeId, NodeKind};

    #[test]
    fn svg_draws_every_node_and_edge_escaped() {
        let mut g = Graph::new("test");
        let t = NodeId::new(NodeKind::Task, 0x10);
        let m = NodeId::new(NodeKind::Mutex, 0x20);
        let o = NodeId::new(NodeKind::Task, 0x30);
        g.node(t, "a<b>:1");
        g.node(m, "lock & key");
        g.node(o, "owner:2").no_waker = Some("sleeps \"forever\"".into());
        g.edge(Edge {
            from: t,
            to: m,
            kind: EdgeKind::WaitsOn,
            candidate: false,
            what: Some("mutex".into()),
            evidence: vec![Evidence::note("frame")],
        });
        g.edge(Edge {
            from: m,
            to: o,
            kind: EdgeKind::CandidateHolder,
            candidate: true,
            what: None,
            evidence: vec![Evidence::note("stack word")],
        });
        let s = g.svg();
        assert!(s.starts_with("<svg"), "{s}");
        assert!(s.contains("task a&lt;b&gt;:1"), "{s}");
        assert!(s.contains("lock &amp; key"), "{s}");
        assert!(s.contains("&quot;forever&quot;"), "{s}");
        assert_eq!(s.matches("<rect").count(), 3, "{s}");
        assert_eq!(s.matches("<line").count(), 2, "{s}");
        assert_eq!(s.matches("stroke-dasharray").count(), 1, "{s}");
        assert!(s.trim_end().ends_with("</svg>"));
    }
}
