//! A debuginfod client: debug files (`/buildid/HEX/debuginfo`) and sources
//! (`/buildid/HEX/source/PATH`) by build-id from the servers in `DEBUGINFOD_URLS`
//! (space-separated), as elfutils' client fetches them.
//!
//! Plain `http://` over `std::net` (HTTP/1.1, `Content-Length` or chunked bodies, up to three
//! redirects); an `https://` URL is reported as unsupported rather than fetched. The server
//! is not trusted: connecting and each read time out (`DEBUGINFOD_TIMEOUT` seconds, default
//! 90), a whole transfer too (`DEBUGINFOD_MAXTIME`, default unlimited), bodies are bounded
//! (`DEBUGINFOD_MAXSIZE` bytes, default 4 GiB), headers to 64 KiB, and a debug file is used
//! only if its own build-id is the one asked for.
//!
//! Files are cached in `$DEBUGINFOD_CACHE_PATH`, else `$XDG_CACHE_HOME/quiesce/debuginfod`,
//! as `<build-id>/debuginfo` and `<build-id>/source#<path with / as #>`; each is written to a
//! temporary file and renamed into place, so a cache entry is always complete. A cached debug
//! file is checked again before use. Downloads show a progress bar on stderr when it is a
//! terminal, else one line per file; [`set_progress`] turns both off (the TUI).

use super::elfid::{hex, same_build_id};
use super::locate::Fetcher;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static PROGRESS: AtomicBool = AtomicBool::new(true);

/// Whether downloads report progress on stderr (on by default).
pub fn set_progress(on: bool) {
    PROGRESS.store(on, Ordering::Relaxed);
}

const MAX_HEADER_BYTES: u64 = 64 << 10;
const MAX_REDIRECTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct Client {
    pub urls: Vec<String>,
    pub cache: PathBuf,
    pub timeout: Duration,
    pub max_time: Option<Duration>,
    pub max_size: u64,
}

/// What one server said.
enum Got {
    /// Written to the file.
    Body,
    /// 404 or another "not here" answer.
    Missing(String),
}

