//! Finding debug info without being told where: the vmlinux and module files for a dump's
//! release and build-ids, in the places distributions install them, matched by what the
//! files are (build-id, module name), never by their file names alone.
//!
//! Places, in order (each distribution path under [`Search::sysroot`], `/` normally):
//! - each directory of [`Search::debug_path`] (`QUIESCE_DEBUG_PATH`), as a debug root and as a
//!   flat directory of files;
//! - `/usr/lib/debug`: `.build-id/xx/rest.debug` (Fedora/RHEL and Debian's build-id links),
//!   `boot/vmlinux-REL` (Debian's `linux-image-*-dbg`), `lib/modules/REL/vmlinux`
//!   (Fedora/RHEL's `kernel-debuginfo`), `lib/modules/REL/**.ko[.debug]` for modules;
//! - `/boot/vmlinux-REL`, `/lib/modules/REL/{vmlinux,build/vmlinux}`, and the installed
//!   modules `/lib/modules/REL/**.ko[.xz|.zst|.gz]` (used only when nothing with DWARF is
//!   found: Debian strips them);
//! - last, a [`Fetcher`] (debuginfod) by build-id.
//!
//! Every candidate rejected, and why, is kept: a found file comes with the skipped ones (to
//! warn about), and nothing found is an error listing every place looked.

use super::elfid::{self, KoIdentity, hex, module_key, module_stem, same_build_id};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where to look.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Prefix of the distribution paths: `/`, or `QUIESCE_SYSROOT` (a tree laid out like a
    /// system's root, e.g. an unpacked `-dbg` package).
    pub sysroot: PathBuf,
    /// Extra directories searched first (`QUIESCE_DEBUG_PATH`, `:`-separated).
    pub debug_path: Vec<PathBuf>,
}

impl Search {
    /// From `QUIESCE_SYSROOT` (default `/`) and `QUIESCE_DEBUG_PATH`.
    pub fn from_env() -> Search {
        let sysroot = std::env::var_os("QUIESCE_SYSROOT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let debug_path = std::env::var_os("QUIESCE_DEBUG_PATH")
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Search {
            sysroot,
            debug_path,
        }
    }

    /// A distribution path under the sysroot.
    fn sys(&self, abs: &str) -> PathBuf {
        self.sysroot.join(abs.trim_start_matches('/'))
    }

    /// Debug roots: the `QUIESCE_DEBUG_PATH` directories, then `/usr/lib/debug`.
    fn debug_roots(&self) -> Vec<PathBuf> {
        let mut v = self.debug_path.clone();
        v.push(self.sys("/usr/lib/debug"));
        v
    }
}

/// Fetches a debug file by build-id (debuginfod).
pub trait Fetcher {
    /// The file for `build_id`, downloaded or from a cache; `what` names it in progress
    /// output (`vmlinux`, `module quiesce_hang`).
    fn fetch(&self, build_id: &[u8], what: &str) -> Result<PathBuf, String>;
    /// Where it fetches from, for "where looked".
    fn describe(&self) -> String;
}

/// A place looked and why nothing there was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    pub place: String,
    pub why: String,
}

impl fmt::Display for Looked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.why)
    }
}

/// A found file and the candidates skipped before it (present but wrong).
#[derive(Debug, Clone)]
pub struct Located {
    pub path: PathBuf,
    pub skipped: Vec<Looked>,
}

/// Nothing usable found: every place looked, with why.
#[derive(Debug, Clone)]
pub struct NotFound {
    pub what: String,
    pub looked: Vec<Looked>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no {} found; looked at:", self.what)?;
        for l in &self.looked {
            write!(f, "\n  {l}")?;
        }
        write!(
            f,
            "\n(give it with -s, add a directory to QUIESCE_DEBUG_PATH, or set DEBUGINFOD_URLS)"
        )
    }
}

impl std::error::Error for NotFound {}

fn build_id_path(root: &Path, id: &[u8]) -> Option<PathBuf> {
    let h = hex(id);
    (h.len() > 2).then(|| {
        root.join(".build-id")
            .join(&h[..2])
            .join(format!("{}.debug", &h[2..]))
    })
}

