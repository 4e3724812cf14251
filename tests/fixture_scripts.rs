//! Every external command the fixture scripts and shell tests call is installed by
//! `fixtures/deps.sh` (the one place apt runs) or belongs to Debian's base system.
//!
//! A fresh machine once failed within a minute because nothing installed `kmod` (`depmod`):
//! this test reads the scripts the way bash would split them into simple commands, takes
//! each command word, and fails on any word that is neither a shell keyword or builtin, a
//! function the scripts define, a command of `HOST_PKGS_TABLE`, nor one of `BASE_CMDS`.
//! It needs no fixtures.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const KEYWORDS: &[&str] = &[
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "for",
    "in",
    "do",
    "done",
    "while",
    "until",
    "case",
    "esac",
    "function",
    "select",
    "time",
    "!",
    "[",
    "[[",
    "]]",
    "{",
    "}",
    "local",
    "declare",
    "readonly",
    "let",
    "printf",
    "echo",
    "read",
    "return",
    "exit",
    "set",
    "shift",
    "trap",
    "wait",
    "cd",
    "export",
    "eval",
    "exec",
    "source",
    ".",
    ":",
    "true",
    "false",
    "test",
    "unset",
    "break",
    "continue",
    "command",
    "type",
    "hash",
    "mapfile",
    "readarray",
    "pushd",
    "popd",
    "getopts",
    "kill",
    "umask",
    "ulimit",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The commands `fixtures/deps.sh` provides: its tables' commands (`HOST_PKGS_TABLE`, and
/// `HOST_PKGS_ARM64_TABLE` for the arm64 releases) and `BASE_CMDS`.
fn provided() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("fixtures/deps.sh")).unwrap();
    let mut out = BTreeSet::new();
    for name in ["HOST_PKGS_TABLE", "HOST_PKGS_ARM64_TABLE"] {
        let table = text
            .split(&format!("{name}='"))
            .nth(1)
            .and_then(|t| t.split('\'').next())
            .unwrap_or_else(|| panic!("{name} in fixtures/deps.sh"));
        out.extend(
            table
                .lines()
                .filter_map(|l| l.split_once(':'))
                .flat_map(|(_, cmds)| cmds.split(',').map(str::trim).filter(|c| !c.is_empty()))
                .map(String::from),
        );
    }
    let base = text
        .split("BASE_CMDS=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("BASE_CMDS in fixtures/deps.sh");
    out.extend(base.split_whitespace().map(String::from));
    // QEMU is installed pinned by install_host_deps (qemu-system-x86, qemu-system-arm, qemu-utils).
    out.extend(["qemu-system-x86_64", "qemu-system-aarch64", "qemu-img"].map(String::from));
    out
}

/// The shell syntax of one line with quoted text replaced by a plain word `Q` and comments,
/// arithmetic `$((…))` and array literals `x=(…)` dropped, so that `awk '/x/ && !d {…}'`
/// does not look like two commands. Command substitutions inside double quotes are code and
/// are kept, between `;(` and `);`.
fn unquote(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    scan(&chars, &mut 0, &mut out, None);
    out
}

