//! Backtraces: starting registers of a task (its saved context, or the CPU's `NT_PRSTATUS`
//! when it was running), ORC and frame-pointer steps ([`walk`]), and frames symbolized with
//! inline expansion and `file:line`.

pub mod arm64;
pub mod locals;
pub mod orc;
pub mod task;
pub mod walk;
