//! Kernel source files for the source pane: found in a tree given with `--source`, else in
//! the places distributions install the source of a release `X.Y.*`: Debian's
//! `linux-source-X.Y` package (`/usr/src/linux-source-X.Y/` unpacked, or its tarball
//! `/usr/src/linux-source-X.Y.tar.xz`), and `/lib/modules/REL/{source,build}/`. A tarball is
//! read on demand: the one file wanted is streamed out of it and kept under
//! `$XDG_CACHE_HOME/quiesce/source/<tarball name>/` (never next to the tarball). When nothing
//! has the file, the source endpoint of the debuginfod servers in `DEBUGINFOD_URLS` is asked
//! by build-id. When nothing has the file, the error lists each place looked.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// A source file found: where it can be read from now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// The tree or tarball it came from.
    pub from: PathBuf,
}

/// The largest file taken out of a tarball, and the most headers read looking for it.
const MAX_EXTRACT: u64 = 64 << 20;

/// `X.Y` of a release (`6.1.0-57-cloud-amd64` → `6.1`).
pub fn major_minor(release: &str) -> Option<String> {
    let mut it = release.split(['.', '-', '+']);
    let (x, y) = (it.next()?, it.next()?);
    (x.chars().all(|c| c.is_ascii_digit()) && y.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("{x}.{y}"))
}

/// The places searched for a release's source, in order (trees and tarballs).
pub fn candidates(sysroot: &Path, release: &str) -> Vec<PathBuf> {
    let sys = |p: &str| sysroot.join(p.trim_start_matches('/'));
    let mut v = Vec::new();
    if let Some(xy) = major_minor(release) {
        v.push(sys(&format!("/usr/src/linux-source-{xy}")));
        v.push(sys(&format!("/usr/src/linux-source-{xy}.tar.xz")));
    }
    v.push(sys(&format!("/lib/modules/{release}/source")));
    v.push(sys(&format!("/lib/modules/{release}/build")));
    v
}

/// The trailing parts of a source file name, longest first: `/build/linux/kernel/rcu/x.c`
/// gives `build/linux/kernel/rcu/x.c`, `linux/kernel/rcu/x.c`, … `x.c`. `None` when it has a
/// `..` (never looked up).
fn suffixes(file: &str) -> Option<Vec<PathBuf>> {
    let p = Path::new(file);
    if p.components().any(|c| c == Component::ParentDir) {
        return None;
    }
    let comps: Vec<_> = p
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    Some(
        (0..comps.len())
            .map(|i| comps[i..].iter().collect::<PathBuf>())
            .collect(),
    )
}

/// Find `file` (as the debug info names it) under a tree: the longest trailing part of its
/// path that exists there.
fn in_tree(root: &Path, file: &str) -> Option<PathBuf> {
    suffixes(file)?
        .into_iter()
        .map(|s| root.join(s))
        .find(|c| c.is_file())
}

/// Where to look for sources.
#[derive(Debug, Clone, Default)]
pub struct SourceSearch {
    /// `--source`: a tree or a `.tar.xz`; when given, the only place looked.
    pub explicit: Option<PathBuf>,
    /// The dump's release, for the distribution places.
    pub release: Option<String>,
    /// Prefix of the distribution paths (`/`, or `QUIESCE_SYSROOT`).
    pub sysroot: PathBuf,
    /// Where files taken out of tarballs are kept (`None`: tarballs are not read).
    pub cache: Option<PathBuf>,
    /// A debuginfod client, asked last.
    pub debuginfod: Option<super::debuginfod::Client>,
    /// Build-id and compilation directory of each image (vmlinux first), see
    /// [`super::DebugInfo::source_origins`]: debuginfod names a source by its image's
    /// build-id and its absolute path.
    pub origins: Vec<(Option<Vec<u8>>, Option<String>)>,
}

