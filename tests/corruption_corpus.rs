//! The corruption corpus (issue 17, `tests/common/corpus.rs`): copies of the real dumps
//! damaged the ways real dumps are, every subcommand and the TUI run on each, with the rules
//! of docs/reliability.md: a full result, a partial result that says what is missing, or
//! one clear error line — never a panic, never past 5 s, peak RSS at most twice the clean
//! dump's, the dump never written.
//!
//! `sample` (in the suite, about a minute) runs a sample of bookworm's corpus; `full`
//! (ignored: about 25 min per release on 2 cores with the TUI on every copy, 13 with it on
//! every tenth) runs every copy of every release present:
//! `cargo test --release --test corruption_corpus -- --ignored --nocapture full`
//! (`QUIESCE_CORPUS_RELEASES="bookworm trixie"` to choose, `QUIESCE_CORPUS_TUI_EVERY=10`
//! for the TUI on every tenth copy only). Results are written to
//! `target/tmp/corpus/<release>.tsv` (one row per run) and `<release>.md` (the table).

mod common;

use common::Release;
use common::corpus::{Recipe, recipes};
use common::corpus_run::{
    COMMANDS, Outcome, Run, fingerprint, run_commands, run_tui, table, tsv, work_dir,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_quiesce"))
}

fn have_tmux() -> bool {
    std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run `chosen` (with the TUI on those `tui` picks) with `workers` in parallel; every rule
/// checked; the results written beside the copies. Returns every run.
fn run_corpus(
    rel: &Release,
    chosen: &[Recipe],
    tui: &(dyn Fn(usize) -> bool + Sync),
    workers: usize,
) -> Vec<Run> {
    let work = work_dir().join(&rel.name);
    std::fs::create_dir_all(&work).unwrap();
    // The clean dumps: their runs are the baseline for memory, their bytes must not change.
    let mut bases: Vec<&Path> = chosen.iter().map(|r| r.base.as_path()).collect();
    bases.sort();
    bases.dedup();
    let before: Vec<_> = bases.iter().map(|b| fingerprint(b)).collect();
    let mut baseline: HashMap<(PathBuf, String), u64> = HashMap::new();
    let mut clean_warnings: HashMap<PathBuf, Vec<String>> = HashMap::new();
    let mut runs = Vec::new();
    // The memory baseline is the larger of a cold run (an empty cache: the name index built
    // in the process) and a warm one: a damaged copy may need names the clean runs did not
    // index, and then indexes them as a cold run does.
    for b in &bases {
        let clean = Recipe::new("clean", b, "clean", "the dump as built".into());
        let cold = work.join("cold-cache");
        let scratch = work.join("clean");
        for r in run_commands(
            &bin(),
            rel,
            b,
            &rel.vmlinux(),
            &scratch,
            &clean,
            Some(&cold),
        ) {
            baseline.insert((b.to_path_buf(), r.command.clone()), r.rss_kib);
        }
        for r in run_commands(&bin(), rel, b, &rel.vmlinux(), &scratch, &clean, None) {
            let cold = baseline
                .entry((b.to_path_buf(), r.command.clone()))
                .or_default();
            *cold = (*cold).max(r.rss_kib);
            clean_warnings
                .entry(b.to_path_buf())
                .or_default()
                .extend(r.warnings.iter().cloned());
            runs.push(r);
        }
        // The TUI's too, cold and warm (its peak read before it quits: every pane visited).
        if have_tmux() {
            for c in [Some(cold.as_path()), None] {
                let r = run_tui(&bin(), rel, b, &rel.vmlinux(), &scratch, &clean, c);
                std::fs::remove_dir_all(&cold).ok();
                let peak = baseline
                    .entry((b.to_path_buf(), r.command.clone()))
                    .or_default();
                *peak = (*peak).max(r.rss_kib);
                if c.is_none() {
                    runs.push(r);
                }
            }
        }
    }
    let tmux = have_tmux();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for w in 0..workers {
            let (next, results, baseline, work) = (&next, &results, &baseline, &work);
            let clean_warnings = &clean_warnings;
            s.spawn(move || {
                let dir = work.join(format!("w{w}"));
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(recipe) = chosen.get(i) else { break };
                    let copy = recipe
                        .materialize(rel, &dir)
                        .expect("write the damaged copy");
                    let fp = fingerprint(&copy.core);
                    let mut mine = run_commands(
                        &bin(),
                        rel,
                        &copy.core,
                        &copy.vmlinux,
                        &dir.join("run"),
                        recipe,
                        None,
                    );
                    if tmux && tui(i) {
                        mine.push(run_tui(
                            &bin(),
                            rel,
                            &copy.core,
                            &copy.vmlinux,
                            &dir,
                            recipe,
                            None,
                        ));
                    }
                    let known = clean_warnings.get(&recipe.base);
                    for r in &mut mine {
                        if r.outcome == Outcome::Full
                            && let Some(w) = r
                                .warnings
                                .iter()
                                .find(|w| known.is_none_or(|k| !k.contains(w)))
                        {
                            r.said = w.chars().take(200).collect();
                            r.outcome = Outcome::Warned;
                        }
                        let clean = baseline.get(&(recipe.base.clone(), r.command.clone()));
                        if let Some(&c) = clean
                            && r.rss_kib > 2 * c
                            && !r.outcome.is_failure()
                        {
                            r.said = format!("{} KiB, clean {c} KiB; {}", r.rss_kib, r.said);
                            r.outcome = Outcome::Rss(r.rss_kib);
                        }
                    }
                    if fingerprint(&copy.core) != fp {
                        for r in &mut mine {
                            r.outcome = Outcome::Written;
                        }
                    }
                    copy.remove();
                    results.lock().unwrap().extend(mine);
                }
            });
        }
    });
    runs.extend(results.into_inner().unwrap());
    for (b, fp) in bases.iter().zip(before) {
        assert_eq!(
            fingerprint(b),
            fp,
            "{} was changed by the runs",
            b.display()
        );
    }
    std::fs::write(work.with_extension("tsv"), tsv(&runs)).unwrap();
    std::fs::write(work.with_extension("md"), table(&runs)).unwrap();
    runs
}

