//! Per-CPU lines of a stall warning (`print_cpu_stall_info()`) and expedited `{ 1-...D }`
//! entries, decoded flag by flag.

use super::*;

/// Parses `3-...!: (4 ticks this GP) idle=f824/0/0x1 softirq=4614/4614 fqs=0 ...`.
pub fn parse_cpu_line(text: &str, line: usize) -> Option<CpuStall> {
    let t = strip_rcu(text);
    let (head, rest) = t.split_once(": ")?;
    let (cpu, flags) = head.split_once('-')?;
    let cpu: u32 = cpu.parse().ok()?;
    if !(3..=4).contains(&flags.len()) || !flags.is_ascii() {
        return None;
    }
    let rest = rest.trim_start();
    if !rest.starts_with('(') {
        return None;
    }
    let mut c = flags_to_cpu(cpu, flags, line, false)?;
    let close = rest.find(')')?;
    let (val, title) = rest[1..close].split_once(' ')?;
    let val: u64 = val.parse().ok()?;
    match title {
        "ticks this GP" => {
            c.ticks_this_gp = Some(val);
            note(
                &mut c.notes,
                "ticks this GP",
                rest[..=close].to_string(),
                format!(
                    "scheduling-clock ticks this CPU took during the current grace period (rdp->ticks_this_gp): {val}; the CPU knows about this GP{}",
                    if val == 0 {
                        ", but no tick reached it (interrupts off or tickless)"
                    } else {
                        ""
                    }
                ),
            );
        }
        "GPs behind" => {
            c.gps_behind = Some(val);
            note(
                &mut c.notes,
                "GPs behind",
                rest[..=close].to_string(),
                format!(
                    "this CPU has not noticed the last {val} grace period(s) (rcu_state.gp_seq - rdp->gp_seq)"
                ),
            );
        }
        _ => return None,
    }
    let mut tail = rest[close + 1..].trim();
    if let Some(v) = tail.strip_prefix("idle=") {
        let end = v.find(' ').unwrap_or(v.len());
        c.idle = parse_idle(&v[..end], &mut c.notes);
        tail = v[end..].trim();
    }
    if let Some(v) = tail.strip_prefix("softirq=") {
        let end = v.find(' ').unwrap_or(v.len());
        if let Some((a, b)) = v[..end].split_once('/')
            && let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>())
        {
            c.softirq = Some((a, b));
            note(
                &mut c.notes,
                "softirq",
                &v[..end],
                format!(
                    "RCU softirqs handled on this CPU: {a} when it last noticed a GP start, {b} now{}",
                    if a == b {
                        " — RCU softirq has not run there since"
                    } else {
                        ""
                    }
                ),
            );
        }
        tail = v[end..].trim();
    }
    if let Some(v) = tail.strip_prefix("fqs=") {
        let end = v.find(' ').unwrap_or(v.len());
        if let Ok(n) = v[..end].parse::<i64>() {
            c.fqs = Some(n);
            let m = if n == 0 {
                "force-quiescent-state scans that reached this CPU during this stall: none — the grace-period kthread has not run its FQS loop".to_string()
            } else {
                format!(
                    "force-quiescent-state scans since the GP started (n_force_qs - n_force_qs_gpstart): {n}"
                )
            };
            note(&mut c.notes, "fqs", &v[..end], m);
        }
        tail = v[end..].trim();
    }
    let mut tail = tail.to_string();
    if tail.contains("(false positive?)") {
        c.false_positive = true;
        tail = tail.replace("(false positive?)", "");
        note(
            &mut c.notes,
            "false positive?",
            "(false positive?)",
            "the GP kthread is starving and this CPU is idle (in an extended quiescent state): likely the kthread, not this CPU, is the problem",
        );
    }
    if let Some(i) = tail.find("rcuc=")
        && let Some(j) = tail[i..].find(" jiffies(starved)")
    {
        let raw = tail[i..i + j + 17].to_string();
        if let Ok(n) = tail[i + 5..i + j].parse::<i64>() {
            c.rcuc_starved_jiffies = Some(n);
            note(
                &mut c.notes,
                "rcuc",
                raw.clone(),
                format!("this CPU's rcuc kthread has not run for {n} jiffies (starved)"),
            );
        }
        tail = tail.replace(&raw, "");
    }
    let tail = tail.trim();
    if let Some(v) = tail.strip_prefix("last_accelerate:") {
        note(
            &mut c.notes,
            "last_accelerate",
            v.trim(),
            "RCU_FAST_NO_HZ (≤5.x): low 16 bits of jiffies when callbacks were last accelerated / now; \"Nonlazy posted:\" flags l = all callbacks lazy, L = no non-lazy callbacks, D = dyntick-idle disabled (tick_nohz_enabled_snap clear)",
        );
    }
    if !tail.is_empty() {
        c.extra = Some(tail.to_string());
    }
    Some(c)
}

