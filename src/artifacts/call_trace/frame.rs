//! One line of a stack trace: the frame shapes every architecture and tool prints, register
//! dumps and the context lines around traces.

use super::*;


/// Splits `func+0x1a4/0x1d8 [mod]` into (func, offset, size, module). `size` is `None` for
/// `func+0x10`; a decimal offset (`func+123`, bpftrace) is accepted too. The function may carry
/// compiler suffixes (`kernfs_put.part.0`, `nmi_cpu_backtrace.cold`).
pub fn parse_func_offset(s: &str) -> Option<(String, u64, Option<u64>, Option<String>)> {
    let s = s.trim();
    let (sym, module) = match s.find(" [") {
        Some(i) if s.ends_with(']') => (&s[..i], Some(s[i + 2..s.len() - 1].trim().to_string())),
        _ => (s, None),
    };
    let (func, offs) = sym.rsplit_once('+')?;
    if !is_symbol(func) {
        return None;
    }
    let (off, size) = match offs.split_once('/') {
        Some((o, l)) => (
            parse_hex(o.strip_prefix("0x")?)?,
            Some(parse_hex(l.strip_prefix("0x")?)?),
        ),
        None => match offs.strip_prefix("0x") {
            Some(h) => (parse_hex(h)?, None),
            None => (offs.parse().ok()?, None),
        },
    };
    if module
        .as_deref()
        .is_some_and(|m| m.is_empty() || m.contains(' '))
    {
        return None;
    }
    Some((func.to_string(), off, size, module))
}

/// Kernel symbol characters: C identifiers plus `.` (`.cold`, `.isra.0`) and `$`.
pub(crate) fn is_symbol(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$')
}

/// Parses one kernel-style frame line: `[ <addr> ] [?] func+0x../0x.. [mod] [(C)]`.
pub fn parse_frame_line(text: &str, line: usize) -> Option<Frame> {
    let mut s = text.trim();
    let mut addr = None;
    if let Some(rest) = s.strip_prefix("[<") {
        let end = rest.find(">]")?;
        addr = Some(Kva(parse_hex(&rest[..end])?));
        s = rest[end + 2..].trim_start();
    }
    let mut reliable = true;
    if let Some(rest) = s.strip_prefix("? ") {
        reliable = false;
        s = rest.trim_start();
    }
    // arm64 6.x prints where each entry came from: (C)aller, (P)C, (L)R, (K)ernel/(U)ser...
    if s.len() > 4
        && s.ends_with(')')
        && s.as_bytes()[s.len() - 4] == b' '
        && s.as_bytes()[s.len() - 3] == b'('
    {
        s = s[..s.len() - 4].trim_end();
    }
    let (func, off, size, module) = parse_func_offset(s)?;
    // A kernel trace line always has the hex offset; bpftrace's decimal form is separate.
    if !s.contains("+0x") {
        return None;
    }
    Some(Frame {
        offset: Some(off),
        size,
        module,
        addr,
        reliable,
        ..Frame::named(&func, line)
    })
}

/// `func+123` alone on a line (bpftrace `kstack`).
pub(super) fn parse_bpftrace_line(text: &str, line: usize) -> Option<Frame> {
    let s = text.trim();
    let (func, off) = s.rsplit_once('+')?;
    if !is_symbol(func) || off.is_empty() || !off.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Frame {
        offset: off.parse().ok(),
        ..Frame::named(func, line)
    })
}

/// arm32 `A from B+0x../0x..` (or `A from 0xADDR`), new and old (`[<addr>] (A) from [<addr>] (B)`).
pub(super) fn parse_arm_from(text: &str, line: usize) -> Option<(Frame, Frame)> {
    let s = text.trim();
    let (a, b) = s.split_once(" from ")?;
    let strip_old = |x: &str| -> Option<(String, Option<Kva>)> {
        let x = x.trim();
        if let Some(rest) = x.strip_prefix("[<") {
            let end = rest.find(">]")?;
            let addr = parse_hex(&rest[..end]).map(Kva);
            let name = rest[end + 2..]
                .trim()
                .strip_prefix('(')?
                .strip_suffix(')')?;
            Some((name.to_string(), addr))
        } else {
            Some((x.to_string(), None))
        }
    };
    let (a, a_addr) = strip_old(a)?;
    let (b, b_addr) = strip_old(b)?;
    if !is_symbol(&a) {
        return None;
    }
    let fa = Frame {
        addr: a_addr,
        ..Frame::named(&a, line)
    };
    let fb = if let Some((func, off, size, module)) = parse_func_offset(&b) {
        Frame {
            offset: Some(off),
            size,
            module,
            addr: b_addr,
            ..Frame::named(&func, line)
        }
    } else if let Some(h) = b.strip_prefix("0x") {
        Frame {
            addr: Some(Kva(parse_hex(h)?)),
            ..Frame::named(&b, line)
        }
    } else if is_symbol(&b) {
        Frame {
            addr: b_addr,
            ..Frame::named(&b, line)
        }
    } else {
        return None;
    };
    Some((fa, fb))
}