impl Client {
    /// From `DEBUGINFOD_URLS` (none set or empty: `None`) and the other `DEBUGINFOD_*`
    /// variables.
    pub fn from_env() -> Option<Client> {
        let urls: Vec<String> = std::env::var("DEBUGINFOD_URLS")
            .ok()?
            .split_whitespace()
            .map(|u| u.trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if urls.is_empty() {
            return None;
        }
        let cache = std::env::var_os("DEBUGINFOD_CACHE_PATH")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| super::elfid::cache_base().map(|b| b.join("debuginfod")))?;
        let secs = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&v| v > 0)
        };
        Some(Client {
            urls,
            cache,
            timeout: Duration::from_secs(secs("DEBUGINFOD_TIMEOUT").unwrap_or(90)),
            max_time: secs("DEBUGINFOD_MAXTIME").map(Duration::from_secs),
            max_size: secs("DEBUGINFOD_MAXSIZE").unwrap_or(4 << 30),
        })
    }

    /// The debug file with this build-id (a vmlinux or module), cached or downloaded.
    pub fn debuginfo(&self, build_id: &[u8], what: &str) -> Result<PathBuf, String> {
        let dest = self.cache.join(hex(build_id)).join("debuginfo");
        if dest.is_file() {
            match check_build_id(&dest, build_id) {
                Ok(()) => return Ok(dest),
                // A bad cache entry is replaced by a fresh download.
                Err(_) => {
                    let _ = std::fs::remove_file(&dest);
                }
            }
        }
        let rel = format!("buildid/{}/debuginfo", hex(build_id));
        self.download(&rel, &dest, what, |tmp| check_build_id(tmp, build_id))?;
        Ok(dest)
    }

    /// A source file of the build with this build-id, by its absolute path as the DWARF
    /// names it.
    pub fn source(&self, build_id: &[u8], path: &str) -> Result<PathBuf, String> {
        if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(format!("{path}: not an absolute path without '..'"));
        }
        let dest = self
            .cache
            .join(hex(build_id))
            .join(format!("source{}", path.replace('/', "#")));
        if dest.is_file() {
            return Ok(dest);
        }
        let rel = format!("buildid/{}/source{}", hex(build_id), escape_path(path));
        self.download(&rel, &dest, path, |_| Ok(()))?;
        Ok(dest)
    }

    /// GET `rel` from each server in turn into `dest` (via a temporary file, checked by
    /// `verify` before the rename).
    fn download(
        &self,
        rel: &str,
        dest: &Path,
        what: &str,
        verify: impl Fn(&Path) -> Result<(), String>,
    ) -> Result<(), String> {
        let dir = dest.parent().ok_or("cache path has no parent")?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tmp = dir.join(format!(
            ".{}.tmp.{}",
            dest.file_name().and_then(|n| n.to_str()).unwrap_or("f"),
            std::process::id()
        ));
        let mut errors = Vec::new();
        for base in &self.urls {
            let url = format!("{base}/{rel}");
            let r = (|| {
                let mut f =
                    std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
                let got = self.get(&url, &mut f, what)?;
                f.sync_all()
                    .map_err(|e| format!("{}: {e}", tmp.display()))?;
                Ok::<Got, String>(got)
            })();
            match r {
                Ok(Got::Body) => match verify(&tmp) {
                    Ok(()) => {
                        return std::fs::rename(&tmp, dest).map_err(|e| {
                            let _ = std::fs::remove_file(&tmp);
                            format!("{}: {e}", dest.display())
                        });
                    }
                    Err(e) => errors.push(format!("{url}: {e}")),
                },
                Ok(Got::Missing(why)) => errors.push(format!("{url}: {why}")),
                Err(e) => errors.push(format!("{url}: {e}")),
            }
            let _ = std::fs::remove_file(&tmp);
        }
        Err(errors.join("; "))
    }

    /// One GET, following redirects, streaming the body into `out`.
    fn get(&self, url: &str, out: &mut std::fs::File, what: &str) -> Result<Got, String> {
        let start = Instant::now();
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let u = Url::parse(&url)?;
            let addr = (u.host.as_str(), u.port)
                .to_socket_addrs()
                .map_err(|e| format!("resolving {}: {e}", u.host))?
                .next()
                .ok_or_else(|| format!("{}: no address", u.host))?;
            let stream =
                TcpStream::connect_timeout(&addr, self.timeout.min(Duration::from_secs(30)))
                    .map_err(|e| format!("connecting to {addr}: {e}"))?;
            stream
                .set_read_timeout(Some(self.timeout))
                .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
                .map_err(|e| e.to_string())?;
            let mut w = &stream;
            write!(
                w,
                "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: quiesce/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                u.path,
                u.host_header(),
                env!("CARGO_PKG_VERSION")
            )
            .map_err(|e| format!("sending the request: {e}"))?;
            let mut r = BufReader::new(&stream);
            let head = read_head(&mut r)?;
            match head.status {
                200 => {}
                301 | 302 | 303 | 307 | 308 => {
                    let loc = head.header("location").ok_or("redirect without Location")?;
                    url = if loc.starts_with('/') {
                        format!("http://{}{loc}", u.host_header())
                    } else {
                        loc.to_string()
                    };
                    continue;
                }
                404 => return Ok(Got::Missing("not found (404)".into())),
                s => return Ok(Got::Missing(format!("HTTP status {s} {}", head.reason))),
            }
            let total = head
                .header("x-debuginfod-size")
                .or_else(|| head.header("content-length"))
                .and_then(|v| v.trim().parse::<u64>().ok());
            if let Some(t) = total
                && t > self.max_size
            {
                return Err(format!(
                    "{t} bytes, more than DEBUGINFOD_MAXSIZE ({})",
                    self.max_size
                ));
            }
            let mut bar = Progress::new(what, &url, total);
            let chunked = head
                .header("transfer-encoding")
                .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
            let len = head
                .header("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok());
            let limits = Limits {
                max_size: self.max_size,
                deadline: self.max_time.map(|d| start + d),
            };
            let n = if chunked {
                copy_chunked(&mut r, out, &limits, &mut bar)?
            } else {
                copy_body(&mut r, out, len, 0, &limits, &mut bar)?
            };
            bar.done(n);
            return Ok(Got::Body);
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }
}

impl Fetcher for Client {
    fn fetch(&self, build_id: &[u8], what: &str) -> Result<PathBuf, String> {
        self.debuginfo(build_id, what)
    }
    fn describe(&self) -> String {
        format!("debuginfod {}", self.urls.join(" "))
    }
}

