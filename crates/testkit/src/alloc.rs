//! A counting global allocator, for memory and work properties: what a piece of code held at
//! its peak, its largest single request, and how many allocations it made. It counts every
//! thread (extraction decompresses on a thread of its own) and passes every request on to the
//! system allocator unchanged. A test binary or the fuzzer installs it with
//! `#[global_allocator] static A: Counting = Counting;` and brackets the code with
//! [`Measure::start`].

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering},
};

pub struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

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
    COUNT.fetch_add(1, Ordering::Relaxed);
}

/// One measurement, from [`Measure::start`] on. The counters are global: measure one thing at
/// a time.
pub struct Measure {
    base: usize,
    count: usize,
}

/// What a [`Measure`] saw.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// Most bytes held at once beyond what was held at the start.
    pub peak: usize,
    /// The largest single allocation.
    pub largest: usize,
    /// How many allocations were made.
    pub allocations: usize,
}

impl Measure {
    pub fn start() -> Self {
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        LARGEST.store(0, Ordering::Relaxed);
        Self {
            base,
            count: COUNT.load(Ordering::Relaxed),
        }
    }

    /// What was used since the start.
    pub fn usage(&self) -> Usage {
        Usage {
            peak: PEAK.load(Ordering::Relaxed).saturating_sub(self.base),
            largest: LARGEST.load(Ordering::Relaxed),
            allocations: COUNT.load(Ordering::Relaxed) - self.count,
        }
    }
}