impl SourceSearch {
    /// With the sysroot from `QUIESCE_SYSROOT` and the cache under `$XDG_CACHE_HOME/quiesce`.
    pub fn from_env(explicit: Option<&Path>, release: Option<&str>) -> SourceSearch {
        SourceSearch {
            explicit: explicit.map(Path::to_path_buf),
            release: release.map(str::to_owned),
            sysroot: super::locate::Search::from_env().sysroot,
            cache: super::elfid::cache_base().map(|b| b.join("source")),
            debuginfod: super::debuginfod::Client::from_env(),
            origins: Vec::new(),
        }
    }

    /// Which build-id serves `file`, and its absolute path: an absolute name belongs to the
    /// image whose compilation directory it is under, a relative one (the kernel tree's) to
    /// the vmlinux.
    fn debuginfod_names(&self, file: &str) -> Vec<(Vec<u8>, String)> {
        let mut v = Vec::new();
        for (i, (id, dir)) in self.origins.iter().enumerate() {
            let Some(id) = id else { continue };
            if file.starts_with('/') {
                if dir.as_deref().is_some_and(|d| file.starts_with(d)) {
                    v.push((id.clone(), file.to_string()));
                }
            } else if i == 0
                && let Some(d) = dir
            {
                v.push((id.clone(), format!("{}/{file}", d.trim_end_matches('/'))));
            }
        }
        v
    }
}

/// Find a source file: an absolute path that exists (module sources where they were built),
/// else under the `--source` tree or tarball, else in [`candidates`] for the release.
pub fn find(s: &SourceSearch, file: &str) -> Result<Found, String> {
    let p = Path::new(file);
    if p.is_absolute() && p.is_file() {
        return Ok(Found {
            path: p.to_path_buf(),
            from: p.to_path_buf(),
        });
    }
    let mut places: Vec<PathBuf> = s.explicit.iter().cloned().collect();
    if s.explicit.is_none()
        && let Some(rel) = &s.release
    {
        places.extend(candidates(&s.sysroot, rel));
    }
    let mut looked = Vec::new();
    for place in &places {
        if place.is_dir() {
            if let Some(path) = in_tree(place, file) {
                return Ok(Found {
                    path,
                    from: place.clone(),
                });
            }
            looked.push(format!("{}: no such file there", place.display()));
        } else if place.is_file() && place.to_string_lossy().ends_with(".tar.xz") {
            match from_tarball(place, s.cache.as_deref(), file) {
                Ok(Some(path)) => {
                    return Ok(Found {
                        path,
                        from: place.clone(),
                    });
                }
                Ok(None) => looked.push(format!("{}: not in the tarball", place.display())),
                Err(e) => looked.push(format!("{}: {e}", place.display())),
            }
        } else if place.exists() {
            looked.push(format!("{}: not a directory or .tar.xz", place.display()));
        } else {
            looked.push(format!("{}: absent", place.display()));
        }
    }
    if let Some(c) = &s.debuginfod {
        for (id, abs) in s.debuginfod_names(file) {
            match c.source(&id, &abs) {
                Ok(path) => {
                    return Ok(Found {
                        path,
                        from: PathBuf::from(c.urls.join(" ")),
                    });
                }
                Err(e) => looked.push(format!("debuginfod {abs}: {e}")),
            }
        }
    }
    let mut msg = format!("{file}: source not found");
    if places.is_empty() && looked.is_empty() {
        msg.push_str(" (the dump's release is unknown)");
    } else {
        msg.push_str("; looked at ");
        msg.push_str(&looked.join("; "));
    }
    msg.push_str(". Give the kernel source tree with --source KERNEL_SRC");
    Err(msg)
}

