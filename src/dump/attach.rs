//! A running QEMU guest as a [`Dump`]: attaching over QMP (or replaying a recorded
//! conversation, the fuzz target), and stopping and resuming the guest between snapshots.
//! The guest itself — its RAM, registers and VMCOREINFO — is `qemu_guest`.

use super::{Dump, DumpError, DumpFormat, DumpHeaderInfo, Mem, qemu_guest, qmp};
use std::sync::{Arc, RwLock};

impl Dump {
    /// Attach to the QEMU guest whose QMP socket is `addr`: stop it and read it as a dump
    /// (RAM, registers, VMCOREINFO found in its memory); it is resumed when the `Dump` is
    /// dropped, unless it was stopped already. See `qemu_guest`.
    pub fn attach_qemu(addr: &str) -> Result<Dump, DumpError> {
        let a = qemu_guest::QemuGuest::attach(addr).map_err(DumpError::Qemu)?;
        Ok(Self::from_attached(a, addr))
    }

    /// An attach to a QEMU whose answers are replayed from `data` (QMP lines: the greeting,
    /// then one reply per command). The `qemu_monitor` fuzz target.
    pub(crate) fn attach_replayed_qemu(data: &[u8]) -> Result<Dump, DumpError> {
        let q = qmp::Qmp::replay(data.to_vec()).map_err(|e| DumpError::Qemu(e.to_string()))?;
        let a = qemu_guest::QemuGuest::attach_over(q).map_err(DumpError::Qemu)?;
        Ok(Self::from_attached(a, "(replay)"))
    }

    /// The monitor-text parsers on `text` as it is (the `qemu_monitor` fuzz target).
    pub(crate) fn parse_monitor_text(text: &str) {
        qemu_guest::parse_monitor_text(text)
    }

    fn from_attached(a: qemu_guest::Attached, addr: &str) -> Dump {
        let mut warnings = a.warnings;
        if a.vmcoreinfo.is_none() {
            warnings.push(
                "no VMCOREINFO note found in the guest's memory (a kernel built without it — \
                 CONFIG_CRASH_CORE, CONFIG_VMCORE_INFO since 6.9 — or not booted yet)"
                    .into(),
            );
        }
        warnings.push(format!(
            "a live QEMU guest ({addr}): {}; memory read by {}{}",
            a.stopped,
            a.guest.readers(),
            a.vmcoreinfo_at
                .map(|pa| format!(", VMCOREINFO found at {pa}"))
                .unwrap_or_default()
        ));
        Dump {
            mem: Mem::Qemu(Box::new(a.guest)),
            format: DumpFormat::Qmp,
            live: false,
            machine: a.machine,
            vmcoreinfo: a.vmcoreinfo,
            prstatus: RwLock::new(Arc::new(a.prstatus)),
            qemu: Vec::new(),
            header: DumpHeaderInfo::default(),
            warnings,
        }
    }

    /// A live QEMU guest: stop it (the next reads see one moment). An error for a dump.
    /// Its registers are read again: the tasks running on its vCPUs unwind from where they
    /// are now, not from where they were at the previous stop.
    pub fn pause(&self) -> Result<(), DumpError> {
        match &self.mem {
            Mem::Qemu(g) => {
                g.pause().map_err(DumpError::Qemu)?;
                let (regs, _) = g.registers(self.machine).map_err(DumpError::Qemu)?;
                let mut p = self.prstatus.write().unwrap_or_else(|e| e.into_inner());
                *p = Arc::new(regs);
                Ok(())
            }
            _ => Err(DumpError::Unsupported(
                "only a live QEMU guest can be stopped".into(),
            )),
        }
    }

    /// A live QEMU guest: let it run again. An error for a dump.
    pub fn resume(&self) -> Result<(), DumpError> {
        match &self.mem {
            Mem::Qemu(g) => g.resume().map_err(DumpError::Qemu),
            _ => Err(DumpError::Unsupported(
                "only a live QEMU guest can run".into(),
            )),
        }
    }

