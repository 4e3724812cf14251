//! The dependency rule of docs/architecture.md, checked on the source: bytes → model →
//! presentation, nothing imports a layer above its own, and the two front ends (the CLI and
//! the TUI) never import each other — `main.rs` wires them.

use std::path::{Path, PathBuf};

/// The layers, bottom first (docs/architecture.md). Modules on one line may use each other;
/// `cli` and `tui` are the exception, checked below.
const LAYERS: &[&[&str]] = &[
    &["addr", "timing"],
    &["dump", "artifacts"],
    &["arch"],
    &["translate"],
    &["debuginfo"],
    &["kernel"],
    &["unwind", "rcu"],
    &["analysis"],
    &["report"],
    &["cli", "tui"],
    // the fuzz targets drive parsers of every layer, the TUI's config files included
    &["fuzz"],
];

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer of tests/layers.rs"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a file names through `crate::` (`crate::kernel::Kernel`,
/// `use crate::{cli, tui::run}`), comments left out.
fn crate_refs(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = code[i + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::b, c}`: every item's first segment (nested groups are inside one).
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start => {
                        out.push(ident(&group[j..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

/// Every `(file, module it is in, module it names)` under `src/` except `main.rs` and
/// `lib.rs`.
fn imports() -> Vec<(String, String, String)> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut out = vec![];
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        if rel == "main.rs" || rel == "lib.rs" {
            continue;
        }
        let module = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        for m in crate_refs(&std::fs::read_to_string(&f).unwrap()) {
            out.push((rel.clone(), module.clone(), m));
        }
    }
    out
}

#[test]
fn the_scanner_reads_grouped_and_plain_paths() {
    let got = crate_refs(
        "use crate::{cli, tui::run, kernel::{a, b}};\n\
         // crate::report in a comment\n\
         let k = crate::kernel::open(x);\n",
    );
    assert_eq!(got, ["cli", "tui", "kernel", "kernel"]);
}

#[test]
fn the_cli_and_the_tui_never_import_each_other() {
    let bad: Vec<_> = imports()
        .into_iter()
        .filter(|(_, from, to)| (from == "tui" && to == "cli") || (from == "cli" && to == "tui"))
        .collect();
    assert!(bad.is_empty(), "cli ↔ tui imports: {bad:#?}");
}

#[test]
fn nothing_in_the_library_imports_the_cli() {
    let bad: Vec<_> = imports()
        .into_iter()
        .filter(|(_, from, to)| to == "cli" && from != "cli")
        .collect();
    assert!(
        bad.is_empty(),
        "imports of cli (only main.rs may): {bad:#?}"
    );
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let all = imports();
    assert!(all.len() > 100, "the scan found only {} imports", all.len());
    let bad: Vec<_> = all
        .into_iter()
        .filter(|(_, from, to)| layer(to) > layer(from))
        .collect();
    assert!(bad.is_empty(), "imports against the layer order: {bad:#?}");
}

#[test]
fn main_wires_the_cli_and_the_tui() {
    let main =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/main.rs"))
            .unwrap();
    assert!(main.contains("quiesce::cli::") && main.contains("quiesce::tui::run"));
}