/// The vmlinux candidates for a release and build-id, in search order, without duplicates.
pub fn vmlinux_candidates(
    s: &Search,
    release: Option<&str>,
    build_id: Option<&[u8]>,
) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for (i, root) in s.debug_roots().iter().enumerate() {
        let flat = i < s.debug_path.len();
        if let Some(p) = build_id.and_then(|b| build_id_path(root, b)) {
            v.push(p);
        }
        if let Some(rel) = release {
            v.push(root.join(format!("boot/vmlinux-{rel}")));
            v.push(root.join(format!("lib/modules/{rel}/vmlinux")));
            if flat {
                v.push(root.join(format!("vmlinux-{rel}")));
                v.push(root.join(rel).join("vmlinux"));
            }
        }
        if flat {
            v.push(root.join("vmlinux"));
        }
    }
    if let Some(rel) = release {
        v.push(s.sys(&format!("/boot/vmlinux-{rel}")));
        v.push(s.sys(&format!("/lib/modules/{rel}/vmlinux")));
        v.push(s.sys(&format!("/lib/modules/{rel}/build/vmlinux")));
    }
    let mut seen = HashSet::new();
    v.retain(|p| seen.insert(p.clone()));
    v
}

/// Find the vmlinux of a dump with this release and build-id (either may be unknown; with
/// neither, nothing can be matched). A candidate is used when it is a vmlinux with DWARF and
/// its build-id equals the dump's (or, when the dump records none, its banner's release does).
pub fn vmlinux(
    s: &Search,
    release: Option<&str>,
    build_id: Option<&[u8]>,
    fetcher: Option<&dyn Fetcher>,
) -> Result<Located, NotFound> {
    let what = format!(
        "vmlinux with debug info for {}",
        match (release, build_id) {
            (Some(r), Some(b)) => format!("release {r} (build-id {})", hex(b)),
            (Some(r), None) => format!("release {r}"),
            (None, Some(b)) => format!("build-id {}", hex(b)),
            (None, None) => "a dump with no release or build-id in its VMCOREINFO".into(),
        }
    );
    let mut looked = Vec::new();
    let mut skipped = Vec::new();
    if release.is_none() && build_id.is_none() {
        return Err(NotFound { what, looked });
    }
    for p in vmlinux_candidates(s, release, build_id) {
        let place = p.display().to_string();
        if !p.exists() {
            looked.push(Looked {
                place,
                why: "absent".into(),
            });
            continue;
        }
        match check_vmlinux(&p, release, build_id) {
            Ok(()) => return Ok(Located { path: p, skipped }),
            Err(why) => {
                let l = Looked { place, why };
                skipped.push(l.clone());
                looked.push(l);
            }
        }
    }
    if let (Some(f), Some(b)) = (fetcher, build_id) {
        match f
            .fetch(b, "vmlinux")
            .and_then(|p| check_vmlinux(&p, release, build_id).map(|()| p))
        {
            Ok(path) => return Ok(Located { path, skipped }),
            Err(why) => looked.push(Looked {
                place: f.describe(),
                why,
            }),
        }
    }
    Err(NotFound { what, looked })
}

fn check_vmlinux(p: &Path, release: Option<&str>, build_id: Option<&[u8]>) -> Result<(), String> {
    let id = elfid::vmlinux_identity(p)?;
    match (build_id, &id.build_id) {
        (Some(want), Some(have)) if !same_build_id(want, have) => {
            return Err(format!(
                "wrong build-id {} (the dump's is {})",
                hex(have),
                hex(want)
            ));
        }
        (Some(_), Some(_)) => return Ok(()),
        _ => {}
    }
    match (release, &id.release) {
        (Some(want), Some(have)) if want != have => {
            Err(format!("release {have} (the dump is release {want})"))
        }
        (Some(_), Some(_)) => Ok(()),
        _ => Err(
            "cannot tell whether it matches the dump (no build-id or release to compare)".into(),
        ),
    }
}