/// Take `file` out of a `.tar.xz` of a kernel tree (entries under one top directory):
/// the entry whose path, less the top directory, is the longest trailing part of `file`.
/// Extracted files are kept in `cache/<tarball name>/`; a kept one is used without reading
/// the tarball again.
fn from_tarball(
    tarball: &Path,
    cache: Option<&Path>,
    file: &str,
) -> Result<Option<PathBuf>, String> {
    let name = tarball.file_name().ok_or("no file name")?;
    let cache = cache
        .ok_or("no HOME or XDG_CACHE_HOME to extract into")?
        .join(name);
    let Some(sufs) = suffixes(file) else {
        return Ok(None);
    };
    if let Some(hit) = sufs.iter().map(|s| cache.join(s)).find(|c| c.is_file()) {
        return Ok(Some(hit));
    }
    // Only suffixes with a directory are specific enough to take the first match; a bare
    // file name is taken only when nothing longer matched.
    let f = std::fs::File::open(tarball).map_err(|e| e.to_string())?;
    let mut sink = TarSink::new(&sufs);
    let r = lzma_rs::xz_decompress(&mut std::io::BufReader::new(f), &mut sink);
    if let Err(e) = r
        && sink.found.is_none()
    {
        return Err(format!("reading the tarball: {e}"));
    }
    if let Some(e) = sink.error {
        return Err(e);
    }
    let Some((rel, data)) = sink.found.or(sink.fallback) else {
        return Ok(None);
    };
    let dest = cache.join(&rel);
    let dir = dest.parent().ok_or("bad entry path")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".extract.{}", std::process::id()));
    std::fs::write(&tmp, &data).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    Ok(Some(dest))
}

/// A tar reader fed by the decompressor (`Write`): finds the wanted entry and stops the
/// decompression (an error from `write`) once it has it.
struct TarSink<'a> {
    sufs: &'a [PathBuf],
    buf: Vec<u8>,
    /// Bytes of the current entry's data (padded to 512) still to come.
    skip: u64,
    /// The current entry, when it is wanted: its suffix index, path and data so far.
    taking: Option<(usize, PathBuf, Vec<u8>, u64)>,
    /// A GNU long name (`L`) or pax `path=` for the next header.
    long_name: Option<String>,
    reading_long: Option<(u8, u64)>,
    found: Option<(PathBuf, Vec<u8>)>,
    /// A match on a bare file name, used if nothing longer matches.
    fallback: Option<(PathBuf, Vec<u8>)>,
    fallback_rank: usize,
    error: Option<String>,
}

impl<'a> TarSink<'a> {
    fn new(sufs: &'a [PathBuf]) -> Self {
        TarSink {
            sufs,
            buf: Vec::new(),
            skip: 0,
            taking: None,
            long_name: None,
            reading_long: None,
            found: None,
            fallback: None,
            fallback_rank: usize::MAX,
            error: None,
        }
    }

