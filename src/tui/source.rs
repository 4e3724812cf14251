//! The source pane's data: a kernel source file resolved against `--source` or found by the
//! dump's release (`debuginfo::sources`), highlighted
//! with syntect (pure-Rust regexes, no C dependency), and where tasks block in it.

use crate::kernel::Kernel;
use ratatui::style::Color;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use syntect::easy::HighlightLines;
use syntect::highlighting::ThemeSet;
use syntect::parsing::SyntaxSet;

/// One highlighted line: (foreground, text) pieces.
pub type HlLine = Vec<(Option<Color>, String)>;

/// A file opened in the source pane.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The file as the debug info names it (kernel-tree-relative, or a module's absolute
    /// build path): the key for notes and annotations.
    pub key: String,
    /// Where it was read from.
    pub path: PathBuf,
    /// The line the pane was opened at (1-based).
    pub line: u32,
    pub lines: Vec<HlLine>,
}

/// Files longer than this are shown without highlighting (syntect is linear but not free).
pub const MAX_HIGHLIGHT_LINES: usize = 40_000;

fn syntaxes() -> &'static SyntaxSet {
    static S: OnceLock<SyntaxSet> = OnceLock::new();
    S.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn themes() -> &'static ThemeSet {
    static T: OnceLock<ThemeSet> = OnceLock::new();
    T.get_or_init(ThemeSet::load_defaults)
}

/// The syntect theme for a quiesce theme.
pub fn syntax_theme_for(theme: &str) -> &'static str {
    if theme == "light" {
        "InspiredGitHub"
    } else {
        "base16-ocean.dark"
    }
}

/// Highlight `text` as the language of `path` (C for `.c`/`.h`), with a syntect theme.
pub fn highlight(path: &str, text: &str, syntax_theme: &str) -> Vec<HlLine> {
    let ss = syntaxes();
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let syntax = ss
        .find_syntax_by_extension(ext)
        .or_else(|| ss.find_syntax_by_extension("c"))
        .unwrap_or_else(|| ss.find_syntax_plain_text());
    let plain = |l: &str| {
        vec![(
            None,
            l.trim_end_matches(['\n', '\r']).replace('\t', "        "),
        )]
    };
    let Some(theme) = themes().themes.get(syntax_theme) else {
        return text.lines().map(plain).collect();
    };
    if text.lines().count() > MAX_HIGHLIGHT_LINES {
        return text.lines().map(plain).collect();
    }
    let mut h = HighlightLines::new(syntax, theme);
    let mut out = Vec::new();
    for line in syntect::util::LinesWithEndings::from(text) {
        match h.highlight_line(line, ss) {
            Ok(pieces) => out.push(
                pieces
                    .into_iter()
                    .map(|(st, s)| {
                        let c = st.foreground;
                        (
                            Some(Color::Rgb(c.r, c.g, c.b)),
                            s.trim_end_matches(['\n', '\r']).replace('\t', "        "),
                        )
                    })
                    .filter(|(_, s)| !s.is_empty())
                    .collect(),
            ),
            Err(_) => out.push(plain(line)),
        }
    }
    out
}

/// Find `file` (as the debug info names it): an absolute path that exists (module sources
/// where they were built), else under `root` (`--source`: a tree or a `.tar.xz`), trying the
/// path's trailing components so that `/build/linux-6.1/kernel/rcu/srcutree.c` finds
/// `ROOT/kernel/rcu/srcutree.c`; without `root`, where distributions install the source of
/// `release` (see `debuginfo::sources`). The error says where it looked.
pub fn resolve(root: Option<&Path>, k: Option<&Kernel>, file: &str) -> Result<PathBuf, String> {
    use crate::debuginfo::sources::{SourceSearch, find};
    let mut s = SourceSearch::from_env(root, k.and_then(|k| k.vmcoreinfo.osrelease()));
    if s.debuginfod.is_some()
        && let Some(k) = k
    {
        s.origins = k.di.source_origins();
    }
    find(&s, file).map(|f| f.path)
}

/// Read and highlight a file for the pane.
pub fn load(
    root: Option<&Path>,
    k: Option<&Kernel>,
    file: &str,
    line: u32,
    syntax_theme: &str,
) -> Result<SourceFile, String> {
    let path = resolve(root, k, file)?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(SourceFile {
        key: file.to_string(),
        lines: highlight(file, &text, syntax_theme),
        path,
        line,
    })
}

/// Whether two file names denote the same source file: equal, or one is a trailing path of
/// the other (`kernel/rcu/srcutree.c` and `/build/linux/kernel/rcu/srcutree.c`).
pub fn same_file(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (long, short) = if a.len() > b.len() { (a, b) } else { (b, a) };
    long.ends_with(short) && long[..long.len() - short.len()].ends_with('/')
}

/// Where tasks block in a file: line → (pids) from backtraces, plus evidence lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    pub blocked: BTreeMap<u32, Vec<i32>>,
    pub evidence: BTreeMap<u32, Vec<String>>,
}

impl Annotations {
    /// The inline text for a line.
    pub fn text(&self, line: u32) -> Vec<String> {
        let mut out = vec![];
        if let Some(p) = self.blocked.get(&line) {
            let shown: Vec<String> = p.iter().take(8).map(|p| p.to_string()).collect();
            out.push(format!(
                "← {} task{} block{} here: {}{}",
                p.len(),
                if p.len() == 1 { "" } else { "s" },
                if p.len() == 1 { "s" } else { "" },
                shown.join(","),
                if p.len() > 8 { ",…" } else { "" }
            ));
        }
        if let Some(e) = self.evidence.get(&line) {
            for e in e {
                out.push(format!("← {e}"));
            }
        }
        out
    }
}
