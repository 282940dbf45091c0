//! GEMM throughput probe: faer vs the packed SIMD kernels on the shapes of an MLP training
//! step (batch 256, 784-1024-1024-10), plus a few small ones.
//!
//! `cargo run --release --example gemm_probe -p neuroplast-core [threads] [faer|packed|both]`
//!
//! With `sweep` as second argument, compares faer and the packed path on a grid of smaller
//! shapes instead (interleaved best-of timings), to re-measure the `use_packed` crossover.
//!
//! With `small`, compares faer and the unpacked small-product kernels (one thread) on the
//! products of digits-sized training steps and a few larger ones, to re-measure `use_small`.
//!
//! The packed path uses the AVX-512 kernel on AVX-512 CPUs, the AVX2 kernel elsewhere or when
//! `NEUROPLAST_GEMM_AVX512=0` is set (see `kernels::gemm::packed`).
use neuroplast_core::kernels::gemm::{
    gemm_faer, gemm_packed, gemm_small, isa, use_packed, use_small, Mat, Trans,
};
use std::time::Instant;

type Shape = (usize, usize, usize, Trans, Trans);

const SHAPES: [Shape; 8] = [
    (256, 1024, 784, Trans::No, Trans::Yes),
    (256, 1024, 1024, Trans::No, Trans::Yes),
    (1024, 1024, 256, Trans::Yes, Trans::No),
    (256, 1024, 1024, Trans::No, Trans::No),
    (1024, 784, 256, Trans::Yes, Trans::No),
    (256, 10, 1024, Trans::No, Trans::Yes),
    (32, 100, 64, Trans::No, Trans::Yes),
    (100, 64, 32, Trans::Yes, Trans::No),
];

/// `op(x)` of shape `rows × cols`, stored as is (`No`) or transposed (`Yes`) in `data`.
fn operand(data: &[f32], rows: usize, cols: usize, t: Trans) -> Mat<'_> {
    match t {
        Trans::No => Mat::new(data, rows, cols),
        Trans::Yes => Mat::new(data, cols, rows).t(),
    }
}

/// Best-of-15 seconds per call of `f` and of `g`, interleaved so that background load
/// affects both alike.
fn best_time2(mut f: impl FnMut(), mut g: impl FnMut(), flops: f64, batch_flops: f64) -> (f64, f64) {
    let iters = (batch_flops / flops) as usize + 1;
    f();
    g();
    let (mut bf, mut bg) = (f64::MAX, f64::MAX);
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        bf = bf.min(t.elapsed().as_secs_f64() / iters as f64);
        let t = Instant::now();
        for _ in 0..iters {
            g();
        }
        bg = bg.min(t.elapsed().as_secs_f64() / iters as f64);
    }
    (bf, bg)
}

fn sweep(threads: usize) {
    const GRID: [(usize, usize, usize); 20] = [
        (32, 32, 32),
        (48, 48, 48),
        (64, 64, 64),
        (96, 96, 96),
        (128, 128, 128),
        (192, 192, 192),
        (256, 256, 256),
        (384, 384, 384),
        (32, 256, 256),
        (256, 32, 256),
        (256, 256, 32),
        (64, 512, 64),
        (512, 64, 512),
        (32, 1024, 1024),
        (1024, 32, 1024),
        (256, 10, 1024),
        (64, 100, 784),
        (100, 784, 64),
        (256, 128, 784),
        (128, 512, 512),
    ];
    for (m, n, k) in GRID {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let (mut c1, mut c2) = (vec![0f32; m * n], vec![0f32; m * n]);
        let flops = 2.0 * (m * n * k) as f64;
        let mut line = format!("{m:>5}x{n:>5}x{k:>5}");
        for (ta, tb) in [(Trans::No, Trans::Yes), (Trans::Yes, Trans::No), (Trans::No, Trans::No)] {
            let (am, bm) = (operand(&a, m, k, ta), operand(&b, k, n, tb));
            let (tf, tp) = best_time2(
                || gemm_faer(am, bm, &mut c1, false, threads),
                || {
                    gemm_packed(am, bm, &mut c2, false, threads);
                },
                flops,
                1e8,
            );
            let mark = if tp < tf { '+' } else { '-' };
            line += &format!(
                " | {ta:?}{tb:?} faer {:6.1} packed {:6.1} {mark}",
                flops / tf / 1e9,
                flops / tp / 1e9
            );
        }
        let path = if use_packed(m, n, k, threads) { "packed" } else { "faer" };
        println!("{line} | gemm() -> {path}");
    }
}

