//! dmesg / console / syslog text split into records, one per physical line.
//!
//! Prefixes recognised, in the order they appear on a line (each optional), after any
//! whitespace a paste put before them:
//! - mail quoting `> ` (any depth, spaces between the marks allowed), counted in
//!   [`LogRecord::quote_depth`];
//! - a line-number gutter from a pager (`7344   │ `, bat / less -N);
//! - a syslog prefix, `Mon DD HH:MM:SS host ident:` or RFC 3339 `2024-03-01T12:00:00.1+00:00
//!   host ident:` (journalctl / rsyslog);
//! - a `/dev/kmsg` record header `6,16628,40311381019,-,caller=C0;` (level, sequence,
//!   microseconds, flags, optional key=value fields);
//! - a console level `<N>` (`dmesg -r`, serial consoles);
//! - a printk timestamp `[  123.456789]`, a `dmesg -T` wall-clock time `[Sat Jun  1 17:40:26
//!   2019]` or a `dmesg -d`/`--reltime` delta `[  +0.000011]`;
//! - a printk caller id `[T123]` / `[C1]` (CONFIG_PRINTK_CALLER, printed padded as `[  T123]`).
//!
//! CR (CRLF files) and U+00A0 (mail clients turn spaces into it, seed 002) are normalised
//! first. A mail archived as quoted-printable (soft line breaks `=` at line end, `=3D` for `=`)
//! is decoded when the text shows both marks: the soft breaks re-join the physical lines they
//! split, and the record keeps how many physical lines it spans ([`LogRecord::physical`]).
//! Lines that carry none of the prefixes are still records, with only `message` set.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRecord {
    /// Physical line number, 1-based.
    pub line: usize,
    pub quote_depth: usize,
    pub syslog: Option<SyslogPrefix>,
    /// Console log level 0–7 from `<N>`.
    pub level: Option<u8>,
    /// Seconds since boot from `[  123.456789]` (or a `/dev/kmsg` record's microseconds).
    pub timestamp: Option<f64>,
    /// `dmesg -T` wall-clock time, as printed (`Sat Jun  1 17:40:26 2019`).
    pub wallclock: Option<String>,
    /// `dmesg -d` / `--reltime` seconds since the previous message (`[  +0.000011]`).
    pub delta: Option<f64>,
    pub caller: Option<Caller>,
    /// A pager's line-number gutter (`7344   │ `) was stripped.
    pub gutter: bool,
    /// Physical lines this record spans (more than 1 when quoted-printable soft line breaks
    /// were re-joined).
    pub physical: usize,
    /// The text after all prefixes (one separating space removed, indentation kept).
    pub message: String,
}