    /// A header block: decide what to do with the entry's data.
    fn header(&mut self, h: &[u8]) -> Result<(), String> {
        if h.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let size = tar_size(&h[124..136]).ok_or("bad size in a tar header")?;
        let padded = size.div_ceil(512) * 512;
        let kind = h[156];
        if kind == b'L' || kind == b'x' {
            if size > 64 << 10 {
                return Err("oversized tar name record".into());
            }
            self.reading_long = Some((kind, padded));
            self.taking = Some((0, PathBuf::new(), Vec::new(), size));
            return Ok(());
        }
        let name = match self.long_name.take() {
            Some(n) => n,
            None => {
                let cstr = |b: &[u8]| {
                    let e = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                    String::from_utf8_lossy(&b[..e]).into_owned()
                };
                let (name, prefix) = (cstr(&h[0..100]), cstr(&h[345..500]));
                if &h[257..262] == b"ustar" && !prefix.is_empty() {
                    format!("{prefix}/{name}")
                } else {
                    name
                }
            }
        };
        self.skip = padded;
        if kind != b'0' && kind != 0 {
            return Ok(());
        }
        // Entries are `linux-source-X.Y/…`: drop the top directory.
        let p = Path::new(&name);
        if p.components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir))
        {
            return Ok(());
        }
        let inner: PathBuf = p.components().skip(1).collect();
        if let Some(rank) = self.sufs.iter().position(|s| *s == inner) {
            if size > MAX_EXTRACT {
                return Err(format!("{name}: {size} bytes, too large to extract"));
            }
            if inner.components().count() > 1 || rank < self.fallback_rank {
                self.taking = Some((rank, inner, Vec::with_capacity(size as usize), size));
            }
        }
        Ok(())
    }

    fn feed(&mut self, mut data: &[u8]) -> Result<bool, String> {
        while !data.is_empty() {
            if self.skip > 0 || self.reading_long.is_some() {
                let left = match self.reading_long {
                    Some((_, n)) => n,
                    None => self.skip,
                };
                let n = (left as usize).min(data.len());
                if let Some((_, _, v, want)) = &mut self.taking {
                    let take = n.min((*want as usize).saturating_sub(v.len()));
                    v.extend_from_slice(&data[..take]);
                }
                data = &data[n..];
                let left = left - n as u64;
                match &mut self.reading_long {
                    Some((_, l)) => *l = left,
                    None => self.skip = left,
                }
                if left == 0 {
                    let t = self.taking.take();
                    if let Some((kind, _)) = self.reading_long.take() {
                        let v = t.map(|t| t.2).unwrap_or_default();
                        self.long_name = long_name(kind, &v);
                    } else if let Some((rank, inner, v, _)) = t {
                        if inner.components().count() > 1 {
                            self.found = Some((inner, v));
                            return Ok(true);
                        }
                        self.fallback = Some((inner, v));
                        self.fallback_rank = rank;
                    }
                }
                continue;
            }
            let need = 512 - self.buf.len();
            let n = need.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == 512 {
                let h = std::mem::take(&mut self.buf);
                self.header(&h)?;
            }
        }
        Ok(false)
    }
}

fn long_name(kind: u8, v: &[u8]) -> Option<String> {
    if kind == b'L' {
        let e = v.iter().position(|&c| c == 0).unwrap_or(v.len());
        return Some(String::from_utf8_lossy(&v[..e]).into_owned());
    }
    // pax: "LEN key=value\n" records.
    String::from_utf8_lossy(v).lines().find_map(|rec| {
        let (_, kv) = rec.split_once(' ')?;
        kv.strip_prefix("path=").map(str::to_owned)
    })
}

/// A tar size field: octal, or base-256 when the top bit is set.
fn tar_size(f: &[u8]) -> Option<u64> {
    if f[0] & 0x80 != 0 {
        let mut v: u64 = 0;
        for &b in &f[1..] {
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    let s = std::str::from_utf8(f).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

impl Write for TarSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.found.is_some() || self.error.is_some() {
            return Err(std::io::Error::other("done"));
        }
        match self.feed(buf) {
            Ok(true) => Err(std::io::Error::other("found")),
            Ok(false) => Ok(buf.len()),
            Err(e) => {
                self.error = Some(e.clone());
                Err(std::io::Error::other(e))
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_to_source_version() {
        assert_eq!(major_minor("6.1.0-57-cloud-amd64").as_deref(), Some("6.1"));
        assert_eq!(
            major_minor("6.12.117+deb13-cloud-amd64").as_deref(),
            Some("6.12")
        );
        assert_eq!(major_minor("6.17-rc1").as_deref(), Some("6.17"));
        assert_eq!(major_minor("weird"), None);
    }

    #[test]
    fn suffixes_longest_first_and_no_parent() {
        let s = suffixes("/build/linux/kernel/x.c").unwrap();
        assert_eq!(s[0], Path::new("build/linux/kernel/x.c"));
        assert_eq!(s.last().unwrap(), Path::new("x.c"));
        assert!(suffixes("../../etc/passwd").is_none());
    }

    #[test]
    fn tar_sizes() {
        assert_eq!(tar_size(b"00000001750\0"), Some(0o1750));
        let mut b = [0u8; 12];
        b[0] = 0x80;
        b[11] = 5;
        assert_eq!(tar_size(&b), Some(5));
        assert_eq!(tar_size(b"zz\0\0\0\0\0\0\0\0\0\0"), None);
    }
}
