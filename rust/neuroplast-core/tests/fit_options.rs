//! `fit` options: early stopping with an exact best-epoch restore, and distillation targets
//! (network gradients vs finite differences, alpha = 0 equal to plain training, typed errors).

// Test helpers may unwrap: a failure here is a test failure, not a user-facing panic.
#![allow(clippy::unwrap_used)]

use neuroplast_core::engine::{self, DataRef, EarlyStopping, FitConfig, Graph, Monitor, OptState};
use neuroplast_core::kernels::loss::{SoftTargets, Targets};
use neuroplast_core::kernels::optim::Optimizer;
use neuroplast_core::rng::Rng;
use neuroplast_core::Error;

const MLP: &str = r#"{"input_shape":[4],"output":"out","nodes":[
    {"name":"h","op":"dense","inputs":["input"],"units":8,"activation":"tanh"},
    {"name":"out","op":"dense","inputs":["h"],"units":3}]}"#;

fn setup(n: usize, seed: u64) -> (Graph, Vec<Vec<f32>>, Vec<f32>, Vec<i64>) {
    let g = Graph::from_json(MLP).unwrap();
    let mut rng = Rng::new(seed, 0);
    let p = g.params.iter().map(|p| (0..p.len()).map(|_| rng.uniform_f32() - 0.5).collect()).collect();
    let x: Vec<f32> = (0..n * 4).map(|_| 2.0 * rng.uniform_f32() - 1.0).collect();
    // Noisy labels so that the validation loss turns around and early stopping triggers.
    let y = (0..n)
        .map(|i| if rng.below(3) == 0 { rng.below(3) as i64 } else { i64::from(x[i * 4] > 0.0) })
        .collect();
    (g, p, x, y)
}

fn config(epochs: usize, early_stopping: Option<EarlyStopping>) -> FitConfig {
    let optimizer = Optimizer::Adam {
        lr: 0.05,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled: false,
    };
    FitConfig {
        epochs,
        batch_size: 8,
        seed: 7,
        shuffle: true,
        initial_epoch: 0,
        optimizer,
        threads: 1,
        early_stopping,
        dropout: 0.0,
    }
}

/// Trains on the first 40 samples (validating on the rest); returns params, state and outcome.
fn train(
    targets: Targets<'_>,
    cfg: &FitConfig,
    split: bool,
) -> (Vec<Vec<f32>>, OptState, engine::FitOutcome) {
    let (g, mut p, x, y) = setup(60, 3);
    let mut st = OptState::zeros(&g, &cfg.optimizer);
    let n = if split { 40 } else { 60 };
    let train = DataRef { x: &x[..n * 4], n, targets };
    let val = DataRef { x: &x[160..], n: 20, targets: Targets::Classes(&y[40..]) };
    let masks = vec![None; g.nodes.len()];
    let out = engine::fit(&g, &mut p, &mut st, &train, Some(&val), &masks, cfg, &mut |_| true).unwrap();
    (p, st, out)
}

#[test]
fn early_stopping_restores_exactly_the_best_epoch() {
    let (_, _, _, y) = setup(60, 3);
    let rule = EarlyStopping { monitor: Monitor::ValLoss, patience: 3, min_delta: 0.0, restore_best: true };
    let (p, st, out) = train(Targets::Classes(&y[..40]), &config(200, Some(rule)), true);
    assert!(out.stopped_early, "no early stop in 200 epochs");
    let best = out.best_epoch.unwrap();
    assert_eq!(out.records.len() as u64, best + 4);
    let losses: Vec<f64> = out.records.iter().map(|r| r.val.unwrap().loss).collect();
    assert!(losses.iter().all(|&l| l >= losses[best as usize]));
    // Bitwise the parameters and optimizer state of a run of exactly best + 1 epochs.
    let (p_ref, st_ref, ref_out) = train(Targets::Classes(&y[..40]), &config(best as usize + 1, None), true);
    assert_eq!(p, p_ref);
    assert_eq!(st, st_ref);
    assert_eq!(ref_out.best_epoch, None);
    assert!(!ref_out.stopped_early);
    assert_eq!(ref_out.records[..], out.records[..=best as usize]);
}

#[test]
fn distillation_with_alpha_zero_trains_like_plain_labels() {
    let (_, _, _, y) = setup(60, 3);
    let teacher: Vec<f32> = (0..60 * 3).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
    let soft =
        |alpha| Targets::Distill(SoftTargets { labels: &y, teacher: &teacher, temperature: 3.0, alpha });
    let (p0, s0, o0) = train(Targets::Classes(&y), &config(3, None), false);
    let (p1, s1, o1) = train(soft(0.0), &config(3, None), false);
    assert_eq!((&p0, &s0, &o0), (&p1, &s1, &o1));
    let (p2, _, o2) = train(soft(0.7), &config(3, None), false);
    let (p3, _, o3) = train(soft(0.7), &config(3, None), false);
    assert_eq!((&p2, &o2), (&p3, &o3));
    assert_ne!(p2, p1);
    assert_ne!(o2.records[0].loss, o1.records[0].loss);
}

