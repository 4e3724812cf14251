//! Opening a fixture dump in the dump-only mode, and a subcommand's JSON, for the tests that
//! compare the dump-only and DWARF modes (`dumponly_real.rs`, `arm64_dumponly.rs`).

use quiesce::kernel::{self, Kernel, OpenOptions};
use quiesce::report::Target;
use quiesce::report::commands::{Command, command_text};
use serde_json::Value;
use std::path::Path;

/// The dump alone (`--no-debuginfo`): never a vmlinux, even one the search would find.
pub fn dump_only(core: &Path) -> Kernel {
    let opts = OpenOptions {
        core: core.to_path_buf(),
        ..Default::default()
    };
    let dump = quiesce::dump::Dump::open(core).unwrap();
    kernel::open::open_dump_only(dump, &opts)
        .unwrap_or_else(|e| panic!("{}: dump-only open: {e}", core.display()))
}

/// `cmd --json` on an open kernel, parsed.
pub fn json_of(k: &Kernel, core: &Path, cmd: &Command) -> Value {
    let t = Target {
        json: true,
        ..Target::new(core, vec![])
    };
    let (text, _) = command_text(k, &t, cmd).unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}
