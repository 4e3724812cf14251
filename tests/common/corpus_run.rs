//! Running quiesce on the corruption corpus: every subcommand and the TUI on each damaged
//! copy, each run classified (full, partial, clean error — or one of the failures: panic,
//! hang, an error that is not one clear line, an unknown exit code, runaway memory).
//!
//! The rules (issue 17): a run ends within [`LIMIT`]; its peak RSS is at most twice the
//! same subcommand's on the clean dump; the copy is never written.

use super::Release;
use super::corpus::Recipe;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Each run must end within this.
pub const LIMIT: Duration = Duration::from_secs(5);
/// A run still going after this is killed (and counted as a hang).
const KILL_AFTER: Duration = Duration::from_secs(30);

/// The subcommands run on every copy.
pub const COMMANDS: &[&[&str]] = &[
    &["ps"],
    &["log"],
    &["sys"],
    &["bt", "--all"],
    &["stacks"],
    &["srcu"],
    &["rcu"],
    &["waitgraph"],
    &["explain"],
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Full,
    /// Exit 0, with a warning the clean dump does not give (what is damaged, on stderr).
    Warned,
    Partial,
    Error,
    /// Failures: the rules broken.
    Panic(String),
    Hang,
    UnclearError(String),
    BadExit(i32),
    Rss(u64),
    Written,
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            Outcome::Full | Outcome::Warned | Outcome::Partial | Outcome::Error
        )
    }
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Full => "full",
            Outcome::Warned => "warned",
            Outcome::Partial => "partial",
            Outcome::Error => "error",
            Outcome::Panic(_) => "PANIC",
            Outcome::Hang => "HANG",
            Outcome::UnclearError(_) => "UNCLEAR",
            Outcome::BadExit(_) => "BADEXIT",
            Outcome::Rss(_) => "RSS",
            Outcome::Written => "WRITTEN",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Run {
    pub recipe: String,
    pub kind: String,
    pub command: String,
    pub outcome: Outcome,
    pub secs: f64,
    pub rss_kib: u64,
    /// The first line of what the run said (the error, or the partial marker).
    pub said: String,
    /// `quiesce: warning:` lines, the copy's path replaced by the base's.
    pub warnings: Vec<String>,
}

/// One process: its exit status (None: killed), peak RSS, time, stdout and stderr.
struct Exited {
    code: Option<i32>,
    signal: Option<i32>,
    rss_kib: u64,
    secs: f64,
    stdout: String,
    stderr: String,
}

