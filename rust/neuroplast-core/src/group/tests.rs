use super::expand::Expansion;
use super::relax::{channel_sources, consumer_sources, layer_sources};
use super::*;
use crate::rng::Rng;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed, 0);
    (0..n).map(|_| (rng.next_u64() % 2001) as f32 / 1000.0 - 1.0).collect()
}

#[test]
fn every_candidate_is_a_group_with_consistent_tables() {
    for g in ALL {
        let n = g.order();
        let table = g.cayley();
        let inv = g.inverses();
        assert!(table.iter().all(|&x| x < n), "{g:?} is not closed");
        for i in 0..n {
            assert_eq!(table[i], i);
            assert_eq!(table[i * n], i);
            assert_eq!(table[i * n + inv[i]], 0);
            // Latin square: every row is a permutation.
            let mut row: Vec<_> = table[i * n..(i + 1) * n].to_vec();
            row.sort_unstable();
            assert_eq!(row, (0..n).collect::<Vec<_>>());
        }
        for a in 0..n {
            for b in 0..n {
                for c in 0..n {
                    assert_eq!(table[table[a * n + b] * n + c], table[a * n + table[b * n + c]]);
                }
            }
        }
    }
}

#[test]
fn grid_action_is_a_homomorphism_of_permutations() {
    for k in [1, 2, 3, 4, 5] {
        for a in 0..8 {
            for b in 0..8 {
                let (pa, pb, pab) =
                    (grid_permutation(a, k), grid_permutation(b, k), grid_permutation(compose(a, b), k));
                let composed: Vec<usize> = pa.iter().map(|&p| pb[p]).collect();
                assert_eq!(composed, pab, "k={k} a={a} b={b}");
            }
        }
        assert_eq!(grid_permutation(0, k), (0..k * k).collect::<Vec<_>>());
    }
    // rot90 of [[0, 1], [2, 3]] is [[1, 3], [0, 2]]; fliplr is [[1, 0], [3, 2]].
    assert_eq!(grid_permutation(1, 2), vec![1, 3, 0, 2]);
    assert_eq!(grid_permutation(4, 2), vec![1, 0, 3, 2]);
}

#[test]
fn lattice_edges_are_maximal_subgroups_with_the_right_index() {
    let mut edges = 0;
    for g in ALL {
        for &h in g.maximal_subgroups() {
            assert!(h.is_subgroup_of(g) && h != g);
            assert_eq!(h.coset_representatives(g).len(), g.order() / h.order());
            assert_eq!(h.coset_representatives(g)[0], 0);
            edges += 1;
        }
    }
    assert_eq!(edges, 7);
    assert!(!PointGroup::C4.is_subgroup_of(PointGroup::D2));
    assert!(!PointGroup::D1.is_subgroup_of(PointGroup::C2));
    assert_eq!(PointGroup::parse("d4"), Ok(PointGroup::D4));
    assert!(PointGroup::parse("C3").is_err());
}

fn expanded(e: &Expansion, w: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; e.expanded_len()];
    e.gather(w, &mut out);
    out
}

/// Kernel `a` with rows and columns permuted: `out[r, c] = a[rows[r], cols[c]]`.
fn permuted(a: &[f32], rows: &[usize], cols: &[usize], kk: usize) -> Vec<f32> {
    let n_in = cols.len();
    let mut out = Vec::with_capacity(a.len());
    for &r in rows {
        for &c in cols {
            out.extend_from_slice(&a[(r * n_in + c) * kk..(r * n_in + c + 1) * kk]);
        }
    }
    out
}

#[test]
fn relaxed_lifting_and_group_layers_expand_to_the_permuted_kernel() -> crate::Result<()> {
    let (c_out, c_in, k) = (2, 3, 3);
    for from in ALL {
        for &to in from.maximal_subgroups() {
            let rows = channel_sources(from, to, c_out)?;
            let lift = Expansion::lift(from, c_out, c_in, k)?;
            let w = random(lift.stored_len, 1);
            let src = layer_sources(None, from, to, c_out, c_in, k)?;
            let w_new: Vec<f32> = src.iter().map(|&s| w[s]).collect();
            let lift_new = Expansion::lift(to, c_out * from.order() / to.order(), c_in, k)?;
            let cols: Vec<usize> = (0..c_in).collect();
            assert_eq!(expanded(&lift_new, &w_new), permuted(&expanded(&lift, &w), &rows, &cols, k * k));
            for g_in in ALL.into_iter().filter(|g| from.is_subgroup_of(*g)) {
                let old = Expansion::group(from, g_in, c_out, c_in, k)?;
                let w = random(old.stored_len, 2);
                let src = layer_sources(Some(g_in), from, to, c_out, c_in, k)?;
                let w_new: Vec<f32> = src.iter().map(|&s| w[s]).collect();
                let new = Expansion::group(to, g_in, c_out * from.order() / to.order(), c_in, k)?;
                assert_eq!(new.stored_len, w_new.len());
                let cols: Vec<usize> = (0..c_in * g_in.order()).collect();
                assert_eq!(expanded(&new, &w_new), permuted(&expanded(&old, &w), &rows, &cols, k * k));
            }
        }
    }
    Ok(())
}

