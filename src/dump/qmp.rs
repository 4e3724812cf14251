//! A client of the QEMU Machine Protocol: one JSON object per line over the socket QEMU was
//! started with (`-qmp unix:SOCK,server=on,wait=off`, or `-qmp tcp:HOST:PORT,...`).
//!
//! The exchange: QEMU greets (`{"QMP": …}`), the client sends `qmp_capabilities`, then each
//! command (`{"execute": NAME, "arguments": {…}}`) gets one reply, `{"return": …}` or
//! `{"error": {"class", "desc"}}`; asynchronous `{"event": …}` lines may come in between and
//! are skipped. The human monitor's commands (`xp`, `gpa2hva`, `info registers`) run
//! through `human-monitor-command` and answer text.
//!
//! QEMU serves one QMP client per socket at a time: a second client's connection is
//! accepted by the kernel but QEMU does not greet it until the first leaves, so the greeting
//! is awaited with a time limit and its absence said plainly. Every read has a time limit
//! (a wedged QEMU must not hang quiesce) and every line a size limit.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use thiserror::Error;

/// How long to wait for QEMU's greeting: longer means another client holds the socket.
const GREETING_WAIT: Duration = Duration::from_secs(10);
/// How long one command may take (a `human-monitor-command` reading memory is ~0.1 ms).
const REPLY_WAIT: Duration = Duration::from_secs(60);
/// The longest reply line accepted (`info mtree -f` of a large machine is ~100 KiB).
const MAX_LINE: u64 = 64 << 20;

#[derive(Debug, Error)]
pub enum QmpError {
    #[error("cannot connect to the QMP socket {addr}: {why}")]
    Connect { addr: String, why: String },
    #[error(
        "QEMU did not greet on {0} within 10 s: another client may hold its QMP socket (QEMU serves one at a time)"
    )]
    NoGreeting(String),
    #[error("{0} is not a QMP socket: its first line is {1}")]
    NotQmp(String, String),
    #[error("QMP connection lost while waiting for the reply to {cmd}: {why}")]
    Io { cmd: String, why: String },
    #[error("QEMU did not answer {0} within 60 s")]
    Timeout(String),
    #[error("QMP {cmd} failed: {desc}")]
    Command { cmd: String, desc: String },
    #[error("QMP reply to {cmd} is not understood: {what}")]
    Reply { cmd: String, what: String },
}

trait Stream: Read + Write + Send {
    fn set_timeout(&self, d: Duration) -> std::io::Result<()>;
    fn peer_pid(&self) -> Option<u32>;
}

impl Stream for UnixStream {
    fn set_timeout(&self, d: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(d))?;
        self.set_write_timeout(Some(d))
    }
    fn peer_pid(&self) -> Option<u32> {
        use std::os::fd::AsRawFd;
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `cred`, a local of that size.
        let r = unsafe {
            libc::getsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        (r == 0 && cred.pid > 0).then_some(cred.pid as u32)
    }
}

impl Stream for TcpStream {
    fn set_timeout(&self, d: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(d))?;
        self.set_write_timeout(Some(d))
    }
    fn peer_pid(&self) -> Option<u32> {
        None
    }
}

/// QEMU's side of a conversation from bytes; what is written to it is dropped.
struct Replay(std::io::Cursor<Vec<u8>>);

impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Stream for Replay {
    fn set_timeout(&self, _: Duration) -> std::io::Result<()> {
        Ok(())
    }
    fn peer_pid(&self) -> Option<u32> {
        None
    }
}

/// One QMP connection, past the capabilities negotiation.
pub struct Qmp {
    reader: BufReader<Box<dyn Stream>>,
    addr: String,
    peer_pid: Option<u32>,
}

impl std::fmt::Debug for Qmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Qmp({})", self.addr)
    }
}

