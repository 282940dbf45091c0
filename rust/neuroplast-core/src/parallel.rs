//! Explicit thread pools. Work runs inside a pool of exactly the requested size, so faer and
//! our own rayon loops never oversubscribe the machine, and results depend only on that size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Error, Result};

fn pools() -> &'static Mutex<HashMap<usize, Arc<ThreadPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn pool(threads: usize) -> Result<Arc<ThreadPool>> {
    let mut map = pools().lock().map_err(|_| Error::Numerical("thread-pool registry poisoned".into()))?;
    if let Some(p) = map.get(&threads) {
        return Ok(Arc::clone(p));
    }
    let p = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("neuroplast-{i}"))
        .build()
        .map_err(|e| Error::Config(format!("cannot start {threads} threads: {e}")))?;
    let p = Arc::new(p);
    map.insert(threads, Arc::clone(&p));
    Ok(p)
}

/// Runs `f` inside a rayon pool of `threads` threads (cached per size).
pub fn run_in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    if threads == 0 {
        return Err(Error::Config("the number of threads must be at least 1".into()));
    }
    if threads == 1 {
        // Every parallel kernel runs sequentially for one thread, so skip the hand-off to a
        // pool worker (its wake-up costs far more than a small network's whole epoch).
        return Ok(f());
    }
    Ok(pool(threads)?.install(f))
}