/// A loaded module whose debug info is wanted.
#[derive(Debug, Clone)]
pub struct WantedModule {
    pub name: String,
    /// The loaded module's build-id, when the dump records it.
    pub build_id: Option<Vec<u8>>,
}

/// Module files found.
#[derive(Debug, Default)]
pub struct ModulesLocated {
    /// Wanted module name → a plain (uncompressed) file to load.
    pub found: HashMap<String, PathBuf>,
    /// Candidates present but not used, and why.
    pub skipped: Vec<Looked>,
    /// Wanted modules with no file, in the order wanted.
    pub missing: Vec<String>,
    /// The directories and services searched, for the message about missing ones.
    pub places: Vec<String>,
}

/// Directories walked for module files, and files read by content, are bounded.
const MAX_DIR_ENTRIES: usize = 200_000;
const MAX_CONTENT_SCAN: usize = 4096;
const MAX_CONTENT_SCAN_PACKED: usize = 64;

/// Files under `dir` whose names look like modules (depth-bounded, sorted, bounded count).
fn module_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: u32, seen: &mut usize, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            *seen += 1;
            if *seen > MAX_DIR_ENTRIES {
                return;
            }
            if p.is_dir() {
                // `.build-id` trees are reached by build-id, not walked.
                if depth > 0 && p.file_name().is_none_or(|n| n != ".build-id") {
                    walk(&p, depth - 1, seen, out);
                }
            } else if elfid::is_module_file_name(&p) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, 8, &mut 0, &mut out);
    out
}

/// The state of one module search.
struct ModSearch<'a> {
    wanted: &'a [WantedModule],
    by_key: HashMap<String, usize>,
    by_id: HashMap<Vec<u8>, usize>,
    found: Vec<Option<PathBuf>>,
    /// A file without DWARF (installed, stripped modules): used only if nothing better.
    fallback: Vec<Option<PathBuf>>,
    tried: HashSet<PathBuf>,
    skipped: Vec<Looked>,
    /// Scanning directories by content: files of modules not loaded are not worth a warning.
    scanning: bool,
}

impl ModSearch<'_> {
    fn missing(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.wanted.len()).filter(|&i| self.found[i].is_none())
    }

    /// Read `p` and, if it is the debug info of a wanted module still missing, take it.
    /// `hint`: the module this file was picked for (by file name or build-id path), if any.
    fn try_file(&mut self, p: &Path, hint: Option<usize>) {
        let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        if !self.tried.insert(canon) {
            return;
        }
        let skip = |why: String| Looked {
            place: p.display().to_string(),
            why,
        };
        let data = match elfid::read_module(p) {
            Ok(d) => d,
            Err(e) => {
                self.skipped.push(skip(e));
                return;
            }
        };
        let id = match elfid::ko_identity(&data) {
            Ok(id) => id,
            Err(e) => {
                self.skipped.push(skip(e));
                return;
            }
        };
        let Some(i) = self.which(&id, p, hint) else {
            if self.scanning && hint.is_none() {
                return;
            }
            if let Some(n) = &id.name {
                let why = match hint {
                    Some(h) => format!("it is module {n}, not {}", self.wanted[h].name),
                    None => format!("module {n} is not loaded in the dump"),
                };
                self.skipped.push(skip(why));
            } else if hint.is_some() || id.build_id.is_some() {
                self.skipped.push(skip(match &id.build_id {
                    Some(b) => format!("build-id {} matches no loaded module", hex(b)),
                    None => "no module name or build-id to match it by".into(),
                }));
            }
            return;
        };
        let w = &self.wanted[i];
        if let (Some(want), Some(have)) = (&w.build_id, &id.build_id)
            && !same_build_id(want, have)
        {
            self.skipped.push(skip(format!(
                "module {}: wrong build-id {} (the loaded module's is {})",
                w.name,
                hex(have),
                hex(want)
            )));
            return;
        }
        if self.found[i].is_some() {
            return;
        }
        let usable = match elfid::usable_module_file(p, &data, &id) {
            Ok(u) => u,
            Err(e) => {
                self.skipped.push(skip(e));
                return;
            }
        };
        if has_dwarf(&data) {
            self.found[i] = Some(usable);
        } else if self.fallback[i].is_none() {
            self.fallback[i] = Some(usable);
        }
    }

    /// Which wanted module a file is: by its own name, else its build-id, else (split debug
    /// files, which carry neither name section) the module it was picked for by file name.
    fn which(&self, id: &KoIdentity, p: &Path, hint: Option<usize>) -> Option<usize> {
        if let Some(n) = &id.name {
            return self.by_key.get(&module_key(n)).copied();
        }
        if let Some(b) = &id.build_id
            && let Some((_, &i)) = self.by_id.iter().find(|(k, _)| same_build_id(k, b))
        {
            return Some(i);
        }
        if id.build_id.is_none() {
            let stem = module_stem(p).map(module_key);
            return hint.filter(|&h| stem.as_deref() == Some(&module_key(&self.wanted[h].name)));
        }
        None
    }
}