impl Qmp {
    /// Connect to `addr`: a Unix socket path, or `HOST:PORT` for a TCP monitor.
    pub fn connect(addr: &str) -> Result<Qmp, QmpError> {
        let fail = |e: std::io::Error| QmpError::Connect {
            addr: addr.to_string(),
            why: e.to_string(),
        };
        let is_tcp = !addr.starts_with('/')
            && !addr.starts_with('.')
            && addr
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok_and(|p| p > 0));
        let stream: Box<dyn Stream> = if is_tcp {
            Box::new(TcpStream::connect(addr).map_err(fail)?)
        } else {
            Box::new(UnixStream::connect(addr).map_err(fail)?)
        };
        let peer_pid = stream.peer_pid();
        stream.set_timeout(GREETING_WAIT).map_err(fail)?;
        Self::handshake(stream, addr, peer_pid)
    }

    /// A conversation replayed from bytes: QEMU's side is `data` (its lines read in turn),
    /// what quiesce sends is dropped. The `qemu_monitor` fuzz target drives an attach with it.
    pub(crate) fn replay(data: Vec<u8>) -> Result<Qmp, QmpError> {
        Self::handshake(
            Box::new(Replay(std::io::Cursor::new(data))),
            "(replay)",
            None,
        )
    }

    /// Await the greeting and negotiate capabilities on a connected stream.
    fn handshake(
        stream: Box<dyn Stream>,
        addr: &str,
        peer_pid: Option<u32>,
    ) -> Result<Qmp, QmpError> {
        let fail = |e: std::io::Error| QmpError::Connect {
            addr: addr.to_string(),
            why: e.to_string(),
        };
        let mut q = Qmp {
            reader: BufReader::new(stream),
            addr: addr.to_string(),
            peer_pid,
        };
        let greeting = match q.read_line("the greeting") {
            Ok(v) => v,
            Err(QmpError::Timeout(_)) => return Err(QmpError::NoGreeting(addr.to_string())),
            Err(QmpError::Reply { what, .. }) => {
                return Err(QmpError::NotQmp(addr.to_string(), what));
            }
            Err(e) => return Err(e),
        };
        if greeting.get("QMP").is_none() {
            return Err(QmpError::NotQmp(
                addr.to_string(),
                short(&greeting.to_string()),
            ));
        }
        q.reader.get_ref().set_timeout(REPLY_WAIT).map_err(fail)?;
        q.execute("qmp_capabilities", None)?;
        Ok(q)
    }

    /// The pid of the QEMU process (`SO_PEERCRED` of a Unix socket); `None` over TCP or
    /// when the kernel does not say (another pid namespace).
    pub fn peer_pid(&self) -> Option<u32> {
        self.peer_pid
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Run `cmd` and return its `return` value.
    pub fn execute(&mut self, cmd: &str, args: Option<Value>) -> Result<Value, QmpError> {
        let mut msg = json!({ "execute": cmd });
        if let Some(a) = args {
            msg["arguments"] = a;
        }
        let mut line = msg.to_string();
        line.push('\n');
        let io = |e: std::io::Error| QmpError::Io {
            cmd: cmd.to_string(),
            why: e.to_string(),
        };
        let w = self.reader.get_mut();
        w.write_all(line.as_bytes()).map_err(io)?;
        w.flush().map_err(io)?;
        loop {
            let v = self.read_line(cmd)?;
            if v.get("event").is_some() {
                continue;
            }
            if let Some(e) = v.get("error") {
                let desc = e
                    .get("desc")
                    .and_then(Value::as_str)
                    .unwrap_or("(no description)");
                return Err(QmpError::Command {
                    cmd: cmd.to_string(),
                    desc: desc.to_string(),
                });
            }
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            return Err(QmpError::Reply {
                cmd: cmd.to_string(),
                what: short(&v.to_string()),
            });
        }
    }

    /// Run a human monitor command line and return its text output.
    pub fn hmp(&mut self, command_line: &str) -> Result<String, QmpError> {
        let r = self.execute(
            "human-monitor-command",
            Some(json!({ "command-line": command_line })),
        )?;
        match r {
            Value::String(s) => Ok(s),
            other => Err(QmpError::Reply {
                cmd: format!("human-monitor-command {command_line:?}"),
                what: format!("not text: {}", short(&other.to_string())),
            }),
        }
    }

    fn read_line(&mut self, cmd: &str) -> Result<Value, QmpError> {
        let mut buf = Vec::new();
        let n = (&mut self.reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    QmpError::Timeout(cmd.to_string())
                }
                _ => QmpError::Io {
                    cmd: cmd.to_string(),
                    why: e.to_string(),
                },
            })?;
        if n == 0 {
            return Err(QmpError::Io {
                cmd: cmd.to_string(),
                why: "QEMU closed the connection".into(),
            });
        }
        if !buf.ends_with(b"\n") {
            return Err(QmpError::Reply {
                cmd: cmd.to_string(),
                what: format!("a line longer than {MAX_LINE} bytes"),
            });
        }
        serde_json::from_slice(&buf).map_err(|e| QmpError::Reply {
            cmd: cmd.to_string(),
            what: format!("{e}: {}", short(&String::from_utf8_lossy(&buf))),
        })
    }
}

/// At most 120 characters of `s`, for error messages.
fn short(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
