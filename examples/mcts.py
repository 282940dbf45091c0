"""MCTS structural optimization of a trained digits MLP, with a tiny search budget.

Every controller follows the same contract:
``Controller(Config.preset(**overrides)).run(net, data, seed=..., run_dir=...)``.

Run: python examples/mcts.py
"""

import tempfile
from pathlib import Path

import neuroplast as npl
from neuroplast.search import MCTS, MCTSConfig, Splits

ds = npl.data.load("digits", seed=0)
# Decisions use a stratified validation split carved from the training data; the test split
# is only reported.
data = Splits.from_dataset(ds, val_fraction=0.15, seed=0)
net = npl.Network.init(npl.Spec.mlp(64, [32], 10), seed=0)
net.fit(data.X_train, data.y_train, epochs=10, seed=0)

config = MCTSConfig.fast(generations=1, rollouts=4)
with tempfile.TemporaryDirectory() as tmp:
    run_dir = Path(tmp) / "mcts"
    res = MCTS(config).run(net, data, seed=0, run_dir=run_dir, progress=False)
    print(res.summary())  # n_params, flops, val_accuracy, test_accuracy: before and after
    print("widths:", res.network.spec.widths, "edits:", [r.name for r in res.edits.records])
    written = sorted(p.name for p in run_dir.iterdir())
    print("run folder:", written)
    assert {"config.json", "history.json", "edits.json", "final.npl"} <= set(written)

    # An existing run folder is refused unless overwrite=True or resume=True.
    try:
        MCTS(config).run(net, data, seed=0, run_dir=run_dir, progress=False)
    except npl.ConfigError as exc:
        print("refused:", exc)
    again = MCTS(config).run(net, data, seed=0, run_dir=run_dir, overwrite=True, progress=False)
    assert again.network.spec == res.network.spec  # same seed, same result
