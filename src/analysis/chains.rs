//! The order in which a wait graph is drawn as chains (the TUI's Wait graph pane and
//! `waitgraph --svg`): from each waiting task down what it waits for to the root, depth
//! first, each edge once. Pure: nodes are indices, edges `(from, to)` pairs.

/// One piece of the drawing, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A new chain starts (a gap before it).
    Start,
    /// A node's box.
    Node(usize),
    /// An edge (by index) whose end is drawn next.
    Arrow(usize),
    /// An edge (by index) back to a node already drawn (a cycle, or a second waiter on
    /// one object): its end is not drawn again.
    Back(usize),
    /// The next arrows leave this node again (a branch after a sub-chain).
    Branch(usize),
}

/// Where chains start: `first` (the selected node) if any, then the nodes `is_waiter`
/// accepts that no edge points at, then any node with an edge not yet drawn.
pub fn starts(
    nodes: usize,
    edges: &[(usize, usize)],
    first: Option<usize>,
    is_waiter: &dyn Fn(usize) -> bool,
) -> Vec<usize> {
    let mut pointed = vec![false; nodes];
    for &(_, t) in edges {
        if t < nodes {
            pointed[t] = true;
        }
    }
    first
        .into_iter()
        .chain((0..nodes).filter(|&i| is_waiter(i) && !pointed[i]))
        .chain(edges.iter().map(|&(f, _)| f))
        .collect()
}

/// The drawing: for each start with an edge not yet drawn, its chain depth first.
pub fn draw_order(nodes: usize, edges: &[(usize, usize)], starts: &[usize]) -> Vec<Piece> {
    let mut used = vec![false; edges.len()];
    let mut drawn = vec![false; nodes];
    let mut out = Vec::new();
    for &s in starts {
        if s >= nodes || !edges.iter().enumerate().any(|(i, e)| e.0 == s && !used[i]) {
            continue;
        }
        out.push(Piece::Start);
        // (node, edge that led here); a node's box is drawn when popped.
        let mut stack = vec![(s, None::<usize>)];
        let mut last_from: Option<usize> = None;
        while let Some((n, via)) = stack.pop() {
            if let Some(ei) = via {
                let from = edges[ei].0;
                if last_from.is_some_and(|l| l != from)
                    || (last_from == Some(from) && out.last() != Some(&Piece::Node(from)))
                {
                    out.push(Piece::Branch(from));
                }
                if drawn[n] {
                    out.push(Piece::Back(ei));
                    last_from = Some(from);
                    continue;
                }
                out.push(Piece::Arrow(ei));
            }
            out.push(Piece::Node(n));
            drawn[n] = true;
            last_from = Some(n);
            for i in (0..edges.len()).rev() {
                if edges[i].0 == n && !used[i] && edges[i].1 < nodes {
                    used[i] = true;
                    stack.push((edges[i].1, Some(i)));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_a_branch_and_a_cycle() {
        // 0 waits on 1, 1 held by 2 and 3 (two candidates), 3 waits on 1 again (a cycle);
        // 4 waits on 1 too (a second waiter).
        let edges = [(0, 1), (1, 2), (1, 3), (3, 1), (4, 1)];
        let st = starts(5, &edges, None, &|i| i == 0 || i == 4);
        assert_eq!(st[..2], [0, 4]);
        let d = draw_order(5, &edges, &st);
        use Piece::*;
        assert_eq!(
            d,
            vec![
                Start,
                Node(0),
                Arrow(0),
                Node(1),
                Arrow(1),
                Node(2),
                Branch(1),
                Arrow(2),
                Node(3),
                Back(3),
                Start,
                Node(4),
                Back(4),
            ]
        );
    }

    #[test]
    fn the_selected_node_first_and_every_edge_once() {
        let edges = [(0, 1), (2, 1), (1, 0)];
        let d = draw_order(3, &edges, &starts(3, &edges, Some(2), &|_| true));
        let arrows = d
            .iter()
            .filter(|p| matches!(p, Piece::Arrow(_) | Piece::Back(_)))
            .count();
        assert_eq!(arrows, 3);
        assert_eq!(d[1], Piece::Node(2));
    }
}
