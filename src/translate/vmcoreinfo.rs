//! VMCOREINFO: the `KEY=VALUE` text the kernel leaves for dump tools (in an ELF note, the
//! kdump header, or `/proc/kcore`'s note). It names the release, KASLR offset, phys_base,
//! a few symbol addresses and struct offsets.
//!
//! Values are kept as text and converted on request, because the kernel prints them in
//! different bases: `SYMBOL(x)` and `KERNELOFFSET` in hex, `NUMBER`, `SIZE`, `OFFSET` and
//! `LENGTH` in decimal (QEMU 7.2 got this wrong for `phys_base` in its kdump headers).

use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct VmcoreInfo {
    entries: HashMap<String, String>,
    order: Vec<String>,
}

impl VmcoreInfo {
    /// Parse the note text. Lines without `=` are ignored; the first occurrence of a key
    /// wins (the kernel never repeats keys; a repeat means a damaged note).
    pub fn parse(text: &str) -> Self {
        let mut info = VmcoreInfo::default();
        for line in text.split(['\n', '\0']) {
            let line = line.trim_end_matches('\r');
            if let Some((k, v)) = line.split_once('=')
                && !k.is_empty()
                && !info.entries.contains_key(k)
            {
                info.order.push(k.to_string());
                info.entries.insert(k.to_string(), v.to_string());
            }
        }
        info
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys in the order they appeared.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    pub fn osrelease(&self) -> Option<&str> {
        self.get("OSRELEASE")
    }

    pub fn page_size(&self) -> Option<u64> {
        self.get("PAGESIZE").and_then(parse_dec)
    }

    /// `KERNELOFFSET=` (hex): the KASLR slide of the kernel text.
    pub fn kernel_offset(&self) -> Option<u64> {
        self.get("KERNELOFFSET").and_then(parse_hex)
    }

    /// `SYMBOL(name)=` (hex): a runtime address.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.get(&format!("SYMBOL({name})")).and_then(parse_hex)
    }

    /// `NUMBER(name)=` (decimal, may be negative).
    pub fn number(&self, name: &str) -> Option<i64> {
        self.get(&format!("NUMBER({name})"))
            .and_then(|v| v.trim().parse::<i64>().ok())
    }

    /// `NUMBER(name)=` as an unsigned word: arm64 writes some in hex (`kimage_voffset`,
    /// `PHYS_OFFSET`, `TCR_EL1_T1SZ`, `KERNELPACMASK`: `0x…`, arch/arm64/kernel/
    /// vmcore_info.c), others in decimal (`VA_BITS`); a negative decimal wraps.
    pub fn number_u64(&self, name: &str) -> Option<u64> {
        let v = self.get(&format!("NUMBER({name})"))?.trim();
        match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => v.parse::<i64>().ok().map(|n| n as u64),
        }
    }

    /// `SIZE(name)=` (decimal).
    pub fn size(&self, name: &str) -> Option<u64> {
        self.get(&format!("SIZE({name})")).and_then(parse_dec)
    }

    /// `OFFSET(struct.member)=` (decimal).
    pub fn offset(&self, path: &str) -> Option<u64> {
        self.get(&format!("OFFSET({path})")).and_then(parse_dec)
    }

    /// `LENGTH(name)=` (decimal).
    pub fn length(&self, name: &str) -> Option<u64> {
        self.get(&format!("LENGTH({name})")).and_then(parse_dec)
    }

    /// `BUILD-ID=` (hex string, 5.x+), as bytes.
    pub fn build_id(&self) -> Option<Vec<u8>> {
        let s = self.get("BUILD-ID")?.trim();
        // (bytes, not string slices: a damaged note's text can hold multi-byte characters)
        if s.len() % 2 != 0 || !s.is_ascii() {
            return None;
        }
        s.as_bytes()
            .chunks_exact(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
            .collect()
    }

    /// `CRASHTIME=` (decimal seconds since the epoch), when the dump came from kdump.
    pub fn crash_time(&self) -> Option<u64> {
        self.get("CRASHTIME").and_then(parse_dec)
    }
}

fn parse_hex(v: &str) -> Option<u64> {
    let v = v.trim();
    let v = v.strip_prefix("0x").unwrap_or(v);
    u64::from_str_radix(v, 16).ok()
}

fn parse_dec(v: &str) -> Option<u64> {
    v.trim().parse::<u64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "OSRELEASE=6.1.0-28-cloud-amd64\nBUILD-ID=0a1b2c\nPAGESIZE=4096\n\
SYMBOL(init_uts_ns)=ffffffffa2a13a00\nSYMBOL(init_top_pgt)=ffffffffa2a0e000\n\
OFFSET(list_head.next)=0\nSIZE(page)=64\nLENGTH(zone.free_area)=11\nNUMBER(phys_base)=-2566914048\n\
NUMBER(pgtable_l5_enabled)=0\nKERNELOFFSET=20600000\nCRASHTIME=1700000000\n\0\0";

    #[test]
    fn parses_kernel_note() {
        let v = VmcoreInfo::parse(SAMPLE);
        assert_eq!(v.osrelease(), Some("6.1.0-28-cloud-amd64"));
        assert_eq!(v.page_size(), Some(4096));
        assert_eq!(v.symbol("init_top_pgt"), Some(0xffffffffa2a0e000));
        assert_eq!(v.kernel_offset(), Some(0x20600000));
        assert_eq!(v.number("phys_base"), Some(-2566914048));
        assert_eq!(v.number("pgtable_l5_enabled"), Some(0));
        assert_eq!(v.offset("list_head.next"), Some(0));
        assert_eq!(v.size("page"), Some(64));
        assert_eq!(v.length("zone.free_area"), Some(11));
        assert_eq!(v.build_id(), Some(vec![0x0a, 0x1b, 0x2c]));
        assert_eq!(v.crash_time(), Some(1700000000));
        assert_eq!(v.keys().next(), Some("OSRELEASE"));
    }

    #[test]
    fn garbage_is_harmless() {
        let v = VmcoreInfo::parse("\u{1}\u{2}==\nKERNELOFFSET=zz\nBUILD-ID=abc\n");
        assert_eq!(v.kernel_offset(), None);
        assert_eq!(v.build_id(), None);
        assert!(VmcoreInfo::parse("").is_empty());
    }

    /// Found by the fuzzer (tests/data/fuzz/vmcoreinfo-7bc94b5641dc87c2.bin): a damaged
    /// note's BUILD-ID holding a multi-byte character (invalid UTF-8 is replaced by U+FFFD)
    /// once split the string inside the character and panicked.
    #[test]
    fn build_id_with_a_multibyte_character() {
        let v = VmcoreInfo::parse("BUILD-ID=01d2640\u{fffd}3a13145ee314eb05b155f141b7b7058b\n");
        assert_eq!(v.build_id(), None);
        let v = VmcoreInfo::parse("BUILD-ID=é0\n");
        assert_eq!(v.build_id(), None);
    }
}
