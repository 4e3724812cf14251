//! User notes on source lines, kept beside the dump (`<dump>.quiesce-notes.json`) or, when
//! the dump's directory is not writable, under `$XDG_DATA_HOME/quiesce/notes/<hash>.json`.
//! The dump itself is never written.
//!
//! Saving is atomic: a temporary file in the same directory, fsync, rename over the old
//! file (then fsync the directory). A notes file that does not parse is renamed aside to
//! `<file>.corrupt-<unix seconds>` and reported; it is never silently dropped or
//! overwritten.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The file as the debug info names it (see `SourceFile::key`).
    pub file: String,
    pub line: u32,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notes {
    pub version: u32,
    pub notes: Vec<Note>,
}

impl Notes {
    pub fn get(&self, file: &str, line: u32) -> Option<&Note> {
        self.notes
            .iter()
            .find(|n| n.line == line && super::source::same_file(&n.file, file))
    }

    /// Set the note of a line; empty text removes it.
    pub fn set(&mut self, file: &str, line: u32, text: &str) {
        let text = text.trim();
        let pos = self
            .notes
            .iter()
            .position(|n| n.line == line && super::source::same_file(&n.file, file));
        match (pos, text.is_empty()) {
            (Some(i), true) => {
                self.notes.remove(i);
            }
            (Some(i), false) => self.notes[i].text = text.to_string(),
            (None, false) => self.notes.push(Note {
                file: file.to_string(),
                line,
                text: text.to_string(),
            }),
            (None, true) => {}
        }
    }
}

/// FNV-1a, stable across Rust releases (the file name must not change between versions).
fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= *b as u64;
        *h = h.wrapping_mul(0x100000001b3);
    }
}

/// A dump's identity without reading all of it: absolute path, size, first and last 64 KiB.
pub fn dump_hash(dump: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let mut h: u64 = 0xcbf29ce484222325;
    let abs = std::fs::canonicalize(dump).unwrap_or_else(|_| dump.to_path_buf());
    fnv(&mut h, abs.to_string_lossy().as_bytes());
    if let Ok(mut f) = std::fs::File::open(dump) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        fnv(&mut h, &len.to_le_bytes());
        let mut buf = vec![0u8; 65536];
        if let Ok(n) = f.read(&mut buf) {
            fnv(&mut h, &buf[..n]);
        }
        if len > 65536 && f.seek(SeekFrom::Start(len - 65536)).is_ok() {
            let mut buf = vec![0u8; 65536];
            if let Ok(n) = f.read(&mut buf) {
                fnv(&mut h, &buf[..n]);
            }
        }
    }
    format!("{h:016x}")
}

fn dir_writable(dir: &Path) -> bool {
    // Try it: permissions bits lie under root, read-only mounts and ACLs.
    let probe = dir.join(format!(".quiesce-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// `$XDG_DATA_HOME/quiesce/notes` (or `~/.local/share/quiesce/notes`).
pub fn data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("quiesce/notes"))
}

/// Where a dump's notes live: beside it when its directory is writable, else the data dir.
/// `/proc/kcore` and other non-files go to the data dir.
pub fn path_for(dump: &Path) -> Option<PathBuf> {
    let name = dump.file_name()?.to_string_lossy().to_string();
    let dir = dump.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    if dump.is_file() && !dump.starts_with("/proc") && dir_writable(dir) {
        return Some(dir.join(format!("{name}.quiesce-notes.json")));
    }
    Some(data_dir()?.join(format!("{}.json", dump_hash(dump))))
}

/// Notes from the file's text.
pub fn parse(text: &str) -> Result<Notes, serde_json::Error> {
    serde_json::from_str::<Notes>(text)
}

/// Load notes. A missing file is empty notes. A file that does not parse is renamed to
/// `<path>.corrupt-<secs>` and the returned message says so; the notes start empty.
pub fn load(path: &Path) -> (Notes, Option<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Notes::default(), None),
        Err(e) => {
            return (
                Notes::default(),
                Some(format!("notes: cannot read {}: {e}", path.display())),
            );
        }
    };
    match parse(&text) {
        Ok(n) => (n, None),
        Err(e) => {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let mut aside = PathBuf::from(format!("{}.corrupt-{secs}", path.display()));
            let mut n = 1;
            while aside.exists() {
                aside = PathBuf::from(format!("{}.corrupt-{secs}-{n}", path.display()));
                n += 1;
            }
            let msg = match std::fs::rename(path, &aside) {
                Ok(()) => format!(
                    "notes: {} is corrupt ({e}); kept as {} and starting empty",
                    path.display(),
                    aside.display()
                ),
                Err(re) => format!(
                    "notes: {} is corrupt ({e}) and could not be moved aside ({re}); \
                     notes will not be saved over it",
                    path.display()
                ),
            };
            (Notes::default(), Some(msg))
        }
    }
}

/// Save atomically: temp file in the same directory, fsync, rename, fsync the directory.
/// Refuses to replace a file that exists but does not parse (a corrupt file that could not
/// be moved aside).
pub fn save(path: &Path, notes: &Notes) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("notes: {}: {e}", dir.display()))?;
    if let Ok(old) = std::fs::read_to_string(path)
        && serde_json::from_str::<Notes>(&old).is_err()
    {
        return Err(format!(
            "notes: {} exists and is not a notes file; not replacing it",
            path.display()
        ));
    }
    let mut n = notes.clone();
    n.version = 1;
    let json = serde_json::to_string_pretty(&n).map_err(|e| e.to_string())?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(json.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("notes: saving {}: {e}", path.display())
    })
}
