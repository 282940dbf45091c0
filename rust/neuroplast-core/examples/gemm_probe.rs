use neuroplast_core::kernels::gemm::{gemm, Dims, Trans};
use std::time::Instant;
fn main() {
    let threads: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        for &(m, n, k, ta, tb) in &[
            (256usize, 1024usize, 784usize, Trans::No, Trans::Yes),
            (256, 1024, 1024, Trans::No, Trans::Yes),
            (1024, 1024, 256, Trans::Yes, Trans::No),
            (256, 1024, 1024, Trans::No, Trans::No),
            (1024, 784, 256, Trans::Yes, Trans::No),
            (32, 100, 64, Trans::No, Trans::Yes),
            (100, 64, 32, Trans::Yes, Trans::No),
        ] {
            let a = vec![1.0f32; m * k];
            let b = vec![0.5f32; k * n];
            let mut c = vec![0f32; m * n];
            let ad = if ta == Trans::No { Dims { rows: m, cols: k } } else { Dims { rows: k, cols: m } };
            let bd = if tb == Trans::No { Dims { rows: k, cols: n } } else { Dims { rows: n, cols: k } };
            let iters = (2e10 / (2.0 * (m * n * k) as f64)) as usize + 1;
            for _ in 0..3 {
                gemm(&a, ad, ta, &b, bd, tb, &mut c, false, threads);
            }
            let t = Instant::now();
            for _ in 0..iters {
                gemm(&a, ad, ta, &b, bd, tb, &mut c, false, threads);
            }
            let dt = t.elapsed().as_secs_f64() / iters as f64;
            println!(
                "{m}x{n}x{k} {:?}{:?}: {:.1} GFLOP/s ({:.1} us)",
                ta,
                tb,
                2.0 * (m * n * k) as f64 / dt / 1e9,
                dt * 1e6
            );
        }
    });
}
