"""DARTS-PRIME: search the cells of a small convolutional network on digits, then retrain it.

Run: python examples/darts.py
"""

import neuroplast as npl
from neuroplast.search import DARTS, DARTSConfig, Splits

ds = npl.data.load("digits", seed=0)
data = Splits.from_dataset(ds, val_fraction=0.15, seed=0)
task = npl.Network.init(npl.Spec.mlp(64, [], 10), seed=0)  # only gives the task: 8×8, 10 classes

config = DARTSConfig.fast(cells=3, channels=4, states=3, search_epochs=4, eval_epochs=10)
res = DARTS.prime(config).run(task, data, seed=0, progress=False)
print(res.genotype)
print(
    "skip share of the normal cell per search epoch:",
    [h["skip_share_normal"] for h in res.history if h["phase"] == "search"],
)
print(
    {k: res.summary()[k] for k in ("n_params_after", "val_accuracy_after", "test_accuracy_after")}
)