fn spawn_measured(bin: &Path, args: &[String], scratch: &Path, cache: Option<&Path>) -> Exited {
    let out_path = scratch.with_extension("out");
    let err_path = scratch.with_extension("err");
    let start = Instant::now();
    // Reaped by wait4 below (which also gives the peak RSS), not by Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(bin)
        .args(args)
        .env("QUIESCE_KEYMAP", "default")
        .envs(cache.map(|c| ("XDG_CACHE_HOME", c)))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("run quiesce");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: wait4 on our own child, with valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if !killed && start.elapsed() > KILL_AFTER {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let secs = start.elapsed().as_secs_f64();
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    std::fs::remove_file(&out_path).ok();
    std::fs::remove_file(&err_path).ok();
    Exited {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        rss_kib: usage.ru_maxrss as u64,
        secs,
        stdout,
        stderr,
    }
}

/// The words a partial result uses to say what is missing.
fn says_partial(text: &str) -> Option<String> {
    let markers = [
        "partial",
        "unreadable",
        "not in the dump",
        "excluded",
        "cannot",
        "could not",
        "error",
        "missing",
        "cycle",
        "warning",
        "skipped",
    ];
    text.lines()
        .find(|l| {
            let l = l.to_ascii_lowercase();
            markers.iter().any(|m| l.contains(m))
        })
        .map(|l| l.trim().chars().take(160).collect())
}

fn classify(e: &Exited) -> (Outcome, String) {
    let panicked = e
        .stderr
        .lines()
        .chain(e.stdout.lines())
        .find(|l| l.contains("panicked"));
    if let Some(l) = panicked {
        return (Outcome::Panic(l.to_string()), l.to_string());
    }
    if let Some(s) = e.signal {
        return (
            Outcome::Panic(format!("killed by signal {s}")),
            String::new(),
        );
    }
    if e.secs > LIMIT.as_secs_f64() {
        return (Outcome::Hang, format!("{:.1} s", e.secs));
    }
    match e.code {
        Some(0) => (Outcome::Full, String::new()),
        Some(2) => match says_partial(&format!("{}\n{}", e.stderr, e.stdout)) {
            Some(l) => (Outcome::Partial, l),
            None => (
                Outcome::UnclearError("exit 2 without saying what is missing".into()),
                String::new(),
            ),
        },
        Some(1) => {
            let lines: Vec<&str> = e
                .stderr
                .lines()
                .filter(|l| l.starts_with("quiesce: error:"))
                .collect();
            if lines.len() == 1 {
                (Outcome::Error, lines[0].chars().take(200).collect())
            } else {
                let said = e.stderr.lines().next().unwrap_or("").to_string();
                (
                    Outcome::UnclearError(format!("{} error lines", lines.len())),
                    said,
                )
            }
        }
        Some(c) => (
            Outcome::BadExit(c),
            e.stderr.lines().next().unwrap_or("").to_string(),
        ),
        None => (Outcome::Panic("no exit status".into()), String::new()),
    }
}

/// The arguments that open `core` with `vmlinux` and the release's modules.
fn open_args(rel: &Release, core: &Path, vmlinux: &Path) -> Vec<String> {
    vec![
        "-c".into(),
        core.display().to_string(),
        "-s".into(),
        vmlinux.display().to_string(),
        "-s".into(),
        rel.modules_dir().display().to_string(),
    ]
}

/// Every subcommand on one file; `recipe` names the runs. `cold`: each run gets an empty
/// `XDG_CACHE_HOME` under this directory (the name index built in the process, not loaded).
pub fn run_commands(
    bin: &Path,
    rel: &Release,
    core: &Path,
    vmlinux: &Path,
    scratch: &Path,
    recipe: &Recipe,
    cold: Option<&Path>,
) -> Vec<Run> {
    COMMANDS
        .iter()
        .enumerate()
        .map(|(i, cmd)| {
            let mut args: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
            args.extend(open_args(rel, core, vmlinux));
            let cache = cold.map(|c| c.join(i.to_string()));
            let e = spawn_measured(bin, &args, scratch, cache.as_deref());
            if let Some(c) = &cache {
                std::fs::remove_dir_all(c).ok();
            }
            let (outcome, said) = classify(&e);
            let warnings = e
                .stderr
                .lines()
                .filter(|l| l.starts_with("quiesce: warning:"))
                .map(|l| {
                    l.replace(
                        &core.display().to_string(),
                        &recipe.base.display().to_string(),
                    )
                })
                .collect();
            Run {
                recipe: recipe.id.clone(),
                kind: recipe.kind.to_string(),
                command: cmd.join(" "),
                outcome,
                secs: e.secs,
                rss_kib: e.rss_kib,
                said,
                warnings,
            }
        })
        .collect()
}

/// The file's size and modification time, and a hash of its bytes.
pub fn fingerprint(p: &Path) -> (u64, SystemTime, u64) {
    use std::hash::Hasher;
    use std::io::Read;
    let m = std::fs::metadata(p).unwrap();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut f = std::fs::File::open(p).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
    }
    (m.len(), m.modified().unwrap(), h.finish())
}

/// The TUI's background jobs, whose errors it shows on its status line as `job: error`.
const TUI_JOBS: &[&str] = &[
    "open dump",
    "read tasks",
    "read log",
    "unwind tasks",
    "wait graph",
    "decode srcu",
    "decode rcu",
    "decode log",
    "index names",
    "locals",
    "describe",
    "open source",
    "save notes",
];