fn assert_no_failures(rel: &Release, runs: &[Run], skipped: &[String]) {
    println!("{}: {} runs\n{}", rel.name, runs.len(), table(runs));
    for s in skipped {
        println!("not made: {s}");
    }
    let failed: Vec<String> = runs
        .iter()
        .filter(|r| r.outcome.is_failure())
        .map(|r| {
            format!(
                "{} | {} | {:?} | {:.2} s | {}",
                r.recipe, r.command, r.outcome, r.secs, r.said
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} runs broke the rules:\n{}",
        failed.len(),
        failed.join("\n")
    );
    // A clean dump gives a result: a partial one where makedumpfile dropped pages it
    // needs (sid's `-d 31` dumps lose task_structs), never an error.
    let clean_refused: Vec<_> = runs
        .iter()
        .filter(|r| r.kind == "clean" && r.outcome == Outcome::Error)
        .map(|r| format!("{} {} {:?}: {}", r.recipe, r.command, r.outcome, r.said))
        .collect();
    assert!(clean_refused.is_empty(), "clean dumps: {clean_refused:?}");
    // The TUI's memory rule has a baseline only if its peak could be read.
    let unmeasured: Vec<_> = runs
        .iter()
        .filter(|r| r.kind == "clean" && r.command == "tui" && r.rss_kib == 0)
        .map(|r| r.recipe.as_str())
        .collect();
    assert!(
        unmeasured.is_empty(),
        "TUI peak RSS not read: {unmeasured:?}"
    );
}

/// Up to `n` recipes of each kind, spread over the kind's list (for truncations: over
/// every format, since the list runs format by format).
fn spread(all: &[Recipe], n: usize) -> Vec<Recipe> {
    let mut kinds: Vec<&str> = Vec::new();
    for r in all {
        if !kinds.contains(&r.kind) {
            kinds.push(r.kind);
        }
    }
    let mut out = Vec::new();
    for kind in kinds {
        let of: Vec<&Recipe> = all.iter().filter(|r| r.kind == kind).collect();
        let take = n.min(of.len());
        out.extend((0..take).map(|i| of[i * of.len() / take + of.len() / take / 2].clone()));
    }
    out
}

#[test]
fn sample() {
    let Some(rel) = common::release("bookworm") else {
        return;
    };
    let required = std::env::var("QUIESCE_REQUIRE_FIXTURES").is_ok_and(|v| v == "1");
    assert!(
        !required || have_tmux(),
        "tmux is missing (fixtures/deps.sh installs it)"
    );
    let (all, skipped) = recipes(&rel);
    let mut chosen = spread(&all, 3);
    // Truncations of every format: two each.
    chosen.retain(|r| r.kind != "truncated");
    let truncs: Vec<Recipe> = all
        .iter()
        .filter(|r| r.kind == "truncated")
        .cloned()
        .collect();
    let formats: Vec<PathBuf> = {
        let mut f: Vec<PathBuf> = truncs.iter().map(|r| r.base.clone()).collect();
        f.dedup();
        f
    };
    for f in &formats {
        let of: Vec<Recipe> = truncs.iter().filter(|r| &r.base == f).cloned().collect();
        chosen.extend(spread(&of, 2));
    }
    // The TUI on one copy of each kind.
    let mut first_of_kind = Vec::new();
    for (i, r) in chosen.iter().enumerate() {
        if !chosen[..i].iter().any(|o| o.kind == r.kind) {
            first_of_kind.push(i);
        }
    }
    let runs = run_corpus(&rel, &chosen, &|i| first_of_kind.contains(&i), 2);
    assert!(
        runs.len() >= chosen.len() * COMMANDS.len(),
        "{} runs for {} copies",
        runs.len(),
        chosen.len()
    );
    assert_no_failures(&rel, &runs, &skipped);
}

#[test]
#[ignore = "the whole corpus: about 25 min per release on 2 cores, the TUI on every copy"]
fn full() {
    let names =
        std::env::var("QUIESCE_CORPUS_RELEASES").unwrap_or_else(|_| "bookworm trixie sid".into());
    let mut failures = Vec::new();
    for name in names.split_whitespace() {
        let Some(rel) = common::release(name) else {
            continue;
        };
        let (all, skipped) = recipes(&rel);
        // QUIESCE_CORPUS_TUI_EVERY=N: the TUI on every Nth copy only (it is half the time).
        let every: usize = std::env::var("QUIESCE_CORPUS_TUI_EVERY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
            .max(1);
        let runs = run_corpus(&rel, &all, &|i| i % every == 0, 2);
        if let Err(e) = std::panic::catch_unwind(|| assert_no_failures(&rel, &runs, &skipped)) {
            failures.push((name.to_string(), e));
        }
    }
    if let Some((name, e)) = failures.into_iter().next() {
        eprintln!("{name} broke the rules");
        std::panic::resume_unwind(e);
    }
}

/// Make one damaged copy again, by its id, to look at it by hand:
/// `QUIESCE_CORPUS_ID=task-list/hang.elf@cycle QUIESCE_CORPUS_RELEASES=bookworm cargo test
/// --release --test corruption_corpus -- --ignored --nocapture make_copy` prints the paths.
#[test]
#[ignore = "a tool: makes the copy named by QUIESCE_CORPUS_ID"]
fn make_copy() {
    let id = std::env::var("QUIESCE_CORPUS_ID").expect("QUIESCE_CORPUS_ID");
    let name = std::env::var("QUIESCE_CORPUS_RELEASES").unwrap_or_else(|_| "bookworm".into());
    let rel = common::release(name.split_whitespace().next().unwrap()).expect("fixtures");
    let (all, _) = recipes(&rel);
    let r = all
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no recipe {id}"));
    let copy = r.materialize(&rel, &work_dir().join("by-hand")).unwrap();
    println!("{}: {}", r.id, r.what);
    println!(
        "-c {} -s {} -s {}",
        copy.core.display(),
        copy.vmlinux.display(),
        rel.modules_dir().display()
    );
}

/// A damaged copy of bookworm's hang dump by its recipe id, and the arguments to open it.
fn copy_of(id: &str) -> Option<(Vec<String>, common::corpus::Copy)> {
    copy_where(&|r| r.id == id)
}

fn copy_where(pick: &dyn Fn(&Recipe) -> bool) -> Option<(Vec<String>, common::corpus::Copy)> {
    let rel = common::release("bookworm")?;
    let (all, _) = recipes(&rel);
    let r = all.iter().find(|r| pick(r)).expect("a recipe");
    let copy = r.materialize(&rel, &work_dir().join("named")).unwrap();
    let args = open_args(&copy.core, &copy.vmlinux, &rel);
    Some((args, copy))
}

/// `-c CORE -s VMLINUX -s` the release's modules.
fn open_args(core: &Path, vmlinux: &Path, rel: &Release) -> Vec<String> {
    vec![
        "-c".into(),
        core.display().to_string(),
        "-s".into(),
        vmlinux.display().to_string(),
        "-s".into(),
        rel.modules_dir().display().to_string(),
    ]
}

fn quiesce(cmd: &[&str], args: &[String]) -> (i32, String, String) {
    let all: Vec<String> = cmd
        .iter()
        .map(|s| s.to_string())
        .chain(args.iter().cloned())
        .collect();
    common::run_quiesce(&all)
}

#[test]
fn a_missing_prstatus_note_never_lends_another_cpus_registers() {
    let Some((args, copy)) = copy_of("prstatus/hang.elf@first") else {
        return;
    };
    let (code, out, err) = quiesce(&["bt", "--all"], &args);
    copy.remove();
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 NT_PRSTATUS notes for 2 online CPUs"),
        "{err}"
    );
    // The note left is CPU 1's (QEMU's pr_pid 2): swapper/1 still starts from its
    // registers; swapper/0 has none and must not be given CPU 1's.
    let trace = |cpu: &str| {
        out.split("\n\n")
            .find(|t| t.contains(&format!("CPU: {cpu}   COMMAND: \"swapper/{cpu}\"")))
            .unwrap_or_else(|| panic!("no swapper/{cpu} in {out}"))
            .to_string()
    };
    assert!(trace("1").contains("[exception RIP:"), "{}", trace("1"));
    assert!(!trace("0").contains("[exception RIP:"), "{}", trace("0"));
    assert!(!trace("0").contains("start_secondary"), "{}", trace("0"));
}

#[test]
fn a_runqueue_whose_current_task_is_not_a_task_makes_ps_partial() {
    let Some((args, copy)) = copy_of("cpu/hang.elf@rq-curr-nowhere") else {
        return;
    };
    let (code, out, _) = quiesce(&["ps"], &args);
    copy.remove();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("CPU 0: rq->curr 0xffffdeadbeef0000 is not a task"),
        "{out}"
    );
    // The task list itself is whole: 74 tasks, as on the clean dump.
    assert_eq!(
        out.lines().filter(|l| l.contains(" ffff")).count(),
        74,
        "{out}"
    );
}

