"""LP pruning: remove links and hidden units of a trained tanh MLP by linear programming.

The LP minimizes M·Σ error + Σ|w| + Σ|u| over the links of a perceptron network, so links the
task does not need end at exactly zero. Here: digits 0, 1 and 2, a 64-8-3 network.

Run: python examples/lp_prune.py
"""

import neuroplast as npl
from neuroplast.search import LPPrune, LPPruneConfig, Splits

ds = npl.data.load("digits", seed=0)
train, test = ds.y_train < 3, ds.y_test < 3
data = Splits.carve(
    ds.X_train[train],
    ds.y_train[train],
    val_fraction=0.15,
    seed=0,
    X_test=ds.X_test[test],
    y_test=ds.y_test[test],
    name="digits 0-2",
)
# tanh is the engine activation closest to the perceptron's saturation.
net = npl.Network.init(npl.Spec.mlp(64, [8], 3, activation="tanh"), seed=0)
net.fit(data.X_train, data.y_train, epochs=30, optimizer=npl.Adam(lr=3e-3), seed=0)

config = LPPruneConfig.fast(method="ipm")  # interior point with crossover to a vertex
res = LPPrune(config).run(net, data, seed=0, progress=False)
print(res.summary())
print("widths:", net.spec.widths["dense_0"], "->", res.network.spec.widths)
