"""The growth controllers of ``neuroplast optimize``: ``neurogenesis`` and ``dyno``.

``neuroplast optimize neurogenesis --dataset digits --strategy north-select --hidden 8
--max-width 128`` trains a small MLP (or the ``--model``) while Algorithm 4 grows it;
``neuroplast optimize dyno`` fine-tunes a trained network with grow-and-prune (Algorithm 5;
without ``--model`` an MLP of ``--hidden`` units is trained first). With ``--run-dir`` both
write the shared run folder plus ``report/widths.png`` and ``report/accuracy.png``.
``--max-drop`` (DYNO) is the validation accuracy budget below the start network's, as for
``mcts`` and ``surgeon``; ``--final-epochs`` (both) the early-stopped fine-tuning of the
returned network.

Options whose default depends on ``--preset`` default to the preset's value.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._budget import parse_max_drop
from neuroplast.search._cli import Command
from neuroplast.search._splits import Splits
from neuroplast.search.growth.config import SCHEDULES, STRATEGIES, DYNOConfig, NeurogenesisConfig
from neuroplast.search.growth.dyno import DYNO
from neuroplast.search.growth.neurogenesis import Neurogenesis
from neuroplast.spec import Spec

__all__ = ["COMMANDS", "DYNO_COMMAND", "NEUROGENESIS_COMMAND"]

# Options whose default comes from the preset stay absent from the namespace unless given.
_PRESET = argparse.SUPPRESS

# Options that map one to one onto config fields (same names).
_NEUROGENESIS_FIELDS = (
    "strategy",
    "schedule",
    "epochs",
    "batch_size",
    "lr",
    "eval_every",
    "max_width",
    "target_width",
    "gamma_a",
    "candidates",
    "final_epochs",
)
_DYNO_FIELDS = (
    "steps",
    "batch_size",
    "lr",
    "eval_every",
    "max_width",
    "delta",
    "max_drop",
    "final_epochs",
)


def _preset_default(cls: Any, field: str, none: str = "") -> str:
    """``"(default: paper X, fast Y)"``, or ``"(default: X)"`` when both presets agree."""
    values = [getattr(cls.preset(p), field) for p in cls.PRESETS]
    shown = [none if v is None else str(v) for v in values]
    if len(set(shown)) == 1:
        return f"(default: {shown[0]})"
    return (
        "(default: " + ", ".join(f"{p} {v}" for p, v in zip(cls.PRESETS, shown, strict=True)) + ")"
    )


def _add_training(g: Any, cls: Any, length: str, what: str) -> None:
    for option, field, kind, text in (
        (f"--{length}", length, int, what),
        ("--batch-size", "batch_size", int, "minibatch size"),
        ("--lr", "lr", float, "Adam learning rate"),
        ("--eval-every", "eval_every", int, "gradient steps between trigger evaluations"),
    ):
        help_text = f"{text} {_preset_default(cls, field)}"
        g.add_argument(option, type=kind, default=_PRESET, help=help_text)


def _add_final_epochs(g: Any, cls: Any) -> None:
    g.add_argument(
        "--final-epochs",
        type=int,
        default=_PRESET,
        help="early-stopped fine-tuning of the returned network, most epochs (0: none) "
        + _preset_default(cls, "final_epochs"),
    )


def _add_start(g: Any, hidden: int) -> None:
    g.add_argument(
        "--hidden", type=int, default=hidden, help="width of the start MLP when --model is absent"
    )
    g.add_argument("--hidden-layers", type=int, default=1, help="hidden layers of that MLP")


def _add_max_width(g: Any, factor: int) -> None:
    g.add_argument(
        "--max-width",
        type=int,
        default=_PRESET,
        help=f"largest width of every hidden layer (default: {factor} times its start width)",
    )


def _add_neurogenesis(g: Any) -> None:
    cls = NeurogenesisConfig
    g.add_argument(
        "--strategy",
        choices=tuple(STRATEGIES),
        default="north-select",
        help="trigger and initialization (thesis Table 7)",
    )
    g.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="dynamic",
        help="dynamic: the strategy's trigger; linear or batched: grow to --target-width "
        "during the first 75%% of training",
    )
    g.add_argument(
        "--target-width", type=int, default=_PRESET, help="final width of a preset schedule"
    )
    _add_max_width(g, 8)
    _add_training(g, cls, "epochs", "training epochs")
    g.add_argument(
        "--gamma-a",
        type=float,
        default=_PRESET,
        help=f"gamma of the activation trigger {_preset_default(cls, 'gamma_a')}",
    )
    g.add_argument(
        "--candidates",
        type=int,
        default=_PRESET,
        help="candidates of the candidate-based initializations "
        + _preset_default(cls, "candidates", none="1000 dense/100 conv"),
    )
    _add_final_epochs(g, cls)
    _add_start(g, 8)


def _add_dyno(g: Any) -> None:
    cls = DYNOConfig
    _add_training(g, cls, "steps", "gradient steps")
    _add_max_width(g, 4)
    g.add_argument(
        "--delta",
        type=float,
        default=_PRESET,
        help=f"delta of the prune and grow triggers {_preset_default(cls, 'delta')}",
    )
    g.add_argument(
        "--max-drop",
        type=parse_max_drop,
        default=_PRESET,
        help="validation accuracy budget below the start network's, or 'none' (the last "
        f"network) {_preset_default(cls, 'max_drop', none='none')}",
    )
    _add_final_epochs(g, cls)
    _add_start(g, 32)
    g.add_argument(
        "--pretrain-epochs",
        type=int,
        default=10,
        help="epochs of training of the start MLP before fine-tuning when --model is absent",
    )


def _configure(fields: tuple[str, ...]) -> Callable[[argparse.Namespace, Any], Any]:
    """The ``configure`` of a command: ``fields`` given on the command line replace the preset's."""

    def configure(args: argparse.Namespace, config: Any) -> Any:
        return config.replace(**{f: getattr(args, f) for f in fields if hasattr(args, f)})

    return configure


