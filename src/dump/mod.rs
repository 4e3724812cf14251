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

    /// For sources indexed by virtual address (`/proc/kcore`): read `buf` at `kva`
    /// directly. `None` means "this source has no virtual view; translate instead".
    fn read_virt_direct(&self, _kva: Kva, _buf: &mut [u8]) -> Option<Result<(), MemError>> {
        None
    }
}

/// One `NT_PRSTATUS` note: the registers of one CPU at dump time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrStatus {
    /// Position of the note among the dump's NT_PRSTATUS notes (usually the CPU number).
    pub index: usize,
    /// `pr_pid`: the task running on that CPU (0 for the idle task).
    pub pid: u32,
    /// `pr_reg` as 64-bit words, in the architecture's `user_regs_struct` order.
    pub regs: Vec<u64>,
    /// The whole note descriptor.
    pub raw: Vec<u8>,
}