#[test]
fn sys_on_a_cut_dump_is_partial_and_names_what_it_could_not_read() {
    // The ELF cut in its middle: the headers whole, half the memory gone.
    let Some((args, copy)) =
        copy_where(&|r| r.id.starts_with("truncated/hang.elf@") && r.len > 256 << 20)
    else {
        return;
    };
    let (code, out, _) = quiesce(&["sys"], &args);
    // Cold (an empty cache), the copy's runs cost no more than twice the clean dump's: its
    // fallbacks once asked DWARF for names this kernel lacks and indexed every unit
    // (289 MB against 119 MB for sys).
    let rel = common::release("bookworm").unwrap();
    let clean_path = rel.elf_of("hang").unwrap().path;
    let work = work_dir().join("cold");
    std::fs::create_dir_all(&work).unwrap();
    let cold = |core: &Path, vmlinux: &Path, id: &str| {
        let r = Recipe::new("cold", &clean_path, id, String::new());
        run_commands(
            &bin(),
            &rel,
            core,
            vmlinux,
            &work.join(id),
            &r,
            Some(&work.join("cache")),
        )
    };
    let damaged = cold(&copy.core, &copy.vmlinux, "damaged");
    let clean = cold(&clean_path, &rel.vmlinux(), "clean");
    copy.remove();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("PARTIAL: could not read"), "{out}");
    assert!(out.contains("past the end of the file"), "{out}");
    for (d, c) in damaged.iter().zip(&clean) {
        assert!(
            d.rss_kib <= 2 * c.rss_kib,
            "{}: {} KiB on the cut dump, {} KiB on the clean one",
            d.command,
            d.rss_kib,
            c.rss_kib
        );
    }
}