fn has_dwarf(data: &[u8]) -> bool {
    use object::{Object, ObjectSection};
    object::File::parse(data)
        .ok()
        .and_then(|o| o.section_by_name(".debug_info").map(|s| s.size() > 0))
        .unwrap_or(false)
}

/// Find debug files for the wanted modules. `explicit` are the `-s` module files and
/// directories (files are judged by content whatever their names). Then the search's
/// directories, matched first by file name, then by build-id path, then (explicit and
/// `QUIESCE_DEBUG_PATH` directories only) by reading each module file's identity; last the
/// fetcher, by build-id.
pub fn modules(
    s: &Search,
    release: Option<&str>,
    explicit: &[PathBuf],
    wanted: &[WantedModule],
    fetcher: Option<&dyn Fetcher>,
) -> ModulesLocated {
    let mut st = ModSearch {
        wanted,
        by_key: wanted
            .iter()
            .enumerate()
            .map(|(i, w)| (module_key(&w.name), i))
            .collect(),
        by_id: wanted
            .iter()
            .enumerate()
            .filter_map(|(i, w)| Some((w.build_id.clone()?, i)))
            .collect(),
        found: vec![None; wanted.len()],
        fallback: vec![None; wanted.len()],
        tried: HashSet::new(),
        skipped: Vec::new(),
        scanning: false,
    };
    let mut places = Vec::new();
    // 1. Files named on the command line.
    for p in explicit.iter().filter(|p| !p.is_dir()) {
        places.push(p.display().to_string());
        st.try_file(p, None);
    }
    // 2. Directories, by file name.
    let mut scan_dirs: Vec<PathBuf> = explicit.iter().filter(|p| p.is_dir()).cloned().collect();
    scan_dirs.extend(s.debug_path.iter().cloned());
    let mut dirs = scan_dirs.clone();
    if let Some(rel) = release {
        dirs.push(s.sys(&format!("/usr/lib/debug/lib/modules/{rel}")));
        dirs.push(s.sys(&format!("/lib/modules/{rel}")));
    }
    let mut listed: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for d in &dirs {
        if listed.iter().any(|(x, _)| x == d) {
            continue;
        }
        places.push(if d.is_dir() {
            format!("{}/", d.display())
        } else {
            format!("{} (absent)", d.display())
        });
        listed.push((d.clone(), module_files(d)));
    }
    if st.missing().next().is_none() {
        return finish(st, places);
    }
    for (_, files) in &listed {
        for f in files {
            let Some(stem) = module_stem(f).map(module_key) else {
                continue;
            };
            if let Some(&i) = st.by_key.get(&stem)
                && st.found[i].is_none()
            {
                st.try_file(f, Some(i));
            }
        }
    }
    // 3. Build-id paths.
    for root in s.debug_roots() {
        let todo: Vec<usize> = st.missing().collect();
        for i in todo {
            if let Some(p) = wanted[i]
                .build_id
                .as_ref()
                .and_then(|b| build_id_path(&root, b))
                && p.exists()
            {
                st.try_file(&p, Some(i));
            }
        }
        places.push(format!("{}/.build-id/", root.display()));
    }
    // 4. Every module file in the explicit and QUIESCE_DEBUG_PATH directories, by content
    //    (bounded: compressed files cost a decompression each).
    let (mut budget, mut packed_budget) = (MAX_CONTENT_SCAN, MAX_CONTENT_SCAN_PACKED);
    st.scanning = true;
    for (d, files) in &listed {
        if !scan_dirs.contains(d) {
            continue;
        }
        for f in files {
            if st.missing().next().is_none() || budget == 0 {
                break;
            }
            if elfid::Packing::of(f) != elfid::Packing::Plain {
                if packed_budget == 0 {
                    continue;
                }
                packed_budget -= 1;
            }
            budget -= 1;
            st.try_file(f, None);
        }
    }
    st.scanning = false;
    // 5. The fetcher, by build-id.
    if let Some(fetcher) = fetcher {
        places.push(fetcher.describe());
        let todo: Vec<usize> = st.missing().collect();
        for i in todo {
            let w = &wanted[i];
            let Some(b) = &w.build_id else { continue };
            match fetcher.fetch(b, &format!("module {}", w.name)) {
                Ok(p) => st.try_file(&p, Some(i)),
                Err(why) => st.skipped.push(Looked {
                    place: format!("{} (module {})", fetcher.describe(), w.name),
                    why,
                }),
            }
        }
    }
    finish(st, places)
}

