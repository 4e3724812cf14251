//! Line-oriented pane content built from plain data: each row is a list of cells, each cell
//! a theme scope and its text, and optionally a [`Target`] that Enter follows. The model
//! uses the rows to move its cursor and follow targets; the panes render them.

use crate::rcu::TaskRef;
use crate::rcu::srcu::{SrcuDomain, SrcuReport};
use crate::rcu::tree::RcuReport;

/// What Enter on a row leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Show this SRCU domain's details.
    SrcuDomain(usize),
    /// Select the task (Tasks and Backtrace panes).
    Task(u64),
    /// Open the source at `file:line`.
    Source { file: String, line: u32 },
    /// Expand or fold the decoded report at this log record.
    LogRecord(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub scope: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub target: Option<Target>,
    /// The kernel fields the row shows (`rcu::fields` keys): what `explain_field` explains.
    pub fields: Vec<&'static str>,
}

impl Row {
    pub fn new() -> Row {
        Row::default()
    }
    pub fn text(text: impl Into<String>) -> Row {
        Row::new().cell("ui", text)
    }
    pub fn cell(mut self, scope: &'static str, text: impl Into<String>) -> Row {
        self.cells.push(Cell {
            scope,
            text: text.into(),
        });
        self
    }
    pub fn to(mut self, t: Target) -> Row {
        self.target = Some(t);
        self
    }
    /// The row shows these fields (keys of `rcu::fields`).
    pub fn fields(mut self, keys: &[&'static str]) -> Row {
        self.fields.extend_from_slice(keys);
        self
    }
    /// The row's text, cells concatenated.
    pub fn plain(&self) -> String {
        self.cells.iter().map(|c| c.text.as_str()).collect()
    }
}

/// The fields of an SRCU per-CPU counter row.
const CPU_FIELDS: &[&str] = &[
    "srcu.cpu.counters",
    "srcu.cpu.callbacks",
    "srcu.cpu.cblist_invoking",
];

/// The fields of an RCU per-CPU row (`report::rcu::cpu_row`'s columns).
const RCU_CPU_FIELDS: &[&str] = &[
    "rcu.cpu.gp_seq",
    "rcu.cpu.qs_owed",
    "rcu.cpu.ticks_this_gp",
    "rcu.cpu.callbacks",
    "rcu.cpu.nocb",
    "rcu.cpu.running",
];

/// Bits set in a mask as `{0,3}`.
pub fn bits(mask: u64) -> String {
    let v: Vec<String> = (0..64)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| b.to_string())
        .collect();
    format!("{{{}}}", v.join(","))
}

fn task_text(t: &TaskRef) -> String {
    format!("{} {} [{}]", t.pid, t.comm, t.st)
}

pub use crate::report::srcu::active as srcu_active;

/// The SRCU pane: the domain list, then the selected domain's details.
pub fn srcu_rows(report: Option<&Result<SrcuReport, String>>, selected: usize) -> Vec<Row> {
    let r = match report {
        None => return vec![Row::new().cell("ui.placeholder", "Decoding SRCU domains…")],
        Some(Err(e)) => return vec![Row::new().cell("ui.status.error", format!("srcu: {e}"))],
        Some(Ok(r)) => r,
    };
    let mut rows = vec![Row::new().cell(
        "ui.header",
        format!(
            "{:<24} {:<6} {:>8} {:>8} {:>5}",
            "DOMAIN", "PHASE", "RDR idx0", "RDR idx1", "CBS"
        ),
    )];
    if r.domains.is_empty() {
        rows.push(Row::new().cell("ui.placeholder", "no SRCU domains found"));
    }
    for (i, d) in r.domains.iter().enumerate() {
        let scope = if srcu_active(d) {
            "ui.srcu.active"
        } else {
            "ui"
        };
        rows.push(
            Row::new()
                .cell(
                    scope,
                    format!(
                        "{:<24} {:<6} {:>8} {:>8} {:>5}",
                        d.name,
                        d.phase,
                        d.readers[0],
                        d.readers[1],
                        d.callbacks.len()
                    ),
                )
                .to(Target::SrcuDomain(i))
                .fields(&["srcu.phase", "srcu.readers", "srcu.cpu.callbacks"]),
        );
    }
    for e in &r.errors {
        rows.push(Row::new().cell("ui.status.error", format!("PARTIAL: {e}")));
    }
    if let Some(d) = r.domains.get(selected) {
        rows.push(Row::new());
        srcu_domain_rows(d, &mut rows);
    }
    rows
}