#[test]
fn distillation_network_gradient_matches_finite_differences() {
    let (g, p, x, y) = setup(12, 5);
    let teacher: Vec<f32> = (0..12 * 3).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
    let targets =
        Targets::Distill(SoftTargets { labels: &y[..12], teacher: &teacher, temperature: 2.0, alpha: 0.6 });
    let data = DataRef { x: &x[..48], n: 12, targets };
    let none = vec![None; g.nodes.len()];
    let (_, grads) = engine::gradients(&g, &p, &none, &data, 1).unwrap();
    let loss = |pp: &[Vec<f32>]| engine::gradients(&g, pp, &none, &data, 1).unwrap().0;
    for (k, gk) in grads.iter().enumerate() {
        for i in 0..gk.len() {
            let h = 1e-2f32;
            let mut pp = p.clone();
            pp[k][i] += h;
            let lp = loss(&pp);
            pp[k][i] -= 2.0 * h;
            let lm = loss(&pp);
            let fd = (lp - lm) / (2.0 * f64::from(h));
            assert!((fd - f64::from(gk[i])).abs() < 1e-3 + 1e-2 * fd.abs(), "{k}/{i}: {fd} vs {}", gk[i]);
        }
    }
}

#[test]
fn invalid_options_give_typed_errors() {
    let (g, p, x, y) = setup(10, 1);
    let none = vec![None; g.nodes.len()];
    let teacher = vec![0.5f32; 30];
    let grads = |t: Targets<'_>| engine::gradients(&g, &p, &none, &DataRef { x: &x, n: 10, targets: t }, 1);
    let with = |teacher: &[f32], temperature, alpha| {
        grads(Targets::Distill(SoftTargets { labels: &y, teacher, temperature, alpha })).map(|_| ())
    };
    assert!(with(&teacher, 4.0, 0.5).is_ok());
    assert!(matches!(with(&teacher[..27], 4.0, 0.5), Err(Error::Shape(_))));
    let mut nan = teacher.clone();
    nan[4] = f32::NAN;
    assert!(matches!(with(&nan, 4.0, 0.5), Err(Error::Data(_))));
    assert!(matches!(with(&teacher, 0.0, 0.5), Err(Error::Config(_))));
    assert!(matches!(with(&teacher, 4.0, 1.5), Err(Error::Config(_))));
    // Early stopping needs validation data.
    let rule = EarlyStopping { monitor: Monitor::ValLoss, patience: 2, min_delta: 0.0, restore_best: true };
    let mut st = OptState::zeros(&g, &config(1, None).optimizer);
    let mut pm = p.clone();
    let data = DataRef { x: &x, n: 10, targets: Targets::Classes(&y) };
    let r = engine::fit(&g, &mut pm, &mut st, &data, None, &none, &config(2, Some(rule)), &mut |_| true);
    assert!(matches!(r, Err(Error::Config(_))), "{r:?}");
}

#[test]
fn weight_masks_fix_the_support_and_ones_change_nothing() {
    let (g, p0, x, y) = setup(40, 5);
    let cfg = config(3, None);
    let data = DataRef { x: &x, n: 40, targets: Targets::Classes(&y) };
    let node_masks = vec![None; g.nodes.len()];
    let run = |wm: &[Option<Vec<f32>>]| {
        let (mut p, mut st) = (p0.clone(), OptState::zeros(&g, &cfg.optimizer));
        engine::fit_masked(&g, &mut p, &mut st, &data, None, &node_masks, wm, &cfg, &mut |_| true).unwrap();
        (p, st)
    };
    let (plain, _) = run(&[]);
    let ones: Vec<Option<Vec<f32>>> = g.params.iter().map(|p| Some(vec![1.0; p.len()])).collect();
    assert_eq!(run(&ones).0, plain);
    // Every other weight of the first layer masked: those stay zero, with zero Adam moments.
    let half: Vec<f32> = (0..g.params[0].len()).map(|i| (i % 2) as f32).collect();
    let mut masks: Vec<Option<Vec<f32>>> = vec![None; g.params.len()];
    masks[0] = Some(half.clone());
    let (p, st) = run(&masks);
    for (i, &m) in half.iter().enumerate() {
        if m == 0.0 {
            assert_eq!(p[0][i], 0.0);
            assert!(st.slots[0].iter().all(|s| s[i] == 0.0));
        } else {
            assert_ne!(p[0][i], p0[0][i]);
        }
    }
    // Wrong length, a non-binary value and a wrong slot count are typed errors.
    let bad_len = vec![Some(vec![1.0; 3]), None, None, None];
    let mut bad_value = masks.clone();
    bad_value[1] = Some(vec![0.5; g.params[1].len()]);
    for wm in [bad_len, bad_value, vec![None]] {
        let (mut p, mut st) = (p0.clone(), OptState::zeros(&g, &cfg.optimizer));
        let err = engine::fit_masked(&g, &mut p, &mut st, &data, None, &node_masks, &wm, &cfg, &mut |_| true);
        assert!(matches!(err, Err(Error::Shape(_) | Error::Config(_))), "{err:?}");
    }
}