pub(super) fn flags_to_cpu(
    cpu: u32,
    flags: &str,
    line: usize,
    expedited: bool,
) -> Option<CpuStall> {
    let b = flags.as_bytes();
    // "O", "o", "N" and an optional fourth flag; anything shorter is not a flags field
    // (a cut line's `{ 0- }`)
    if !(3..=4).contains(&b.len()) {
        return None;
    }
    let ok = |i: usize, set: u8| b[i] == set || b[i] == b'.';
    if !(ok(0, b'O') && ok(1, b'o') && ok(2, b'N')) {
        return None;
    }
    let mut notes = Vec::new();
    note(
        &mut notes,
        "cpu",
        cpu.to_string(),
        format!("CPU {cpu} is holding up the grace period"),
    );
    let offline = b[0] == b'O';
    let not_init = b[1] == b'o';
    let not_next = b[2] == b'N';
    let (mask, masknext) = if expedited {
        ("expmaskinit", "expmaskinitnext")
    } else {
        ("qsmaskinit", "qsmaskinitnext")
    };
    note(
        &mut notes,
        "flag O",
        (b[0] as char).to_string(),
        if offline {
            "O: the CPU is offline".to_string()
        } else {
            ".: the CPU is online".to_string()
        },
    );
    note(
        &mut notes,
        "flag o",
        (b[1] as char).to_string(),
        if not_init {
            format!(
                "o: the CPU is not in its rcu_node's ->{mask} (it was offline when the GP started)"
            )
        } else {
            format!(".: the CPU is in ->{mask} (online when the GP started)")
        },
    );
    note(
        &mut notes,
        "flag N",
        (b[2] as char).to_string(),
        if not_next {
            format!("N: the CPU is not in ->{masknext} (offline for the next GP)")
        } else {
            format!(".: the CPU is in ->{masknext}")
        },
    );
    let mut irq_work = IrqWork::Absent;
    let mut exp_deferred = None;
    if b.len() == 4 {
        let ch = b[3] as char;
        if expedited {
            exp_deferred = match ch {
                'D' => Some(true),
                '.' => Some(false),
                _ => return None,
            };
            note(
                &mut notes,
                "flag D",
                ch.to_string(),
                if ch == 'D' {
                    "D: rdp->cpu_no_qs.b.exp is clear — this CPU's expedited quiescent state is deferred, not yet reported (printed \"D.\"[!!cpu_no_qs.b.exp])"
                } else {
                    ".: the CPU still owes an expedited quiescent state (rdp->cpu_no_qs.b.exp set)"
                },
            );
        } else {
            irq_work = match ch {
                '0'..='9' => IrqWork::PendingGps(ch as u8 - b'0'),
                '.' => IrqWork::RanThisGp,
                '!' => IrqWork::NotQueued,
                '?' => IrqWork::NoIrqWork,
                _ => return None,
            };
            let m = match irq_work {
                IrqWork::PendingGps(n) => format!("{n}: an irq-work probe has been pending for {n} grace period(s): the CPU is not taking interrupts"),
                IrqWork::RanThisGp => ".: the irq-work probe ran during this GP: the CPU takes interrupts".to_string(),
                IrqWork::NotQueued => "!: no irq-work probe was queued/handled this GP (FQS never reached the CPU, consistent with fqs=0)".to_string(),
                _ => "?: kernel built without CONFIG_IRQ_WORK, no probe".to_string(),
            };
            note(&mut notes, "flag irq-work", ch.to_string(), m);
        }
    }
    Some(CpuStall {
        line,
        cpu,
        flags: flags.to_string(),
        offline,
        not_in_qsmaskinit: not_init,
        not_in_qsmaskinitnext: not_next,
        irq_work,
        exp_deferred,
        ticks_this_gp: None,
        gps_behind: None,
        idle: None,
        softirq: None,
        fqs: None,
        rcuc_starved_jiffies: None,
        false_positive: false,
        extra: None,
        notes,
    })
}

