//! A counting global allocator, for the fuzzer's memory property: no input may make
//! extraction or catalog parsing hold more than [`CAP`] bytes at once, nor ask for more than
//! that in one allocation. It counts every thread (extraction decompresses on a thread of its
//! own) and passes every request on to the system allocator unchanged.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering},
};

/// The memory budget for any input: 64 MiB, as in the design notes.
pub const CAP: usize = 64 << 20;

pub struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments; the counters are
// plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        moved
    }
}

fn grew(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
    LARGEST.fetch_max(size, Ordering::Relaxed);
}

/// Measures one case: what it held at its peak beyond what was held when it started, and its
/// largest single allocation.
pub struct Case {
    base: usize,
}

impl Case {
    pub fn start() -> Self {
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        LARGEST.store(0, Ordering::Relaxed);
        Self { base }
    }

    /// A description of the breach, if the case went over [`CAP`].
    pub fn check(self) -> Result<(), String> {
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(self.base);
        let largest = LARGEST.load(Ordering::Relaxed);
        if peak > CAP || largest > CAP {
            return Err(format!(
                "memory: peak {peak} bytes, largest allocation {largest} bytes, over the {CAP}-byte cap"
            ));
        }
        Ok(())
    }

    /// The peak so far, for the summary line.
    pub fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
    }
}
