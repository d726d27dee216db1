//! The fuzzer's memory property: no case may make the process hold more than [`CAP`] bytes at
//! once, nor ask for more than that in one allocation. Two measures, so that neither can hide
//! the other: the heap, counted by the test kit's global allocator on every thread, and the
//! whole process's peak resident set (`VmHWM` in `/proc/self/status`), which also sees the
//! zstd decoder's C allocations, thread stacks and anything else the allocator never hears of.
//! The resident peak is reset before each case (`5` into `/proc/self/clear_refs`), and what
//! counts is how far it rose above the resident set the case started from (`VmRSS`): the
//! fuzzer's own corpus, and memory the C allocator kept from earlier cases, belong to no case.
//! If the kernel refuses the reset, the peak is the process's lifetime one, which is only
//! stricter.

use std::fs;

use banger_testkit::alloc::Measure;

/// The memory budget for any input: 64 MiB, as in the design notes.
pub const CAP: usize = 64 << 20;

/// Measures one case.
pub struct Case {
    heap: Measure,
    /// The resident set when the case started.
    resident_at_start: usize,
}

/// What a case used at its peak.
#[derive(Clone, Copy, Default)]
pub struct Peak {
    pub heap: usize,
    pub resident: usize,
}

impl Case {
    pub fn start() -> Self {
        // Ignore a refusal: the lifetime peak stays, which can only fail more cases.
        let _ = fs::write("/proc/self/clear_refs", "5");
        Self {
            heap: Measure::start(),
            // Unreadable, it counts as nothing, which can only fail more cases.
            resident_at_start: status_kib("VmRSS:").map_or(0, |kib| kib << 10),
        }
    }

    /// Start again, once the case has made its input: what the fuzzer needs to build an
    /// input is not what the code under test may use.
    pub fn restart(&mut self) {
        *self = Self::start();
    }

    /// The case's peaks, or a description of the breach if it went over [`CAP`].
    pub fn check(self) -> Result<Peak, String> {
        let usage = self.heap.usage();
        let peak = status_kib("VmHWM:")? << 10;
        let resident = peak.saturating_sub(self.resident_at_start);
        if usage.peak > CAP || usage.largest > CAP || resident > CAP {
            return Err(format!(
                "memory: heap peak {} bytes, largest allocation {} bytes, process peak RSS {peak} bytes, {resident} above the {} it started from, over the {CAP}-byte cap",
                usage.peak, usage.largest, self.resident_at_start
            ));
        }
        Ok(Peak {
            heap: usage.peak,
            resident,
        })
    }
}

/// A `/proc/self/status` field of this process (`VmHWM:`, `VmRSS:`), in KiB.
fn status_kib(field: &str) -> Result<usize, String> {
    let status =
        fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|kib| {
            kib.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}
