//! Byte sources with no kernel knowledge: ELF cores (kdump vmcore, QEMU
//! `dump-guest-memory`, `/proc/kcore`), kdump-compressed files (makedumpfile and QEMU) and
//! the flattened format, plus the notes they carry (`NT_PRSTATUS` per CPU, VMCOREINFO).
//!
//! Everything above this module reads memory through [`PhysMem`] (and, for sources that
//! are indexed by virtual address such as `/proc/kcore`, [`Dump::read_virt_direct`]).

use crate::addr::{Kva, Pa};
use thiserror::Error;

/// Why a read of dump memory failed. Every variant names the address.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum MemError {
    /// No segment / no page of the dump covers this physical address.
    #[error("physical address {0} is not in the dump")]
    NotPresent(Pa),
    /// The page exists in the machine but makedumpfile excluded it (`-d` dump level).
    #[error("physical address {0} is in a page excluded from the dump")]
    Excluded(Pa),
    /// A kernel virtual address that the source (e.g. /proc/kcore) does not map.
    #[error("virtual address {0} is not mapped by the dump")]
    VirtNotPresent(Kva),
    /// The dump's bytes for this page are damaged (bad compressed data, truncated file).
    #[error("page at physical address {pa} is corrupt: {why}")]
    Corrupt { pa: Pa, why: String },
    #[error("I/O error reading physical address {pa}: {why}")]
    Io { pa: Pa, why: String },
}

/// A source of physical memory. Implementations are cheap to share between threads.
pub trait PhysMem: Send + Sync {
    /// Fill `buf` with the bytes at `pa`. Reads may cross page boundaries.
    fn read_phys(&self, pa: Pa, buf: &mut [u8]) -> Result<(), MemError>;
}
