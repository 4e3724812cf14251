//! Indented caller-first trees inside ```` ``` ```` fences, as written by people and AI bug
//! bots (seed 001), and the task headings above them.

use super::*;

/// Parses a fenced block starting at `open` as one indented caller-first tree. Returns the
/// traces (one per task named in the heading above the fence) and the closing fence index.
pub(super) fn fenced_tree(
    lines: &[Line],
    open: usize,
    used: &mut [bool],
) -> Option<(Vec<CallTrace>, usize)> {
    let close = (open + 1..lines.len().min(open + 200))
        .find(|&j| lines[j].text.trim().starts_with("```"))?;
    let mut frames: Vec<(usize, Frame)> = Vec::new(); // (indent, frame), caller first
    let mut frame_lines = Vec::new();
    let mut state = None;
    for (j, l) in lines.iter().enumerate().take(close).skip(open + 1) {
        let raw = l.text.trim_end();
        let t = raw.trim_start();
        if t.is_empty() {
            continue;
        }
        let indent = raw.len() - t.len();
        if let Some(loc) = bracket_loc(t) {
            if let Some((_, f)) = frames.last_mut() {
                f.source_loc = Some(loc);
                frame_lines.push(j);
            }
            continue;
        }
        if let Some(chain) = tree_line(t, l.no) {
            for f in chain {
                frames.push((indent, f));
            }
            frame_lines.push(j);
        } else if let Some(s) = parse_sched_line(t) {
            state = Some(s.state);
            frame_lines.push(j);
        } else if t.starts_with("Workqueue:") {
            frame_lines.push(j);
        }
    }
    if frames.len() < 2 {
        return None;
    }
    // Caller-first trees indent deeper as they go; require that shape to avoid taking code.
    let indents: Vec<usize> = frames.iter().map(|(i, _)| *i).collect();
    if indents.windows(2).any(|w| w[1] < w[0]) || indents.first() == indents.last() {
        return None;
    }
    for j in frame_lines {
        used[j] = true;
    }
    used[close] = true;
    let mut fr: Vec<Frame> = frames.into_iter().map(|(_, f)| f).collect();
    fr.reverse();
    let who = heading_tasks(lines, open, used);
    let mk = |pid: Option<u32>, comm: Option<String>, line: Option<usize>| CallTrace {
        line: lines[open].no,
        end_line: lines[close].no,
        style: TraceStyle::IndentedTree,
        identity: TraceIdentity {
            pid,
            comm,
            state: state.clone(),
            origin: StackOrigin::IndentedTree,
            line,
            ..TraceIdentity::anonymous()
        },
        frames: fr.clone(),
        user_rip: None,
        register_lines: 0,
    };
    let traces = if who.is_empty() {
        vec![mk(None, None, None)]
    } else {
        who.into_iter()
            .map(|(c, p, l)| mk(Some(p), Some(c), Some(l)))
            .collect()
    };
    Some((traces, close))
}

/// `[kernel/rcu/srcutree.c:1304]` alone or trailing.
fn bracket_loc(t: &str) -> Option<String> {
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    let (file, line) = inner.rsplit_once(':')?;
    (file.contains('.') && line.bytes().all(|b| b.is_ascii_digit()) && !line.is_empty())
        .then(|| inner.to_string())
}

/// One tree line: `func`, `func()`, `func(&arg)`, `func+0x1/0x2`, with optional trailing
/// `[file:line]` and `← note`, or `a → b → c`.
fn tree_line(t: &str, line: usize) -> Option<Vec<Frame>> {
    let (body, note) = match t.split_once('←') {
        Some((b, n)) => (b.trim(), Some(n.trim().to_string())),
        None => (t, None),
    };
    let (body, loc) = match body.rfind(" [") {
        Some(i) if body.ends_with(']') => (body[..i].trim(), bracket_loc(body[i..].trim())),
        _ => (body, None),
    };
    let mut out = Vec::new();
    for part in body.split('→') {
        let p = part.trim();
        let (name, args) = match p.find('(') {
            Some(i) if p.ends_with(')') => (&p[..i], Some(&p[i..])),
            _ => (p, None),
        };
        let mut f = if let Some((func, off, size, module)) = parse_func_offset(name) {
            Frame {
                offset: Some(off),
                size,
                module,
                ..Frame::named(&func, line)
            }
        } else if is_symbol(name) && name.contains(|c: char| c == '_' || c.is_ascii_lowercase()) {
            Frame::named(name, line)
        } else {
            return None;
        };
        if let Some(a) = args.filter(|a| *a != "()") {
            f.note = Some(format!("args {a}"));
        }
        out.push(f);
    }
    if let Some(last) = out.last_mut() {
        last.source_loc = loc;
        if let Some(n) = note {
            last.note = Some(n);
        }
    }
    Some(out)
}

/// Tasks named in the heading above a fence: `repro2 (pid 4086)`, `kworker/0:0 (pid 9) and
/// kworker/0:1 (pid 11)`. Looks at the nearest non-blank line within three lines.
fn heading_tasks(lines: &[Line], open: usize, used: &mut [bool]) -> Vec<(String, u32, usize)> {
    let mut out = Vec::new();
    for j in (open.saturating_sub(3)..open).rev() {
        let t = lines[j].text.trim();
        if t.is_empty() {
            continue;
        }
        let mut rest = t;
        while let Some(pos) = rest.find("(pid ") {
            let before = rest[..pos].trim_end();
            let comm = before
                .rsplit(char::is_whitespace)
                .next()
                .unwrap_or("")
                .trim_matches('*');
            let after = &rest[pos + 5..];
            let num: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let (false, Ok(pid)) = (comm.is_empty(), num.parse()) {
                out.push((comm.to_string(), pid, lines[j].no));
            }
            rest = &after[num.len()..];
        }
        if !out.is_empty() {
            used[j] = true;
        }
        break;
    }
    out
}
