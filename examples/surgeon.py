"""The Surgeon: training and topology search in one run, with a tiny budget.

Run: python examples/surgeon.py
"""

import neuroplast as npl
from neuroplast.search import Splits, Surgeon, SurgeonConfig

ds = npl.data.load("digits", seed=0)
data = Splits.from_dataset(ds, val_fraction=0.15, seed=0)
net = npl.Network.init(npl.Spec.mlp(64, [10], 10), seed=0)  # untrained: the Surgeon trains it

config = SurgeonConfig.fast(total_epochs=4, initial_epochs=2, decision_every=2)
res = Surgeon(config).run(net, data, seed=0, progress=False)
print(res.summary())
print("widths:", res.network.spec.widths)
for record in res.history:
    print(record)
