//! Making text from a real fixture dump comparable across rebuilt fixtures.

/// Text from a real fixture dump (a TUI screen, `explain`), made comparable across rebuilt
/// fixtures. A rebuilt
/// fixture is a new boot: KASLR moves every address, kthread pids shift with the kworkers
/// that happened to start first, tasks land on other CPUs, and jiffies, tick counts and
/// printk timestamps differ. So, line by line:
/// - the fixture root and the temporary directory become `$FIXTURES` and `$TMP` (a module's
///   DWARF names its source by absolute path under the fixture root);
/// - kernel addresses (`0x` + 8 or more hex digits, or 16 bare hex digits) become `ADDR`;
/// - printk timestamps, other decimals with a fraction and durations (`20.525s`) become `T`;
/// - every free-standing decimal number (pids, CPUs, counters, jiffies, `kworker/1:2`'s
///   numbers) becomes `N`, except a line number after a file name (`srcutree.c:1243`),
///   digits after a dot (`constprop.0`) and digits that are part of a word (`idx0`,
///   `SCAN2`, `x86`, `+0x34d`);
/// - a task pointer's symbol goes (`(struct task_struct *)ADDR <init_task>`): which task a
///   CPU switched to next is the boot's timing, and only the idle task of CPU 0 has one;
/// - runs of blanks inside a line become one blank (masked numbers change widths; exact
///   column layout is what the hand-made snapshots in `tests/tui.rs` check); indentation
///   is kept.
///
/// What is left is compared exactly: pane titles, labels, names of tasks, functions,
/// objects and states, frames with their `file:line`, the order and number of rows.
pub fn normalize(screen: &str) -> String {
    let fixtures = super::fixtures_root().display().to_string();
    let tmp = std::env::temp_dir().display().to_string();
    let tmp = tmp.trim_end_matches('/');
    let mut out = String::new();
    for line in screen.lines() {
        let line = line.replace(&fixtures, "$FIXTURES").replace(tmp, "$TMP");
        let masked = mask_numbers(&line).replace(
            "(struct task_struct *)ADDR <init_task>",
            "(struct task_struct *)ADDR",
        );
        let body = masked.trim_start();
        let collapsed: Vec<&str> = body.split_whitespace().collect();
        out.push_str(&masked[..masked.len() - body.len()]);
        out.push_str(&collapsed.join(" "));
        out.push('\n');
    }
    out
}

fn mask_numbers(line: &str) -> String {
    let c: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let word = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        let prev = if i > 0 { Some(c[i - 1]) } else { None };
        let starts_token = prev.is_none_or(|p| !word(p));
        // 0x + hex digits, or 16 bare hex digits.
        if starts_token {
            let hex_run = |from: usize| {
                let mut j = from;
                while j < c.len() && c[j].is_ascii_hexdigit() {
                    j += 1;
                }
                j
            };
            if c[i] == '0' && c.get(i + 1) == Some(&'x') {
                let j = hex_run(i + 2);
                if j - (i + 2) >= 8 && c.get(j).is_none_or(|&n| !word(n)) {
                    out.push_str("ADDR");
                    i = j;
                    continue;
                }
            }
            let j = hex_run(i);
            if j - i == 16 && c.get(j).is_none_or(|&n| !word(n)) {
                out.push_str("ADDR");
                i = j;
                continue;
            }
        }
        // A duration (`20.525s`, `3m07.250s`: how long a task is blocked) changes with
        // every boot: `T`.
        if c[i].is_ascii_digit() && starts_token && prev != Some('.') {
            let mut j = i;
            while j < c.len() && (c[j].is_ascii_alphanumeric() || c[j] == '.') {
                j += 1;
            }
            let tok = &c[i..j];
            if tok.len() > 2
                && tok.ends_with(&['s'])
                && tok.contains(&'.')
                && tok.iter().all(|ch| "0123456789.dhms".contains(*ch))
            {
                out.push('T');
                i = j;
                continue;
            }
        }
        // Digits after a dot name a clone (`__mutex_lock.constprop.0`): keep them.
        if c[i].is_ascii_digit() && starts_token && prev != Some('.') {
            let mut j = i;
            while j < c.len() && c[j].is_ascii_digit() {
                j += 1;
            }
            // A fraction: `0.000000`, `2596.134`.
            let mut frac = false;
            if c.get(j) == Some(&'.') && c.get(j + 1).is_some_and(|d| d.is_ascii_digit()) {
                j += 1;
                while j < c.len() && c[j].is_ascii_digit() {
                    j += 1;
                }
                frac = true;
            }
            if c.get(j).is_some_and(|&n| word(n)) {
                // Part of a word after all (`64bit`): keep.
                out.extend(&c[i..j]);
            } else if frac {
                out.push('T');
            } else if prev == Some(':') && after_file_name(&c[..i - 1]) {
                out.extend(&c[i..j]);
            } else {
                out.push('N');
            }
            i = j;
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// Does `before` end in a file name with an extension (`kernel/rcu/srcutree.c`)?
fn after_file_name(before: &[char]) -> bool {
    let mut j = before.len();
    while j > 0 && before[j - 1].is_ascii_alphanumeric() {
        j -= 1;
    }
    let ext = before.len() - j;
    (1..=3).contains(&ext) && j > 1 && before[j - 1] == '.' && before[j - 2].is_alphanumeric()
}