impl LogRecord {
    /// True when the line carried a log prefix (syslog, level, timestamp or caller).
    pub fn has_prefix(&self) -> bool {
        self.syslog.is_some()
            || self.level.is_some()
            || self.timestamp.is_some()
            || self.wallclock.is_some()
            || self.delta.is_some()
            || self.caller.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyslogPrefix {
    pub time: String,
    pub host: String,
    /// `kernel`, `kernel[0]`, ...
    pub ident: String,
}

/// CONFIG_PRINTK_CALLER: the message came from thread `T<pid>` or, in interrupt context,
/// CPU `C<cpu>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Caller {
    Thread(u32),
    Cpu(u32),
}

/// Splits `text` into one record per physical line (`\n`, `\r\n` or a lone `\r`), re-joining
/// quoted-printable soft line breaks when the text is quoted-printable (see [`looks_qp`]).
pub fn parse_log(text: &str) -> Vec<LogRecord> {
    let mut out = Vec::new();
    if text.is_empty() {
        return out;
    }
    let mut raw_lines: Vec<&str> = Vec::new();
    for raw in text.split('\n') {
        // A lone CR (old Mac line ends, some serial captures) also ends a line; a trailing CR
        // from CRLF is simply dropped.
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        raw_lines.extend(raw.split('\r'));
    }
    // `split` yields one empty piece after a final newline: not a line of its own.
    if text.ends_with('\n') {
        raw_lines.pop();
    }
    let qp = looks_qp(&raw_lines);
    let mut i = 0;
    while i < raw_lines.len() {
        let no = i + 1;
        if qp {
            // Soft line breaks: a line ending in a single `=` continues on the next line.
            let mut joined = String::new();
            let mut span = 0;
            while i < raw_lines.len() {
                let l = raw_lines[i];
                span += 1;
                i += 1;
                match l.strip_suffix('=') {
                    Some(head) if !head.ends_with('=') && span < MAX_QP_JOIN => {
                        joined.push_str(head)
                    }
                    _ => {
                        joined.push_str(l);
                        break;
                    }
                }
            }
            let mut r = parse_log_line(no, &qp_decode(&joined));
            r.physical = span;
            out.push(r);
        } else {
            out.push(parse_log_line(no, raw_lines[i]));
            i += 1;
        }
    }
    out
}

/// Most physical lines one quoted-printable logical line may span.
const MAX_QP_JOIN: usize = 16;

/// A mail archived as quoted-printable: `=3D` (an encoded `=`) and at least one soft line
/// break (a line ending in a lone `=`).
pub fn looks_qp(lines: &[&str]) -> bool {
    let encoded = lines.iter().any(|l| l.contains("=3D") || l.contains("=20"));
    let soft = lines
        .iter()
        .any(|l| l.ends_with('=') && !l.ends_with("==") && !l.trim_end_matches('=').is_empty());
    encoded && soft
}

/// Decodes `=XX` escapes (bytes, then UTF-8, lossy). Anything else is kept as is.
fn qp_decode(s: &str) -> String {
    if !s.contains('=') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
            && !b[i + 1].is_ascii_lowercase()
            && !b[i + 2].is_ascii_lowercase()
        {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("20");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(b' '));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the prefixes of one physical line.
pub fn parse_log_line(no: usize, raw: &str) -> LogRecord {
    let norm;
    let mut s: &str = if raw.contains('\u{a0}') {
        norm = raw.replace('\u{a0}', " ");
        &norm
    } else {
        raw
    };
    let mut rec = LogRecord {
        line: no,
        quote_depth: 0,
        syslog: None,
        level: None,
        timestamp: None,
        wallclock: None,
        delta: None,
        caller: None,
        gutter: false,
        physical: 1,
        message: String::new(),
    };
    // Mail quoting, possibly indented and with spaces between the marks (`> > `, `>>   `).
    loop {
        let t = s.trim_start_matches([' ', '\t']);
        match t.strip_prefix('>') {
            Some(rest) if rec.quote_depth < 64 => {
                rec.quote_depth += 1;
                s = rest;
            }
            _ => break,
        }
    }
    if rec.quote_depth > 0 {
        s = s.strip_prefix(' ').unwrap_or(s);
    }
    // Markdown inline code around a pasted line: `` `[Sat Jun  1 17:40:26 2019] INFO: ...` ``.
    let unticked = s.trim_start_matches([' ', '\t']);
    if let Some(rest) = unticked.strip_prefix('`')
        && !rest.starts_with('`')
    {
        s = rest.strip_suffix('`').unwrap_or(rest);
    } else if !unticked.starts_with('`')
        && let Some(rest) = s.strip_suffix('`')
        && !rest.ends_with('`')
    {
        s = rest;
    }
    // Prefixes are tried after any whitespace a paste put before them; a line without one
    // keeps its indentation (it is part of the message).
    let lead = s.trim_start_matches([' ', '\t']);
    let mut t = lead;
    if let Some(rest) = gutter_prefix(t) {
        rec.gutter = true;
        t = rest.trim_start_matches(' ');
    }
    if let Some((p, rest)) = syslog_prefix(t) {
        rec.syslog = Some(p);
        t = rest;
    }
    if let Some((lvl, ts, caller, rest)) = kmsg_prefix(t) {
        rec.level = Some(lvl);
        rec.timestamp = Some(ts);
        rec.caller = caller;
        t = rest;
    }
    if let Some((lvl, rest)) = level_prefix(t) {
        rec.level = Some(lvl);
        t = rest;
    }
    let ts_at = t.trim_start_matches(' ');
    if let Some((ts, rest)) = timestamp_prefix(ts_at) {
        rec.timestamp = Some(ts);
        t = rest;
    } else if let Some((wall, rest)) = wallclock_prefix(ts_at) {
        rec.wallclock = Some(wall);
        t = rest;
    } else if let Some((d, rest)) = delta_prefix(ts_at) {
        rec.delta = Some(d);
        t = rest;
    }
    if let Some((c, rest)) = caller_prefix(t.trim_start_matches(' ')) {
        rec.caller = Some(c);
        t = rest;
    }
    if rec.has_prefix() || rec.gutter {
        s = t.strip_prefix(' ').unwrap_or(t);
    }
    rec.message = s.to_string();
    rec
}

/// A pager's line-number gutter: digits, spaces, `│`, one space.
fn gutter_prefix(s: &str) -> Option<&str> {
    let digits = s.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    s[digits..].trim_start_matches(' ').strip_prefix('│')
}

/// `/dev/kmsg` record header: `level,seq,usec,flags[,key=value...];`. Returns the console
/// level (facility bits masked), seconds, the `caller=` id and the rest.
fn kmsg_prefix(s: &str) -> Option<(u8, f64, Option<Caller>, &str)> {
    let semi = s.get(..s.len().min(96))?.find(';')?;
    let head = &s[..semi];
    let mut it = head.split(',');
    let prio: u32 = it.next()?.parse().ok()?;
    let _seq: u64 = it.next()?.parse().ok()?;
    let usec: u64 = it.next()?.parse().ok()?;
    let flags = it.next()?;
    if !matches!(flags, "-" | "c" | "+") {
        return None;
    }
    let mut caller = None;
    for kv in it {
        let (k, v) = kv.split_once('=')?;
        if k == "caller" {
            caller = caller_value(v);
        }
    }
    Some(((prio & 7) as u8, usec as f64 / 1e6, caller, &s[semi + 1..]))
}

/// `T123` / `C1`.
fn caller_value(v: &str) -> Option<Caller> {
    let (kind, num) = v.trim().split_at_checked(1)?;
    let n: u32 = num.parse().ok()?;
    match kind {
        "T" => Some(Caller::Thread(n)),
        "C" => Some(Caller::Cpu(n)),
        _ => None,
    }
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `[Sat Jun  1 17:40:26 2019]` (`dmesg -T`).
fn wallclock_prefix(s: &str) -> Option<(String, &str)> {
    let end = s.strip_prefix('[')?.find(']')? + 1;
    let inner = &s[1..end];
    let mut w = inner.split_whitespace();
    let (day, mon, _d, time, year) = (w.next()?, w.next()?, w.next()?, w.next()?, w.next()?);
    if w.next().is_some()
        || !WEEKDAYS.contains(&day)
        || !MONTHS.contains(&mon)
        || time.len() != 8
        || time.as_bytes()[2] != b':'
        || year.len() != 4
        || !year.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((inner.to_string(), &s[end + 1..]))
}

/// `[  +0.000011]` (`dmesg -d` / `--reltime`).
fn delta_prefix(s: &str) -> Option<(f64, &str)> {
    let end = s.strip_prefix('[')?.find(']')? + 1;
    let inner = s[1..end].trim().strip_prefix('+')?;
    let (a, b) = inner.split_once('.')?;
    if a.is_empty()
        || b.is_empty()
        || !a.bytes().all(|c| c.is_ascii_digit())
        || !b.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some((inner.parse().ok()?, &s[end + 1..]))
}

fn level_prefix(s: &str) -> Option<(u8, &str)> {
    let b = s.as_bytes();
    if b.len() >= 3 && b[0] == b'<' && b[1].is_ascii_digit() && b[2] == b'>' {
        return Some((b[1] - b'0', &s[3..]));
    }
    None
}

fn timestamp_prefix(s: &str) -> Option<(f64, &str)> {
    let inner_end = s.strip_prefix('[')?.find(']')? + 1;
    let inner = s[1..inner_end].trim();
    let (secs, frac) = inner.split_once('.')?;
    if secs.is_empty()
        || frac.is_empty()
        || !secs.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some((inner.parse().ok()?, &s[inner_end + 1..]))
}

fn caller_prefix(s: &str) -> Option<(Caller, &str)> {
    let end = s.strip_prefix('[')?.find(']')? + 1;
    let c = caller_value(&s[1..end])?;
    Some((c, &s[end + 1..]))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn syslog_prefix(s: &str) -> Option<(SyslogPrefix, &str)> {
    let (time, rest) = if MONTHS.iter().any(|m| s.starts_with(m)) && s.len() > 16 {
        // "Mar  1 12:00:00 " — month, day (space padded), hh:mm:ss.
        let t = s.get(..15)?;
        let b = t.as_bytes();
        if b[3] != b' ' || b[9] != b':' || b[12] != b':' {
            return None;
        }
        (t.to_string(), s[15..].trim_start())
    } else if s.len() > 20
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[10] == b'T'
        && s[..4].bytes().all(|c| c.is_ascii_digit())
    {
        let end = s.find(' ')?;
        (s[..end].to_string(), s[end..].trim_start())
    } else {
        return None;
    };
    let (host, rest) = rest.split_once(' ')?;
    // A collector that logs raw `/dev/kmsg` records after the host, with no tag.
    if !host.is_empty() && kmsg_prefix(rest).is_some() {
        return Some((
            SyslogPrefix {
                time,
                host: host.to_string(),
                ident: String::new(),
            },
            rest,
        ));
    }
    // `May 17 18:48:11 kernel: [ 6141.9] ...`: a tag with no host.
    if let Some(ident) = host.strip_suffix(':')
        && ident == "kernel"
    {
        return Some((
            SyslogPrefix {
                time,
                host: String::new(),
                ident: ident.to_string(),
            },
            rest,
        ));
    }
    let (ident, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let ident = ident.strip_suffix(':')?;
    if host.is_empty() || ident.is_empty() {
        return None;
    }
    Some((
        SyslogPrefix {
            time,
            host: host.to_string(),
            ident: ident.to_string(),
        },
        rest,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_log_prefixes() {
        let r = parse_log_line(1, "[ 4192.186591] rcu: INFO: rcu_preempt detected stalls");
        assert_eq!(r.timestamp, Some(4192.186591));
        assert_eq!(r.message, "rcu: INFO: rcu_preempt detected stalls");

        let r = parse_log_line(2, "<4>[    1.000001][  T123] hello");
        assert_eq!(r.level, Some(4));
        assert_eq!(r.timestamp, Some(1.000001));
        assert_eq!(r.caller, Some(Caller::Thread(123)));
        assert_eq!(r.message, "hello");

        let r = parse_log_line(3, "[   12.5][    C1]  <IRQ>");
        assert_eq!(r.caller, Some(Caller::Cpu(1)));
        assert_eq!(r.message, " <IRQ>");

        let r = parse_log_line(
            4,
            "Mar  1 12:00:00 myhost kernel: [  5.000000] INFO: task a:1 blocked",
        );
        let s = r.syslog.as_ref().unwrap();
        assert_eq!(
            (s.time.as_str(), s.host.as_str(), s.ident.as_str()),
            ("Mar  1 12:00:00", "myhost", "kernel")
        );
        assert_eq!(r.timestamp, Some(5.0));
        assert_eq!(r.message, "INFO: task a:1 blocked");

        let r = parse_log_line(5, "2024-03-01T12:00:00.123+00:00 h kernel: x y");
        assert_eq!(r.syslog.unwrap().host, "h");
        assert_eq!(r.message, "x y");

        let r = parse_log_line(6, "> > [ 1.0] quoted");
        assert_eq!((r.quote_depth, r.message.as_str()), (2, "quoted"));

        // Not prefixes: a crash frame, a bracketed word, a truncated timestamp.
        for s in [
            " #0 [ffff8000fabebd50] __switch_to at ffff800000086c0c",
            "[xxx] y",
            "[ 12.3",
        ] {
            let r = parse_log_line(7, s);
            assert!(!r.has_prefix(), "{s}");
            assert_eq!(r.message, s);
        }
    }

    #[test]
    fn artifacts_log_more_prefixes() {
        // Synthetic lines in the shapes of the corpus (tests/data/logs).
        let r = parse_log_line(1, "[Sat Jun  1 17:40:26 2019] INFO: task a:1 blocked");
        assert_eq!(r.wallclock.as_deref(), Some("Sat Jun  1 17:40:26 2019"));
        assert_eq!(r.message, "INFO: task a:1 blocked");
        let r = parse_log_line(2, "[  +0.000011] task:x state:D");
        assert_eq!(
            (r.delta, r.message.as_str()),
            (Some(0.000011), "task:x state:D")
        );
        let r = parse_log_line(
            3,
            "May 25 07:29:42 x 6,16628,40311381019,-,caller=C0;Showing busy",
        );
        assert_eq!(r.level, Some(6));
        assert_eq!(r.caller, Some(Caller::Cpu(0)));
        assert_eq!(r.message, "Showing busy");
        let r = parse_log_line(4, "7350   │ 4,5011,12915312290,-; </IRQ>");
        assert!(r.gutter);
        assert_eq!(r.message, "</IRQ>");
        // Whitespace before a prefix (markdown indentation, mail quoting with spaces).
        let r = parse_log_line(5, "    May 17 18:48:11 kernel: [ 6141.921740] INFO: x");
        assert_eq!(
            (r.timestamp, r.message.as_str()),
            (Some(6141.92174), "INFO: x")
        );
        let r = parse_log_line(6, ">>   [ 4915.311394] Task dump for CPU 14:");
        assert_eq!(
            (r.quote_depth, r.message.as_str()),
            (2, "Task dump for CPU 14:")
        );
        let r = parse_log_line(7, " [   12.000000] x");
        assert_eq!(r.message, "x");
        let r = parse_log_line(9, "`[  1.000000] x`");
        assert_eq!((r.timestamp, r.message.as_str()), (Some(1.0), "x"));
        assert_eq!(parse_log_line(10, "```").message, "```");
        // No prefix: indentation kept.
        assert_eq!(
            parse_log_line(8, "  schedule+0x1/0x2").message,
            "  schedule+0x1/0x2"
        );
    }

    #[test]
    fn artifacts_log_quoted_printable() {
        // Synthetic, in the shape of a quoted-printable mail archive.
        let recs =
            parse_log("> > (detected by 13, t=3D6503 jiffies, q=3D22=\n43 ncpus=3D80)\nnext\n");
        assert_eq!(recs.len(), 2);
        assert_eq!(
            recs[0].message,
            "(detected by 13, t=6503 jiffies, q=2243 ncpus=80)"
        );
        assert_eq!((recs[0].physical, recs[1].line), (2, 3));
        // Not quoted-printable: a lone `=` at a line end stays.
        let recs = parse_log("a=\nb\n");
        assert_eq!(recs.len(), 2);
    }

    #[test]
    fn artifacts_log_line_ends() {
        let recs = parse_log("a\r\nb\rc\n\nd");
        let msgs: Vec<_> = recs.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(msgs, ["a", "b", "c", "", "d"]);
        assert_eq!(recs[4].line, 5);
        assert_eq!(parse_log("x\n").len(), 1);
        assert_eq!(parse_log("").len(), 0);
        let r = parse_log_line(1, "rcu:\u{a0}\u{a0}x");
        assert_eq!(r.message, "rcu:  x");
    }
}
