//! The text jobs put in the result pane and the log pane's decoded lines: decoded
//! hung-task and stall reports, the `:` command line (the CLI's subcommands and `bt PID`),
//! a finder entry described.

use super::Shared;
use crate::kernel::Kernel;
use crate::kernel::printk::LogRecord;
use crate::report::Target;
use crate::report::commands::command_text;
use crate::tui::app::FinderKind;

/// JSON flattened to `path: value` lines, empty values left out; a list of frames is one
/// `path: func < func < …` line.
/// Fields of a decoded report that record how it was parsed (whether the header line was
/// present, the line its stack starts on): not shown in the pane.
const BOOKKEEPING: &[&str] = &["header", "stack_line"];

fn flatten(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match v {
        Value::Null => {}
        Value::Array(a) if a.is_empty() => {}
        Value::Object(o) if o.is_empty() => {}
        Value::Bool(false) => {}
        // A stack (frames with a `func`): one line, innermost first, as the report lists it.
        Value::Array(a)
            if a.iter()
                .all(|f| f.get("func").is_some_and(Value::is_string)) =>
        {
            let funcs: Vec<String> = a
                .iter()
                .map(|f| {
                    let unreliable = f.get("reliable") == Some(&Value::Bool(false));
                    format!(
                        "{}{}",
                        if unreliable { "? " } else { "" },
                        f["func"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            out.push(format!("{path}: {}", funcs.join(" < ")));
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                // where the parser found things, not what the report says
                if path.is_empty() && BOOKKEEPING.contains(&k.as_str()) {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(x, &p, out);
            }
        }
        Value::String(s) => out.push(format!("{path}: {s}")),
        other => out.push(format!("{path}: {other}")),
    }
}

/// The hung-task and RCU stall reports in a log, by the record they start at, each as its
/// decoded fields (the artifacts parsers' output flattened).
pub fn decode_records(records: &[LogRecord]) -> Vec<(usize, Vec<String>)> {
    let mut text = String::new();
    // 1-based physical line → record.
    let mut line_rec = vec![usize::MAX];
    for (i, r) in records.iter().enumerate() {
        for l in r.crash_line().split('\n') {
            text.push_str(l);
            text.push('\n');
            line_rec.push(i);
        }
    }
    let a = crate::artifacts::parse_text(&text);
    let rec = |line: usize| line_rec.get(line).copied().filter(|&r| r != usize::MAX);
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    let mut add = |line: usize, v: serde_json::Value, head: String| {
        if let Some(r) = rec(line) {
            let mut lines = vec![head];
            flatten(&v, "", &mut lines);
            out.push((r, lines));
        }
    };
    for h in &a.hung_tasks {
        add(
            h.line,
            serde_json::to_value(h).unwrap_or_default(),
            format!("hung task {}:{} (decoded)", h.comm, h.pid),
        );
    }
    for st in &a.stalls {
        add(
            st.line,
            serde_json::to_value(st).unwrap_or_default(),
            format!(
                "{} stall, {} (decoded)",
                st.flavor.as_deref().unwrap_or("rcu"),
                stall_kind(st.kind)
            ),
        );
    }
    out
}

/// How a stall report was detected, in words.
fn stall_kind(k: crate::artifacts::rcu_stall::StallKind) -> &'static str {
    use crate::artifacts::rcu_stall::StallKind::*;
    match k {
        OtherCpus => "detected on another CPU",
        SelfDetected => "self-detected",
        Expedited => "expedited",
        Fragment => "partial report",
    }
}

/// The hung-task and RCU stall reports the pasted-text parsers find in a log.
pub fn decode_log_text(text: &str) -> String {
    let a = crate::artifacts::parse_text(text);
    let mut s = format!(
        "{} hung-task report(s), {} RCU stall report(s), {} task stack(s) in {} lines\n\n",
        a.hung_tasks.len(),
        a.stalls.len(),
        a.tasks.len(),
        a.total_lines
    );
    for h in &a.hung_tasks {
        s.push_str(&format!(
            "line {}: task {}:{} blocked for more than {} seconds\n",
            h.line,
            h.comm,
            h.pid,
            h.blocked_secs.map(|b| b.to_string()).unwrap_or("?".into())
        ));
        for f in &h.frames {
            s.push_str(&format!(
                "    {}{}\n",
                if f.reliable { "" } else { "? " },
                f.func
            ));
        }
    }
    for st in &a.stalls {
        s.push_str(&format!(
            "line {}: {} stall ({}), {} CPU(s), {} blocked task group(s)\n",
            st.line,
            st.flavor.as_deref().unwrap_or("rcu"),
            stall_kind(st.kind),
            st.cpus.len(),
            st.blocked_tasks.len()
        ));
    }
    for g in a.stack_groups() {
        s.push_str(&format!(
            "{} task(s): {}\n",
            g.members.len(),
            g.funcs.join(" < ")
        ));
    }
    s
}

pub(super) fn command(k: &Kernel, s: &Shared, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() == Some(&"bt") {
        return bt_command(k, s, &words[1..]);
    }
    match (s.parse)(&words) {
        Ok(req) => {
            let t = Target {
                json: req.json,
                ..s.target.clone()
            };
            match command_text(k, &t, &req.command) {
                Ok((text, _)) => text,
                Err(e) => format!("error: {e:#}"),
            }
        }
        Err(e) => e,
    }
}

fn bt_command(k: &Kernel, s: &Shared, args: &[&str]) -> String {
    let Some((_, tasks)) = s.tasks.get() else {
        return "tasks are still being read".into();
    };
    let Some(pid) = args.first().and_then(|p| p.parse::<i32>().ok()) else {
        return "usage: bt PID".into();
    };
    let uw = match s.unwinder(k) {
        Ok(u) => u,
        Err(e) => return format!("bt: no unwinder: {e}"),
    };
    let mut out = String::new();
    for t in tasks.iter().filter(|t| t.pid == pid) {
        let bt = uw.backtrace(k, t);
        for l in crate::tui::panes::backtrace::lines(&bt) {
            out.push_str(&l.text());
            out.push('\n');
        }
        out.push('\n');
    }
    if out.is_empty() {
        out = format!("bt: no task with pid {pid}");
    }
    out
}

pub(super) fn describe(k: &Kernel, kind: FinderKind, name: &str) -> String {
    let di = &k.di;
    let mut s = String::new();
    if let Some(sym) = di.symbol(name) {
        let addr = k.relocate(sym.addr, sym.module.is_some());
        let what = match sym.kind {
            crate::debuginfo::SymKind::Func => "function",
            crate::debuginfo::SymKind::Object => "variable",
            crate::debuginfo::SymKind::Other => "symbol",
        };
        s.push_str(&format!(
            "{name}: {what} at {:#x}, size {}{}\n",
            addr.0,
            sym.size,
            sym.module
                .as_ref()
                .map(|m| format!(" [{m}]"))
                .unwrap_or_default()
        ));
        for l in di.lines(sym.addr) {
            s.push_str(&format!(
                "  {} {}:{}\n",
                l.function.unwrap_or_default(),
                l.file.unwrap_or_default(),
                l.line.unwrap_or(0)
            ));
        }
    }
    if kind == FinderKind::Type || s.is_empty() {
        match di.find_type(name) {
            Ok(id) => s.push_str(&format!(
                "{}: size {}\n",
                crate::kernel::value::type_name(di, id),
                di.sizeof(id).map(|n| n.to_string()).unwrap_or("?".into())
            )),
            Err(e) if s.is_empty() => s.push_str(&format!("{name}: {e}\n")),
            Err(_) => {}
        }
    }
    s
}
