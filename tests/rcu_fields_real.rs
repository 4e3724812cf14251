//! Every SRCU and RCU field quiesce shows is explained (`quiesce fields`), on every
//! release's real dumps: each leaf of `srcu --json` and `rcu --json` has an explanation (or
//! is named as not kernel state), each explained field that this kernel shows has a member
//! this kernel's debug info has, and kernel source locations for the code that sets or
//! reads it — read from that release's DWARF, so they are checked against the release's
//! own vmlinux, and each is the line where the function is declared in its source file.

mod common;

use common::{release, run_quiesce};
use quiesce::rcu::fields;
use serde_json::Value;
use std::collections::BTreeSet;

/// The leaf paths of `v`; an empty array is a leaf (`holdouts[]`), also listed in `empty`.
fn leaf_paths(v: &Value, at: &str, out: &mut BTreeSet<String>, empty: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                leaf_paths(x, &p, out, empty);
            }
        }
        Value::Array(a) => {
            if a.is_empty() {
                out.insert(format!("{at}[]"));
                empty.insert(format!("{at}[]"));
            }
            for x in a {
                leaf_paths(x, &format!("{at}[]"), out, empty);
            }
        }
        Value::Null => {}
        _ => {
            out.insert(at.to_string());
        }
    }
}

/// The leaf paths of `srcu --json` and `rcu --json` on the release's hang dump, and those
/// of them that are empty arrays.
fn shown(rel: &common::Release) -> (BTreeSet<String>, BTreeSet<String>) {
    let elf = rel.elf_of("hang").expect("hang.elf");
    let (mut paths, mut empty) = (BTreeSet::new(), BTreeSet::new());
    for cmd in ["srcu", "rcu"] {
        let (code, out, err) = run_quiesce(&[
            cmd,
            "--json",
            "-c",
            elf.path.to_str().unwrap(),
            "-s",
            rel.vmlinux().to_str().unwrap(),
            "-s",
            rel.modules_dir().to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{cmd}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        leaf_paths(&v, "", &mut paths, &mut empty);
    }
    (paths, empty)
}

#[test]
fn every_field_shown_is_explained_with_this_kernels_sources() {
    let mut seen_releases = 0;
    for name in ["bookworm", "trixie", "sid"] {
        let Some(rel) = release(name) else {
            continue;
        };
        seen_releases += 1;
        let (paths, empty) = shown(&rel);
        assert!(paths.len() > 60, "{name}: {} paths", paths.len());
        let unexplained: Vec<&String> = paths
            .iter()
            .filter(|p| {
                fields::lookup(p).is_none() && !fields::NOT_KERNEL_FIELDS.contains(&p.as_str())
            })
            .collect();
        assert!(
            unexplained.is_empty(),
            "{name}: shown but not explained: {unexplained:?}"
        );

        let elf = rel.elf_of("hang").unwrap();
        let (code, out, err) = run_quiesce(&[
            "fields",
            "--json",
            "-c",
            elf.path.to_str().unwrap(),
            "-s",
            rel.vmlinux().to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let list = v["fields"].as_array().unwrap();
        assert_eq!(list.len(), fields::all().count());
        let src = common::fixtures_root().join("src");
        for f in list {
            let key = f["key"].as_str().unwrap();
            let json: Vec<&str> = f["json"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j.as_str().unwrap())
                .collect();
            // (an empty list shows nothing of the field)
            let is_shown = json.iter().any(|j| {
                paths.iter().any(|p| {
                    !empty.contains(p)
                        && fields::lookup(p).is_some_and(|d| d.key == key)
                        && p.starts_with(*j)
                })
            });
            if !is_shown {
                continue;
            }
            let members = f["members"].as_array().unwrap();
            let present = f["present"].as_array().unwrap();
            assert!(
                members.is_empty() || !present.is_empty(),
                "{name}: {key} is shown but none of its members is in this kernel: {members:?}"
            );
            let locs: Vec<&Value> = f["set_at"]
                .as_array()
                .unwrap()
                .iter()
                .chain(f["read_at"].as_array().unwrap())
                .collect();
            assert!(
                !locs.is_empty(),
                "{name}: {key}: no function found in this kernel"
            );
            for l in &locs {
                let file = l["file"].as_str().unwrap();
                let line = l["line"].as_u64().unwrap();
                assert!(
                    file.starts_with("kernel/") || file.starts_with("include/"),
                    "{name}: {key}: {file}"
                );
                assert!(line > 0);
                // bookworm's source tree is unpacked for the demo: the line is the
                // function's definition there
                if name == "bookworm" {
                    let path = src.join("linux-source-6.1").join(file);
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        let fun = l["function"].as_str().unwrap();
                        let at = text.lines().nth(line as usize - 1).unwrap_or_default();
                        assert!(
                            at.contains(&format!("{fun}(")),
                            "{key}: {file}:{line} is {at:?}, not {fun}"
                        );
                    }
                }
            }
        }
    }
    if common::required() {
        assert_eq!(seen_releases, 3);
    }
}
