//! One line of a stack trace: the frame shapes every architecture and tool prints, register
//! dumps and the context lines around traces.

use super::*;

/// Splits `func+0x1a4/0x1d8 [mod]` into (func, offset, size, module). `size` is `None` for
/// `func+0x10`; a decimal offset (`func+123`, bpftrace) is accepted too. The function may carry
/// compiler suffixes (`kernfs_put.part.0`, `nmi_cpu_backtrace.cold`). A module may carry its
/// build id (`[jbd2 ae888ef92775c4ea4c63d1cd1f51b1b9f7d9f47d]`, 5.19+ with
/// CONFIG_STACKTRACE_BUILD_ID); the id is dropped.
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
    let module = match module {
        Some(m) => Some(module_name(&m)?),
        None => None,
    };
    Some((func.to_string(), off, size, module))
}

/// `mod` or `mod buildid` → `mod`; anything else with a space is not a module.
fn module_name(m: &str) -> Option<String> {
    match m.split_once(' ') {
        None if !m.is_empty() => Some(m.to_string()),
        Some((name, id))
            if !name.is_empty()
                && id.len() >= 16
                && id.len() <= 64
                && id.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Some(name.to_string())
        }
        _ => None,
    }
}

/// Kernel symbol characters: C identifiers plus `.` (`.cold`, `.isra.0`) and `$`.
pub(crate) fn is_symbol(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$')
}

/// A source location as syzbot, `decode_stacktrace.sh` and `addr2line` print it:
/// `kernel/locking/mutex.c:747`, `./include/linux/rcupdate.h:331`, `fs/ext4/super.c:-1`.
pub(crate) fn is_source_loc(s: &str) -> bool {
    let Some((file, line)) = s.rsplit_once(':') else {
        return false;
    };
    let line = line.strip_prefix('-').unwrap_or(line);
    !line.is_empty()
        && line.len() <= 7
        && line.bytes().all(|b| b.is_ascii_digit())
        && file.contains('.')
        && !file.contains(' ')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
}

/// Parses one kernel-style frame line: `[<addr>] [?] func+0x../0x.. [mod] [file.c:N] [(C)]`,
/// also:
/// - syzbot's inline rows `func file.c:N [inline]` (no offset; `inlined` set);
/// - `decode_stacktrace.sh` output `func (file.c:N [file.c:M...])`, with or without `+0x..`;
/// - s390's unreliable `([<addr>] func+0x../0x..)` rows and address-only `[<addr>] 0x3800..`;
/// - a web page that ate the `<addr>` as an HTML tag: `[] ? func+0x../0x..`.
pub fn parse_frame_line(text: &str, line: usize) -> Option<Frame> {
    let mut s = text.trim();
    let mut reliable = true;
    // s390 prints frames found by scanning in parentheses.
    if let Some(inner) = s.strip_prefix("([<").and_then(|r| r.strip_suffix(')')) {
        let end = inner.find(">]")?;
        let addr = Kva(parse_hex(&inner[..end])?);
        let mut f = parse_frame_body(inner[end + 2..].trim(), line)?;
        f.addr = Some(addr);
        f.reliable = false;
        return Some(f);
    }
    let mut addr = None;
    if let Some(rest) = s.strip_prefix("[<") {
        let end = rest.find(">]")?;
        addr = Some(Kva(parse_hex(&rest[..end])?));
        s = rest[end + 2..].trim_start();
        // `[<addr>] 0x38003a33a10`: an address the kernel could not name.
        if let Some(h) = s.strip_prefix("0x")
            && !h.is_empty()
            && h.len() <= 16
            && h.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Some(Frame {
                addr,
                ..Frame::named(s, line)
            });
        }
    } else if let Some(rest) = s.strip_prefix("[]") {
        s = rest.trim_start();
    }
    if let Some(rest) = s.strip_prefix("? ") {
        reliable = false;
        s = rest.trim_start();
    }
    let mut f = parse_frame_body(s, line)?;
    f.addr = addr;
    f.reliable = reliable;
    Some(f)
}

