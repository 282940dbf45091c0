"""DYNO: grow and prune the hidden layers of a trained MLP while it keeps training.

Run: python examples/dyno.py
"""

import neuroplast as npl
from neuroplast.search import DYNO, DYNOConfig, Splits

ds = npl.data.load("digits", seed=0)
data = Splits.from_dataset(ds, val_fraction=0.15, seed=0)
net = npl.Network.init(npl.Spec.mlp(64, [64, 64], 10), seed=0)
net.fit(data.X_train, data.y_train, epochs=5, seed=0)  # the "pretrained" network

config = DYNOConfig.fast(steps=100)
res = DYNO(config).run(net, data, seed=0, progress=False)
print(res.summary())
hidden = ["dense_0", "dense_1"]
print("widths:", [net.spec.widths[n] for n in hidden], "->", res.network.spec.widths)
print("edits:", [(r.name, r.args.get("layer")) for r in res.edits.records])
