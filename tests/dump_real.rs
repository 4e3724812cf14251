//! Real dumps from the fixture pipeline (`fixtures/build.sh`): every dump listed in
//! `$QUIESCE_FIXTURES/<release>/manifest.json` (default `~/.cache/quiesce/fixtures`) must
//! open, carry VMCOREINFO whose OSRELEASE is the manifest's kernel, have one NT_PRSTATUS
//! note per vCPU (2), and hold the same bytes as the ELF dump of the same scenario in every
//! page it did not exclude.
//!
//! Skips (with a message) when no fixtures exist; fails instead when
//! `QUIESCE_REQUIRE_FIXTURES=1`.

use quiesce::addr::{PAGE_SIZE, Pa, Pfn};
use quiesce::dump::{Dump, MemError, PhysMem};
use std::path::{Path, PathBuf};

const NR_VCPUS: usize = 2;
/// `__START_KERNEL_map` on x86_64: kernel image virtual address = pa + this - phys_base.
const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;

fn fixtures_root() -> PathBuf {
    match std::env::var_os("QUIESCE_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/quiesce/fixtures")
        }
    }
}

/// Release directories that have a manifest.
fn manifests(root: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("manifest.json"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn vmci<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

fn read_page(d: &Dump, pfn: u64) -> Result<Vec<u8>, MemError> {
    let mut b = vec![0u8; PAGE_SIZE as usize];
    d.read_phys(Pfn(pfn).pa(), &mut b).map(|_| b)
}

/// About `n` page frame numbers spread over the dump's physical ranges.
fn sample_pfns(d: &Dump, n: u64) -> Vec<u64> {
    let ranges = d.phys_ranges();
    let total: u64 = ranges.iter().map(|(_, l)| l / PAGE_SIZE).sum();
    let step = (total / n).max(1);
    let mut out = Vec::new();
    let mut k = 0u64;
    for (Pa(start), len) in ranges {
        let pages = len / PAGE_SIZE;
        while k < pages {
            out.push(start / PAGE_SIZE + k);
            k += step;
        }
        k -= pages;
    }
    out
}

#[test]
fn real_dumps_agree() {
    let root = fixtures_root();
    let found = manifests(&root);
    if found.is_empty() {
        let msg = format!("no fixture manifests under {}", root.display());
        if std::env::var("QUIESCE_REQUIRE_FIXTURES").as_deref() == Ok("1") {
            panic!("{msg} and QUIESCE_REQUIRE_FIXTURES=1");
        }
        eprintln!("skipping real-dump test: {msg} (build them with fixtures/build.sh)");
        return;
    }
    for manifest in found {
        check_release(&manifest);
    }
}

fn check_release(manifest: &Path) {
    let dir = manifest.parent().unwrap();
    let man: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    // The aarch64 fixtures (`<suite>-arm64*`) are for quiesce's arm64 support; this test's
    // kernel-image checks are x86_64's (`__START_KERNEL_map`, `phys_base`).
    if man["arch"].as_str().unwrap_or("x86_64") != "x86_64" {
        eprintln!("{}: not x86_64, skipped", manifest.display());
        return;
    }
    let kernel = man["kernel"].as_str().expect("manifest has a kernel");
    let dumps = man["dumps"].as_array().expect("manifest lists dumps");
    assert!(!dumps.is_empty(), "{}: no dumps", manifest.display());

    let mut opened = Vec::new();
    for entry in dumps {
        let name = entry["name"].as_str().unwrap();
        let path = dir.join("dumps").join(name);
        let d = Dump::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        eprintln!(
            "{name}: {:?} {:?} {:?}, {} prstatus, {} QEMU notes, header {:?}, warnings {:?}",
            d.format(),
            d.machine(),
            d.compressions(),
            d.prstatus().len(),
            d.qemu_cpu_states().len(),
            d.header(),
            d.warnings()
        );
        let text = d
            .vmcoreinfo()
            .unwrap_or_else(|| panic!("{name}: no VMCOREINFO"));
        assert_eq!(vmci(text, "OSRELEASE"), Some(kernel), "{name}: OSRELEASE");
        let vcpus = man["vcpus"][entry["scenario"].as_str().unwrap_or("")]
            .as_u64()
            .map_or(NR_VCPUS, |n| n as usize);
        assert_eq!(d.prstatus().len(), vcpus, "{name}: NT_PRSTATUS notes");
        opened.push((
            entry["scenario"].as_str().unwrap_or("").to_string(),
            name,
            d,
        ));
    }

    for (scenario, ref_name, reference) in opened.iter().filter(|(_, n, _)| n.ends_with(".elf")) {
        let text = reference.vmcoreinfo().unwrap();
        let phys_base: u64 = vmci(text, "NUMBER(phys_base)")
            .and_then(|v| v.parse::<i64>().ok())
            .expect("NUMBER(phys_base) in VMCOREINFO") as u64;
        // Kernel image pages are never excluded: their bytes must be in every variant.
        let kernel_pfns: Vec<u64> = [
            "SYMBOL(init_top_pgt)",
            "SYMBOL(_stext)",
            "SYMBOL(init_uts_ns)",
        ]
        .iter()
        .filter_map(|k| vmci(text, k))
        .filter_map(|v| u64::from_str_radix(v, 16).ok())
        .map(|va| (va - START_KERNEL_MAP + phys_base) / PAGE_SIZE)
        .collect();
        assert!(
            !kernel_pfns.is_empty(),
            "{ref_name}: no kernel symbols in VMCOREINFO"
        );
        let samples = sample_pfns(reference, 400);
        for (sc, name, d) in &opened {
            if sc != scenario || name == ref_name {
                continue;
            }
            let (mut same, mut excluded, mut absent) = (0, 0, 0);
            for &pfn in &kernel_pfns {
                assert_eq!(
                    read_page(d, pfn)
                        .unwrap_or_else(|e| panic!("{name}: kernel pfn {pfn:#x}: {e}")),
                    read_page(reference, pfn).unwrap(),
                    "{name}: kernel pfn {pfn:#x} differs from {ref_name}"
                );
            }
            for &pfn in &samples {
                let want = read_page(reference, pfn).unwrap();
                match read_page(d, pfn) {
                    Ok(got) => {
                        assert!(got == want, "{name}: pfn {pfn:#x} differs from {ref_name}");
                        same += 1;
                    }
                    Err(MemError::Excluded(_)) => {
                        assert!(d.is_excluded(Pfn(pfn)));
                        excluded += 1;
                    }
                    // QEMU's ELF also holds memory the kernel does not count as RAM
                    // (e.g. the VGA framebuffer); makedumpfile's bitmaps leave it out.
                    Err(MemError::NotPresent(_)) => absent += 1,
                    Err(e) => panic!("{name}: pfn {pfn:#x}: {e}"),
                }
            }
            eprintln!(
                "{name}: {same} sampled pages identical to {ref_name}, {excluded} excluded, {absent} not in it"
            );
            assert!(same >= 10, "{name}: too few comparable pages ({same})");
        }
    }
}