/// Open the TUI on the copy in tmux and wait for it to settle: the task table loaded (no
/// "n/total (p%)" left on the status line), or the dump refused (`open dump: …`), or an
/// empty table with "task list partial" on the status line (a list that could not be
/// walked), or 5 s with a job's error on the status line and no task (a task list that
/// could not be read).
/// Then show every pane (1–7), group stacks, start the walkthrough and step it, and quit.
/// Outcome: full (a task table), partial (the status line says the task list is), warned
/// (a task table and a warning on the status line),
/// error (refused, or no task and a job's error shown), or a failure: a panic, a hang (no
/// settled screen or no exit within 5 s of `q`), an exit code other than 0, or neither a
/// task nor an error after 5 s. `secs` is the time to the settled screen plus the time from
/// `q` to the exit (the key presses' own pauses not counted).
pub fn run_tui(
    bin: &Path,
    rel: &Release,
    core: &Path,
    vmlinux: &Path,
    work: &Path,
    recipe: &Recipe,
    cold: Option<&Path>,
) -> Run {
    let session = format!(
        "qc{}-{}",
        std::process::id(),
        work.file_name().unwrap().to_string_lossy()
    );
    let tmux = |args: &[&str]| Command::new("tmux").args(args).output();
    let capture = || {
        tmux(&["capture-pane", "-p", "-t", &session])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let quoted: Vec<String> = std::iter::once(bin.display().to_string())
        .chain(open_args(rel, core, vmlinux))
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    std::fs::create_dir_all(work).ok();
    let cfg = work.join("config");
    let err_file = work.join("tui.err");
    let cache = cold
        .map(|c| format!("XDG_CACHE_HOME='{}' ", c.display()))
        .unwrap_or_default();
    let shell = format!(
        "env {cache}XDG_CONFIG_HOME='{0}' XDG_DATA_HOME='{0}' QUIESCE_KEYMAP=default {1} 2>'{2}'; echo EXITED:$?; sleep 60",
        cfg.display(),
        quoted.join(" "),
        err_file.display()
    );
    let mut run = Run {
        recipe: recipe.id.clone(),
        kind: recipe.kind.to_string(),
        command: "tui".into(),
        outcome: Outcome::Full,
        secs: 0.0,
        rss_kib: 0,
        said: String::new(),
        warnings: Vec::new(),
    };
    let exited = |s: &str| {
        s.lines().find_map(|l| {
            l.trim()
                .strip_prefix("EXITED:")
                .and_then(|c| c.trim().parse::<i32>().ok())
        })
    };
    let status = |s: &str| s.lines().last().unwrap_or("").trim().to_string();
    let job_error = |s: &str| {
        let st = status(s);
        TUI_JOBS.iter().any(|j| st.starts_with(&format!("{j}:")))
    };
    let loading = |s: &str| status(s).contains("%)");
    // a task list that could not be walked at all: an empty table and the reason on the
    // status line (`ps` is partial there too)
    let partial = |s: &str| status(s).starts_with("task list partial");
    let tasks_shown = |s: &str| {
        s.split("┌Tasks ").nth(1).is_some_and(|t| {
            let total: String = t
                .chars()
                .skip_while(|c| *c != '/')
                .skip(1)
                .take_while(|c| c.is_ascii_digit())
                .collect();
            total.parse::<u32>().is_ok_and(|n| n > 0)
        })
    };
    let err_line = || {
        std::fs::read_to_string(&err_file)
            .unwrap_or_default()
            .lines()
            .find(|l| l.contains("error") || l.contains("panicked"))
            .unwrap_or("")
            .to_string()
    };
    let finish = |mut run: Run, outcome: Outcome, said: String| {
        tmux(&["kill-session", "-t", &session]).ok();
        run.outcome = outcome;
        run.said = said;
        run
    };

    let start = Instant::now();
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "45",
        &shell,
    ])
    .expect("tmux");
    // Settle.
    let mut first_error: Option<f64> = None;
    let mut screen;
    let settled = loop {
        screen = capture();
        let t = start.elapsed().as_secs_f64();
        if exited(&screen).is_some()
            || ((tasks_shown(&screen) || partial(&screen)) && !loading(&screen))
            || status(&screen).starts_with("open dump:")
        {
            break Some(t);
        }
        if job_error(&screen) && !tasks_shown(&screen) {
            first_error.get_or_insert(t);
        }
        if t > LIMIT.as_secs_f64() {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(code) = exited(&screen) {
        let said = err_line();
        let outcome = if said.contains("panicked") || code == 101 {
            Outcome::Panic(said.clone())
        } else if code == 1 && said.starts_with("quiesce: error:") {
            Outcome::Error
        } else {
            Outcome::BadExit(code)
        };
        run.secs = start.elapsed().as_secs_f64();
        return finish(run, outcome, said);
    }
    let (first, refused) = match (settled, first_error) {
        (Some(t), _) => (t, !tasks_shown(&screen) && !partial(&screen)),
        (None, Some(t)) => (t, true),
        (None, None) => {
            let said = status(&screen);
            return finish(
                run,
                Outcome::UnclearError("neither a task nor an error after 5 s".into()),
                said,
            );
        }
    };
    let shown = status(&screen);
    for key in [
        "1", "2", "3", "4", "5", "6", "7", "g", "W", "]", "Escape", "1",
    ] {
        tmux(&["send-keys", "-t", &session, key]).ok();
        std::thread::sleep(Duration::from_millis(60));
    }
    // Its peak RSS so far (every pane visited): tmux owns the process, so it is read from
    // /proc — the pane's shell's child — rather than from wait4.
    run.rss_kib = tmux(&["display-message", "-p", "-t", &session, "#{pane_pid}"])
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<u32>()
                .ok()
        })
        .and_then(peak_rss_of_child)
        .unwrap_or(0);
    let q = Instant::now();
    tmux(&["send-keys", "-t", &session, "q"]).ok();
    let mut end = String::new();
    while q.elapsed() < KILL_AFTER {
        end = capture();
        if exited(&end).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    run.secs = first + q.elapsed().as_secs_f64();
    let said = err_line();
    let outcome = match exited(&end) {
        None => Outcome::Hang,
        Some(_) if said.contains("panicked") || end.contains("panicked") => {
            Outcome::Panic(said.clone())
        }
        Some(0) if q.elapsed() > LIMIT => Outcome::Hang,
        Some(0) if refused => Outcome::Error,
        Some(0) if shown.starts_with("task list partial") => Outcome::Partial,
        Some(0) if shown.starts_with("warning:") => Outcome::Warned,
        Some(0) => Outcome::Full,
        Some(c) => Outcome::BadExit(c),
    };
    let said = if said.is_empty() { shown } else { said };
    finish(run, outcome, said)
}

