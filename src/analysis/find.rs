//! What the wait graph says: cycles (deadlocks), chains from each stuck task to where the
//! hang stops (a running CPU, a wait nobody will end, a timer), and findings ranked by how
//! certain and how central they are. Every walk here is bounded and marks what it visited,
//! so it terminates on any graph, cyclic or not.

use super::graph::{Edge, EdgeKind, Graph, NOT_BLAMED, NodeId, NodeKind, STARVED};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// The longest chain followed from one task.
pub const MAX_CHAIN: usize = 64;

/// One cycle per strongly connected component (Tarjan, iterative): its smallest, starting
/// at its task whose label sorts first. Terminates on any graph.
pub fn cycles(g: &Graph) -> Vec<Vec<NodeId>> {
    cycles_in_components(g)
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

/// Each component's smallest cycle with every node of the component.
fn cycles_in_components(g: &Graph) -> Vec<(Vec<NodeId>, HashSet<NodeId>)> {
    let n = g.nodes.len();
    let idx: HashMap<NodeId, usize> = g.nodes.iter().enumerate().map(|(i, x)| (x.id, i)).collect();
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in &g.edges {
        if let (Some(&a), Some(&b)) = (idx.get(&e.from), idx.get(&e.to)) {
            adj[a].push(b);
        }
    }
    // Iterative Tarjan.
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0usize;
    let mut sccs: Vec<Vec<usize>> = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = work.last_mut() {
            if *i < adj[v].len() {
                let w = adj[v][*i];
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some(&(u, _)) = work.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let self_loop = adj[v].contains(&v);
                    if comp.len() > 1 || self_loop {
                        sccs.push(comp);
                    }
                }
            }
        }
    }
    let mut out: Vec<(Vec<NodeId>, HashSet<NodeId>)> = Vec::new();
    for comp in sccs {
        if let Some(cyc) = smallest_cycle(g, &adj, &comp) {
            out.push((
                cyc.into_iter().map(|i| g.nodes[i].id).collect(),
                comp.iter().map(|&i| g.nodes[i].id).collect(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The largest strongly connected component searched from every node for its smallest
/// cycle; a bigger one is searched from its first node only (the walk stays bounded).
const MAX_SCC_SEARCH: usize = 256;

/// The smallest cycle through a task of a strongly connected component (fewest nodes),
/// found by a breadth-first search back to each task in turn. Ties go to the cycle through the task
/// whose label sorts first, started there, so the same deadlock reads the same in every
/// dump (addresses and pids change from boot to boot, names do not).
fn smallest_cycle(g: &Graph, adj: &[Vec<usize>], comp: &[usize]) -> Option<Vec<usize>> {
    let inside: HashSet<usize> = comp.iter().copied().collect();
    let key = |c: usize| {
        let n = &g.nodes[c];
        (n.id.kind != NodeKind::Task, n.label.clone(), n.id)
    };
    // A deadlock is between tasks: only cycles through a task count (an object's
    // self-loop is not one), unless the component has no task at all.
    let mut starts: Vec<usize> = comp
        .iter()
        .copied()
        .filter(|&c| g.nodes[c].id.kind == NodeKind::Task)
        .collect();
    if starts.is_empty() {
        starts = comp.to_vec();
    }
    starts.sort_by_key(|&c| key(c));
    if comp.len() > MAX_SCC_SEARCH {
        starts.truncate(1);
    }
    let mut best: Option<Vec<usize>> = None;
    for &start in &starts {
        if let Some(c) = shortest_cycle_through(adj, &inside, start)
            && best.as_ref().is_none_or(|b| c.len() < b.len())
        {
            best = Some(c);
        }
    }
    best
}

/// The shortest cycle from `start` back to itself inside `inside` (BFS), `start` first.
fn shortest_cycle_through(
    adj: &[Vec<usize>],
    inside: &HashSet<usize>,
    start: usize,
) -> Option<Vec<usize>> {
    if adj[start].contains(&start) {
        return Some(vec![start]);
    }
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::new();
    for &w in &adj[start] {
        if inside.contains(&w) && !prev.contains_key(&w) {
            prev.insert(w, start);
            queue.push_back(w);
        }
    }
    while let Some(v) = queue.pop_front() {
        for &w in &adj[v] {
            if w == start {
                let mut cyc = vec![v];
                let mut cur = v;
                while let Some(&p) = prev.get(&cur) {
                    if p == start {
                        break;
                    }
                    cyc.push(p);
                    cur = p;
                    if cyc.len() > inside.len() {
                        return None;
                    }
                }
                cyc.push(start);
                cyc.reverse();
                return Some(cyc);
            }
            if inside.contains(&w) && w != start && !prev.contains_key(&w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    None
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainEnd {
    /// The chain came back to a node it passed (index into `nodes`).
    Cycle { at: usize },
    /// Ends at a running task or a CPU: a stall or livelock, not a sleep.
    Running,
    /// Ends at a task that is runnable but gets no CPU (field [`STARVED`] says why).
    Starved { why: String },
    /// Ends at an object nobody is known to release.
    NoWaker { why: String },
    /// Ends in a timed sleep.
    Timer,
    /// Nothing known beyond the last node.
    Unknown { why: String },
}

/// A path from a stuck task, following edges (records before candidates).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chain {
    pub nodes: Vec<NodeId>,
    /// Index into `Graph::edges` of each hop (`nodes.len() - 1` of them).
    pub edges: Vec<usize>,
    pub end: ChainEnd,
}

/// Follow edges from `start`: at each node the first non-candidate edge, else the first
/// candidate. Stops at a node already on the path, or after [`MAX_CHAIN`] hops.
pub fn chain_from(g: &Graph, start: NodeId) -> Chain {
    let mut nodes = vec![start];
    let mut edges = Vec::new();
    let mut cur = start;
    loop {
        let out: Vec<(usize, &Edge)> = g
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| e.from == cur)
            .collect();
        let pick = out
            .iter()
            .find(|(_, e)| !e.candidate)
            .or_else(|| out.first())
            .copied();
        let Some((ei, e)) = pick else {
            let node = g.get(cur);
            let end = match node {
                Some(n) if n.field(STARVED).is_some() => ChainEnd::Starved {
                    why: n.field(STARVED).unwrap_or_default().to_string(),
                },
                Some(n) if n.running || n.id.kind == NodeKind::Cpu => ChainEnd::Running,
                Some(n) if n.no_waker.is_some() => ChainEnd::NoWaker {
                    why: n.no_waker.clone().unwrap_or_default(),
                },
                Some(n) if n.id.kind == NodeKind::Timer => ChainEnd::Timer,
                Some(n) if n.id.kind == NodeKind::Task => ChainEnd::Unknown {
                    why: format!("no wait decoded for {}", n.label),
                },
                Some(n) => ChainEnd::Unknown {
                    why: format!(
                        "nothing found that acts on {} {}",
                        n.id.kind.name(),
                        n.label
                    ),
                },
                None => ChainEnd::Unknown {
                    why: "dangling edge".into(),
                },
            };
            return Chain { nodes, edges, end };
        };
        edges.push(ei);
        if let Some(at) = nodes.iter().position(|&n| n == e.to) {
            nodes.push(e.to);
            return Chain {
                nodes,
                edges,
                end: ChainEnd::Cycle { at },
            };
        }
        nodes.push(e.to);
        cur = e.to;
        if edges.len() >= MAX_CHAIN {
            return Chain {
                nodes,
                edges,
                end: ChainEnd::Unknown {
                    why: format!("chain longer than {MAX_CHAIN} hops, cut"),
                },
            };
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Deadlock,
    Stall,
    NoWaker,
    TimedSleep,
    Blocked,
}

impl FindingKind {
    /// The kind as the text report prints it.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Deadlock => "deadlock",
            FindingKind::Stall => "stall",
            FindingKind::NoWaker => "no waker",
            FindingKind::TimedSleep => "timed sleep",
            FindingKind::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    /// 1 = look at this first.
    pub rank: usize,
    pub kind: FindingKind,
    pub title: String,
    /// The finding in words.
    pub explanation: String,
    /// The stuck tasks this finding explains (they share the chain's tail).
    pub tasks: Vec<NodeId>,
    /// The cycle, for a deadlock: the smallest one of its strongly connected component.
    pub cycle: Vec<NodeId>,
    /// For a deadlock, the tasks only waiting on the cycle, not part of it (also in
    /// `tasks`, after the cycle's own).
    pub behind: Vec<NodeId>,
    /// One representative chain, from the first task.
    pub chain: Chain,
    /// Who the finding blames: the last task of the chain when it is not the stuck task
    /// itself (the holder, the task running on the stalled CPU), the block device a chain
    /// ends at (its requests are never completed), or the tasks of the cycle.
    pub culprits: Vec<NodeId>,
    /// A hop on the way to the culprit is a candidate (inferred, not a record): the culprit
    /// is a guess and is shown as one.
    pub culprit_is_candidate: bool,
    /// The task of [`Finding::tasks`] that has been blocked longest, and for how long (ns):
    /// usually the one nearest the root. Findings of a kind rank by it.
    pub oldest_waiter: Option<(NodeId, u64)>,
}

impl Finding {
    /// Sets [`Finding::culprits`] from the chain (or the cycle).
    fn blame(&mut self, g: &Graph) {
        if !self.cycle.is_empty() {
            self.culprits = self
                .cycle
                .iter()
                .copied()
                .filter(|n| n.kind == NodeKind::Task)
                .collect();
            self.culprit_is_candidate = self.cycle.iter().enumerate().any(|(i, &a)| {
                let b = self.cycle[(i + 1) % self.cycle.len()];
                g.edges
                    .iter()
                    .any(|e| e.from == a && e.to == b && e.candidate)
            });
            return;
        }
        let c = &self.chain;
        // A chain that ends at a device whose requests are never completed blames the
        // device, not the last task waiting for it.
        if let Some(&last) = c.nodes.last()
            && last.kind == NodeKind::BlockDevice
            && c.nodes.len() > 1
        {
            self.culprits = vec![last];
            self.culprit_is_candidate = c.edges.iter().any(|&e| g.edges[e].candidate);
            return;
        }
        let Some(pos) = c.nodes.iter().rposition(|n| n.kind == NodeKind::Task) else {
            return;
        };
        if pos == 0
            || g.get(c.nodes[pos])
                .is_some_and(|n| n.field(NOT_BLAMED).is_some())
        {
            return;
        }
        self.culprits = vec![c.nodes[pos]];
        self.culprit_is_candidate = c.edges[..pos].iter().any(|&e| g.edges[e].candidate);
    }
}

/// Stuck tasks: tasks with a `WaitsOn` edge.
pub fn stuck_tasks(g: &Graph) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = Vec::new();
    for e in &g.edges {
        if e.kind == EdgeKind::WaitsOn && e.from.kind == NodeKind::Task && !out.contains(&e.from) {
            out.push(e.from);
        }
    }
    out
}

/// Ranked findings: deadlocks first, then stalls on running CPUs, waits nobody will end,
/// timed sleeps, the rest; more tasks first within a kind.
pub fn findings(g: &Graph) -> Vec<Finding> {
    let cycles = cycles_in_components(g);
    let mut stuck = stuck_tasks(g);
    // Grace periods, soft lockups and stuck worker pools nobody is seen waiting for are
    // still worth a finding (the report is the symptom).
    for n in &g.nodes {
        if matches!(
            n.id.kind,
            NodeKind::RcuGp
                | NodeKind::RcuGpExpedited
                | NodeKind::SoftLockup
                | NodeKind::WorkerPool
        ) && g.in_edges(n.id).next().is_none()
            && g.out_edges(n.id).next().is_some()
        {
            stuck.push(n.id);
        }
    }
    let chains: Vec<Chain> = stuck.iter().map(|&t| chain_from(g, t)).collect();
    let mut out: Vec<Finding> = Vec::new();
    let mut explained: HashSet<NodeId> = HashSet::new();

    for (cyc, comp) in &cycles {
        let set: HashSet<NodeId> = cyc.iter().copied().collect();
        let mut tasks: Vec<NodeId> = cyc
            .iter()
            .copied()
            .filter(|n| n.kind == NodeKind::Task)
            .collect();
        // Only waiting on the cycle: tasks of the same component off the smallest cycle
        // (they sit in a longer loop through it), and stuck tasks whose chain runs into it.
        let mut behind: Vec<NodeId> = Vec::new();
        for n in &g.nodes {
            if n.id.kind == NodeKind::Task && comp.contains(&n.id) && !set.contains(&n.id) {
                behind.push(n.id);
            }
        }
        for (t, c) in stuck.iter().zip(&chains) {
            if !set.contains(t) && !behind.contains(t) && c.nodes.iter().any(|n| comp.contains(n)) {
                behind.push(*t);
            }
        }
        tasks.extend(behind.iter().copied());
        explained.extend(tasks.iter().copied());
        let chain = chain_from(g, cyc[0]);
        let words = cycle_words(g, cyc);
        let attached: Vec<String> = behind.iter().map(|&t| g.label(t)).collect();
        let mut explanation = format!("Deadlock: {words}.");
        if !attached.is_empty() {
            explanation.push_str(&format!(
                " Also blocked behind the cycle: {}.",
                attached.join(", ")
            ));
        }
        let locks: Vec<String> = cyc
            .iter()
            .filter(|n| n.kind != NodeKind::Task)
            .map(|&n| g.label(n))
            .collect();
        out.push(Finding {
            rank: 0,
            kind: FindingKind::Deadlock,
            title: format!(
                "deadlock: {} tasks, {}",
                cyc.iter().filter(|n| n.kind == NodeKind::Task).count(),
                locks.join(" ⇄ ")
            ),
            explanation,
            tasks,
            cycle: cyc.clone(),
            behind,
            chain,
            culprits: Vec::new(),
            culprit_is_candidate: false,
            oldest_waiter: None,
        });
    }

    // Tasks that sit inside another task's chain are explained by that chain, and so are
    // the other holders of an object on it (two readers holding one SRCU domain: the chain
    // follows one, the step names both).
    let mut inner: HashSet<NodeId> = HashSet::new();
    for c in &chains {
        for n in c.nodes.iter().skip(1) {
            if n.kind == NodeKind::Task && Some(n) != c.nodes.first() {
                inner.insert(*n);
            }
        }
        for &ei in &c.edges {
            for s in other_holders(g, &g.edges[ei]) {
                if Some(&s.to) != c.nodes.first() {
                    inner.insert(s.to);
                }
            }
        }
    }
    // Group the remaining roots by where their chain ends.
    let mut groups: Vec<(NodeId, Vec<usize>)> = Vec::new();
    for (i, t) in stuck.iter().enumerate() {
        if explained.contains(t) || inner.contains(t) {
            continue;
        }
        let last = *chains[i].nodes.last().unwrap();
        // Tasks that wait on the very same object (4 readers on one fanotify group) group
        // by that object, others by where they end.
        let key = chains[i].nodes.get(1).copied().unwrap_or(last);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    for (_, members) in groups {
        let c = chains[members[0]].clone();
        let tasks: Vec<NodeId> = members.iter().map(|&i| stuck[i]).collect();
        let (kind, end_words) = match &c.end {
            ChainEnd::Running => (
                FindingKind::Stall,
                format!(
                    "{} is running and never lets go",
                    g.label(*c.nodes.last().unwrap())
                ),
            ),
            ChainEnd::Starved { why } => (
                FindingKind::Stall,
                format!(
                    "{} is runnable but gets no CPU: {why}",
                    g.label(*c.nodes.last().unwrap())
                ),
            ),
            ChainEnd::NoWaker { why } => (
                FindingKind::NoWaker,
                format!(
                    "no waker found for {}: {why}",
                    g.label(*c.nodes.last().unwrap())
                ),
            ),
            ChainEnd::Timer => (
                FindingKind::TimedSleep,
                format!(
                    "the chain ends in a timed sleep ({})",
                    g.label(*c.nodes.last().unwrap())
                ),
            ),
            ChainEnd::Cycle { .. } => (FindingKind::Deadlock, "the chain loops".to_string()),
            ChainEnd::Unknown { why } => (FindingKind::Blocked, why.clone()),
        };
        let mut explanation = chain_words(g, &c);
        if tasks.len() > 1 {
            let others: Vec<String> = tasks[1..].iter().map(|&t| g.label(t)).collect();
            explanation.push_str(&format!(
                " {} more task(s) wait the same way: {}.",
                others.len(),
                others.join(", ")
            ));
        }
        explanation.push_str(&format!(" Root: {end_words}."));
        let first = g.label(c.nodes[0]);
        let obj = c.nodes.get(1).map(|&n| g.label(n)).unwrap_or_default();
        let what = c
            .edges
            .first()
            .and_then(|&e| g.edges[e].what.clone())
            .unwrap_or_else(|| "?".into());
        let title = if c.nodes[0].kind != NodeKind::Task {
            let e = c.edges.first().map(|&e| &g.edges[e]);
            format!("{first} {} {obj}", e.map(|e| e.kind.verb()).unwrap_or("?"))
        } else if tasks.len() > 1 {
            format!("{} tasks ({first}, …) wait on {what} {obj}", tasks.len())
        } else {
            format!("{first} waits on {what} {obj}")
        };
        out.push(Finding {
            rank: 0,
            kind,
            title,
            explanation,
            tasks,
            cycle: Vec::new(),
            behind: Vec::new(),
            chain: c,
            culprits: Vec::new(),
            culprit_is_candidate: false,
            oldest_waiter: None,
        });
    }
    // Within a kind: findings that blame a task first (a CPU hog before the GP kthread it
    // starves), then more tasks first.
    // Then the finding whose oldest waiter has waited longest (the hang that started first
    // is usually the cause of the later ones), then more tasks first.
    for f in &mut out {
        f.blame(g);
        f.oldest_waiter = oldest_waiter(g, &f.tasks);
    }
    out.sort_by_key(|f| {
        (
            f.kind,
            f.culprits.is_empty(),
            std::cmp::Reverse(f.oldest_waiter.map(|(_, ns)| ns)),
            std::cmp::Reverse(f.tasks.len()),
        )
    });
    for (i, f) in out.iter_mut().enumerate() {
        f.rank = i + 1;
    }
    out
}

/// The task among `tasks` blocked longest (`Node::blocked_ns`); ties go to the first.
pub fn oldest_waiter(g: &Graph, tasks: &[NodeId]) -> Option<(NodeId, u64)> {
    tasks
        .iter()
        .filter_map(|&t| Some((t, g.get(t)?.blocked_ns?)))
        .fold(None, |best: Option<(NodeId, u64)>, (t, ns)| match best {
            Some((_, b)) if b >= ns => best,
            _ => Some((t, ns)),
        })
}

/// The other edges of the same kind out of `e`'s object to tasks (the other candidate
/// holders of one rwsem or SRCU domain); empty when `e` leaves a task.
pub fn other_holders<'g>(g: &'g Graph, e: &Edge) -> Vec<&'g Edge> {
    if e.from.kind == NodeKind::Task {
        return Vec::new();
    }
    g.out_edges(e.from)
        .filter(|o| o.kind == e.kind && o.to != e.to && o.to.kind == NodeKind::Task)
        .collect()
}

fn hop_words(g: &Graph, e: &Edge) -> String {
    let what = match (&e.kind, &e.what) {
        (EdgeKind::WaitsOn, Some(w)) => format!(" ({w})"),
        _ => String::new(),
    };
    let cand = if e.candidate { " (candidate)" } else { "" };
    let others: Vec<String> = other_holders(g, e).iter().map(|o| g.label(o.to)).collect();
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(" (and also by {})", others.join(", "))
    };
    format!(
        "{}{} {} {}{}{}",
        e.kind.verb(),
        what,
        e.to.kind.name(),
        g.label(e.to),
        cand,
        also
    )
}

/// `A waits on (mutex) mutex B, which is owned by task C, which …`.
pub fn chain_words(g: &Graph, c: &Chain) -> String {
    let mut s = format!("{} {}", c.nodes[0].kind.name(), g.label(c.nodes[0]));
    for (i, &ei) in c.edges.iter().enumerate() {
        if i > 0 {
            s.push_str(", which");
        }
        s.push(' ');
        s.push_str(&hop_words(g, &g.edges[ei]));
    }
    s.push('.');
    s
}

fn cycle_words(g: &Graph, cyc: &[NodeId]) -> String {
    let mut s = format!("{} {}", cyc[0].kind.name(), g.label(cyc[0]));
    for i in 0..cyc.len() {
        let (a, b) = (cyc[i], cyc[(i + 1) % cyc.len()]);
        if let Some(e) = g.edges.iter().find(|e| e.from == a && e.to == b) {
            if i > 0 {
                s.push_str(", which");
            }
            s.push(' ');
            s.push_str(&hop_words(g, e));
        }
    }
    s.push_str(" — back to the start");
    s
}

#[cfg(test)]
#[path = "find_tests.rs"]
mod tests;
