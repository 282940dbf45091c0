"""``neuroplast optimize surgeon`` (seed 001).

``neuroplast optimize surgeon --dataset digits --topology small --preset fast`` initialises
the starting topology (the paper starts from untrained networks; the Surgeon pre-trains them
for ``initial_epochs``) and runs the Surgeon on it; decisions use the validation split carved
from the training data (``--val-fraction``), the test split is only reported. With
``--run-dir`` the run folder gets the shared files plus ``report/topology.png`` and
``report/accuracy.png`` (with ``--baseline``: against the network trained without surgery).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.search._budget import parse_max_drop
from neuroplast.search._cli import Command
from neuroplast.search._cli import start_network as shared_start
from neuroplast.search._splits import Splits
from neuroplast.search.surgeon.algorithm import Surgeon
from neuroplast.search.surgeon.config import SurgeonConfig
from neuroplast.spec import Spec

__all__ = ["COMMAND", "TOPOLOGIES"]

#: The paper's starting topologies (Table 2).
TOPOLOGIES: dict[str, tuple[int, ...]] = {
    "small": (10,),
    "medium": (10, 10, 10),
    "large": (300, 100, 100),
}


def _add_arguments(g: Any) -> None:
    """Adds the Surgeon's own options."""
    g.add_argument(
        "--topology",
        default="small",
        help="start network without --model: small (10), medium (10-10-10), "
        "large (300-100-100) or hidden widths like 64,32",
    )
    g.add_argument(
        "--total-epochs",
        type=int,
        help="override the preset's epochs of training of the returned network",
    )
    g.add_argument(
        "--decision-every", type=int, help="override the preset's epochs between decision points"
    )
    g.add_argument(
        "--initial-epochs",
        type=int,
        help="override the preset's pre-training epochs (when only --decision-every is "
        "given, it sets them too)",
    )
    g.add_argument(
        "--branches", type=int, help="override the preset's branches kept at every decision point"
    )
    g.add_argument(
        "--selection",
        choices=("per_type", "top_n"),
        help="override the preset's candidate selection",
    )
    g.add_argument("--memory", action="store_true", help="one-cycle memory with backtracking")
    g.add_argument(
        "--baseline",
        action="store_true",
        help="also train the start network without surgery (report/accuracy.png)",
    )
    g.add_argument(
        "--train-samples",
        type=int,
        help="fashion-mnist only: train on a stratified subset of this size",
    )
    g.add_argument(
        "--max-drop",
        type=parse_max_drop,
        default=argparse.SUPPRESS,
        help="validation accuracy budget below the start topology trained directly, or "
        "'none' (default: the preset's)",
    )
    g.add_argument(
        "--final-epochs",
        type=int,
        help="override the preset's early-stopped fine-tuning of the result (0: none)",
    )


def _configure(args: argparse.Namespace, cfg: SurgeonConfig) -> SurgeonConfig:
    """The preset with the options given on the command line."""
    over: dict[str, Any] = {}
    for key in ("total_epochs", "decision_every", "branches", "selection"):
        if getattr(args, key) is not None:
            over[key] = getattr(args, key)
    initial = args.initial_epochs
    if initial is None:
        initial = over.get("decision_every", cfg.initial_epochs)
    # A short --total-epochs caps the pre-training instead of failing validation.
    over["initial_epochs"] = min(initial, over.get("total_epochs", cfg.total_epochs))
    if "max_drop" in vars(args):
        over["max_drop"] = args.max_drop
    if args.final_epochs is not None:
        over["final_epochs"] = args.final_epochs
    if args.memory:
        over["memory"] = True
    if args.baseline:
        over["baseline"] = True
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


def _start_network(args: argparse.Namespace, splits: Splits) -> Network:
    """The untrained ``--topology`` MLP (the Surgeon pre-trains it itself)."""
    n_classes = int(max(np.max(splits.y_train), np.max(splits.y_val))) + 1
    n_features = int(np.prod(splits.X_train.shape[1:]))
    spec = Spec.mlp(n_features, list(_topology(args.topology)), n_classes)
    return Network.init(spec, seed=args.seed)


def _inputs(args: argparse.Namespace) -> tuple[Network, Splits]:
    """The shared loading, plus ``--train-samples`` for Fashion-MNIST."""
    kw: dict[str, Any] = {}
    if args.train_samples is not None:
        if args.dataset != "fashion-mnist":
            raise ConfigError("--train-samples applies to fashion-mnist only")
        kw["n_train"] = args.train_samples
    ds = data.load(args.dataset, seed=args.seed, **kw)
    splits = Splits.from_dataset(ds, val_fraction=args.val_fraction, seed=args.seed)
    net = shared_start(args, splits, _start_network)
    return net, splits


COMMAND = Command(
    name="surgeon",
    help="the Surgeon (Schiessler et al. 2021): genetic topology search during training",
    controller=Surgeon,
    add_arguments=_add_arguments,
    configure=_configure,
    start_network=_start_network,
    default_preset="fast",
    datasets=("digits", "fashion-mnist", "mnist1d"),
    inputs=_inputs,
    executor=True,
)