/// `func+0x../0x.. [mod] [file:N] [[inline]] [(C)]`, `func file:N [inline]`, `func (file:N)`.
fn parse_frame_body(s: &str, line: usize) -> Option<Frame> {
    let mut s = s.trim_end();
    // arm64 6.x prints where each entry came from: (C)aller, (P)C, (L)R, (K)ernel/(U)ser...
    if s.len() > 4
        && s.ends_with(')')
        && s.as_bytes()[s.len() - 4] == b' '
        && s.as_bytes()[s.len() - 3] == b'('
        && s.as_bytes()[s.len() - 2].is_ascii_uppercase()
    {
        s = s[..s.len() - 4].trim_end();
    }
    let mut inlined = false;
    if let Some(r) = s.strip_suffix("[inline]") {
        inlined = true;
        s = r.trim_end();
    }
    // decode_stacktrace.sh: `func (file:N file:M (discriminator 2))`.
    let mut source_loc = None;
    if s.ends_with(')')
        && let Some(open) = s.find(" (")
    {
        let inner = &s[open + 2..s.len() - 1];
        let first = inner.split_whitespace().next().unwrap_or("");
        if is_source_loc(first) {
            source_loc = Some(
                inner
                    .split_whitespace()
                    .rfind(|w| is_source_loc(w))
                    .unwrap_or(first)
                    .to_string(),
            );
            s = s[..open].trim_end();
        }
    }
    // syzbot / addr2line: a trailing `file:N`.
    if source_loc.is_none()
        && let Some((head, last)) = s.rsplit_once(' ')
        && is_source_loc(last)
    {
        source_loc = Some(last.to_string());
        s = head.trim_end();
    }
    if let Some((func, off, size, module)) = parse_func_offset(s) {
        // A kernel trace line always has the hex offset; bpftrace's decimal form is separate.
        if !s.contains("+0x") {
            return None;
        }
        return Some(Frame {
            offset: Some(off),
            size,
            module,
            source_loc,
            inlined,
            ..Frame::named(&func, line)
        });
    }
    // No offset: only with a source location (an inline row or a decoded frame).
    if source_loc.is_some() && is_symbol(s) {
        return Some(Frame {
            source_loc,
            inlined,
            ..Frame::named(s, line)
        });
    }
    None
}