def _mlp(args: argparse.Namespace, splits: Splits) -> Network:
    """An MLP of ``--hidden-layers`` layers of ``--hidden`` units for the splits' classes."""
    X, y = splits.X_train, splits.y_train
    if X.ndim != 2:
        raise ConfigError("the start MLP needs flat features; pass --model for image inputs")
    if not np.issubdtype(y.dtype, np.integer):
        raise ConfigError("the growth controllers need class labels")
    if args.hidden < 1 or args.hidden_layers < 1:
        raise ConfigError("--hidden and --hidden-layers must be at least 1")
    classes = int(max(y.max(), splits.y_val.max())) + 1
    spec = Spec.mlp(X.shape[1], [args.hidden] * args.hidden_layers, classes)
    return Network.init(spec, seed=args.seed)


def _pretrained(args: argparse.Namespace, splits: Splits) -> Network:
    net = _mlp(args, splits)
    if args.pretrain_epochs < 0:
        raise ConfigError(f"--pretrain-epochs must be >= 0, got {args.pretrain_epochs}")
    if not args.no_progress:
        print(
            f"training a {net.n_params}-parameter MLP for {args.pretrain_epochs} epochs "
            "before fine-tuning",
            file=sys.stderr,
        )
    X, y = splits.X_train, splits.y_train
    net.fit(X, y, epochs=args.pretrain_epochs, optimizer=Adam(lr=1e-3), seed=args.seed)
    return net


NEUROGENESIS_COMMAND = Command(
    name="neurogenesis",
    help="grow hidden layers while training (Algorithm 4: NORTH*, GradMax, Firefly, NeST)",
    controller=Neurogenesis,
    add_arguments=_add_neurogenesis,
    configure=_configure(_NEUROGENESIS_FIELDS),
    start_network=_mlp,
)

DYNO_COMMAND = Command(
    name="dyno",
    help="grow and prune hidden layers while fine-tuning (DYNO, Algorithm 5)",
    controller=DYNO,
    add_arguments=_add_dyno,
    configure=_configure(_DYNO_FIELDS),
    start_network=_pretrained,
)

#: The two ``optimize`` subcommands of this package.
COMMANDS: tuple[Command, Command] = (NEUROGENESIS_COMMAND, DYNO_COMMAND)