/// `<IRQ>`, `</IRQ>`, `<TASK>`, `<NMI>`, `<EOI>`, `<#DF>`...: Some((name, is_end)).
pub(super) fn context_marker(text: &str) -> Option<(String, bool)> {
    let s = text.trim().strip_prefix('<')?.strip_suffix('>')?;
    let (end, name) = match s.strip_prefix('/') {
        Some(n) => (true, n),
        None => (false, s),
    };
    let name = name.strip_prefix('#').unwrap_or(name);
    if name.is_empty() || name.len() > 10 || !name.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Some((name.to_string(), end))
}

/// Register dumps and other per-trace noise: `RSP: 0018:ffffc9000009bee8 EFLAGS: 00000256`,
/// `RAX: ... RBX: ...`, `Code: 0a 00 ...`, arm64 `pc : ...`, `x29: ...`, arm32
/// `Exception stack(0xf099dfb0 to 0xf099dff8)` and its `...`/hex rows.
pub(crate) fn is_register_line(text: &str) -> bool {
    let s = text.trim();
    if s.starts_with("Code: ")
        || s.starts_with("Exception stack(")
        || s == "..."
        || s.starts_with("pstate: ")
        || s.starts_with("FS: ")
        || s.starts_with("CS: ")
        || s.starts_with("DR0: ")
        || s.starts_with("DR3: ")
        || s.starts_with("CR2: ")
        || s.starts_with("PKRU: ")
    {
        return true;
    }
    // "NAME: value NAME: value", NAME short and register-like, values hex.
    let mut pairs = 0;
    let mut toks = s.split_whitespace().peekable();
    while let Some(t) = toks.next() {
        let key = if let Some(k) = t.strip_suffix(':') {
            k
        } else if toks.peek() == Some(&":") {
            toks.next();
            t
        } else {
            return false;
        };
        let key_ok = !key.is_empty()
            && key.len() <= 8
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && (key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                || ["pc", "lr", "sp", "fp", "ip", "psr", "pstate"].contains(&key)
                || (key.starts_with('x') && key[1..].bytes().all(|b| b.is_ascii_digit()))
                || (key.starts_with('r') && key[1..].bytes().all(|b| b.is_ascii_digit())));
        let Some(v) = toks.next() else { return false };
        let v = v.split(':').next_back().unwrap_or(v);
        if !key_ok || parse_hex(v).is_none() && !v.contains('+') {
            return false;
        }
        pairs += 1;
    }
    pairs > 0
}

/// Lines printed around traces that carry no frames: consumed, never identity.
pub(crate) fn is_context_line(text: &str) -> bool {
    let s = text.trim();
    s.starts_with("Hardware name:")
        || s.starts_with("Workqueue:")
        || s.starts_with("Modules linked in:")
        || s.starts_with("------------[ cut here ]------------")
        || s.starts_with("---[ end trace")
        || s.starts_with("---[ end Kernel panic")
        || s.starts_with("Sending NMI from CPU")
        || s.starts_with("Kernel Offset:")
        || s.starts_with("WARNING: CPU: ")
        || s.starts_with("Kernel panic - not syncing:")
        || s.starts_with("Call Trace:")
        || s.starts_with("Call trace:")
}

/// `CPU: 1 PID: 34 Comm: kworker/1:4 Not tainted ...` (also `... UID: 0 PID: ...` in 6.x).
pub(super) fn parse_cpu_pid_comm(text: &str) -> Option<(u32, u32, String)> {
    let s = text.trim();
    let rest = s.strip_prefix("CPU: ")?;
    let cpu = rest.split_whitespace().next()?.parse().ok()?;
    let pid = crate::artifacts::value_after(s, "PID:")?.parse().ok()?;
    let comm = crate::artifacts::value_after(s, "Comm:")?.to_string();
    Some((cpu, pid, comm))
}

pub(super) fn frame_from_rip(text: &str, line: usize) -> Option<Result<Frame, String>> {
    let rest = text.trim().strip_prefix("RIP:")?.trim();
    // "0010:func+0x../0x..", "0033:0x7fe729e23aae", old "0010:[<ffff...>]  [<ffff...>] func+..".
    let (cs, loc) = rest.split_once(':').unwrap_or(("", rest));
    let loc = loc.trim();
    if cs == "0033" || cs == "0023" || loc.starts_with("0x") {
        return Some(Err(loc.to_string()));
    }
    let last = loc.rsplit("] ").next().unwrap_or(loc).trim();
    let mut f = parse_frame_line(last, line)?;
    f.note = Some("RIP".to_string());
    Some(Ok(f))
}

