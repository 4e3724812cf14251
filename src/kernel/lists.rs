//! Bounded, cycle-detecting walks of kernel linked lists (`list_head`). A corrupt pointer
//! ends the walk with an error that names the head and the bad link, never a hang.

use super::{Kernel, KernelError};
use crate::addr::Kva;
use std::collections::HashSet;

/// The most entries any kernel list walk will return (a guard against cycles that do not
/// pass through the head).
pub const MAX_LIST_ENTRIES: usize = 1 << 22;

/// Result of a list walk: the entries read, and the error that stopped it early, if any.
#[derive(Debug, Default)]
pub struct ListWalk {
    /// Addresses of the `list_head` nodes (not the containing structs).
    pub nodes: Vec<Kva>,
    pub error: Option<KernelError>,
}

impl Kernel {
    /// Walk `head->next` … back to `head`. Stops on a read error, a NULL or misaligned
    /// pointer, a node seen twice (cycle not through the head) or [`MAX_LIST_ENTRIES`].
    pub fn list_walk(&self, head: Kva, what: &str) -> ListWalk {
        let next_off = self.layout().map(|l| l.list_next).unwrap_or(0);
        let mut out = ListWalk::default();
        let mut seen = HashSet::new();
        let mut cur = match self.read_ptr(head.add(next_off), what) {
            Ok(p) => p,
            Err(e) => {
                out.error = Some(e.into());
                return out;
            }
        };
        while cur != head {
            if cur.0 == 0 || cur.0 % 8 != 0 {
                out.error = Some(KernelError::CorruptList {
                    head,
                    why: format!("bad next pointer {cur} in {what}"),
                });
                break;
            }
            if !seen.insert(cur) || out.nodes.len() >= MAX_LIST_ENTRIES {
                out.error = Some(KernelError::CorruptList {
                    head,
                    why: format!("cycle at {cur} in {what} after {} entries", out.nodes.len()),
                });
                break;
            }
            out.nodes.push(cur);
            cur = match self.read_ptr(cur.add(next_off), what) {
                Ok(p) => p,
                Err(e) => {
                    out.error = Some(e.into());
                    break;
                }
            };
        }
        out
    }
}
