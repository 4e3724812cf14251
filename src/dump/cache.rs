//! A bounded cache of decompressed kdump pages, shared by all reader threads.
//!
//! Sharded by page frame number (16 shards, each behind its own `Mutex`) so parallel readers
//! rarely contend; each shard evicts with the CLOCK algorithm (a cheap LRU approximation:
//! a hit sets a bit, the eviction hand clears bits until it finds a page not used since its
//! last pass). Pages are `Arc<[u8]>` so a reader copies out after the lock is released.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const SHARDS: usize = 16;

struct Slot {
    key: u64,
    page: Arc<[u8]>,
    referenced: bool,
}

#[derive(Default)]
struct Shard {
    index: HashMap<u64, usize>,
    slots: Vec<Slot>,
    hand: usize,
}

/// Decompressed pages keyed by page frame number.
pub(crate) struct PageCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
}

impl PageCache {
    /// A cache holding at most about `capacity` pages (rounded up to a multiple of 16).
    pub(crate) fn new(capacity: usize) -> PageCache {
        PageCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, key: u64) -> &Mutex<Shard> {
        // Neighbouring pages go to different shards.
        &self.shards[(key % SHARDS as u64) as usize]
    }

    pub(crate) fn get(&self, key: u64) -> Option<Arc<[u8]>> {
        // A poisoned lock only means another reader panicked mid-update of plain data.
        let mut s = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        let i = *s.index.get(&key)?;
        let slot = &mut s.slots[i];
        slot.referenced = true;
        Some(slot.page.clone())
    }

    pub(crate) fn insert(&self, key: u64, page: Arc<[u8]>) {
        let cap = self.per_shard;
        let mut guard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut *guard;
        if let Some(&i) = s.index.get(&key) {
            s.slots[i].page = page;
            s.slots[i].referenced = true;
            return;
        }
        if s.slots.len() < cap {
            s.index.insert(key, s.slots.len());
            s.slots.push(Slot {
                key,
                page,
                referenced: false,
            });
            return;
        }
        loop {
            let h = s.hand;
            s.hand = (h + 1) % s.slots.len();
            if s.slots[h].referenced {
                s.slots[h].referenced = false;
                continue;
            }
            s.index.remove(&s.slots[h].key);
            s.index.insert(key, h);
            s.slots[h] = Slot {
                key,
                page,
                referenced: false,
            };
            return;
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap().slots.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(b: u8) -> Arc<[u8]> {
        Arc::from(vec![b; 8])
    }

    #[test]
    fn bounded_and_keeps_hot_pages() {
        let c = PageCache::new(32); // 2 per shard
        for k in 0..1000u64 {
            c.insert(k * 16, page(k as u8)); // all in shard 0
            assert!(c.get(0).is_some(), "page 0 is hot and must survive (k={k})");
        }
        assert!(c.len() <= 32);
        assert_eq!(c.get(999 * 16).unwrap()[0], (999 % 256) as u8);
        assert!(c.get(500 * 16).is_none());
        c.insert(0, page(7));
        assert_eq!(c.get(0).unwrap()[0], 7);
    }
}