/// The file at `p` must be an ELF file with this build-id.
fn check_build_id(p: &Path, want: &[u8]) -> Result<(), String> {
    use object::Object;
    let f = std::fs::File::open(p).map_err(|e| e.to_string())?;
    // SAFETY: read-only mapping of a file of ours, for the duration of this call.
    let m = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| e.to_string())?;
    let obj = object::File::parse(&*m).map_err(|e| format!("the server sent no ELF file ({e})"))?;
    match obj.build_id().ok().flatten() {
        Some(have) if same_build_id(have, want) => Ok(()),
        Some(have) => Err(format!(
            "the server sent build-id {} for {}",
            hex(have),
            hex(want)
        )),
        None => Err("the server sent a file without a build-id".into()),
    }
}

/// Percent-encode a path for a request line (`/` kept).
fn escape_path(p: &str) -> String {
    let mut s = String::new();
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~+".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[derive(Debug, PartialEq, Eq)]
struct Url {
    host: String,
    port: u16,
    path: String,
}

impl Url {
    fn parse(u: &str) -> Result<Url, String> {
        let rest = if let Some(r) = u.strip_prefix("http://") {
            r
        } else if u.starts_with("https://") {
            return Err(
                "https:// is not supported by quiesce's debuginfod client; use an \
                        http:// server (or a local proxy)"
                    .into(),
            );
        } else {
            return Err(format!("{u}: not an http:// URL"));
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            // [v6]:port
            let (h, p) = h
                .split_once(']')
                .ok_or_else(|| format!("{u}: bad IPv6 host"))?;
            (h.to_string(), p.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| format!("{u}: bad port {p}"))?,
            None => 80,
        };
        if host.is_empty() || path.contains(['\r', '\n', ' ']) {
            return Err(format!("{u}: bad URL"));
        }
        Ok(Url {
            host,
            port,
            path: path.to_string(),
        })
    }

    fn host_header(&self) -> String {
        let h = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }
}

struct Head {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The status line and headers (bounded).
fn read_head(r: &mut impl BufRead) -> Result<Head, String> {
    let mut lim = r.take(MAX_HEADER_BYTES);
    let mut line = String::new();
    let mut read_line = |line: &mut String| -> Result<(), String> {
        line.clear();
        let n = lim
            .read_line(line)
            .map_err(|e| format!("reading the response: {e}"))?;
        if n == 0 || !line.ends_with('\n') {
            return Err("response headers cut short or longer than 64 KiB".into());
        }
        Ok(())
    };
    read_line(&mut line)?;
    let mut parts = line.trim_end().splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x response: {:?}", line.trim_end()));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {:?}", line.trim_end()))?;
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Head {
        status,
        reason,
        headers,
    })
}

struct Limits {
    max_size: u64,
    deadline: Option<Instant>,
}

impl Limits {
    fn check(&self, n: u64) -> Result<(), String> {
        if n > self.max_size {
            return Err(format!(
                "more than DEBUGINFOD_MAXSIZE ({}) bytes",
                self.max_size
            ));
        }
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err("took longer than DEBUGINFOD_MAXTIME".into());
        }
        Ok(())
    }
}

/// A body of `len` bytes (or up to the end of the connection when unknown); `before` bytes
/// of the same transfer came earlier (chunks), for the bounds and the progress bar.
fn copy_body(
    r: &mut impl Read,
    out: &mut impl Write,
    len: Option<u64>,
    before: u64,
    lim: &Limits,
    bar: &mut Progress,
) -> Result<u64, String> {
    let mut buf = vec![0u8; 256 << 10];
    let mut n = 0u64;
    loop {
        let want = match len {
            Some(l) if n >= l => break,
            Some(l) => buf.len().min((l - n) as usize),
            None => buf.len(),
        };
        let k = r
            .read(&mut buf[..want])
            .map_err(|e| format!("reading the body after {n} bytes: {e}"))?;
        if k == 0 {
            if let Some(l) = len {
                return Err(format!("connection closed after {n} of {l} bytes"));
            }
            break;
        }
        n += k as u64;
        lim.check(before + n)?;
        out.write_all(&buf[..k]).map_err(|e| e.to_string())?;
        bar.update(before + n);
    }
    Ok(n)
}