/// Scan code from `*i` until `close` (an unmatched `)` of a `$(`) or the end.
fn scan(c: &[char], i: &mut usize, out: &mut String, close: Option<char>) {
    let mut prev_space = true;
    while *i < c.len() {
        let ch = c[*i];
        *i += 1;
        match ch {
            '\\' => *i += 1,
            '\'' => {
                while *i < c.len() && c[*i] != '\'' {
                    *i += 1;
                }
                *i += 1;
                out.push('Q');
            }
            '"' => {
                out.push('Q');
                while *i < c.len() && c[*i] != '"' {
                    if c[*i] == '\\' {
                        *i += 2;
                    } else if c[*i] == '$' && c.get(*i + 1) == Some(&'(') {
                        *i += 2;
                        if c.get(*i) == Some(&'(') {
                            skip_arith(c, i);
                        } else {
                            out.push_str(";(");
                            scan(c, i, out, Some(')'));
                            out.push_str(");");
                        }
                    } else {
                        *i += 1;
                    }
                }
                *i += 1;
            }
            '$' if c.get(*i) == Some(&'{') => {
                // ${var…}: an expansion, not syntax
                while *i < c.len() && c[*i] != '}' {
                    *i += 1;
                }
                *i += 1;
                out.push('Q');
            }
            '$' if c.get(*i) == Some(&'(') && c.get(*i + 1) == Some(&'(') => {
                *i += 1;
                skip_arith(c, i);
                out.push('Q');
            }
            '=' if c.get(*i) == Some(&'(') => {
                // array literal: x=(a b c)
                let mut depth = 0;
                while *i < c.len() {
                    match c[*i] {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                *i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    *i += 1;
                }
                out.push_str("=Q");
            }
            '#' if prev_space => {
                *i = c.len();
                return;
            }
            ')' if close == Some(')') => return,
            '(' if close.is_some() => {
                out.push('(');
                scan(c, i, out, Some(')'));
                out.push(')');
            }
            _ => out.push(ch),
        }
        prev_space = ch.is_whitespace() || ch == ';';
    }
}

/// Skip `(…))` after `$(`: arithmetic has no commands.
fn skip_arith(c: &[char], i: &mut usize) {
    let mut depth = 1;
    while *i < c.len() && depth > 0 {
        match c[*i] {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        *i += 1;
    }
    if c.get(*i) == Some(&')') {
        *i += 1;
    }
}

/// The command words of one script.
fn command_words(text: &str) -> (Vec<(usize, String)>, BTreeSet<String>) {
    let mut words = Vec::new();
    let mut functions = BTreeSet::new();
    let mut heredoc: Option<String> = None;
    let mut in_case = 0;
    // join continued lines (a trailing backslash), keeping the first line's number
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut cont = false;
    for (no, l) in text.lines().enumerate() {
        let body = l.strip_suffix('\\');
        match (cont, lines.last_mut()) {
            (true, Some(last)) => last.1.push_str(body.unwrap_or(l)),
            _ => lines.push((no, body.unwrap_or(l).to_string())),
        }
        cont = body.is_some();
    }
    for (no, raw) in &lines {
        let (no, raw) = (*no, raw.as_str());
        if let Some(end) = &heredoc {
            if raw.trim() == end {
                heredoc = None;
            }
            continue;
        }
        if let Some(i) = raw.find("<<") {
            let tag: String = raw[i + 2..]
                .trim_start_matches('-')
                .trim_start()
                .trim_start_matches(['\'', '"'])
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !tag.is_empty() {
                heredoc = Some(tag);
            }
        }
        let mut line = unquote(raw);
        let t = line.trim_start();
        if t.starts_with("case ") {
            in_case += 1;
        }
        if t.starts_with("esac") {
            in_case -= 1;
        }
        // a case pattern: `bookworm) …`, `*.xz)  …`
        if in_case > 0
            && let Some(i) = line.find(')')
            && !line[..i].contains('(')
            && !line[..i].trim_start().starts_with("case ")
        {
            line = line[i + 1..].to_string();
        }
        let t = line.trim();
        if let Some((name, rest)) = t.split_once("()")
            && !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            functions.insert(name.to_string());
            line = rest.to_string(); // a one-line body: `want() { [ … ]; }`
        }
        let segs = line.split([';', '|', '&', '(', ')', '`', '{', '}']);
        for seg in segs {
            for w in seg.split_whitespace() {
                // assignments and redirections before the command word
                if w.contains('=') && !w.starts_with('=')
                    || w.starts_with(['>', '<', '2', '1'])
                    || w == "Q"
                {
                    continue;
                }
                // keywords that introduce a command: the next word is the command
                if matches!(
                    w,
                    "then"
                        | "do"
                        | "else"
                        | "elif"
                        | "if"
                        | "while"
                        | "until"
                        | "!"
                        | "exec"
                        | "time"
                ) {
                    continue;
                }
                if matches!(
                    w,
                    "for"
                        | "case"
                        | "in"
                        | "["
                        | "[["
                        | "local"
                        | "export"
                        | "declare"
                        | "esac"
                        | "fi"
                        | "done"
                ) {
                    break;
                }
                words.push((no + 1, w.to_string()));
                break;
            }
        }
    }
    (words, functions)
}

fn scripts() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["fixtures", "fixtures/stages", "tests", ".ci", "benches"] {
        let Ok(rd) = std::fs::read_dir(repo().join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let is_sh = p.extension().is_some_and(|x| x == "sh")
                || std::fs::read_to_string(&p).is_ok_and(|t| t.starts_with("#!/usr/bin/env bash"));
            if is_sh && p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn plausible_command(w: &str) -> bool {
    w.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '.')
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+'))
}

#[test]
fn every_command_the_scripts_call_is_installed_by_deps_sh() {
    let provided = provided();
    let all: Vec<(PathBuf, String)> = scripts()
        .into_iter()
        .map(|p| {
            let t = std::fs::read_to_string(&p).unwrap();
            (p, t)
        })
        .collect();
    let mut functions = BTreeSet::new();
    for (_, text) in &all {
        functions.extend(command_words(text).1);
    }
    let mut missing = Vec::new();
    let mut checked = 0;
    for (path, text) in &all {
        for (no, w) in command_words(text).0 {
            if !plausible_command(&w) || w.starts_with("./") {
                continue;
            }
            let Some(base) = Path::new(&w).file_name() else {
                continue;
            };
            let base = base.to_string_lossy().to_string();
            // a path into the repository or the fixture cache (`$TOOLS/crash` is unquoted
            // away above) is the project's own program
            if w.contains('/') && !w.starts_with("/usr") && !w.starts_with("/bin") {
                continue;
            }
            checked += 1;
            if KEYWORDS.contains(&base.as_str())
                || functions.contains(&base)
                || provided.contains(&base)
                || base == "cargo"
                || base == "git"
            {
                continue;
            }
            missing.push(format!(
                "{}:{no}: `{w}`",
                path.strip_prefix(repo()).unwrap().display()
            ));
        }
    }
    assert!(
        checked > 100,
        "only {checked} command words found: the reader is broken"
    );
    assert!(
        missing.is_empty(),
        "commands the scripts call that fixtures/deps.sh does not install (add the package \
         to HOST_PKGS_TABLE, or the command to BASE_CMDS if the base system has it):\n{}",
        missing.join("\n")
    );
}

/// The reader itself: it must see `depmod` in the line that once broke a fresh machine and
/// must not take quoted text or heredocs for commands.
#[test]
fn the_reader_finds_command_words() {
    let text = "set -e\nfoo() {\n  depmod -b \"$R\" \"$ABI\"\n}\nawk '/x/ && !d {d=$0}' f | sort -u\n\
                x=$(readelf -S \"$(basename y)\" | grep q)\npython3 - <<'EOF'\nimport os\nEOF\n\
                case $a in\n  bookworm) REL=1; make ;;\nesac\n";
    let (words, fns) = command_words(text);
    let w: Vec<&str> = words.iter().map(|(_, w)| w.as_str()).collect();
    assert_eq!(
        w,
        [
            "set", "depmod", "awk", "sort", "readelf", "basename", "grep", "python3", "make"
        ]
    );
    assert!(fns.contains("foo"));
}