/// A stack a person condensed into one line, innermost first: `folio_wait_writeback ←
/// filemap_fdatawait_keep_errors ← sync_bdevs ← ksys_sync` (or caller first with `→`). Every
/// part must be a symbol (an offset allowed); at least three parts.
pub(super) fn parse_arrow_chain(text: &str, line: usize) -> Option<Vec<Frame>> {
    let s = text.trim();
    let (sep, caller_first) = if s.contains(" ← ") {
        (" ← ", false)
    } else if s.contains(" → ") {
        (" → ", true)
    } else {
        return None;
    };
    let mut frames = Vec::new();
    for part in s.split(sep) {
        let part = part.trim();
        let f = match parse_func_offset(part) {
            Some((func, off, size, module)) => Frame {
                offset: Some(off),
                size,
                module,
                ..Frame::named(&func, line)
            },
            None if is_symbol(part) => Frame::named(part, line),
            None => return None,
        };
        frames.push(f);
    }
    if frames.len() < 3 || frames.len() > 64 {
        return None;
    }
    if caller_first {
        frames.reverse();
    }
    Some(frames)
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

/// arm32 `A from B+0x../0x..` (or `A from 0xADDR`), new and old (`[<addr>] (A) from [<addr>]
/// (B)`), including the oldest form with offsets on both sides (`(A+0x1/0x2) from`), modules
/// (`(fuse_writepages [fuse]) from`) and syzbot's source locations and inline rows (`(g+0x2c/0x130
/// kernel/sched/core.c:6879)`, `(f kernel/sched/core.c:6864 [inline])`).
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
    let one = |x: &str, addr: Option<Kva>| -> Option<Frame> {
        if let Some(h) = x.strip_prefix("0x") {
            return Some(Frame {
                addr: Some(Kva(parse_hex(h)?)),
                ..Frame::named(x, line)
            });
        }
        let mut f = parse_frame_body(x, line)
            .or_else(|| {
                // `name [mod]` without offset.
                let (name, m) = x.split_once(" [")?;
                let m = m.strip_suffix(']')?;
                is_symbol(name).then(|| Frame {
                    module: module_name(m),
                    ..Frame::named(name, line)
                })
            })
            .or_else(|| is_symbol(x).then(|| Frame::named(x, line)))?;
        f.addr = addr;
        Some(f)
    };
    let fa = one(&a, a_addr).filter(|f| !f.func.starts_with("0x"))?;
    let fb = one(&b, b_addr)?;
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
/// `RAX: ... RBX: ...`, `Code: 0a 00 ...`, arm64 `pc : ...`, `x29: ...`, riscv `epc : ...`,
/// `gp : ... t0 : ...`, `status: ... badaddr: ... cause: ...`, arm32 `Exception stack(0xf099dfb0
/// to 0xf099dff8)` and its `9fa0: 00000000 ...` rows, ` r10:82718544 r9:...` rows, s390
/// `Krnl GPRS:`, its `R:0 T:1 IO:1 ...` row and the `Krnl Code:` disassembly, old x86
/// stack-word rows after the sched line (`ffff88016df9fb58 0000000000000086 ...`), lockdep's
/// `irq event stamp:` / `hardirqs last enabled at (N): ...` lines.
pub(crate) fn is_register_line(text: &str) -> bool {
    let s = text.trim();
    const STARTS: &[&str] = &[
        "Code: ",
        "Code:",
        "Exception stack(",
        "pstate: ",
        "FS: ",
        "CS: ",
        "DR0: ",
        "DR3: ",
        "CR2: ",
        "PKRU: ",
        "Krnl GPRS:",
        "Krnl Code:",
        "Last Breaking-Event-Address:",
        "irq event stamp:",
        "hardirqs last ",
        "softirqs last ",
        "status: ",
        "Stack :",
        "Stack:",
        "Instruction dump:",
        "NIP: ",
        "REGS: ",
        "MSR: ",
        "CFAR: ",
        "Flags: ",
        "Control: ",
        "RES: ",
    ];
    if s == "..." || STARTS.iter().any(|p| s.starts_with(p)) {
        return true;
    }
    // s390 `R:0 T:1 IO:1 EX:1 Key:0 M:1 W:0 P:0 AS:3 CC:2 PM:0 RI:0 EA:3`.
    if s.starts_with("R:") && s.contains(" T:") && s.contains(" IO:") {
        return true;
    }
    // s390 `Krnl Code:` continuation rows: `[#>]000003ff804bfc5e: b904003a\t\tlgr\t%r3,%r10`.
    if let Some((addr, rest)) = s.trim_start_matches(['#', '>']).split_once(": ")
        && addr.len() >= 8
        && addr.len() <= 16
        && addr.bytes().all(|b| b.is_ascii_hexdigit())
        && rest
            .split_whitespace()
            .next()
            .is_some_and(|w| w.bytes().all(|b| b.is_ascii_hexdigit()))
        && (rest.contains('%') || rest.contains('\t') || rest.split_whitespace().count() <= 3)
    {
        return true;
    }
    // Hex rows: `9fa0: 00000000 ...` (arm32 exception stack) and stack words (old x86).
    let words: Vec<&str> = s.split_whitespace().collect();
    let hexword = |w: &str| (8..=16).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_hexdigit());
    if words.len() >= 2 {
        let row = words[0].strip_suffix(':').is_some_and(|a| {
            (3..=16).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if (row && words[1..].iter().all(|w| hexword(w))) || words.iter().all(|w| hexword(w)) {
            return true;
        }
    }
    // arm32 register rows under a frame: ` r10:82718544 r9:df83dd84 r8:00000002`.
    if words.iter().all(|w| {
        w.split_once(':').is_some_and(|(k, v)| {
            (k.starts_with('r') && k.len() <= 3 && k[1..].bytes().all(|b| b.is_ascii_digit())
                || ["fp", "ip", "sp", "lr", "pc"].contains(&k))
                && (8..=16).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_hexdigit())
        })
    }) && !words.is_empty()
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
        let digits = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit());
        let key_ok = !key.is_empty()
            && key.len() <= 8
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && (key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                || [
                    "pc", "lr", "sp", "fp", "ip", "psr", "pstate", "epc", "ra", "gp", "tp",
                    "badaddr", "cause", "status",
                ]
                .contains(&key)
                || (key.starts_with('x') && digits(&key[1..]))
                || (key.starts_with('r') && digits(&key[1..]))
                || (["t", "s", "a"].contains(&&key[..1]) && digits(&key[1..])));
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
    const STARTS: &[&str] = &[
        "Hardware name:",
        "Workqueue:",
        "Modules linked in:",
        "------------[ cut here ]------------",
        "---[ end trace",
        "---[ end Kernel panic",
        "Sending NMI from CPU",
        "Kernel Offset:",
        "WARNING: CPU: ",
        "Kernel panic - not syncing:",
        "Call Trace:",
        "Call trace:",
        "Supported: ",
        "task: ",
        "CPU #: ",
    ];
    STARTS.iter().any(|p| s.starts_with(p))
}

