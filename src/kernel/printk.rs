//! The printk log: the lockless ring buffer of 5.10+ (`prb`, kernel/printk/printk_ringbuffer.c,
//! commit 896fbe20b4e2 "printk: use the lockless ringbuffer") and the older `log_buf` of
//! variable-length `struct printk_log` records. The layout is chosen by which symbols and
//! types the debug info has, not by version.

use super::layout::Probe;
use super::{Kernel, KernelError};
use serde::Serialize;

/// One log record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogRecord {
    pub seq: u64,
    /// Nanoseconds since boot (local clock).
    pub ts_nsec: u64,
    pub level: u8,
    pub facility: u8,
    /// `caller_id`: bit 31 set = CPU number, clear = task pid (5.1+, when recorded).
    pub caller_id: Option<u32>,
    pub text: String,
}

impl LogRecord {
    /// The caller as the kernel prints it with CONFIG_PRINTK_CALLER: `T123` or `C1`.
    pub fn caller(&self) -> Option<String> {
        self.caller_id.map(|c| {
            if c & 0x8000_0000 != 0 {
                format!("C{}", c & 0x7fff_ffff)
            } else {
                format!("T{c}")
            }
        })
    }

    /// `[    1.234567] text` — crash's and dmesg's default form. Continuation lines of a
    /// multi-line record are indented under the text, as crash prints them.
    pub fn crash_line(&self) -> String {
        let stamp = format!(
            "[{:5}.{:06}] ",
            self.ts_nsec / 1_000_000_000,
            (self.ts_nsec % 1_000_000_000) / 1000
        );
        let indent = " ".repeat(stamp.len());
        let mut out = stamp;
        for (i, line) in self.text.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
                out.push_str(&indent);
            }
            out.push_str(line);
        }
        out
    }
}

#[derive(Debug, Default)]
pub struct Log {
    pub records: Vec<LogRecord>,
    /// Where reading stopped early or records were skipped, and why.
    pub errors: Vec<String>,
}

/// Descriptor states in the top two bits of `state_var` (printk_ringbuffer.h).
const DESC_COMMITTED: u64 = 1;
const DESC_FINALIZED: u64 = 2;

impl Kernel {
    /// Read the whole printk log.
    pub fn log(&self) -> Result<Log, KernelError> {
        if self.di.symbol("prb").is_some() {
            self.log_lockless()
        } else if self.di.symbol("log_buf").is_some() {
            self.log_legacy()
        } else {
            Err(KernelError::Open(
                "no printk buffer: neither `prb` nor `log_buf` is in the symbol table".into(),
            ))
        }
    }