fn srcu_domain_rows(d: &SrcuDomain, rows: &mut Vec<Row>) {
    use crate::rcu::srcu::Found;
    let found: Vec<String> = d
        .found
        .iter()
        .map(|f| match f {
            Found::Vmlinux => "vmlinux".into(),
            Found::Module(m) => format!("module {m}"),
            Found::WaiterStack(p) => format!("stack of pid {p}"),
            Found::Address => "address".into(),
        })
        .collect();
    rows.push(Row::new().cell(
        "ui.header",
        format!(
            "── {} {:#x} [{}] {}",
            d.name,
            d.addr,
            found.join(", "),
            d.generation
        ),
    ));
    let mut gp = Row::new()
        .cell("ui", "GP phase ")
        .cell("ui.srcu.phase", d.phase.clone())
        .cell("ui", format!("  gp_seq {}", d.gp_seq as i64));
    if let Some(n) = d.gp_seq_needed {
        gp = gp.cell("ui", format!("  needed {}", n as i64));
    }
    if let Some(n) = d.gp_seq_needed_exp {
        gp = gp.cell("ui", format!("  needed_exp {}", n as i64));
    }
    if let Some(a) = d.gp_age_jiffies {
        gp = gp.cell("ui", format!("  age {a} jiffies"));
    }
    if !d.initialized {
        gp = gp.cell("ui.placeholder", "  (uninitialized)");
    }
    rows.push(gp.fields(&[
        "srcu.phase",
        "srcu.gp_seq",
        "srcu.gp_seq_needed",
        "srcu.gp_seq_needed_exp",
        "srcu.gp_start",
    ]));
    rows.push(
        Row::text(format!(
            "current idx {}  readers idx0 {}  idx1 {}{}",
            d.current_idx,
            d.readers[0],
            d.readers[1],
            match d.waits_on_idx {
                Some(i) => format!("  GP waits on idx {i}"),
                None => String::new(),
            }
        ))
        .fields(&["srcu.current_idx", "srcu.readers"]),
    );
    // Per-CPU counters, the waited index highlighted.
    let w = d.waits_on_idx;
    let idx_scope = |i: u32| {
        if w == Some(i) { "ui.srcu.waited" } else { "ui" }
    };
    rows.push(
        Row::new()
            .cell("ui.header", format!("{:>5} ", "CPU"))
            .cell(
                "ui.header",
                format!("{:>21} ", format!("idx0 lock/unlock net")),
            )
            .cell("ui.header", format!("{:>21} ", "idx1 lock/unlock net"))
            .cell("ui.header", format!("{:>5}", "CBS"))
            .fields(CPU_FIELDS),
    );
    let mut tot = ([0u64; 2], [0u64; 2], 0i64);
    for c in &d.cpus {
        let u = c.unlocks.unwrap_or([0, 0]);
        let mut row = Row::new().cell("ui", format!("{:>5} ", c.cpu));
        #[allow(clippy::needless_range_loop)] // locks and unlocks side by side
        for i in 0..2 {
            let net = c.locks[i] as i64 - u[i] as i64;
            let text = match c.unlocks {
                Some(_) => format!("{:>8}/{:<8}{:>4} ", c.locks[i], u[i], net),
                None => format!("{:>17}{:>4} ", "", c.locks[i] as i64),
            };
            let scope = if net != 0 && w == Some(i as u32) {
                "ui.srcu.waited.reader"
            } else {
                idx_scope(i as u32)
            };
            row = row.cell(scope, text);
            tot.0[i] += c.locks[i];
            tot.1[i] += u[i];
        }
        tot.2 += c.callbacks;
        row = row.cell("ui", format!("{:>5}", c.callbacks));
        if c.cblist_invoking == Some(true) {
            row = row.cell("ui", "  invoking");
        }
        rows.push(row.fields(CPU_FIELDS));
    }
    let mut total = Row::new().cell("ui.header", format!("{:>5} ", "total"));
    for i in 0..2 {
        total = total.cell(
            idx_scope(i as u32),
            format!(
                "{:>8}/{:<8}{:>4} ",
                tot.0[i],
                tot.1[i],
                tot.0[i] as i64 - tot.1[i] as i64
            ),
        );
    }
    rows.push(total.cell("ui", format!("{:>5}", tot.2)).fields(&[
        "srcu.readers",
        "srcu.cpu.counters",
        "srcu.cpu.callbacks",
    ]));
    // Callbacks by segment.
    rows.push(
        Row::new()
            .cell("ui.header", format!("Callbacks ({})", d.callbacks.len()))
            .fields(&["srcu.callback.segment", "srcu.cpu.callbacks"]),
    );
    let mut segs: Vec<&str> = Vec::new();
    for c in &d.callbacks {
        if !segs.contains(&c.segment.as_str()) {
            segs.push(&c.segment);
        }
    }
    for s in segs {
        let n = d.callbacks.iter().filter(|c| c.segment == s).count();
        rows.push(
            Row::new()
                .cell("ui.srcu.segment", format!("  {s} ({n})"))
                .fields(&["srcu.callback.segment"]),
        );
        for c in d.callbacks.iter().filter(|c| c.segment == s) {
            let mut l = format!("    {:#x} {}", c.addr, c.func.describe());
            if let Some(cpu) = c.cpu {
                l.push_str(&format!("  cpu {cpu}"));
            }
            if let Some(g) = c.gp_seq {
                l.push_str(&format!("  ready at gp_seq {}", g as i64));
            }
            let mut row = Row::new().cell("ui", l).fields(&["srcu.callback.segment"]);
            if !c.wakes.is_empty() {
                row = row.fields(&["srcu.waiters"]);
            }
            for t in &c.wakes {
                row = row
                    .cell("ui.link", format!("  → wakes {}", task_text(t)))
                    .to(Target::Task(t.addr));
            }
            rows.push(row);
        }
    }
    if let Some(w) = &d.gp_work {
        rows.push(
            Row::new()
                .cell("ui.srcu.work", format!("GP work: {}", w.describe()))
                .fields(&["srcu.gp_work"]),
        );
    }
    for t in &d.waiters {
        rows.push(
            Row::new()
                .cell("ui", "waiter: ")
                .cell(
                    "ui.link",
                    format!("{} {:#x} in synchronize_srcu", task_text(t), t.addr),
                )
                .to(Target::Task(t.addr))
                .fields(&["srcu.waiters"]),
        );
    }
    for n in &d.notes {
        rows.push(Row::new().cell("ui.note", format!("note: {n}")));
    }
    for e in &d.errors {
        rows.push(Row::new().cell("ui.status.error", format!("PARTIAL: {e}")));
    }
}