    /// A live QEMU guest that was running when attached (it runs again when the `Dump` is
    /// dropped); `false` for anything else.
    pub fn guest_was_running(&self) -> bool {
        matches!(&self.mem, Mem::Qemu(g) if g.was_running())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Pa;
    use crate::dump::{Machine, PhysMem};
    use std::path::Path;

    /// The QMP conversation of a real attach (QEMU 7.2 and the bookworm fixture guest, its
    /// answers recorded by tests/data/qmp/record.py), replayed: the RAM regions of its
    /// `info mtree -f`, its vCPUs' registers from `info registers -a`, and (the recording cut
    /// after 32 page reads, long before the note) an attach without VMCOREINFO that says so.
    #[test]
    fn a_recorded_qmp_attach_replays() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qmp");
        let t = std::fs::read(dir.join("x86_64-attach.jsonl")).unwrap();
        let d = Dump::attach_replayed_qemu(&t).unwrap();
        assert_eq!(d.machine(), Machine::X86_64);
        assert_eq!(d.format(), DumpFormat::Qmp);
        // the regions as the recorded `info mtree -f` gives them (a 256 MiB guest: pc.ram split
        // around the legacy holes, the VGA RAM, the BIOS)
        let lines: Vec<serde_json::Value> = t
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        let text = |i: usize| lines[i]["return"].as_str().unwrap().to_string();
        let mtree = text(6);
        let ranges = d.phys_ranges();
        assert_eq!(ranges.len(), 9, "{ranges:x?}");
        assert_eq!(ranges[0], (Pa(0), 0xa0000));
        for (start, _) in &ranges {
            assert!(mtree.contains(&format!("{:016x}-", start.0)), "{start}");
        }
        assert_eq!(ranges[6], (Pa(0x100000), 0xff0_0000));
        // one NT_PRSTATUS per vCPU, RIP and RSP as the monitor printed them
        let regs = text(16);
        let field = |cpu: usize, name: &str| {
            let block = regs.split("CPU#").nth(cpu + 1).unwrap();
            let at = block.find(&format!("{name}=")).unwrap() + name.len() + 1;
            u64::from_str_radix(&block[at..at + 16], 16).unwrap()
        };
        assert_eq!(d.prstatus().len(), 2);
        for (cpu, p) in d.prstatus().iter().enumerate() {
            assert_eq!(p.pid, cpu as u32 + 1);
            assert_eq!(p.regs[16], field(cpu, "RIP"), "CPU {cpu} RIP");
            assert_eq!(p.regs[19], field(cpu, "RSP"), "CPU {cpu} RSP");
        }
        assert!(d.vmcoreinfo().is_none());
        let w = d.warnings().join("\n");
        assert!(w.contains("no VMCOREINFO note found"), "{w}");
        assert!(
            w.contains("9 of 9 guest memory regions are read through the monitor's xp"),
            "{w}"
        );
        // the guest is read through `xp`: the conversation has ended, so a read fails and says
        // where
        let e = d
            .read_phys(Pa(0x100000), &mut [0u8; 8])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("0x100000") && e.contains("QEMU closed the connection"),
            "{e}"
        );
    }

    /// The same attach with the answer that held the VMCOREINFO note moved first (then 159
    /// real page heads to the end of the first region, then the four real reads of the note's
    /// text): the note is found at the first page and its text is the fixture kernel's.
    #[test]
    fn a_recorded_qmp_attach_finds_vmcoreinfo() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qmp");
        let t = std::fs::read(dir.join("x86_64-attach-note-first.jsonl")).unwrap();
        let d = Dump::attach_replayed_qemu(&t).unwrap();
        let v = d.vmcoreinfo().expect("VMCOREINFO");
        assert!(v.starts_with("OSRELEASE=6.1.0-"), "{v}");
        assert!(v.contains("\nPAGESIZE=4096\n") && v.contains("SYMBOL(init_top_pgt)="));
        assert_eq!(
            v.len(),
            0xcbe,
            "the whole descriptor (its size in the note head)"
        );
        assert!(v.ends_with('\n'));
        let w = d.warnings().join("\n");
        assert!(w.contains("VMCOREINFO found at 0x0"), "{w}");
    }
}
