"""Neurogenesis with NORTH-Select: grow the hidden layer of a small MLP while it trains.

Run: python examples/neurogenesis.py
"""

import neuroplast as npl
from neuroplast.search import Neurogenesis, NeurogenesisConfig, Splits

ds = npl.data.load("digits", seed=0)
data = Splits.from_dataset(ds, val_fraction=0.15, seed=0)
net = npl.Network.init(npl.Spec.mlp(64, [4], 10), seed=0)  # starts narrow

config = NeurogenesisConfig.fast(strategy="north-select", max_width=32, epochs=30)
res = Neurogenesis(config).run(net, data, seed=0, progress=False)
print(res.summary())
print("widths:", net.spec.widths["dense_0"], "->", res.network.spec.widths["dense_0"])
print("growth events:", len(res.edits))
