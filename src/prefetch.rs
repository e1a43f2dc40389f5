//! A cache prefetch hint for loops that walk memory faster than the hardware
//! prefetcher fetches it.
//!
//! Walking a pcap file's bytes, each record's position comes from the one
//! before, so the loop waits on memory record after record: the hardware
//! prefetcher did not keep ahead of it (measured: some 35-40 % of a `count -r`
//! waited on those loads). Asking for the bytes a kilobyte ahead hides the
//! wait (`docs/performance.md`).
//!
//! The crate's one `unsafe` block (the lint denies it everywhere else; capture
//! files are read, no longer memory-mapped, see `source::blocks`): Rust's safe prefetch
//! (`std::hint::prefetch_read`) is not yet stable, and a crate for one
//! instruction would hide the same block.

/// Bytes in a cache line of the CPUs the hint is for: what one hint brings in.
pub const CACHE_LINE: usize = 64;

/// Asks the CPU to bring `items[at]` into the first-level cache, if there is
/// such an element. Only a hint: no effect on results, and none at all on
/// targets other than x86-64.
#[inline(always)]
pub fn prefetch<T>(items: &[T], at: usize) {
    if let Some(item) = items.get(at) {
        hint(std::ptr::from_ref(item).cast());
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[inline(always)]
fn hint(p: *const i8) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: `p` points into a live slice, and a prefetch never faults or
    // changes memory in any case; the call is `unsafe` only because SSE is a
    // target feature, and SSE is part of every x86-64 CPU.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn hint(_: *const i8) {}

#[cfg(test)]
mod tests {
    use super::prefetch;

    #[test]
    fn any_position_is_fine_and_changes_nothing() {
        let bytes = [1u8, 2, 3];
        for at in [0, 2, 3, usize::MAX] {
            prefetch(&bytes, at);
        }
        prefetch::<u64>(&[], 0);
        assert_eq!(bytes, [1, 2, 3]);
    }
}
