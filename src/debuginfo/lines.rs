//! Address → source lines with inline frames, via the `addr2line` crate over our gimli
//! sections, plus declaration files of functions.

use super::image::{Image, R};
use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineFrame {
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// This frame is inlined into the next one.
    pub inlined: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub name: String,
    pub low_pc: u64,
    pub high_pc: u64,
    pub decl_file: Option<String>,
    pub decl_line: Option<u32>,
}

impl Image {
    fn line_context(&self) -> Option<&Mutex<addr2line::Context<R>>> {
        self.lines
            .get_or_init(|| {
                addr2line::Context::from_arc_dwarf(self.dwarf.clone())
                    .ok()
                    .map(Mutex::new)
            })
            .as_ref()
    }

    /// Frames at `addr` (a link-time/runtime address of this image), innermost first.
    pub(crate) fn frames(&self, addr: u64) -> Vec<LineFrame> {
        let Some(ctx) = self.line_context() else {
            return Vec::new();
        };
        let ctx = ctx.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        let Ok(mut it) = ctx.find_frames(addr).skip_all_loads() else {
            return out;
        };
        while let Ok(Some(f)) = it.next() {
            let function = f
                .function
                .as_ref()
                .and_then(|n| n.raw_name().ok())
                .map(|s| s.into_owned());
            let (file, line, column) = match f.location {
                Some(l) => (l.file.map(str::to_owned), l.line, l.column),
                None => (None, None, None),
            };
            out.push(LineFrame {
                function,
                file,
                line,
                column,
                inlined: true,
            });
        }
        if let Some(last) = out.last_mut() {
            last.inlined = false;
        }
        out
    }

    /// The file name of entry `index` of a unit's line-program file table.
    pub(crate) fn decl_file(&self, u: usize, index: u64) -> Option<String> {
        let unit = self.unit(u).ok()?;
        let lp = self.line_program(u)?;
        let header = lp.header();
        let file = header.file(index)?;
        let name = self.dwarf.attr_string(unit, file.path_name()).ok()?;
        let name = String::from_utf8_lossy(name.slice()).into_owned();
        if name.starts_with('/') {
            return Some(name);
        }
        let dir = file
            .directory(header)
            .and_then(|d| self.dwarf.attr_string(unit, d).ok())
            .map(|d| String::from_utf8_lossy(d.slice()).into_owned());
        Some(match dir {
            Some(d) if !d.is_empty() => format!("{d}/{name}"),
            _ => name,
        })
    }
}