/// A chunked body.
fn copy_chunked(
    r: &mut impl BufRead,
    out: &mut impl Write,
    lim: &Limits,
    bar: &mut Progress,
) -> Result<u64, String> {
    let mut n = 0u64;
    loop {
        let mut line = String::new();
        r.take(1024)
            .read_line(&mut line)
            .map_err(|e| format!("reading a chunk size: {e}"))?;
        let size_hex = line.trim().split(';').next().unwrap_or("");
        let size = u64::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {:?}", line.trim()))?;
        if size == 0 {
            return Ok(n);
        }
        lim.check(n.saturating_add(size))?;
        n += copy_body(r, out, Some(size), n, lim, bar)?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)
            .map_err(|e| format!("reading a chunk end: {e}"))?;
        bar.update(n);
    }
}

/// Download progress on stderr: a bar redrawn in place on a terminal, else one line at the
/// end.
struct Progress {
    what: String,
    url: String,
    total: Option<u64>,
    on: bool,
    tty: bool,
    last: Option<Instant>,
}

impl Progress {
    fn new(what: &str, url: &str, total: Option<u64>) -> Progress {
        Progress {
            what: what.to_string(),
            url: url.to_string(),
            total,
            on: PROGRESS.load(Ordering::Relaxed),
            tty: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    fn update(&mut self, n: u64) {
        if !(self.on && self.tty) {
            return;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        let line = match self.total {
            Some(t) if t > 0 => {
                let frac = (n as f64 / t as f64).min(1.0);
                let w = 30;
                let fill = (frac * w as f64) as usize;
                format!(
                    "quiesce: debuginfod {} [{}{}] {:5.1}/{:.1} MiB",
                    self.what,
                    "#".repeat(fill),
                    " ".repeat(w - fill),
                    mib(n),
                    mib(t)
                )
            }
            _ => format!("quiesce: debuginfod {} {:.1} MiB", self.what, mib(n)),
        };
        eprint!("\r{line}\x1b[K");
    }

    fn done(&mut self, n: u64) {
        if !self.on {
            return;
        }
        if self.tty {
            eprint!("\r\x1b[K");
        }
        eprintln!(
            "quiesce: fetched {} ({:.1} MiB) from {}",
            self.what,
            n as f64 / (1 << 20) as f64,
            self.url.split("/buildid/").next().unwrap_or(&self.url)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Url::parse("http://127.0.0.1:8002/base").unwrap(),
            Url {
                host: "127.0.0.1".into(),
                port: 8002,
                path: "/base".into()
            }
        );
        assert_eq!(Url::parse("http://h").unwrap().path, "/");
        assert_eq!(Url::parse("http://[::1]:9/x").unwrap().host, "::1");
        assert!(
            Url::parse("https://h/")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(Url::parse("ftp://h/").is_err());
        assert!(Url::parse("http://h:99999/").is_err());
        assert!(Url::parse("http://h/a b").is_err());
    }

    #[test]
    fn chunked_bodies_and_bounds() {
        let lim = Limits {
            max_size: 100,
            deadline: None,
        };
        let mut bar = Progress::new("t", "u", None);
        bar.on = false;
        let mut out = Vec::new();
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
        let n = copy_chunked(&mut &body[..], &mut out, &lim, &mut bar).unwrap();
        assert_eq!((n, &out[..]), (11, &b"hello world"[..]));
        let big = b"ff\r\n";
        assert!(
            copy_chunked(&mut &big[..], &mut Vec::new(), &lim, &mut bar)
                .unwrap_err()
                .contains("MAXSIZE")
        );
        // A body cut short is an error, not a short file.
        let e = copy_body(
            &mut &b"abc"[..],
            &mut Vec::new(),
            Some(10),
            0,
            &lim,
            &mut bar,
        );
        assert!(e.unwrap_err().contains("after 3 of 10"));
    }

    #[test]
    fn headers_bounded_and_parsed() {
        let h = read_head(&mut &b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-A: b\r\n\r\n"[..])
            .unwrap();
        assert_eq!((h.status, h.header("content-length")), (200, Some("12")));
        assert!(read_head(&mut &b"SSH-2.0\r\n\r\n"[..]).is_err());
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(70_000));
        assert!(read_head(&mut long.as_bytes()).is_err());
    }

    #[test]
    fn source_paths_escaped_and_confined() {
        assert_eq!(escape_path("/a b/c%.c"), "/a%20b/c%25.c");
        let c = Client {
            urls: vec!["http://127.0.0.1:1".into()],
            cache: std::env::temp_dir(),
            timeout: Duration::from_secs(1),
            max_time: None,
            max_size: 1,
        };
        assert!(c.source(&[1, 2], "/a/../../etc/passwd").is_err());
        assert!(c.source(&[1, 2], "relative.c").is_err());
    }
}