    fn log_lockless(&self) -> Result<Log, KernelError> {
        let di = &self.di;
        let rb = Probe::new(di, "struct printk_ringbuffer")?;
        let dr = Probe::new(di, "struct prb_desc_ring")?;
        let tr = Probe::new(di, "struct prb_data_ring")?;
        let desc = Probe::new(di, "struct prb_desc")?;
        let info = Probe::new(di, "struct printk_info")?;
        let why = "the printk ring buffer";
        let o_desc_ring = rb.off("desc_ring", why)?;
        let o_text_ring = rb.off("text_data_ring", why)?;
        let o_count_bits = dr.off("count_bits", why)?;
        let o_descs = dr.off("descs", why)?;
        let o_infos = dr.off("infos", why)?;
        let o_head_id = dr.off("head_id", why)?;
        let o_tail_id = dr.off("tail_id", why)?;
        let o_size_bits = tr.off("size_bits", why)?;
        let o_data = tr.off("data", why)?;
        let o_state_var = desc.off("state_var", why)?;
        let o_begin = desc.off("text_blk_lpos.begin", why)?;
        let o_next = desc.off("text_blk_lpos.next", why)?;
        let desc_size = desc.size();
        let info_size = info.size();
        let o_seq = info.off("seq", why)?;
        let o_ts = info.off("ts_nsec", why)?;
        let o_text_len = info.off("text_len", why)?;
        let o_facility = info.off("facility", why)?;
        let o_caller = info.opt("caller_id");
        // `flags:5, level:3` share one byte after `facility`.
        let level_bits = di.member(info.ty, "level").ok();

        // `prb` is a pointer to the ring buffer in use (printk_rb_static or the dynamic one).
        let prb_ptr = self.symbol_addr("prb")?;
        let prb = self.read_ptr(prb_ptr, "prb")?;
        let ring = prb.add(o_desc_ring);
        let text = prb.add(o_text_ring);
        let count_bits = self.read_u32(ring.add(o_count_bits), "prb_desc_ring.count_bits")?;
        let size_bits = self.read_u32(text.add(o_size_bits), "prb_data_ring.size_bits")?;
        if count_bits > 24 || size_bits > 31 {
            return Err(KernelError::Open(format!(
                "printk ring buffer at {prb} looks corrupt (count_bits={count_bits}, size_bits={size_bits})"
            )));
        }
        let descs = self.read_ptr(ring.add(o_descs), "prb_desc_ring.descs")?;
        let infos = self.read_ptr(ring.add(o_infos), "prb_desc_ring.infos")?;
        let data = self.read_ptr(text.add(o_data), "prb_data_ring.data")?;
        let head_id = self.read_u64(ring.add(o_head_id), "prb_desc_ring.head_id")?;
        let tail_id = self.read_u64(ring.add(o_tail_id), "prb_desc_ring.tail_id")?;

        let ndesc = 1u64 << count_bits;
        let desc_mask = ndesc - 1;
        let data_size = 1u64 << size_bits;
        let data_mask = data_size - 1;
        // Bulk-read the three arrays once: a few hundred KiB at most.
        let mut descs_buf = vec![0u8; (ndesc * desc_size) as usize];
        self.read(descs, &mut descs_buf, "prb_desc_ring.descs[]")?;
        let mut infos_buf = vec![0u8; (ndesc * info_size) as usize];
        self.read(infos, &mut infos_buf, "prb_desc_ring.infos[]")?;
        let mut data_buf = vec![0u8; data_size as usize];
        self.read(data, &mut data_buf, "prb_data_ring.data[]")?;

        let rd64 = |b: &[u8], o: u64| -> u64 {
            b.get(o as usize..o as usize + 8)
                .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
                .unwrap_or(0)
        };
        let sv_shift = 62u32;
        let id_mask = !(3u64 << sv_shift);
        let mut log = Log::default();
        let mut id = tail_id & id_mask;
        let head = head_id & id_mask;
        for _ in 0..=ndesc {
            let di_ = id & desc_mask;
            let d = di_ * desc_size;
            let state_var = rd64(&descs_buf, d + o_state_var);
            let state = (state_var >> sv_shift) & 3;
            // A slot whose id is not ours was overwritten (or never written).
            if (state_var & id_mask) == id && (state == DESC_COMMITTED || state == DESC_FINALIZED) {
                let i = di_ * info_size;
                let text_len = infos_buf
                    .get((i + o_text_len) as usize..(i + o_text_len) as usize + 2)
                    .map(|s| u16::from_le_bytes(s.try_into().unwrap()))
                    .unwrap_or(0) as u64;
                let begin = rd64(&descs_buf, d + o_begin);
                let next = rd64(&descs_buf, d + o_next);
                let text = if begin & 1 != 0 {
                    // Data-less record (FAILED_LPOS / EMPTY_LINE_LPOS).
                    String::new()
                } else {
                    let mut b = begin & data_mask;
                    let n = next & data_mask;
                    if b > n {
                        // The block wrapped: its data starts at the ring's beginning.
                        b = 0;
                    }
                    // Each data block starts with the descriptor id (unsigned long).
                    let start = b + 8;
                    let avail = n.saturating_sub(start);
                    let len = text_len.min(avail) as usize;
                    let s = start as usize;
                    String::from_utf8_lossy(data_buf.get(s..s + len).unwrap_or(&[])).into_owned()
                };
                let level = match &level_bits {
                    Some(m) => {
                        let byte = infos_buf.get((i + m.offset) as usize).copied().unwrap_or(0);
                        let shift = m.bit_offset.unwrap_or(5);
                        let width = m.bit_size.unwrap_or(3);
                        (byte >> shift) & ((1u8 << width) - 1)
                    }
                    None => 0,
                };
                log.records.push(LogRecord {
                    seq: rd64(&infos_buf, i + o_seq),
                    ts_nsec: rd64(&infos_buf, i + o_ts),
                    level,
                    facility: infos_buf
                        .get((i + o_facility) as usize)
                        .copied()
                        .unwrap_or(0),
                    caller_id: o_caller.map(|o| {
                        let o = (i + o) as usize;
                        infos_buf
                            .get(o..o + 4)
                            .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
                            .unwrap_or(0)
                    }),
                    text,
                });
            }
            if id == head {
                break;
            }
            id = (id + 1) & id_mask;
        }
        Ok(log)
    }

