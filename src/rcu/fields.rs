//! What every SRCU and RCU field quiesce shows means: the kernel member behind it (for each
//! layout generation, with the commit that introduced it), the kernel functions that set
//! and read it, and what a normal value looks like against a stuck one. One table
//! (`fields_srcu.rs`, `fields_tree.rs`) serves the SRCU and RCU panes, `explain` and the
//! `fields` command, text and JSON.
//!
//! Source locations are not written into the table: they come from the dump's own debug
//! info ([`resolve`]): each function's `DW_AT_decl_file`/`DW_AT_decl_line` in that
//! release's vmlinux, so they are right for whatever kernel the dump is of. A function the
//! compiler inlined everywhere has no entry of its own and is left out of the locations
//! (the others of the field remain); the member paths are checked against the debug info
//! the same way (`present`).

use crate::kernel::Kernel;
use crate::kernel::layout::Probe;
use crate::unwind::task::kernel_relative;
use serde::Serialize;

/// One kernel member a field is read from, in one layout generation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Member {
    /// The struct (`srcu_usage`, `rcu_data`, …).
    pub strukt: &'static str,
    /// The member path inside it (`srcu_gp_seq`, `cpu_no_qs.b.norm`).
    pub path: &'static str,
    /// Which kernels have it: a version range and the commit that made it so.
    pub since: &'static str,
}

/// The explanation of one field as quiesce shows it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FieldDoc {
    /// `srcu.gp_seq`, `rcu.node.qsmask`, …
    pub key: &'static str,
    /// The label on screen (`gp_seq`, `QS owed`).
    pub label: &'static str,
    /// The kernel members behind it, one per layout generation; empty for a value quiesce
    /// derives (then `derived` says from what).
    pub members: &'static [Member],
    pub derived: Option<&'static str>,
    pub meaning: &'static str,
    /// Kernel functions that change the field.
    pub set_by: &'static [&'static str],
    /// Kernel functions that act on its value.
    pub read_by: &'static [&'static str],
    pub normal: &'static str,
    pub stuck: &'static str,
    /// The JSON paths of `srcu --json` / `rcu --json` this explains (`domains[].gp_seq`).
    pub json: &'static [&'static str],
}

/// A [`Member`] (the tables' shorthand).
pub(super) const fn m(strukt: &'static str, path: &'static str, since: &'static str) -> Member {
    Member {
        strukt,
        path,
        since,
    }
}

/// Every field: SRCU's, then Tree RCU's.
pub fn all() -> impl Iterator<Item = &'static FieldDoc> {
    super::fields_srcu::FIELDS
        .iter()
        .chain(super::fields_tree::FIELDS.iter())
}

/// The field with this key (`srcu.gp_seq`), or that explains this JSON path: one of its
/// paths, or the longest of them that is a parent of it (`holdouts[]` explains
/// `holdouts[].cpu`).
pub fn lookup(key: &str) -> Option<&'static FieldDoc> {
    if let Some(f) = all().find(|f| f.key == key || f.json.contains(&key)) {
        return Some(f);
    }
    all()
        .filter_map(|f| {
            let parent = f.json.iter().filter(|j| {
                key.strip_prefix(**j)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]"))
            });
            parent.map(|j| j.len()).max().map(|n| (n, f))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, f)| f)
}

/// JSON paths of the reports that are not kernel state (names, addresses, how quiesce found
/// a domain, its own notes): nothing to explain about the kernel.
pub const NOT_KERNEL_FIELDS: &[&str] = &[
    "domains[].addr",
    "domains[].name",
    "domains[].found[]",
    "domains[].found[].Module",
    "domains[].found[].WaiterStack",
    "domains[].found[].Address",
    "domains[].generation",
    "domains[].implementation",
    "domains[].notes[]",
    "domains[].errors[]",
    "domains[].cpus[].cpu",
    "domains[].cpus[].sdp",
    "domains[].size_state.source",
    "errors[]",
    "jiffies",
    "name",
    "notes[]",
    "cpus[].cpu",
    "gp_state.source",
    "nodes[].addr",
    "nodes[].index",
];

/// A function of a field, where this kernel declares it.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub function: &'static str,
    /// Kernel-tree-relative file, as the debug info names it.
    pub file: String,
    pub line: u32,
}

/// A field with what this kernel's debug info says of it.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    #[serde(flatten)]
    pub doc: &'static FieldDoc,
    /// The members of `doc.members` this kernel has (`struct.path`).
    pub present: Vec<String>,
    pub set_at: Vec<Location>,
    pub read_at: Vec<Location>,
}

/// Resolve `doc` against the kernel's debug info: which of its members exist and where its
/// functions are declared. Types are probed once per struct name per call.
pub fn resolve(k: &Kernel, doc: &'static FieldDoc) -> Resolved {
    let present = doc
        .members
        .iter()
        .filter(|m| {
            Probe::new(&k.di, struct_name(m.strukt))
                .ok()
                .and_then(|p| p.opt(m.path))
                .is_some()
        })
        .map(|m| format!("{}.{}", m.strukt, m.path))
        .collect();
    let at = |fns: &[&'static str]| -> Vec<Location> {
        fns.iter()
            .filter_map(|&f| {
                let fi = k.di.find_function(f)?;
                Some(Location {
                    function: f,
                    file: kernel_relative(&fi.decl_file?),
                    line: fi.decl_line?,
                })
            })
            .collect()
    };
    Resolved {
        doc,
        present,
        set_at: at(doc.set_by),
        read_at: at(doc.read_by),
    }
}

fn struct_name(s: &'static str) -> &'static str {
    match s {
        "srcu_struct" => "struct srcu_struct",
        "srcu_usage" => "struct srcu_usage",
        "srcu_data" => "struct srcu_data",
        "rcu_state" => "struct rcu_state",
        "rcu_node" => "struct rcu_node",
        "rcu_data" => "struct rcu_data",
        "rcu_segcblist" => "struct rcu_segcblist",
        "rq" => "struct rq",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_every_field_is_complete() {
        let mut keys: Vec<&str> = all().map(|f| f.key).collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate keys");
        for f in all() {
            assert!(
                !f.members.is_empty() || f.derived.is_some(),
                "{}: neither a member nor how it is derived",
                f.key
            );
            assert!(
                !f.set_by.is_empty() && !f.read_by.is_empty(),
                "{}: functions",
                f.key
            );
            for s in [f.meaning, f.normal, f.stuck] {
                assert!(s.len() > 20 && s.ends_with('.'), "{}: {s:?}", f.key);
            }
            assert!(!f.json.is_empty(), "{}: no JSON path", f.key);
            assert!(
                f.key.starts_with("srcu.") || f.key.starts_with("rcu."),
                "{}",
                f.key
            );
        }
        let mut paths: Vec<&str> = all().flat_map(|f| f.json.iter().copied()).collect();
        let n = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), n, "a JSON path explained twice");
        assert!(paths.iter().all(|p| !NOT_KERNEL_FIELDS.contains(p)));
    }

    #[test]
    fn lookup_by_key_or_json_path() {
        assert_eq!(lookup("srcu.gp_seq").unwrap().label, "gp_seq");
        assert_eq!(lookup("nodes[].qsmask").unwrap().key, "rcu.node.qsmask");
        assert!(lookup("nope").is_none());
        assert_eq!(lookup("holdouts[].cpu").unwrap().key, "rcu.node.qsmask");
        assert_eq!(
            lookup("nodes[].blkd_tasks[].comm").unwrap().key,
            "rcu.node.blkd_tasks"
        );
        assert!(lookup("holdoutsX").is_none());
    }
}