fn finish(st: ModSearch<'_>, places: Vec<String>) -> ModulesLocated {
    let mut out = ModulesLocated {
        skipped: st.skipped,
        places,
        ..Default::default()
    };
    for (i, w) in st.wanted.iter().enumerate() {
        match st.found[i].clone().or_else(|| st.fallback[i].clone()) {
            Some(p) => {
                out.found.insert(w.name.clone(), p);
            }
            None => out.missing.push(w.name.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmlinux_places_in_order() {
        let s = Search {
            sysroot: PathBuf::from("/sr"),
            debug_path: vec![PathBuf::from("/dp")],
        };
        let c = vmlinux_candidates(&s, Some("6.1.0-1-amd64"), Some(&[0xab, 0xcd, 0xef]));
        let c: Vec<String> = c.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            c,
            [
                "/dp/.build-id/ab/cdef.debug",
                "/dp/boot/vmlinux-6.1.0-1-amd64",
                "/dp/lib/modules/6.1.0-1-amd64/vmlinux",
                "/dp/vmlinux-6.1.0-1-amd64",
                "/dp/6.1.0-1-amd64/vmlinux",
                "/dp/vmlinux",
                "/sr/usr/lib/debug/.build-id/ab/cdef.debug",
                "/sr/usr/lib/debug/boot/vmlinux-6.1.0-1-amd64",
                "/sr/usr/lib/debug/lib/modules/6.1.0-1-amd64/vmlinux",
                "/sr/boot/vmlinux-6.1.0-1-amd64",
                "/sr/lib/modules/6.1.0-1-amd64/vmlinux",
                "/sr/lib/modules/6.1.0-1-amd64/build/vmlinux",
            ]
        );
    }

    #[test]
    fn nothing_found_says_where_it_looked() {
        let dir = std::env::temp_dir().join(format!("quiesce-locate-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("usr/lib/debug/boot")).unwrap();
        let junk = dir.join("usr/lib/debug/boot/vmlinux-9.9");
        std::fs::write(&junk, b"not an elf").unwrap();
        let s = Search {
            sysroot: dir.clone(),
            debug_path: vec![],
        };
        let e = vmlinux(&s, Some("9.9"), None, None).unwrap_err();
        let text = e.to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            text.contains(&format!("{}: not an ELF file", junk.display())),
            "{text}"
        );
        assert!(text.contains("lib/modules/9.9/vmlinux: absent"), "{text}");
        assert!(
            text.starts_with("no vmlinux with debug info for release 9.9"),
            "{text}"
        );
    }
}
