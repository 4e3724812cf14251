//! The command line as a user meets it: options mean one thing everywhere, every
//! subcommand takes the global options after it, shows an example in its help, and the
//! completion scripts and man page come from the same clap definitions.

mod common;

use clap::CommandFactory;
use quiesce::cli::Cli;
use std::path::PathBuf;
use std::process::Command;

fn quiesce(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_quiesce"))
        .args(args)
        .output()
        .expect("quiesce runs")
}

fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Every short flag of the top level (global options, -h, -V) and of each subcommand.
#[test]
fn no_subcommand_reuses_a_global_short_option() {
    let mut cmd = Cli::command();
    cmd.build();
    let global: Vec<char> = cmd.get_arguments().filter_map(|a| a.get_short()).collect();
    assert!(global.contains(&'c') && global.contains(&'s'), "{global:?}");
    let mut clashes = vec![];
    for sub in cmd.get_subcommands() {
        for a in sub.get_arguments().filter(|a| !a.is_global_set()) {
            if let Some(c) = a.get_short()
                && global.contains(&c)
                && c != 'h'
            {
                clashes.push(format!("{} -{c} ({})", sub.get_name(), a.get_id()));
            }
        }
    }
    assert!(
        clashes.is_empty(),
        "subcommand shorts that shadow a global one: {clashes:?}"
    );
}

#[test]
fn every_help_shows_an_example() {
    let top = quiesce(&["--help"]);
    assert!(top.status.success());
    assert!(String::from_utf8_lossy(&top.stdout).contains("Example"));
    for sub in subcommands() {
        for flag in ["--help", "-h"] {
            let out = quiesce(&[&sub, flag]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{sub} {flag}");
            assert!(
                text.contains("Example") && text.contains(&format!("quiesce {sub}")),
                "{sub} {flag}:\n{text}"
            );
        }
    }
}

#[test]
fn completions_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let out = quiesce(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.len() > 1000, "{shell}: {} bytes", text.len());
        for sub in subcommands() {
            assert!(text.contains(&sub), "{shell} completion lacks {sub}");
        }
        // The options of a subcommand are there too (fish writes `-l state`).
        assert!(text.contains("state") && text.contains("locals"), "{shell}");
    }
    assert!(!quiesce(&["completions", "nosuchshell"]).status.success());
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let out = quiesce(&["man"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(".ie") || text.starts_with(".TH"),
        "{}",
        &text[..80]
    );
    assert!(text.contains(".TH quiesce 1"), "no title");
    for sub in subcommands() {
        assert!(
            text.contains(&format!(".SS {sub}\n")),
            "man page lacks {sub}"
        );
    }
    assert!(text.contains(".SH EXAMPLES") && text.contains("\\-\\-state"));
}

/// Each subcommand written the way the README writes them — the global `-c`/`-s` after the
/// subcommand and its own options, a module `.ko` as a second `-s` — runs on the real hang
/// dump; `stacks --state UN` counts crash's UN tasks.
#[test]
fn every_subcommand_takes_the_global_options_after_it() {
    let Some(rel) = common::release("bookworm") else {
        return;
    };
    let dump = rel.dir.join("dumps/hang.elf");
    let (dump, vmlinux) = (common::path_str(&dump), common::path_str(&rel.vmlinux()));
    let module = common::path_str(&rel.modules_dir().join("quiesce_hang.ko"));
    let global = ["-c", &dump, "-s", &vmlinux, "-s", &module];
    let tl = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-args-timeline.json");
    let tl = common::path_str(&tl);
    let own: &[(&str, &[&str])] = &[
        ("ps", &[]),
        ("log", &[]),
        ("sys", &[]),
        ("bt", &["-a", "-l"]),
        ("stacks", &["--state", "UN", "-m", "quiesce_hang"]),
        ("srcu", &["quiesce_srcu"]),
        ("rcu", &[]),
        ("fields", &["rcu.node"]),
        (
            "watch",
            &["--count", "1", "--print", "jiffies", "--out", &tl],
        ),
        ("timeline", &[&tl]),
        ("explain", &[]),
        ("waitgraph", &["--dot"]),
        ("print", &["jiffies"]),
        ("completions", &["bash"]),
        ("man", &[]),
    ];
    let listed: Vec<&str> = own.iter().map(|(s, _)| *s).collect();
    assert_eq!(listed, subcommands(), "a subcommand this test does not run");
    for (sub, args) in own {
        let mut all = vec![*sub];
        all.extend_from_slice(args);
        all.extend_from_slice(&global);
        let out = quiesce(&all);
        assert!(
            out.status.success(),
            "quiesce {}: {}",
            all.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.stdout.is_empty(),
            "quiesce {}: no output",
            all.join(" ")
        );
    }
    // `--state` filters as crash's ps states read: the UN tasks, all of them.
    let crash_un = common::parse_crash_ps(&rel.crash_ref("hang.elf", "ps.txt").unwrap())
        .iter()
        .filter(|p| p.st == "UN")
        .count();
    let mut args = vec!["stacks", "--state", "UN"];
    args.extend_from_slice(&global);
    let out = String::from_utf8_lossy(&quiesce(&args).stdout).into_owned();
    let last = out.lines().last().unwrap_or_default().to_string();
    assert!(
        last.starts_with(&format!("{crash_un} tasks in ")),
        "stacks --state UN: {last} (crash: {crash_un} UN tasks)"
    );
}