/// The RCU pane: `rcu_state`, the node tree, per-CPU `rcu_data`, holdouts.
pub fn rcu_rows(report: Option<&Result<RcuReport, String>>) -> Vec<Row> {
    let r = match report {
        None => return vec![Row::new().cell("ui.placeholder", "Decoding Tree RCU…")],
        Some(Err(e)) => return vec![Row::new().cell("ui.status.error", format!("rcu: {e}"))],
        Some(Ok(r)) => r,
    };
    use crate::report::rcu::{gp_line, gp_state_text, stall_line};
    let mut rows = vec![];
    rows.push(
        Row::new()
            .cell(
                "ui.header",
                format!("{} ", r.name.as_deref().unwrap_or("rcu")),
            )
            .cell("ui", gp_line(r))
            .fields(&["rcu.gp_seq", "rcu.gp_start", "rcu.fqs"]),
    );
    let mut k = Row::new().cell("ui", "GP kthread ");
    match &r.gp_kthread {
        Some(t) => {
            k = k.cell("ui.link", task_text(t)).to(Target::Task(t.addr));
        }
        None => k = k.cell("ui.placeholder", "none"),
    }
    if let Some(s) = gp_state_text(r) {
        k = k.cell("ui", "  ").cell("ui.rcu.gp_state", s);
    }
    if let Some(j) = r.jiffies_since_gp_activity {
        k = k.cell("ui", format!("  last active {j} jiffies ago"));
    }
    rows.push(k.fields(&["rcu.gp_kthread", "rcu.gp_activity"]));
    let mut l = vec![];
    if let Some(s) = stall_line(r) {
        l.push(s);
    }
    if let Some(f) = r.gp_flags.filter(|&f| f != 0) {
        l.push(format!("gp_flags {f:#x}"));
    }
    if let Some(e) = r.expedited_sequence {
        l.push(format!("expedited sequence {e}"));
    }
    rows.push(Row::text(l.join("  ")).fields(&[
        "rcu.stall",
        "rcu.gp_flags",
        "rcu.expedited_sequence",
    ]));
    rows.push(Row::new());
    rows.push(Row::new().cell("ui.header", "rcu_node tree"));
    for n in &r.nodes {
        let ind = "  ".repeat(n.level as usize + 1);
        let mut row = Row::new()
            .cell(
                "ui",
                format!("{ind}[{}] cpus {}-{}  ", n.index, n.grplo, n.grphi),
            )
            .cell(
                if n.qsmask != 0 {
                    "ui.rcu.holdout"
                } else {
                    "ui"
                },
                format!("qsmask {:#x} {}", n.qsmask, bits(n.qsmask)),
            )
            .cell(
                "ui",
                format!("  qsmaskinit {:#x} {}", n.qsmaskinit, bits(n.qsmaskinit)),
            );
        if let Some(e) = n.expmask {
            row = row.cell("ui", format!("  expmask {e:#x} {}", bits(e)));
        }
        rows.push(row.fields(&[
            "rcu.node.shape",
            "rcu.node.qsmask",
            "rcu.node.qsmaskinit",
            "rcu.node.expmask",
        ]));
        for t in &n.gp_tasks {
            rows.push(
                Row::new()
                    .cell("ui", format!("{ind}  blocks GP: "))
                    .cell("ui.rcu.holdout", task_text(t))
                    .to(Target::Task(t.addr))
                    .fields(&["rcu.node.blkd_tasks"]),
            );
        }
        for t in n.blkd_tasks.iter().filter(|t| !n.gp_tasks.contains(t)) {
            rows.push(
                Row::new()
                    .cell("ui", format!("{ind}  blocked reader: {}", task_text(t)))
                    .to(Target::Task(t.addr))
                    .fields(&["rcu.node.blkd_tasks"]),
            );
        }
    }
    rows.push(Row::new());
    rows.push(
        Row::new()
            .cell("ui.header", format!(" {}", crate::report::rcu::CPU_HEADER))
            .fields(RCU_CPU_FIELDS),
    );
    for c in &r.cpus {
        let holdout = r.holdouts.iter().any(|h| h.cpu == c.cpu);
        let text = format!(" {}", crate::report::rcu::cpu_row(c));
        let mut row = Row::new()
            .cell(if holdout { "ui.rcu.holdout" } else { "ui" }, text)
            .fields(RCU_CPU_FIELDS);
        if let Some(t) = &c.curr {
            row = row.to(Target::Task(t.addr));
        }
        rows.push(row);
    }
    rows.push(Row::new());
    if r.holdouts.is_empty() {
        rows.push(Row::new().cell("ui.placeholder", "no holdout CPUs"));
    }
    for h in &r.holdouts {
        let mut row = Row::new()
            .cell("ui.rcu.holdout", format!("holdout CPU {}", h.cpu))
            .fields(&[
                "rcu.node.qsmask",
                "rcu.cpu.qs_owed",
                "rcu.cpu.running",
                "rcu.cpu.ticks_this_gp",
            ]);
        if let Some(t) = &h.curr {
            row = row
                .cell("ui", " running ")
                .cell("ui.link", task_text(t))
                .to(Target::Task(t.addr));
        }
        if let Some(tk) = h.ticks_this_gp {
            row = row.cell("ui", format!("  {tk} ticks this GP"));
        }
        rows.push(row);
    }
    for t in &r.blocked_readers {
        rows.push(
            Row::new()
                .cell("ui", "blocked reader ")
                .cell("ui.rcu.holdout", task_text(t))
                .to(Target::Task(t.addr))
                .fields(&["rcu.node.blkd_tasks"]),
        );
    }
    for n in &r.notes {
        rows.push(Row::new().cell("ui.note", format!("note: {n}")));
    }
    for e in &r.errors {
        rows.push(Row::new().cell("ui.status.error", format!("PARTIAL: {e}")));
    }
    rows
}