#[test]
fn bt_all_and_stacks_are_partial_when_the_task_list_is_cut() {
    let Some((args, copy)) = copy_of("task-list/hang.elf@cycle") else {
        return;
    };
    let (bt_code, bt, bt_err) = quiesce(&["bt", "--all"], &args);
    let (st_code, _, st_err) = quiesce(&["stacks"], &args);
    copy.remove();
    for (code, err) in [(bt_code, &bt_err), (st_code, &st_err)] {
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("quiesce: warning: task list: process list:"),
            "{err}"
        );
        assert!(err.contains("cycle"), "{err}");
    }
    // What was read before the cycle is still shown.
    assert!(bt.contains("COMMAND: \"swapper/0\""), "{bt}");
}

#[test]
fn the_tui_says_when_the_task_list_is_partial() {
    let Some(rel) = common::release("bookworm") else {
        return;
    };
    if !have_tmux() {
        return;
    }
    let (all, _) = recipes(&rel);
    let r = all
        .iter()
        .find(|r| r.id == "task-list/hang.elf@head-nowhere")
        .expect("recipe");
    let dir = work_dir().join("tui-partial");
    let copy = r.materialize(&rel, &dir).unwrap();
    let run = run_tui(&bin(), &rel, &copy.core, &copy.vmlinux, &dir, r, None);
    copy.remove();
    assert_eq!(run.outcome, Outcome::Partial, "{run:?}");
    assert!(
        run.said.starts_with("task list partial") && run.said.contains("process list"),
        "{run:?}"
    );
}

