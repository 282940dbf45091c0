//! The core's side of the resource policy: a process-wide memory budget per call and a
//! thread-count ceiling, checked *before* anything large is allocated, and fallible
//! allocation ([`Vec::try_reserve_exact`]) so that running out of memory is an
//! [`Error::Resource`], never an abort.
//!
//! The Python package sets both values from `neuroplast.limits` (the documented, configurable
//! policy); the defaults here only matter for Rust callers and are deliberately permissive
//! (`u64::MAX` bytes: the fallible allocation is then the only check).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::error::{Error, Result};

static MAX_BYTES: AtomicU64 = AtomicU64::new(u64::MAX);
static MAX_THREADS: AtomicUsize = AtomicUsize::new(1024);

/// Sets the memory one call may need (bytes) and the largest thread count.
pub fn set_limits(max_bytes: u64, max_threads: usize) {
    MAX_BYTES.store(max_bytes, Ordering::Relaxed);
    MAX_THREADS.store(max_threads.max(1), Ordering::Relaxed);
}

/// The memory one call may need, in bytes.
pub fn max_bytes() -> u64 {
    MAX_BYTES.load(Ordering::Relaxed)
}

/// The largest thread count a call may use.
pub fn max_threads() -> usize {
    MAX_THREADS.load(Ordering::Relaxed)
}

/// Bytes as a short human-readable figure (`"8.2 GB"`).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Bytes of `count` elements of `size` bytes each, saturating (never overflows).
pub fn bytes_of(count: usize, size: usize) -> u64 {
    (count as u64).saturating_mul(size as u64)
}

/// Sum of byte counts, saturating.
pub fn total(parts: &[u64]) -> u64 {
    parts.iter().fold(0u64, |a, &b| a.saturating_add(b))
}

fn refuse(what: &str, bytes: u64, why: &str) -> Error {
    Error::Resource(format!(
        "{what} would need {} ({bytes} bytes), {why} (the max_bytes limit is {}; see \
         neuroplast.limits)",
        human(bytes),
        human(max_bytes())
    ))
}

/// Refuses a call whose working set (`bytes`, an estimate that errs on the high side) exceeds
/// the budget, then checks that the address space can hold it right now (a fallible probe
/// allocation that is released at once: untouched pages cost nothing), so the allocations
/// that follow, including those inside faer, find the room they need.
pub fn ensure(bytes: u64, what: &str) -> Result<()> {
    if bytes > max_bytes() {
        return Err(refuse(what, bytes, "more than allowed"));
    }
    let len =
        usize::try_from(bytes).map_err(|_| refuse(what, bytes, "more than this machine can address"))?;
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(len).map_err(|_| refuse(what, bytes, "but allocating it failed"))?;
    Ok(())
}

/// A zero-filled vector of `len` elements, or [`Error::Resource`] if it cannot be allocated.
pub fn zeros<T: Clone + Default>(len: usize, what: &str) -> Result<Vec<T>> {
    let mut v = with_capacity(len, what)?;
    v.resize(len, T::default());
    Ok(v)
}

/// An empty vector with room for `len` elements, or [`Error::Resource`].
pub fn with_capacity<T>(len: usize, what: &str) -> Result<Vec<T>> {
    let bytes = bytes_of(len, std::mem::size_of::<T>());
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| refuse(what, bytes, "but allocating it failed"))?;
    Ok(v)
}

/// Refuses a thread count above the ceiling.
pub fn check_threads(threads: usize) -> Result<()> {
    let max = max_threads();
    if threads == 0 || threads > max {
        return Err(Error::Resource(format!(
            "the number of threads must be in [1, {max}] (the max_threads limit), got {threads}"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn huge_requests_are_errors_not_aborts() {
        // Beyond any address space: a typed error, not an abort.
        assert!(matches!(zeros::<f64>(usize::MAX / 4, "x"), Err(Error::Resource(_))));
        assert!(matches!(ensure(u64::MAX, "x"), Err(Error::Resource(_))));
        assert_eq!(zeros::<f32>(3, "x").unwrap(), vec![0.0; 3]);
        assert!(ensure(1024, "x").is_ok());
        assert_eq!(bytes_of(usize::MAX, 8), u64::MAX);
        assert_eq!(human(8_192_000_000), "8.2 GB");
        assert!(check_threads(0).is_err());
    }
}
