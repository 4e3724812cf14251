//! The `quiesce` binary: parse the arguments (`quiesce::cli`), then run a command
//! (`quiesce::report`) or open the TUI (`quiesce::tui`), handing it the CLI's parser for its
//! `:` line. The only place that sees both the CLI and the TUI.

use clap::Parser;
use quiesce::cli::{Cli, Invocation, parse_words};

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.invocation()? {
        Invocation::Tui(target) => {
            // Module files fetched while the TUI owns the terminal must not draw on it.
            quiesce::debuginfo::debuginfod::set_progress(false);
            quiesce::tui::run(target, parse_words)?;
            Ok(0)
        }
        Invocation::Command(target, cmd) => quiesce::report::commands::run(&target, &cmd),
        Invocation::Print(text) => {
            print!("{text}");
            Ok(0)
        }
    }
}

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // One line: the error and its causes.
            let mut msg = e.to_string();
            for c in e.chain().skip(1) {
                msg.push_str(": ");
                msg.push_str(&c.to_string());
            }
            eprintln!("quiesce: error: {msg}");
            std::process::exit(1);
        }
    }
}
