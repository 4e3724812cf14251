//! `fields`: what each SRCU and RCU field quiesce shows means (`rcu::fields`), with this
//! dump's kernel: which of the field's members it has and where the functions that set
//! and read it are declared in its source.

use super::Report;
use crate::kernel::Kernel;
use crate::rcu::fields::{self, Location, Resolved};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct FieldsReport {
    pub fields: Vec<Resolved>,
}

impl FieldsReport {
    /// The fields whose key, label or JSON path is or starts with `filter` (`srcu`,
    /// `rcu.node`, `gp_seq`), every field without one. `None` when nothing matches.
    pub fn new(k: &Kernel, filter: Option<&str>) -> Option<FieldsReport> {
        let fields: Vec<Resolved> = fields::all()
            .filter(|f| {
                filter.is_none_or(|w| {
                    f.key == w
                        || f.key.starts_with(&format!("{w}."))
                        || f.label == w
                        || f.json.contains(&w)
                })
            })
            .map(|f| fields::resolve(k, f))
            .collect();
        (!fields.is_empty()).then_some(FieldsReport { fields })
    }
}

fn locations(l: &[Location]) -> String {
    if l.is_empty() {
        return "(inlined everywhere in this kernel)".into();
    }
    l.iter()
        .map(|l| format!("{} {}:{}", l.function, l.file, l.line))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report for FieldsReport {
    fn text(&self) -> String {
        let mut s = String::new();
        for r in &self.fields {
            let d = r.doc;
            s.push_str(&format!("{}  ({})\n", d.key, d.label));
            for m in d.members {
                let name = format!("{}.{}", m.strukt, m.path);
                let here = if r.present.contains(&name) {
                    "in this kernel"
                } else {
                    "not in this kernel"
                };
                s.push_str(&format!("  member   {name}  [{}; {here}]\n", m.since));
            }
            if let Some(how) = d.derived {
                s.push_str(&format!("  derived  {how}\n"));
            }
            s.push_str(&format!("  meaning  {}\n", d.meaning));
            s.push_str(&format!("  set by   {}\n", locations(&r.set_at)));
            s.push_str(&format!("  read by  {}\n", locations(&r.read_at)));
            s.push_str(&format!("  normal   {}\n", d.normal));
            s.push_str(&format!("  stuck    {}\n\n", d.stuck));
        }
        s
    }
}
