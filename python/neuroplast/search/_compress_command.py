"""``neuroplast compress MODEL`` (and ``neuroplast optimize compress``): the budgeted shrink.

``neuroplast compress trained.npl --dataset digits --max-drop 0.01`` narrows the saved network
until its validation accuracy would fall more than ``--max-drop`` below the start; without a
model a 256-256 MLP is trained first (early stopping on the validation split).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._cli import Command
from neuroplast.search._splits import Splits
from neuroplast.search.compress import Compress, CompressConfig
from neuroplast.spec import Spec

__all__ = ["COMMAND"]

_FIELDS = ("max_drop", "target_params", "target_flops", "step", "step_growth", "final_epochs")


def _add(g: Any) -> None:
    g.add_argument("--max-drop", type=float, help="largest validation accuracy drop (budget)")
    g.add_argument("--target-params", type=int, help="stop at this many parameters")
    g.add_argument("--target-flops", type=int, help="stop at this many FLOPs per sample")
    g.add_argument("--step", type=float, help="fraction of a layer's units one edit removes")
    g.add_argument(
        "--step-growth", type=float, help="factor on the step after an accepted edit (1: fixed)"
    )
    g.add_argument("--final-epochs", type=int, help="most epochs of the final fine-tune")
    g.add_argument(
        "--no-distill", action="store_true", help="fine-tune on the labels only (no teacher)"
    )
    g.add_argument(
        "--no-factorize",
        action="store_true",
        help="only narrow layers (no data-basis low-rank splits of dense layers)",
    )
    g.add_argument(
        "--hidden",
        type=int,
        action="append",
        help="hidden widths of the network trained when no --model is given (default: 256 256)",
    )
    for action in g._group_actions:
        if action.dest in _FIELDS:
            action.default = argparse.SUPPRESS
            action.help += " (default: the preset's)"


def _configure(args: argparse.Namespace, cfg: CompressConfig) -> CompressConfig:
    changes: dict[str, Any] = {f: getattr(args, f) for f in _FIELDS if hasattr(args, f)}
    if args.no_distill:
        changes["distill"] = False
    if args.no_factorize:
        changes["factorize"] = False
    return cfg.replace(**changes) if changes else cfg


def _start(args: argparse.Namespace, data: Splits) -> Network:
    hidden = args.hidden or [256, 256]
    n_classes = int(data.y_train.max()) + 1
    spec = Spec.mlp(data.X_train.shape[1], hidden, n_classes)
    net = Network.init(spec, seed=args.seed)
    print(f"training {spec.n_params}-parameter MLP {hidden} (early stopping)", file=sys.stderr)
    net.fit(
        data.X_train,
        data.y_train,
        epochs=100,
        batch_size=64,
        optimizer=Adam(lr=1e-3),
        seed=args.seed,
        validation_data=(data.X_val, data.y_val),
        patience=15,
    )
    return net


COMMAND = Command(
    name="compress",
    help="shrink a trained network within a validation accuracy budget (narrowing, "
    "least-squares refits, distillation)",
    controller=Compress,
    add_arguments=_add,
    configure=_configure,
    start_network=_start,
    default_preset="paper",
    executor=True,
)
