//! Errors of the kernel model. Each says what was being read or looked up.

use crate::translate::ReadError;
use thiserror::Error;

#[derive(Debug, Clone, Error)]
pub enum KernelError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("debug info: {0}")]
    Debug(String),
    #[error("symbol {0} not found in the vmlinux or module symbol tables")]
    NoSymbol(String),
    #[error("the kernel's {strukt} has no member {member} (needed for {why})")]
    NoMember {
        strukt: String,
        member: String,
        why: &'static str,
    },
    #[error("CPU {0} does not exist in this dump")]
    NoSuchCpu(u32),
    #[error("{0}")]
    Open(String),
    #[error("the vmlinux does not match the dump: {0}")]
    Mismatch(String),
    #[error("list at {head} is corrupt: {why}")]
    CorruptList { head: crate::addr::Kva, why: String },
    #[error("{0}")]
    Expr(String),
}
