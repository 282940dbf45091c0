"""The ``surgeon`` controller of ``neuroplast optimize`` (seed 001).

``neuroplast optimize --controller surgeon --dataset digits --topology small --preset fast``
trains the starting topology with the Surgeon and, unless ``--no-baseline``, the same network
without surgery for the same epochs; with ``--run-dir`` it writes the run folder (history,
final model, edit log, checkpoints, ``report/topology.png`` and ``report/accuracy.png``), and
``--resume`` continues an interrupted run there. The data set's test split is the validation
set (as in the paper, whose validation sets are the official test sets).
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.search._cli import add_once
from neuroplast.search.surgeon.algorithm import Surgeon, widths
from neuroplast.search.surgeon.baseline import baseline
from neuroplast.search.surgeon.config import SurgeonConfig
from neuroplast.spec import Spec

__all__ = ["TOPOLOGIES", "add_arguments", "run"]

#: The paper's starting topologies (Table 2).
TOPOLOGIES: dict[str, tuple[int, ...]] = {
    "small": (10,),
    "medium": (10, 10, 10),
    "large": (300, 100, 100),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the options of the Surgeon controller to the ``optimize`` parser."""
    g = p.add_argument_group("surgeon controller")
    g.add_argument(
        "--preset",
        choices=("paper", "fast"),
        default="fast",
        help="paper: the appendix (100 epochs, batch 16, SGD 0.005); fast: 20 epochs",
    )
    g.add_argument(
        "--topology",
        default="small",
        help="small (10), medium (10-10-10), large (300-100-100) or widths like 64,32",
    )
    g.add_argument("--total-epochs", type=int, help="override the preset's total epochs")
    g.add_argument("--decision-every", type=int, help="override the epochs between decisions")
    g.add_argument(
        "--initial-epochs", type=int, help="pre-training epochs (default: --decision-every)"
    )
    g.add_argument("--branches", type=int, help="override the number of concurrent branches")
    g.add_argument("--selection", choices=("per_type", "top_n"), help="candidate selection mode")
    g.add_argument("--memory", action="store_true", help="one-cycle memory with backtracking")
    g.add_argument("--train-samples", type=int, help="train on a stratified subset (fashion-mnist)")
    g.add_argument("--no-baseline", action="store_true", help="skip the baseline run")
    add_once(
        g, "--run-dir", metavar="DIR", help="write the run folder (history, checkpoints, report)"
    )
    add_once(g, "--resume", action="store_true", help="continue the run in --run-dir")
    add_once(g, "--workers", type=int, default=0, help="candidate jobs on a process pool of N")


def _config(args: argparse.Namespace) -> SurgeonConfig:
    cfg = SurgeonConfig.paper() if args.preset == "paper" else SurgeonConfig.fast()
    over: dict[str, Any] = {}
    for key in ("total_epochs", "decision_every", "branches", "selection"):
        if getattr(args, key) is not None:
            over[key] = getattr(args, key)
    initial = args.initial_epochs or over.get("decision_every", cfg.initial_epochs)
    over["initial_epochs"] = min(initial, over.get("total_epochs", cfg.total_epochs))
    if args.memory:
        over["memory"] = True
    return cfg.replace(**over)


def _topology(text: str) -> tuple[int, ...]:
    if text in TOPOLOGIES:
        return TOPOLOGIES[text]
    try:
        out = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise ConfigError(f"--topology must be small|medium|large or widths, got {text!r}") from exc
    if not out or min(out) < 1:
        raise ConfigError(f"--topology needs positive widths, got {text!r}")
    return out


def _load(args: argparse.Namespace) -> data.Dataset:
    if args.dataset in ("xor", "synthetic"):
        raise ConfigError(
            "the Surgeon needs a classification data set: digits, fashion-mnist or mnist1d"
        )
    kw: dict[str, Any] = {}
    if args.train_samples is not None:
        if args.dataset != "fashion-mnist":
            raise ConfigError("--train-samples applies to fashion-mnist only")
        kw["n_train"] = args.train_samples
    return data.load(args.dataset, seed=args.seed, **kw)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the Surgeon (and the baseline) and returns a JSON-compatible summary."""
    cfg = _config(args)
    ds = _load(args)
    if args.model:
        net = Network.load(args.model)
    else:
        spec = Spec.mlp(ds.n_features, list(_topology(args.topology)), ds.n_classes)
        net = Network.init(spec, seed=args.seed)
    run_dir = getattr(args, "run_dir", None)
    pool: Executor | None = ProcessPoolExecutor(args.workers) if args.workers else None
    try:
        print(
            f"surgeon: {ds.name}, hidden {list(widths(net))}, {cfg.total_epochs} epochs",
            file=sys.stderr,
        )
        res = Surgeon(cfg).run(
            net,
            ds.X_train,
            ds.y_train,
            ds.X_test,
            ds.y_test,
            seed=args.seed,
            run_dir=run_dir,
            resume=bool(getattr(args, "resume", False)),
            executor=pool,
            progress=True,
        )
    finally:
        if pool is not None:
            pool.shutdown()
    out: dict[str, Any] = {"dataset": ds.name}
    base_curve = None
    if not args.no_baseline:
        base, base_curve, _ = baseline(
            net, ds.X_train, ds.y_train, ds.X_test, ds.y_test, cfg, seed=args.seed
        )
        out["accuracy_before"] = float(base.evaluate(ds.X_test, ds.y_test)["accuracy"])
    out["accuracy_after"] = res.val_accuracy
    out["params_before"], out["params_after"] = res.n_params_initial, res.n_params
    out["hidden_start"] = "-".join(map(str, widths(net))) or "none"
    out["hidden_final"] = "-".join(map(str, widths(res.network))) or "none"
    out["epochs_trained"] = round(res.epochs_trained, 2)
    out["decisions"] = len(res.decisions)
    if run_dir is not None:
        from neuroplast.search.surgeon.report import write_report

        write_report(Path(run_dir) / "report", res, base_curve)
        out["run_dir"] = str(run_dir)
    if args.save:
        res.network.save(args.save)
    return out
