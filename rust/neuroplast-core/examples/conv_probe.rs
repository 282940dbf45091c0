//! Convolution throughput probe: forward and forward+backward of typical small-CNN layers
//! (batch 64) on 1 and 2 threads, best-of timings, GFLOP/s counted as `2·MACs` per pass
//! (forward + weight gradient + input gradient = 3 passes; 2 for a first layer, which needs no
//! input gradient).
//!
//! `cargo run --release --example conv_probe -p neuroplast-core [threads...] [layer-substring]`
use neuroplast_core::kernels::spatial::conv::{conv2d_backward, conv2d_forward};
use neuroplast_core::kernels::spatial::Conv2dGeom;
use neuroplast_core::parallel::run_in_pool;
use std::time::Instant;

/// Name, (c_in, c_out, size, kernel, pad, groups), whether the input gradient is needed.
type Layer = (&'static str, (usize, usize, usize, usize, usize, usize), bool);

const LAYERS: [Layer; 5] = [
    ("3x3 32->64 28x28", (32, 64, 28, 3, 1, 1), true),
    ("3x3 32->64 14x14", (32, 64, 14, 3, 1, 1), true),
    ("1x1 64->64 14x14", (64, 64, 14, 1, 0, 1), true),
    ("dw3x3 64 14x14", (64, 64, 14, 3, 1, 64), true),
    ("3x3 1->32 28x28", (1, 32, 28, 3, 1, 1), false),
];

const BATCH: usize = 64;

/// Seconds this thread has run on a CPU (Linux `schedstat`, nanoseconds), if available: on a
/// shared machine it measures one-thread work without the time spent waiting for a core.
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9)
}

/// Best (wall, thread-CPU) seconds per call of `f` over 7 rounds of enough calls to last
/// ~50 ms each.
fn best_time(mut f: impl FnMut()) -> (f64, f64) {
    f();
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-6);
    let iters = ((0.05 / once) as usize).max(1);
    let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
    for _ in 0..7 {
        let (t, c) = (Instant::now(), thread_cpu());
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / iters as f64);
        if let (Some(c0), Some(c1)) = (c, thread_cpu()) {
            best_cpu = best_cpu.min((c1 - c0) / iters as f64);
        }
    }
    (best, best_cpu)
}

fn main() -> neuroplast_core::Result<()> {
    let threads: Vec<usize> = {
        let t: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
        if t.is_empty() {
            vec![1, 2]
        } else {
            t
        }
    };
    // The CPU-time column is the calling thread's only: meaningful for one thread.
    println!("| layer | threads | fwd ms | fwd+bwd ms | fwd+bwd CPU ms (1 thread) | fwd GFLOP/s | fwd+bwd GFLOP/s |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let filter = std::env::args().skip(1).find(|a| a.parse::<usize>().is_err()).unwrap_or_default();
    for &(name, (ci, co, s, k, p, groups), with_dx) in LAYERS.iter().filter(|l| l.0.contains(&filter)) {
        let g = Conv2dGeom::new((ci, s, s), co, (k, k), (1, 1), (p, p), (1, 1), groups)?;
        let x: Vec<f32> =
            (0..BATCH * g.in_len()).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let w: Vec<f32> = (0..g.weight_len()).map(|i| ((i * 104729) % 997) as f32 / 997.0 - 0.5).collect();
        let b = vec![0.1f32; co];
        let mut y = vec![0.0f32; BATCH * g.out_len()];
        let dy: Vec<f32> = (0..y.len()).map(|i| ((i * 31) % 101) as f32 / 101.0 - 0.5).collect();
        let (mut dw, mut db, mut dx) = (vec![0.0f32; w.len()], vec![0.0f32; co], vec![0.0f32; x.len()]);
        let macs = (BATCH * g.out_len() * g.group_in() * k * k) as f64;
        let passes = if with_dx { 3.0 } else { 2.0 };
        for &t in &threads {
            let (tf, tfb) = run_in_pool(t, || {
                let tf = best_time(|| conv2d_forward(&g, &x, BATCH, &w, Some(&b), &mut y, t));
                let tfb = best_time(|| {
                    conv2d_forward(&g, &x, BATCH, &w, Some(&b), &mut y, t);
                    let dxo = with_dx.then_some(&mut dx[..]);
                    conv2d_backward(&g, &x, BATCH, &w, &dy, &mut dw, Some(&mut db), dxo, false, t);
                });
                (tf, tfb)
            })?;
            let ((tf, _), (tfb, cfb)) = (tf, tfb);
            let cpu = if t == 1 && cfb < f64::MAX { format!("{:.2}", cfb * 1e3) } else { "-".into() };
            println!(
                "| {name} | {t} | {:.2} | {:.2} | {cpu} | {:.1} | {:.1} |",
                tf * 1e3,
                tfb * 1e3,
                2.0 * macs / tf / 1e9,
                2.0 * passes * macs / tfb / 1e9
            );
        }
    }
    Ok(())
}
