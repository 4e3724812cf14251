//! The field explanations overlay (`explain_field`): what the fields on the SRCU or RCU
//! pane's cursor row mean (`rcu::fields`), with the kernel members this dump's kernel has
//! and the functions that set and read them. Each function is a row whose Enter opens the
//! source pane at its `file:line`; until the background job has looked them up in the
//! debug info, the functions are listed by name.

use super::rows::{Row, Target};
use crate::rcu::fields::{self, Location, Resolved};

/// Wrap `text` at `width` columns, words kept whole.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![];
    let mut line = String::new();
    for w in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + w.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

fn labelled(rows: &mut Vec<Row>, label: &str, text: &str, width: usize) {
    for (i, l) in wrap(text, width.saturating_sub(10)).into_iter().enumerate() {
        let head = if i == 0 { label } else { "" };
        rows.push(
            Row::new()
                .cell("ui.header", format!("  {head:<8}"))
                .cell("ui", l),
        );
    }
}

fn functions(rows: &mut Vec<Row>, label: &str, names: &[&str], at: Option<&[Location]>) {
    for (i, name) in names.iter().enumerate() {
        let head = if i == 0 { label } else { "" };
        let row = Row::new().cell("ui.header", format!("  {head:<8}"));
        let loc = at.and_then(|a| a.iter().find(|l| l.function == *name));
        rows.push(match (at, loc) {
            (_, Some(l)) => row
                .cell("ui.link", format!("{name}  {}:{}", l.file, l.line))
                .to(Target::Source {
                    file: l.file.clone(),
                    line: l.line,
                }),
            (Some(_), None) => row.cell(
                "ui.placeholder",
                format!("{name}  (inlined in this kernel)"),
            ),
            (None, None) => row.cell("ui", name.to_string()),
        });
    }
}

/// The overlay's rows for the fields `keys`, `width` columns wide; `resolved` is every
/// field resolved against the dump's kernel, once the job has done it.
pub fn field_rows(keys: &[&str], resolved: Option<&[Resolved]>, width: usize) -> Vec<Row> {
    let mut rows = vec![];
    for key in keys {
        let Some(doc) = fields::lookup(key) else {
            continue;
        };
        let r = resolved.and_then(|all| all.iter().find(|r| r.doc.key == doc.key));
        if !rows.is_empty() {
            rows.push(Row::new());
        }
        rows.push(Row::new().cell("ui.header", format!("{}  ({})", doc.key, doc.label)));
        for m in doc.members {
            let name = format!("{}.{}", m.strukt, m.path);
            let here = match r {
                Some(r) if r.present.contains(&name) => " ← this kernel",
                _ => "",
            };
            labelled(
                &mut rows,
                "member",
                &format!("{name}{here}  [{}]", m.since),
                width,
            );
        }
        if let Some(d) = doc.derived {
            labelled(&mut rows, "derived", d, width);
        }
        labelled(&mut rows, "meaning", doc.meaning, width);
        functions(
            &mut rows,
            "set by",
            doc.set_by,
            r.map(|r| r.set_at.as_slice()),
        );
        functions(
            &mut rows,
            "read by",
            doc.read_by,
            r.map(|r| r.read_at.as_slice()),
        );
        labelled(&mut rows, "normal", doc.normal, width);
        labelled(&mut rows, "stuck", doc.stuck, width);
    }
    if rows.is_empty() {
        rows.push(Row::new().cell("ui.placeholder", "no kernel field on this row"));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_explain_each_key_and_link_resolved_functions() {
        let rows = field_rows(&["srcu.gp_seq", "rcu.node.qsmask"], None, 80);
        let text: Vec<String> = rows.iter().map(|r| r.plain()).collect();
        assert!(text[0].starts_with("srcu.gp_seq"), "{text:?}");
        assert!(text.iter().any(|t| t.starts_with("rcu.node.qsmask")));
        assert!(text.iter().all(|t| t.chars().count() <= 80), "{text:?}");
        assert!(
            rows.iter().all(|r| r.target.is_none()),
            "nothing to open before resolving"
        );
        let doc = fields::lookup("srcu.gp_seq").unwrap();
        let resolved = vec![Resolved {
            doc,
            present: vec!["srcu_usage.srcu_gp_seq".into()],
            set_at: vec![Location {
                function: "srcu_gp_start",
                file: "kernel/rcu/srcutree.c".into(),
                line: 847,
            }],
            read_at: vec![],
        }];
        let rows = field_rows(&["srcu.gp_seq"], Some(&resolved), 80);
        let linked: Vec<&Row> = rows.iter().filter(|r| r.target.is_some()).collect();
        assert_eq!(linked.len(), 1);
        assert_eq!(
            linked[0].target,
            Some(Target::Source {
                file: "kernel/rcu/srcutree.c".into(),
                line: 847
            })
        );
        let text: String = rows.iter().map(|r| r.plain() + "\n").collect();
        assert!(
            text.contains("srcu_usage.srcu_gp_seq ← this kernel [6.4+"),
            "{text}"
        );
        assert!(text.contains("process_srcu  (inlined in this kernel)"));
        assert_eq!(
            field_rows(&[], None, 80)[0].plain(),
            "no kernel field on this row"
        );
    }
}
