"""Spectral metrics of a trained digits MLP: where is capacity redundant or missing?

Run: python examples/metrics.py
"""

import neuroplast as npl
from neuroplast import metrics
from neuroplast.morph import unit_importances

ds = npl.data.load("digits", seed=0)
net = npl.Network.init(npl.Spec.mlp(64, [100, 50], 10), seed=0)
net.fit(ds.X_train, ds.y_train, epochs=30, seed=0)
print(f"test accuracy {net.evaluate(ds.X_test, ds.y_test)['accuracy']:.4f}")

layers = ["dense_0", "dense_1"]
acts = net.activations(ds.X_train, layers)  # one engine call for every layer
for name in layers:
    h = acts[name]  # (n_samples, units)
    w = net.params[f"{name}.weight"]  # (units, fan_in)
    stats = metrics.unit_statistics(h)
    print(
        f"{name}: {h.shape[1]} units, "
        f"effective dimension {metrics.effective_dimension(h):.2f} (activations), "
        f"{metrics.effective_dimension(w, 'weights'):.2f} (weights), "
        f"orthogonality gap {metrics.orthogonality_gap(h[:256]):.3f}, "
        f"removable units {metrics.removable_units(w)}, "
        f"dormant units {int((stats.zero_fraction == 1.0).sum())}"
    )

sv = metrics.singular_values(acts["dense_0"])
print(f"dense_0: largest singular values {sv[:3].round(1).tolist()} of {sv.size}")
print(f"dense_0: numerical rank (σ > 1) {metrics.numerical_rank(acts['dense_0'], eps=1.0)}")

# Which units would a data-aware pruning remove first?
redundant = metrics.cosine_redundancy(acts["dense_0"], 10)
print(f"dense_0: the 10 most redundant units (DYNO's cosine rule): {redundant.tolist()}")
scores = unit_importances(net, "dense_0", ds.X_train[:512], kind="magnitude_std")
print(f"dense_0: the 10 least important units (magnitude × std): {scores.argsort()[:10].tolist()}")
