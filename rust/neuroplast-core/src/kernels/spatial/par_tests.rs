//! Pooling and batch normalization give bitwise the same results on a 2-thread pool as
//! inline (their partitions never split a reduction).

// Test helpers may unwrap: a failure here is a test failure, not a user-facing panic.
#![allow(clippy::unwrap_used)]

use super::batchnorm::{batch_norm_backward, batch_norm_train, BnShape};
use super::geom::Pool2dGeom;
use super::pool::{avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward};
use crate::parallel::run_in_pool;
use crate::rng::Rng;

fn rand_vec(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| 2.0 * rng.uniform_f32() - 1.0).collect()
}

/// Every output of max/avg pooling forward and backward, for one input.
fn pool_outputs(g: &Pool2dGeom, rows: usize, x: &[f32], dy: &[f32]) -> (Vec<u32>, Vec<Vec<f32>>) {
    let (il, ol) = (g.in_len(), g.out_len());
    let (mut y, mut am, mut ya) = (vec![0.0; rows * ol], vec![0u32; rows * ol], vec![0.0; rows * ol]);
    let (mut dxm, mut dxa) = (x.to_vec(), vec![0.0; rows * il]);
    max_pool_forward(g, x, rows, &mut y, &mut am);
    max_pool_backward(g, dy, &am, rows, &mut dxm, true);
    avg_pool_forward(g, x, rows, &mut ya);
    avg_pool_backward(g, dy, rows, &mut dxa, false);
    (am, vec![y, ya, dxm, dxa])
}

#[test]
fn pooling_is_the_same_on_two_threads() {
    let g = Pool2dGeom::new((3, 9, 8), (3, 2), (2, 2), (1, 1)).unwrap();
    for rows in [1, 2, 5] {
        let mut rng = Rng::new(rows as u64, 1);
        let x = rand_vec(&mut rng, rows * g.in_len());
        let dy = rand_vec(&mut rng, rows * g.out_len());
        let one = pool_outputs(&g, rows, &x, &dy);
        let two = run_in_pool(2, || pool_outputs(&g, rows, &x, &dy)).unwrap();
        assert!(one == two, "rows={rows}");
    }
}

/// Every output of batch-norm training forward and backward, for one input.
fn bn_outputs(shape: BnShape, rows: usize, x: &[f32], dy: &[f32]) -> Vec<Vec<f32>> {
    let c = shape.channels;
    let gamma: Vec<f32> = (0..c).map(|i| 0.5 + i as f32 * 0.1).collect();
    let beta: Vec<f32> = (0..c).map(|i| i as f32 * -0.2).collect();
    let (mut y, mut mean, mut var) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
    batch_norm_train(shape, x, rows, &gamma, &beta, 1e-5, &mut y, &mut mean, &mut var);
    let (mut dg, mut db, mut dx) = (vec![0.0; c], vec![0.0; c], dy.to_vec());
    batch_norm_backward(shape, x, rows, &gamma, &mean, &var, 1e-5, dy, &mut dg, &mut db, Some(&mut dx), true);
    vec![y, mean, var, dg, db, dx]
}

#[test]
fn batch_norm_is_the_same_on_two_threads() {
    for (shape, rows) in [(BnShape { channels: 5, spatial: 12 }, 7), (BnShape { channels: 3, spatial: 1 }, 1)]
    {
        let mut rng = Rng::new(rows as u64, 2);
        let x = rand_vec(&mut rng, rows * shape.channels * shape.spatial);
        let dy = rand_vec(&mut rng, x.len());
        let one = bn_outputs(shape, rows, &x, &dy);
        let two = run_in_pool(2, || bn_outputs(shape, rows, &x, &dy)).unwrap();
        assert!(one == two, "{shape:?} rows={rows}");
    }
}
