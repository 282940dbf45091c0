"""The ``mcts`` controller of ``neuroplast optimize``: load or train a network, search, report.

``neuroplast optimize --dataset digits --controller mcts [--model saved.npl] [--budget 40]``
splits the training set into training and validation parts (seeded), runs the MCTS phase
(default: phase 2 on a trained network) with progress bars, writes the run folder and returns
the before/after summary printed as a table.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._cli import add_once
from neuroplast.spec import Spec

__all__ = ["add_arguments", "parse_budget", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the options of the MCTS controller to the ``optimize`` parser.

    Generic options (``--preset``, ``--run-dir``, ``--resume``, ``--workers``,
    ``--train-samples``, ``--no-progress``, ``--generations``) are shared with other
    controllers and added only once.
    """
    g = p.add_argument_group("mcts controller")
    add_once(g, "--preset", choices=("paper", "fast"), default="fast")
    g.add_argument(
        "--phase",
        choices=("optimize", "grow"),
        default="optimize",
        help="mcts: optimize = phase 2 on a trained model (w_params 2); grow = phase 1",
    )
    g.add_argument("--budget", help="mcts: per decision N evaluations, or Ns seconds (e.g. 30s)")
    add_once(g, "--generations", type=int, help="most decisions")
    g.add_argument("--generation-epochs", type=int, help="mcts: training epochs per generation")
    g.add_argument("--w-params", type=float, help="mcts: weight of the score's parameter term")
    g.add_argument("--rollout-depth", type=int, help="mcts: random actions per rollout")
    g.add_argument(
        "--narrow-method",
        choices=("quasi_identity", "select", "svd"),
        help="mcts: neuron removal (default: the paper's quasi_identity)",
    )
    g.add_argument(
        "--quick-arch",
        choices=("mlp", "cnn"),
        default="mlp",
        help="mcts: architecture trained first when --model is not given",
    )
    add_once(
        g, "--run-dir", metavar="DIR", help="write the run folder (history, checkpoints, report)"
    )
    add_once(g, "--resume", action="store_true", help="continue the run in --run-dir")
    add_once(g, "--workers", type=int, default=0, help="candidate jobs on a process pool of N")
    add_once(g, "--train-samples", type=int, help="train on a seeded subset of the training set")
    add_once(g, "--no-progress", action="store_true", help="no progress bars")


def parse_budget(text: str) -> dict[str, Any]:
    """``"40"`` → ``{"rollouts": 40}``; ``"30s"`` → ``{"seconds": 30.0}``.

    Example:
        >>> parse_budget("2.5s"), parse_budget("12")
        ({'seconds': 2.5, 'rollouts': None}, {'rollouts': 12, 'seconds': None})
    """
    try:
        if text.endswith("s"):
            return {"seconds": float(text[:-1]), "rollouts": None}
        return {"rollouts": int(text), "seconds": None}
    except ValueError as exc:
        raise ConfigError(
            f"--budget must be N (evaluations) or Ns (seconds), got {text!r}"
        ) from exc


def _quick(ds: data.Dataset, arch: str, X: Any, y: Any, seed: int, grow: bool) -> Network:
    if arch == "cnn":
        if ds.image_shape is None or len(ds.image_shape) != 3:
            raise ConfigError(f"--quick-arch cnn needs an image data set; {ds.name} is not one")
        spec = Spec.cnn(
            ds.image_shape, [4] if grow else [8, 16], ds.n_classes, hidden=[8] if grow else [32]
        )
    else:
        spec = Spec.mlp(ds.n_features, [10] if grow else [100], ds.n_classes)
    net = Network.init(spec, seed=seed)
    if not grow:
        print(f"training a quick {arch} ({net.n_params} parameters)", file=sys.stderr)
        net.fit(X, y, epochs=30 if arch == "mlp" else 15, optimizer=Adam(lr=1e-3), seed=seed)
    return net


def _split(X: Any, y: Any, seed: int, frac: float = 0.15) -> tuple[Any, Any, Any, Any]:
    idx = np.random.default_rng([seed, 7]).permutation(X.shape[0])
    n_val = max(1, round(frac * X.shape[0]))
    va, tr = idx[:n_val], idx[n_val:]
    return X[tr], y[tr], X[va], y[va]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the MCTS controller and returns the result as a JSON-compatible dict."""
    from neuroplast.search.mcts.optimize import MCTS

    if args.dataset == "xor":
        raise ConfigError("the mcts controller needs a data set from neuroplast.data, not xor")
    kwargs: dict[str, Any] = {}
    if args.dataset == "fashion-mnist" and args.train_samples:
        kwargs["n_train"] = args.train_samples
    ds = data.load(args.dataset, seed=args.seed, **kwargs)
    X, y = ds.X_train, ds.y_train
    if args.train_samples and X.shape[0] > args.train_samples:
        keep = np.sort(
            np.random.default_rng(args.seed).choice(X.shape[0], args.train_samples, False)
        )
        X, y = X[keep], y[keep]
    Xtr, ytr, Xva, yva = _split(X, y, args.seed)
    grow = args.phase == "grow"
    net = (
        Network.load(args.model)
        if args.model
        else _quick(ds, args.quick_arch, Xtr, ytr, args.seed, grow)
    )
    overrides: dict[str, Any] = parse_budget(args.budget) if args.budget else {}
    for opt, field in (
        ("generation_epochs", "epochs"),
        ("w_params", "w_params"),
        ("rollout_depth", "depth"),
    ):
        if getattr(args, opt) is not None:
            overrides[field] = getattr(args, opt)
    if getattr(args, "generations", None) is not None:
        overrides["generations"] = args.generations
    if args.workers > 0:
        overrides["parallel"] = args.workers
    preset = MCTS.paper if args.preset == "paper" else MCTS.fast
    mcts = preset(phase=args.phase, **overrides)
    if args.narrow_method:
        space = mcts.config.actions
        cfg = mcts.config.replace(
            actions=type(space).from_dict({**space.to_dict(), "narrow_method": args.narrow_method})
        )
        mcts = MCTS(cfg)
    run_dir = Path(args.run_dir or f"runs/mcts-{ds.name}-{args.seed}")
    executor: Executor | None = ProcessPoolExecutor(args.workers) if args.workers > 0 else None
    try:
        res = mcts.optimize(
            net,
            Xtr,
            ytr,
            Xva,
            yva,
            seed=args.seed,
            run_dir=run_dir,
            resume=args.resume,
            executor=executor,
            progress=not getattr(args, "no_progress", False),
        )
    finally:
        if executor is not None:
            executor.shutdown()
    result: dict[str, Any] = {"dataset": ds.name, **res.summary()}
    result["test_accuracy_before"] = float(net.evaluate(ds.X_test, ds.y_test)["accuracy"])
    result["test_accuracy_after"] = float(res.network.evaluate(ds.X_test, ds.y_test)["accuracy"])
    result["actions"] = ", ".join(r["action"] for r in res.records if r.get("action")) or "none"
    result["run_dir"] = str(run_dir)
    if args.save:
        res.network.save(args.save)
        result["saved"] = args.save
    return result