#[test]
fn consumer_of_a_relaxed_layer_reads_the_permuted_channels() -> crate::Result<()> {
    let (c_out, c_in, k) = (2, 2, 3);
    for from in ALL {
        for &to in from.maximal_subgroups() {
            let cols = channel_sources(from, to, c_in)?;
            for g in ALL.into_iter().filter(|g| g.is_subgroup_of(to)) {
                let old = Expansion::group(g, from, c_out, c_in, k)?;
                let w = random(old.stored_len, 3);
                let src = consumer_sources(g, from, to, c_out, c_in, k)?;
                let mut sorted = src.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..w.len()).collect::<Vec<_>>(), "not a permutation");
                let w_new: Vec<f32> = src.iter().map(|&s| w[s]).collect();
                let new = Expansion::group(g, to, c_out, c_in * from.order() / to.order(), k)?;
                let rows: Vec<usize> = (0..c_out * g.order()).collect();
                assert_eq!(expanded(&new, &w_new), permuted(&expanded(&old, &w), &rows, &cols, k * k));
            }
        }
    }
    Ok(())
}

#[test]
fn mixed_kernel_with_one_hot_weights_is_the_candidate_expansion() -> crate::Result<()> {
    use super::mixed::{mixed_kernel, MixedCache};
    let (width, c_in, k) = (8, 8, 3);
    let cands: Vec<Expansion> = ALL
        .iter()
        .map(|&g| Expansion::group(g, g, width / g.order(), c_in / g.order(), k))
        .collect::<Result<_>>()?;
    let vs: Vec<Vec<f32>> =
        cands.iter().enumerate().map(|(i, c)| random(c.stored_len, 10 + i as u64)).collect();
    let gs: Vec<Vec<f32>> = ALL.iter().map(|g| vec![0.5; width / g.order()]).collect();
    let (vr, gr): (Vec<&[f32]>, Vec<&[f32]>) =
        (vs.iter().map(|v| &v[..]).collect(), gs.iter().map(|g| &g[..]).collect());
    for hot in 0..cands.len() {
        let logits: Vec<f32> = (0..cands.len()).map(|i| if i == hot { 0.0 } else { -1e4 }).collect();
        let mut cache = MixedCache::default();
        let mut out = vec![0.0; cands[0].expanded_len()];
        mixed_kernel(&cands, &logits, &vr, &gr, &mut cache, &mut out);
        assert_eq!(cache.z[hot], 1.0);
        assert_eq!(out, expanded(&cands[hot], &cache.psi[hot]));
    }
    Ok(())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any lattice edge, channel counts, kernel size and input group: the relaxed layer's
    /// expanded kernel is the old one with its rows permuted, bit for bit.
    #[test]
    fn relaxation_permutes_the_expanded_kernel(
        edge in 0usize..7, c_out in 1usize..4, c_in in 1usize..3, k in 0usize..3, g_in in 0usize..6, seed in 0u64..1000,
    ) {
        let edges: Vec<(PointGroup, PointGroup)> =
            ALL.iter().flat_map(|&g| g.maximal_subgroups().iter().map(move |&h| (g, h))).collect();
        let (from, to) = edges[edge];
        let k = 2 * k + 1;
        let g_in = ALL.iter().copied().filter(|g| from.is_subgroup_of(*g)).cycle().nth(g_in).unwrap_or(from);
        let rows = channel_sources(from, to, c_out).unwrap_or_default();
        let old = Expansion::group(from, g_in, c_out, c_in, k);
        let new = Expansion::group(to, g_in, c_out * from.order() / to.order(), c_in, k);
        let src = layer_sources(Some(g_in), from, to, c_out, c_in, k).unwrap_or_default();
        proptest::prop_assert!(old.is_ok() && new.is_ok() && !rows.is_empty());
        let (old, new) = (old.unwrap_or_else(|_| unreachable!()), new.unwrap_or_else(|_| unreachable!()));
        let w = random(old.stored_len, seed);
        let w_new: Vec<f32> = src.iter().map(|&s| w[s]).collect();
        let cols: Vec<usize> = (0..c_in * g_in.order()).collect();
        proptest::prop_assert_eq!(expanded(&new, &w_new), permuted(&expanded(&old, &w), &rows, &cols, k * k));
    }
}
