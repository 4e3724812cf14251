//! quiesce: a terminal debugger for Linux kernel hangs.
//!
//! Dependencies run one way, bytes → model → presentation:
//! `dump` → `arch`/`translate` → `debuginfo` → `kernel` → `unwind`/`rcu` → `analysis`
//! → `report` → `cli`/`tui`. See `docs/architecture.md`.

pub mod addr;
pub mod analysis;
pub mod arch;
pub mod artifacts;
pub mod cli;
pub mod debuginfo;
pub mod dump;
pub mod fuzz;
pub mod kernel;
pub mod rcu;
pub mod report;
pub mod timing;
pub mod translate;
pub mod tui;
pub mod unwind;
