"""``neuroplast optimize darts`` and ``neuroplast optimize darts-prime``.

``neuroplast optimize darts --dataset digits --preset fast --run-dir runs/darts`` searches
cells on the data set, retrains the derived network and reports it; ``darts-prime`` starts from
the same preset with the FIMT schedule and proximity regularization switched on. Every
DARTS-PRIME component is an option (``--schedule``, ``--proximity``, ``--admm``,
``--weighting crb``). Without ``--model`` the task (sample shape, classes) comes from the data.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.search._cli import Command
from neuroplast.search._splits import Splits
from neuroplast.search.darts.config import SCHEDULES, DARTSConfig
from neuroplast.search.darts.controller import DARTS
from neuroplast.spec import Spec

__all__ = ["COMMANDS"]

_PRESET = argparse.SUPPRESS
_FIELDS: tuple[tuple[str, type, str], ...] = (
    ("search_epochs", int, "epochs of the search"),
    ("eval_epochs", int, "epochs of retraining the derived network"),
    ("cells", int, "cells of the search network"),
    ("channels", int, "initial channels of the search network"),
    ("states", int, "intermediate states per cell"),
    ("eval_cells", int, "cells of the evaluation network"),
    ("eval_channels", int, "initial channels of the evaluation network"),
    ("batch_size", int, "minibatch of the search"),
    ("alpha_lr", float, "Adam learning rate of the architecture weights"),
    ("ratio", int, "w steps per α step of the constant and FIMT schedules"),
    ("subset", int, "training samples used (stratified subset)"),
)


def _default(field: str) -> str:
    values = {str(getattr(DARTSConfig.preset(p), field)) for p in DARTSConfig.PRESETS}
    if len(values) == 1:
        return f"(default: {values.pop()})"
    paper, fast = (getattr(DARTSConfig.preset(p), field) for p in ("paper", "fast"))
    return f"(default: paper {paper}, fast {fast})"


def _add(g: Any) -> None:
    g.add_argument("--weighting", choices=("softmax", "crb"), default=_PRESET, help="α activation")
    g.add_argument("--schedule", choices=SCHEDULES, default=_PRESET, help="α/w step schedule")
    g.add_argument(
        "--proximity", action="store_true", default=_PRESET, help="proximity regularization"
    )
    g.add_argument("--admm", action="store_true", default=_PRESET, help="ADMM regularization")
    for field, kind, text in _FIELDS:
        flag = "--" + field.replace("_", "-")
        g.add_argument(flag, type=kind, default=_PRESET, help=f"{text} {_default(field)}")


def _configure(prime: bool) -> Callable[[argparse.Namespace, DARTSConfig], DARTSConfig]:
    def configure(args: argparse.Namespace, cfg: DARTSConfig) -> DARTSConfig:
        if prime:
            cfg = cfg.replace(schedule="fimt", proximity=True)
        names = ["weighting", "schedule", "proximity", "admm", *(f for f, _, _ in _FIELDS)]
        return cfg.replace(**{n: getattr(args, n) for n in names if hasattr(args, n)})

    return configure


def _task(args: argparse.Namespace, splits: Splits) -> Network:
    """A linear classifier of the data's shape: it only tells DARTS the task."""
    X, y = splits.X_train, splits.y_train
    if not np.issubdtype(y.dtype, np.integer):
        raise ConfigError("DARTS searches classifiers: the data need class labels")
    classes = int(max(y.max(), splits.y_val.max())) + 1
    spec = Spec.mlp(int(np.prod(X.shape[1:])), [], classes)
    return Network.init(spec, seed=args.seed)


#: ``darts`` and ``darts-prime``.
COMMANDS: tuple[Command, Command] = (
    Command(
        name="darts",
        help="differentiable architecture search of cells, then retraining (DARTS; every "
        "DARTS-PRIME component switchable)",
        controller=DARTS,
        add_arguments=_add,
        configure=_configure(False),
        start_network=_task,
    ),
    Command(
        name="darts-prime",
        help="DARTS-PRIME: DARTS with the FIMT schedule and proximity regularization",
        controller=DARTS,
        add_arguments=_add,
        configure=_configure(True),
        start_network=_task,
    ),
)
