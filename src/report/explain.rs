//! `explain` and `waitgraph`: the walkthrough as numbered steps under each finding, and the
//! wait graph as one line per edge or Graphviz dot.

use super::Report;
use crate::analysis::find::FindingKind;
use crate::analysis::walkthrough::{Explanation, WaitGraphReport};

/// A finding's kind as the heading of its walkthrough says it.
pub fn kind_words(k: FindingKind) -> &'static str {
    match k {
        FindingKind::Deadlock => "deadlock",
        FindingKind::Stall => "stall",
        FindingKind::NoWaker => "no waker",
        FindingKind::TimedSleep => "timed sleep",
        FindingKind::Blocked => "blocked",
    }
}

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
                "text: {} lines, {} not understood (counted, skipped)\n",
                t.total_lines, t.unparsed_lines
            ));
            for g in &t.stack_groups {
                s.push_str(&format!("  stacks: {g}\n"));
            }
            for d in &t.decoded {
                s.push_str(&format!("  decoded: {d}\n"));
            }
        }
        for w in &self.findings {
            let f = &w.finding;
            s.push_str(&format!(
                "\n== {}. [{}] {}\n   {}\n",
                f.rank,
                kind_words(f.kind),
                f.title,
                f.explanation
            ));
            for st in &w.steps {
                s.push_str(&format!("  {}. {}\n", st.n, st.text));
                for e in &st.evidence {
                    s.push_str(&format!("       {}\n", e.describe()));
                }
                if let Some(t) = st.teaching {
                    s.push_str(&format!("       ▸ {t}\n"));
                }
            }
            s.push_str(&format!("  ⇒ root cause: {}\n", w.root_cause));
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
        if self.dot {
            self.graph.dot()
        } else {
            self.graph.text()
        }
    }
}