/// `f824/0/0x1`, `403c/1/0x40000002`, old `b9e/140000000000000/0`.
pub(super) fn parse_idle(v: &str, notes: &mut Vec<Note>) -> Option<IdleTriple> {
    let mut it = v.split('/');
    let a = it.next()?;
    let b = it.next()?;
    let c = it.next()?;
    let counter = parse_hex(a)?;
    // Very old kernels printed the nesting with %llx; accept hex digits there too.
    let nesting = b
        .parse::<i64>()
        .ok()
        .or_else(|| parse_hex(b).map(|x| x as i64))?;
    let nmi_nesting = parse_num(c)?;
    let digits = a.len();
    let rcu_watching = (digits >= 4).then_some(counter & 0x4 != 0);
    let a_meaning = match rcu_watching {
        Some(true) => format!(
            "dynticks/context-tracking counter low 16 bits = {a}: bit 0x4 (RCU watching) set — the CPU was not in an extended quiescent state"
        ),
        Some(false) => format!(
            "dynticks/context-tracking counter low 16 bits = {a}: bit 0x4 clear — the CPU was in an extended quiescent state (idle/user/guest)"
        ),
        None => format!(
            "dynticks counter low 12 bits = {a} (%03x era): in 4.x–~5.11 bit 0x2 set means RCU watching (here {}); ~5.12–5.19 used odd = watching (here {})",
            if counter & 0x2 != 0 { "set" } else { "clear" },
            if counter & 0x1 != 0 { "odd" } else { "even" }
        ),
    };
    note(notes, "idle counter", a, a_meaning);
    note(
        notes,
        "idle nesting",
        b,
        format!(
            "dynticks_nesting = {nesting}: {}",
            match nesting {
                0 => "0, process-level nesting says idle (or user/guest)".to_string(),
                n if n.unsigned_abs() > 0xffff =>
                    "very large: non-idle task context (DYNTICK_TASK_EXIT_IDLE bias)".to_string(),
                n => format!("{n} level(s) of non-idle process context"),
            }
        ),
    );
    note(
        notes,
        "idle nmi_nesting",
        c,
        format!(
            "dynticks_nmi_nesting = {c}: {}",
            if nmi_nesting >= 0x4000_0000
                && (nmi_nesting == 0x4000_0000
                    || nmi_nesting & 0x3fff_ffff < 0x100
                    || nmi_nesting >= 0x4000_0000_0000_0000)
            {
                "DYNTICK_IRQ_NONIDLE bias: not in an irq/NMI entered from idle; the low bits count irq (+2) / NMI (+1) nesting"
            } else if nmi_nesting == 0 {
                "0: not in an interrupt or NMI"
            } else {
                "small: inside an interrupt/NMI taken from an extended quiescent state"
            }
        ),
    );
    Some(IdleTriple {
        counter,
        counter_digits: digits,
        nesting,
        nmi_nesting,
        rcu_watching,
    })
}