/// The products of a 64-100-10 MLP step (forward x·Wᵀ, dW = dZᵀ·x, dX = dZ·W) at batch 32
/// and 128, then larger ones around the `use_small` bound.
fn small_sweep() {
    let mut shapes: Vec<Shape> = Vec::new();
    for b in [32, 128] {
        shapes.extend([
            (b, 100, 64, Trans::No, Trans::Yes),
            (b, 10, 100, Trans::No, Trans::Yes),
            (10, 100, b, Trans::Yes, Trans::No),
            (b, 100, 10, Trans::No, Trans::No),
            (100, 64, b, Trans::Yes, Trans::No),
        ]);
    }
    shapes.extend([
        (256, 10, 1024, Trans::No, Trans::Yes),
        (256, 64, 256, Trans::No, Trans::Yes),
        (64, 256, 256, Trans::Yes, Trans::No),
        (512, 100, 256, Trans::No, Trans::No),
        (1024, 64, 256, Trans::No, Trans::Yes),
        (2048, 64, 784, Trans::No, Trans::Yes),
    ]);
    for (m, n, k, ta, tb) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let (mut c1, mut c2) = (vec![0f32; m * n], vec![0f32; m * n]);
        let (am, bm) = (operand(&a, m, k, ta), operand(&b, k, n, tb));
        let flops = 2.0 * (m * n * k) as f64;
        let (tf, ts) = best_time2(
            || gemm_faer(am, bm, &mut c1, false, 1),
            || {
                gemm_small(am, bm, &mut c2, false);
            },
            flops,
            2e7,
        );
        let route = if use_small(m, n, k, 1) { "small" } else { "faer" };
        println!(
            "{m:>5}x{n:>5}x{k:>5} {ta:?}{tb:?}: faer {:7.2} us {:6.1} GF/s | small {:7.2} us {:6.1} GF/s | x{:.2} | gemm() -> {route}",
            tf * 1e6,
            flops / tf / 1e9,
            ts * 1e6,
            flops / ts / 1e9,
            tf / ts
        );
    }
}

fn main() {
    let threads: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let which = std::env::args().nth(2).unwrap_or_else(|| "both".into());
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("thread pool: {e}");
            return;
        }
    };
    println!("threads={threads} packed kernel={:?}", isa());
    if which == "small" {
        if isa().is_some() {
            pool.install(small_sweep);
        }
        return;
    }
    if which == "sweep" {
        if isa().is_some() {
            pool.install(|| sweep(threads));
        }
        return;
    }
    pool.install(|| {
        for (m, n, k, ta, tb) in SHAPES {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
            let (mut c1, mut c2) = (vec![0f32; m * n], vec![0f32; m * n]);
            let (am, bm) = (operand(&a, m, k, ta), operand(&b, k, n, tb));
            let flops = 2.0 * (m * n * k) as f64;
            let mut line = format!("{m:>5}x{n:>5}x{k:>5} {ta:?}{tb:?}:");
            let (tf, tp) = best_time2(
                || {
                    if which != "packed" {
                        gemm_faer(am, bm, &mut c1, false, threads);
                    }
                },
                || {
                    if which != "faer" {
                        gemm_packed(am, bm, &mut c2, false, threads);
                    }
                },
                flops,
                2e9,
            );
            if which != "packed" {
                line += &format!("  faer {:6.1} GFLOP/s ({:7.1} us)", flops / tf / 1e9, tf * 1e6);
            }
            if which != "faer" && isa().is_some() {
                line += &format!("  packed {:6.1} GFLOP/s ({:7.1} us)", flops / tp / 1e9, tp * 1e6);
            }
            let path = if use_packed(m, n, k, threads) && isa().is_some() { "packed" } else { "faer" };
            println!("{line}  gemm() -> {path}");
        }
    });
}
