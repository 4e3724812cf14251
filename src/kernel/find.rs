//! Debug info for a dump that was opened without it: the dump's release and build-ids (from
//! VMCOREINFO and the module list) handed to [`crate::debuginfo::locate`], with the places
//! from the environment (`QUIESCE_SYSROOT`, `QUIESCE_DEBUG_PATH`) and a debuginfod client
//! when `DEBUGINFOD_URLS` is set.

use super::KernelError;
use super::modules::Module;
use crate::debuginfo::debuginfod;
use crate::debuginfo::locate::{self, Fetcher, Located, ModulesLocated, Search, WantedModule};
use crate::dump::Dump;
use crate::translate::VmcoreInfo;
use std::path::{Path, PathBuf};

/// The debuginfod client the environment asks for, if any.
pub fn fetcher() -> Option<debuginfod::Client> {
    debuginfod::Client::from_env()
}

/// Find the vmlinux of an open dump by its VMCOREINFO release and build-id (`core` names
/// the dump in messages).
pub fn vmlinux_of(dump: &Dump, core: &Path) -> Result<Located, KernelError> {
    let Some(text) = dump.vmcoreinfo() else {
        return Err(KernelError::Open(format!(
            "{}: the dump has no VMCOREINFO to find its vmlinux by: give it with -s VMLINUX",
            core.display()
        )));
    };
    let vi = VmcoreInfo::parse(text);
    let client = fetcher();
    locate::vmlinux(
        &Search::from_env(),
        vi.osrelease(),
        vi.build_id().as_deref(),
        client.as_ref().map(|c| c as &dyn Fetcher),
    )
    .map_err(|e| KernelError::Open(format!("{}: {e}", core.display())))
}

/// Find debug files for the loaded modules: `explicit` (`-s` files and directories) first,
/// then the distribution paths and debuginfod.
pub(super) fn modules(
    release: Option<&str>,
    explicit: &[PathBuf],
    mods: &[Module],
) -> ModulesLocated {
    let wanted: Vec<WantedModule> = mods
        .iter()
        .map(|m| WantedModule {
            name: m.name.clone(),
            build_id: m.build_id.clone(),
        })
        .collect();
    let client = fetcher();
    locate::modules(
        &Search::from_env(),
        release,
        explicit,
        &wanted,
        client.as_ref().map(|c| c as &dyn Fetcher),
    )
}
