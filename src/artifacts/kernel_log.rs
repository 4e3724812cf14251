//! dmesg / console / syslog text split into records, one per physical line.
//!
//! Prefixes recognised, in the order they appear on a line (each optional):
//! - mail quoting `> ` (any depth), counted in [`LogRecord::quote_depth`];
//! - a syslog prefix, `Mon DD HH:MM:SS host ident:` or RFC 3339 `2024-03-01T12:00:00.1+00:00
//!   host ident:` (journalctl / rsyslog);
//! - a console level `<N>` (`dmesg -r`, serial consoles);
//! - a printk timestamp `[  123.456789]`;
//! - a printk caller id `[T123]` / `[C1]` (CONFIG_PRINTK_CALLER, printed padded as `[  T123]`).
//!
//! CR (CRLF files) and U+00A0 (mail clients turn spaces into it, seed 002) are normalised
//! first. Lines that carry none of the prefixes are still records, with only `message` set.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRecord {
    /// Physical line number, 1-based.
    pub line: usize,
    pub quote_depth: usize,
    pub syslog: Option<SyslogPrefix>,
    /// Console log level 0–7 from `<N>`.
    pub level: Option<u8>,
    /// Seconds since boot from `[  123.456789]`.
    pub timestamp: Option<f64>,
    pub caller: Option<Caller>,
    /// The text after all prefixes (one separating space removed, indentation kept).
    pub message: String,
}

impl LogRecord {
    /// True when the line carried a log prefix (syslog, level, timestamp or caller).
    pub fn has_prefix(&self) -> bool {
        self.syslog.is_some()
            || self.level.is_some()
            || self.timestamp.is_some()
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

/// Splits `text` into one record per physical line (`\n`, `\r\n` or a lone `\r`).
pub fn parse_log(text: &str) -> Vec<LogRecord> {
    let mut out = Vec::new();
    if text.is_empty() {
        return out;
    }
    let mut no = 0;
    for raw in text.split('\n') {
        // A lone CR (old Mac line ends, some serial captures) also ends a line; a trailing CR
        // from CRLF is simply dropped.
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        for piece in raw.split('\r') {
            no += 1;
            out.push(parse_log_line(no, piece));
        }
    }
    // `split` yields one empty piece after a final newline: not a line of its own.
    if text.ends_with('\n') {
        out.pop();
    }
    out
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
        caller: None,
        message: String::new(),
    };
    while let Some(rest) = s.strip_prefix('>') {
        rec.quote_depth += 1;
        s = rest.strip_prefix(' ').unwrap_or(rest);
    }
    if let Some((p, rest)) = syslog_prefix(s) {
        rec.syslog = Some(p);
        s = rest;
    }
    if let Some((lvl, rest)) = level_prefix(s) {
        rec.level = Some(lvl);
        s = rest;
    }
    if let Some((ts, rest)) = timestamp_prefix(s) {
        rec.timestamp = Some(ts);
        s = rest;
    }
    if let Some((c, rest)) = caller_prefix(s) {
        rec.caller = Some(c);
        s = rest;
    }
    if rec.has_prefix() {
        s = s.strip_prefix(' ').unwrap_or(s);
    }
    rec.message = s.to_string();
    rec
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
    let inner = s[1..end].trim();
    let (kind, num) = inner.split_at_checked(1)?;
    let n: u32 = num.parse().ok()?;
    let c = match kind {
        "T" => Caller::Thread(n),
        "C" => Caller::Cpu(n),
        _ => return None,
    };
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
