//! The one error type of `debuginfo`: every variant names what was being looked up.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DebugError {
    #[error("cannot open {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a usable ELF file: {msg}")]
    Elf { path: PathBuf, msg: String },
    #[error("{path}: malformed DWARF while reading {what}: {source}")]
    Dwarf {
        path: PathBuf,
        what: String,
        #[source]
        source: gimli::Error,
    },
    #[error("{path}: relocating {section}: {msg}")]
    Relocation {
        path: PathBuf,
        section: String,
        msg: String,
    },
    #[error("type not found: {0}")]
    TypeNotFound(String),
    #[error("variable not found: {0}")]
    VariableNotFound(String),
    #[error("type id {0:#x} does not name a type of this debug info")]
    BadTypeId(u64),
    #[error("{ty}: no member {member} (in path {path})")]
    NoMember {
        ty: String,
        path: String,
        member: String,
    },
    #[error("{ty}: cannot look up {path}: {msg}")]
    BadMemberPath {
        ty: String,
        path: String,
        msg: String,
    },
    #[error("module {0} is already loaded")]
    DuplicateModule(String),
    #[error(
        "type not found: {0} (the dump's BTF could not be read, so dump-only mode has no types)"
    )]
    NoTypes(String),
    #[error(
        "{0} has no type without the vmlinux debug info: the kernel's BTF describes per-CPU \
         variables only, and quiesce's table of globals does not list it (cast its address, \
         e.g. `*(struct foo *)&{0}`)"
    )]
    Untyped(String),
}
