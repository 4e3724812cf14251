//! `explain` and `waitgraph`: the walkthrough as numbered steps under each finding, and the
//! wait graph as one line per edge or Graphviz dot.

use super::Report;
use crate::analysis::graph::NodeKind;
use crate::analysis::walkthrough::{Explanation, WaitGraphReport};

impl Report for Explanation {
    fn text(&self) -> String {
        let mut s = format!(
            "{} finding(s) from the {} ({} nodes, {} edges)\n",
            self.findings.len(),
            self.source,
            self.graph.nodes.len(),
            self.graph.edges.len()
        );
        if let Some(t) = &self.text_summary {
            s.push_str(&format!(
                "text: {} lines, {} not understood (counted, skipped)",
                t.total_lines, t.unparsed_lines
            ));
            let extra: Vec<String> = [
                (t.unread_log_lines, "other kernel messages"),
                (t.annotation_lines, "notes about the paste"),
                (t.duplicate_lines, "duplicated console lines"),
                (t.joined_lines, "wrapped lines re-joined"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, w)| format!("{n} {w}"))
            .collect();
            if !extra.is_empty() {
                s.push_str(&format!(", {}", extra.join(", ")));
            }
            s.push('\n');
            if !t.counts.is_empty() {
                let c: Vec<String> = t.counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
                s.push_str(&format!("  found: {}\n", c.join(", ")));
            }
            for (n, line) in t.unparsed_samples.iter().take(3) {
                s.push_str(&format!("  not understood, line {n}: {line}\n"));
            }
            for r in &t.reports {
                s.push_str(&format!(
                    "  report line {} ({}): {}{}\n",
                    r.line,
                    r.kind,
                    r.syzbot
                        .as_deref()
                        .unwrap_or("(no stack for a syzbot title)"),
                    r.signature
                        .as_deref()
                        .map(|x| format!("  |  quiesce: {x}"))
                        .unwrap_or_default()
                ));
            }
            for g in &t.stack_groups {
                s.push_str(&format!("  stacks: {g}\n"));
            }
            for d in &t.decoded {
                s.push_str(&format!("  decoded: {d}\n"));
            }
            if let Some(w) = &t.why_no_finding {
                s.push_str(&format!("  no culprit: {w}\n"));
            }
        }
        for w in &self.findings {
            let f = &w.finding;
            s.push_str(&format!(
                "\n== {}. [{}] {}\n   {}\n",
                f.rank,
                f.kind.name(),
                f.title,
                f.explanation
            ));
            if !f.behind.is_empty() {
                let names: Vec<String> = f.behind.iter().map(|&t| self.graph.label(t)).collect();
                s.push_str(&format!(
                    "   waiting on the cycle, not part of it: {}\n",
                    names.join(", ")
                ));
            }
            if let Some((t, ns)) = f.oldest_waiter {
                s.push_str(&format!(
                    "   oldest waiter: {}, off the CPU for {}\n",
                    self.graph.label(t),
                    crate::kernel::tasks::duration_words(ns)
                ));
            }
            for st in &w.steps {
                s.push_str(&format!("  {}. {}\n", st.n, st.text));
                for e in &st.evidence {
                    s.push_str(&format!("       {}\n", e.describe()));
                }
                if let Some(t) = st.teaching {
                    s.push_str(&format!("       ▸ {t}\n"));
                }
                if !st.fields.is_empty() {
                    s.push_str(&format!(
                        "       ▸ fields: {} (quiesce fields KEY: meaning, code, normal vs stuck)\n",
                        st.fields.join(", ")
                    ));
                }
            }
            s.push_str(&format!("  ⇒ root cause: {}\n", w.root_cause));
            if !f.culprits.is_empty() {
                let names: Vec<String> = f
                    .culprits
                    .iter()
                    .map(|&c| match c.kind {
                        NodeKind::Task => self.graph.label(c),
                        k => format!("{} {}", k.name(), self.graph.label(c)),
                    })
                    .collect();
                s.push_str(&format!(
                    "  ⇒ culprit: {}{}\n",
                    names.join(", "),
                    match (f.culprit_is_candidate, self.source == "dump") {
                        (false, _) => "",
                        (true, true) => " (candidate: inferred, the kernel records no owner)",
                        (true, false) => " (candidate: inferred, not recorded in the text)",
                    }
                ));
            }
            if !w.signature.is_empty() {
                s.push_str(&format!("  ⇒ signature: {}\n", w.signature));
            }
        }
        if !self.undecoded.is_empty() {
            s.push_str("\nblocked, wait not decoded:\n");
            for u in &self.undecoded {
                s.push_str(&format!("  {u}\n"));
            }
        }
        for e in &self.graph.errors {
            s.push_str(&format!("PARTIAL: {e}\n"));
        }
        s
    }
}

impl Report for WaitGraphReport {
    fn text(&self) -> String {
        if self.svg {
            self.graph.svg()
        } else if self.dot {
            self.graph.dot()
        } else {
            self.graph.text()
        }
    }
}