/// A call-trace heading: `Call Trace:`, `Call trace:` (arm64, with a trailing space on some
/// builds) and arm32's `Backtrace:`.
pub(super) fn is_trace_header(text: &str) -> bool {
    let s = text.trim();
    s.starts_with("Call Trace:") || s.starts_with("Call trace:") || s == "Backtrace:"
}

/// `CPU: 1 PID: 34 Comm: kworker/1:4 Not tainted ...` (also `... UID: 0 PID: ...` in 6.x, and
/// `CPU:   PID: 315330 Comm: x` with no CPU number); 3.x's `Pid: 576, comm: kswapd0 Not
/// tainted ...` and the old `Process kswapd0 (pid: 28, task: ...)`.
pub(super) fn parse_cpu_pid_comm(text: &str) -> Option<(Option<u32>, u32, String)> {
    let s = text.trim();
    if let Some(rest) = s.strip_prefix("CPU: ") {
        let cpu = rest.split_whitespace().next()?.parse().ok();
        let pid = crate::artifacts::value_after(s, "PID:")?.parse().ok()?;
        let comm = crate::artifacts::value_after(s, "Comm:")?.to_string();
        return Some((cpu, pid, comm));
    }
    if let Some(rest) = s.strip_prefix("Pid: ") {
        let (pid, rest) = rest.split_once(", comm: ")?;
        let comm = rest.split_whitespace().next()?;
        return Some((None, pid.trim().parse().ok()?, comm.to_string()));
    }
    if let Some(rest) = s.strip_prefix("Process ") {
        let (comm, rest) = rest.split_once(" (pid: ")?;
        let pid = rest.split(|c: char| !c.is_ascii_digit()).next()?;
        return Some((None, pid.parse().ok()?, comm.to_string()));
    }
    None
}

/// Where a CPU was interrupted, as the register dump names it: x86 `RIP: 0010:func+0x../0x..`
/// (also old `RIP: 0010:[<addr>]  [<addr>] func+..`, syzbot's `RIP: 0010:f file.c:N [inline]`
/// and decoded `RIP: 0010:f (file.c:N)`), 32-bit x86 `EIP is at f+0x../0x..`, arm64 `pc :
/// f+0x../0x..`, arm32 `PC is at f+0x../0x..`, ppc `NIP [addr] f+0x../0x..`, s390 `Krnl PSW :
/// 0704e00180000000 000003ff804bfc66 (f+0x3e/0xe0 [kvm])`, old x86 `IP: [<addr>] f+..`.
/// `Err(loc)` for a user-space location (`RIP: 0033:0x7fe729e23aae`).
pub(super) fn frame_from_rip(text: &str, line: usize) -> Option<Result<Frame, String>> {
    let t = text.trim();
    let (note, rest) = if let Some(r) = t.strip_prefix("RIP:") {
        ("RIP", r.trim())
    } else if let Some(r) = t.strip_prefix("EIP is at ") {
        ("EIP", r.trim())
    } else if let Some(r) = t.strip_prefix("PC is at ") {
        ("pc", r.trim())
    } else if let Some(r) = t.strip_prefix("pc : ") {
        ("pc", r.trim())
    } else if let Some(r) = t.strip_prefix("NIP [") {
        ("pc", r.split_once("] ")?.1.trim())
    } else if let Some(r) = t.strip_prefix("IP: ") {
        ("RIP", r.trim())
    } else if let Some(r) = t.strip_prefix("Krnl PSW : ") {
        let inner = r.split_once(" (")?.1.strip_suffix(')')?;
        ("PSW", inner)
    } else {
        return None;
    };
    // "0010:func+0x../0x..", "0033:0x7fe729e23aae", old "0010:[<ffff...>]  [<ffff...>] func+..".
    let (cs, loc) = match rest.split_once(':') {
        Some((cs, loc))
            if note == "RIP" && cs.len() == 4 && cs.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            (cs, loc)
        }
        _ => ("", rest),
    };
    let loc = loc.trim();
    if cs == "0033" || cs == "0023" || loc.starts_with("0x") {
        return Some(Err(loc.to_string()));
    }
    let last = if loc.starts_with("[<") {
        loc.rsplit("] ").next().unwrap_or(loc).trim()
    } else {
        loc
    };
    let mut f = parse_frame_body(last, line)?;
    f.note = Some(note.to_string());
    Some(Ok(f))
}

/// True for the notes `frame_from_rip` gives: the frame is a register dump's location.
pub fn is_location_note(note: Option<&str>) -> bool {
    matches!(note, Some("RIP" | "EIP" | "pc" | "PSW" | "exception RIP"))
}