    /// Pre-5.10 `log_buf`: records `struct printk_log { u64 ts_nsec; u16 len, text_len,
    /// dict_len; u8 facility; u8 flags:5, level:3; [u32 caller_id] }` followed by text,
    /// from `log_first_idx` to `log_next_idx`; a record with `len == 0` means "wrap to 0".
    fn log_legacy(&self) -> Result<Log, KernelError> {
        let pl = Probe::new(&self.di, "struct printk_log")?;
        let why = "the legacy printk buffer";
        let o_ts = pl.off("ts_nsec", why)?;
        let o_len = pl.off("len", why)?;
        let o_text_len = pl.off("text_len", why)?;
        let o_fac = pl.off("facility", why)?;
        let o_caller = pl.opt("caller_id");
        let hdr = pl.size();
        let buf_ptr = self.read_ptr(self.symbol_addr("log_buf")?, "log_buf")?;
        let len = self.read_u32(self.symbol_addr("log_buf_len")?, "log_buf_len")? as u64;
        let first = self.read_u32(self.symbol_addr("log_first_idx")?, "log_first_idx")? as u64;
        let next = self.read_u32(self.symbol_addr("log_next_idx")?, "log_next_idx")? as u64;
        let first_seq = self
            .symbol_addr("log_first_seq")
            .and_then(|a| Ok(self.read_u64(a, "log_first_seq")?))
            .unwrap_or(0);
        if len == 0 || len > (1 << 30) {
            return Err(KernelError::Open(format!(
                "log_buf_len {len} is implausible"
            )));
        }
        let mut buf = vec![0u8; len as usize];
        self.read(buf_ptr, &mut buf, "log_buf")?;
        let level_m = self.di.member(pl.ty, "level").ok();
        Ok(parse_legacy_log(
            &buf,
            LegacyLayout {
                hdr,
                o_ts,
                o_len,
                o_text_len,
                o_fac,
                o_caller,
                level_byte: level_m.as_ref().map(|m| m.offset),
                level_shift: level_m.as_ref().and_then(|m| m.bit_offset).unwrap_or(5),
            },
            first,
            next,
            first_seq,
        ))
    }
}

/// Offsets of `struct printk_log` for [`parse_legacy_log`].
#[derive(Debug, Clone, Copy)]
pub struct LegacyLayout {
    pub hdr: u64,
    pub o_ts: u64,
    pub o_len: u64,
    pub o_text_len: u64,
    pub o_fac: u64,
    pub o_caller: Option<u64>,
    pub level_byte: Option<u64>,
    pub level_shift: u32,
}

