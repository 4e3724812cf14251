use clap::Parser;
use quiesce::cli::{Cli, run};

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