/// A makedumpfile file whose VMCOREINFO `phys_base` lies (2 MiB off): through it the
/// kernel image reads from the wrong pages (the banner in an excluded one, `init_task.tasks`
/// garbage: `ps` was an empty partial list). The kdump header's copy of the number makes
/// the banner read as the vmlinux's, so it is taken, and said; `ps` is then the clean
/// dump's. QEMU's kdump files are the other way round (their header is the wrong one): on
/// the real QEMU file VMCOREINFO's is kept.
#[test]
fn a_lying_vmcoreinfo_phys_base_is_caught_by_the_banner() {
    let Some((args, copy)) = copy_of("vmcoreinfo/hang.mkd-zstd.kdump@phys-base") else {
        return;
    };
    let (code, out, err) = quiesce(&["ps"], &args);
    copy.remove();
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("linux_banner reads as the vmlinux's only through the header's: using it"),
        "{err}"
    );
    assert!(!err.contains("using VMCOREINFO"), "{err}");
    let rel = common::release("bookworm").unwrap();
    let clean = rel.dir.join("dumps/hang.mkd-zstd.kdump");
    let (_, want, _) = quiesce(&["ps"], &open_args(&clean, &rel.vmlinux(), &rel));
    assert_eq!(out, want);
    assert_eq!(out.lines().filter(|l| l.contains(" ffff")).count(), 74);
    let qemu = rel.dir.join("dumps/hang.qemu-zlib.kdump");
    let (code, out, err) = quiesce(
        &["ps"],
        &[
            "-c".into(),
            qemu.display().to_string(),
            "-s".into(),
            rel.vmlinux().display().to_string(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("(QEMU read the decimal value as hex); using VMCOREINFO"),
        "{err}"
    );
    assert!(!err.contains("using it"), "{err}");
    assert_eq!(
        out, want,
        "QEMU's kdump file and makedumpfile's of the same moment"
    );
}