/// The peak RSS (`VmHWM`, KiB) of the first child of process `parent`.
fn peak_rss_of_child(parent: u32) -> Option<u64> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    let child: u32 = children.split_whitespace().next()?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{child}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Rows of the corpus table: per damage kind, per command, how many runs ended how.
pub fn table(runs: &[Run]) -> String {
    let mut kinds: BTreeMap<&str, BTreeMap<&str, [usize; 5]>> = BTreeMap::new();
    let mut copies: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for r in runs {
        copies.entry(&r.kind).or_default().insert(&r.recipe);
        let cell = kinds
            .entry(&r.kind)
            .or_default()
            .entry(&r.command)
            .or_default();
        let i = match r.outcome {
            Outcome::Full => 0,
            Outcome::Warned => 1,
            Outcome::Partial => 2,
            Outcome::Error => 3,
            _ => 4,
        };
        cell[i] += 1;
    }
    let commands: Vec<String> = COMMANDS
        .iter()
        .map(|c| c.join(" "))
        .chain(["tui".to_string()])
        .collect();
    let mut s = String::new();
    writeln!(s, "| damage | copies | {} |", commands.join(" | ")).unwrap();
    writeln!(s, "|---|---:|{}", "---|".repeat(commands.len())).unwrap();
    for (kind, cells) in &kinds {
        let row: Vec<String> = commands
            .iter()
            .map(|c| match cells.get(c.as_str()) {
                Some([f, w, p, e, bad]) if *bad > 0 => format!("{f}/{w}/{p}/{e} **{bad} failed**"),
                Some([f, w, p, e, _]) => format!("{f}/{w}/{p}/{e}"),
                None => "–".into(),
            })
            .collect();
        writeln!(
            s,
            "| {kind} | {} | {} |",
            copies[kind].len(),
            row.join(" | ")
        )
        .unwrap();
    }
    s
}

/// One line per run, tab-separated, for the record.
pub fn tsv(runs: &[Run]) -> String {
    let mut s = String::from("recipe\tkind\tcommand\toutcome\tsecs\trss_kib\tsaid\n");
    for r in runs {
        writeln!(
            s,
            "{}\t{}\t{}\t{}\t{:.3}\t{}\t{}",
            r.recipe,
            r.kind,
            r.command,
            match &r.outcome {
                Outcome::Panic(m) | Outcome::UnclearError(m) =>
                    format!("{}: {m}", r.outcome.label()),
                Outcome::BadExit(c) => format!("BADEXIT {c}"),
                Outcome::Rss(k) => format!("RSS > 2x clean ({k} KiB)"),
                o => o.label().to_string(),
            },
            r.secs,
            r.rss_kib,
            r.said.replace('\t', " ")
        )
        .unwrap();
    }
    s
}

/// Where the corpus run writes its copies and results.
pub fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("corpus")
}