/// Walk legacy `log_buf` records from `first` to `next` (byte indexes). Bounded: stops on a
/// record that does not fit, after at most one pass over the buffer.
pub fn parse_legacy_log(buf: &[u8], l: LegacyLayout, first: u64, next: u64, seq0: u64) -> Log {
    let mut log = Log::default();
    let u16_at = |o: u64| -> u64 {
        buf.get(o as usize..o as usize + 2)
            .map(|s| u16::from_le_bytes(s.try_into().unwrap()) as u64)
            .unwrap_or(0)
    };
    let mut idx = first;
    let mut seq = seq0;
    let mut wrapped = false;
    let mut steps = 0usize;
    while idx != next && steps < buf.len() {
        steps += 1;
        let len = u16_at(idx + l.o_len);
        if len == 0 {
            if wrapped {
                log.errors
                    .push(format!("log_buf: second wrap at index {idx}"));
                break;
            }
            wrapped = true;
            idx = 0;
            continue;
        }
        if idx + len > buf.len() as u64 || len < l.hdr {
            log.errors.push(format!(
                "log_buf: record at index {idx} has bad length {len}"
            ));
            break;
        }
        let text_len = u16_at(idx + l.o_text_len).min(len - l.hdr);
        let t0 = (idx + l.hdr) as usize;
        let ts = buf
            .get((idx + l.o_ts) as usize..(idx + l.o_ts) as usize + 8)
            .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
            .unwrap_or(0);
        let level = l
            .level_byte
            .and_then(|o| buf.get((idx + o) as usize))
            .map(|b| (b >> l.level_shift) & 7)
            .unwrap_or(0);
        log.records.push(LogRecord {
            seq,
            ts_nsec: ts,
            level,
            facility: buf.get((idx + l.o_fac) as usize).copied().unwrap_or(0),
            caller_id: l.o_caller.map(|o| {
                buf.get((idx + o) as usize..(idx + o) as usize + 4)
                    .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
                    .unwrap_or(0)
            }),
            text: String::from_utf8_lossy(&buf[t0..t0 + text_len as usize]).into_owned(),
        });
        seq += 1;
        idx += len;
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Legacy records built in code: 16-byte header (ts, len, text_len, dict_len, facility,
    /// flags:5/level:3) + text, padded to 8, with a wrap marker.
    fn rec(ts: u64, text: &str, level: u8) -> Vec<u8> {
        let len = (16 + text.len()).div_ceil(8) * 8;
        let mut v = vec![0u8; len];
        v[0..8].copy_from_slice(&ts.to_le_bytes());
        v[8..10].copy_from_slice(&(len as u16).to_le_bytes());
        v[10..12].copy_from_slice(&(text.len() as u16).to_le_bytes());
        v[14] = 0; // facility
        v[15] = level << 5;
        v[16..16 + text.len()].copy_from_slice(text.as_bytes());
        v
    }

    const L: LegacyLayout = LegacyLayout {
        hdr: 16,
        o_ts: 0,
        o_len: 8,
        o_text_len: 10,
        o_fac: 14,
        o_caller: None,
        level_byte: Some(15),
        level_shift: 5,
    };

    #[test]
    fn legacy_records_with_wrap() {
        let mut buf = vec![0u8; 256];
        let a = rec(1_500_000_000, "late record", 6);
        let b = rec(2_000_000_000, "wrapped", 4);
        // "late record" at index 200, then a zero-length wrap marker is implied at 232.
        buf[200..200 + a.len()].copy_from_slice(&a);
        buf[0..b.len()].copy_from_slice(&b);
        let log = parse_legacy_log(&buf, L, 200, b.len() as u64, 7);
        assert_eq!(log.records.len(), 2, "{:?}", log.errors);
        assert_eq!(log.records[0].text, "late record");
        assert_eq!(log.records[0].level, 6);
        assert_eq!(log.records[0].seq, 7);
        assert_eq!(log.records[1].text, "wrapped");
        assert_eq!(log.records[1].crash_line(), "[    2.000000] wrapped");
    }

    #[test]
    fn legacy_corrupt_length_stops() {
        let mut buf = vec![0u8; 64];
        buf[8] = 0xff;
        buf[9] = 0xff;
        let log = parse_legacy_log(&buf, L, 0, 32, 0);
        assert!(log.records.is_empty());
        assert_eq!(log.errors.len(), 1);
    }
}
