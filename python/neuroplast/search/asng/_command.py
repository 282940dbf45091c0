"""``neuroplast optimize asng``: structure and weights in one training run (Saito and Shirakawa).

``neuroplast optimize asng --dataset digits --select units --penalty 2^-7`` trains a
3-hidden-layer MLP (``--hidden``, default 128 128 128) while selecting its units;
``--select connections`` trains a DenseNet (:meth:`Spec.densenet`) while selecting the
connections between its layers. Without ``--model`` the network starts freshly initialized
(He-uniform), as in the paper. Options whose default depends on ``--preset`` default to the
preset's value.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.search._cli import Command
from neuroplast.search._splits import Splits
from neuroplast.search.asng.config import COSTS, ASNGConfig
from neuroplast.search.asng.controller import ASNG
from neuroplast.search.asng.encoding import SELECTIONS
from neuroplast.spec import Spec

__all__ = ["COMMAND", "parse_penalty"]

_FIELDS = ("penalty", "select", "cost", "lam", "epochs", "batch_size", "lr", "finetune_epochs")
_POWER = re.compile(r"^\s*([+-]?)\s*2\s*(?:\^|\*\*)\s*\(?\s*([+-]?\d+)\s*\)?\s*$")


def parse_penalty(text: str) -> float:
    """``ε₀`` from ``0.0078125``, ``2^-7``, ``2**-7`` or ``-2^-3``.

    Example:
        >>> parse_penalty("2^-7"), parse_penalty("-2**-3"), parse_penalty("0")
        (0.0078125, -0.125, 0.0)
    """
    m = _POWER.match(text)
    if m:
        return (-1.0 if m.group(1) == "-" else 1.0) * 2.0 ** int(m.group(2))
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a number or a power of two like 2^-7: {text!r}"
        ) from None


def _add(g: Any) -> None:
    cls = ASNGConfig
    g.add_argument(
        "--penalty",
        type=parse_penalty,
        default=argparse.SUPPRESS,
        help="ε₀, the complexity penalty (e.g. 2^-7; negative keeps more units) "
        f"(default: {cls.penalty})",
    )
    g.add_argument(
        "--select",
        choices=SELECTIONS,
        default=argparse.SUPPRESS,
        help="what the structure vector selects: hidden units, or connections between layers "
        "(default: units)",
    )
    g.add_argument(
        "--cost",
        choices=COSTS,
        default=argparse.SUPPRESS,
        help="complexity per bit: the parameters it switches, one, or the paper's choice "
        "(default: auto)",
    )
    for option, kind, text in (
        ("--lam", int, "structures sampled per minibatch (λ)"),
        ("--epochs", int, "training epochs"),
        ("--batch-size", int, "minibatch size"),
        ("--lr", float, "initial SGD learning rate"),
        ("--finetune-epochs", int, "SGD epochs after the removal"),
    ):
        field = option[2:].replace("-", "_")
        shown = ", ".join(f"{p} {getattr(cls.preset(p), field)}" for p in cls.PRESETS)
        g.add_argument(option, type=kind, default=argparse.SUPPRESS, help=f"{text} ({shown})")
    g.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=[128, 128, 128],
        help="hidden widths of the start MLP (--select units, no --model)",
    )
    g.add_argument(
        "--growth",
        type=int,
        default=8,
        help="growth rate of the start DenseNet (--select connections)",
    )
    g.add_argument(
        "--blocks",
        type=int,
        nargs="+",
        default=[4, 4],
        help="layers per dense block of the start DenseNet (--select connections)",
    )


def _configure(args: argparse.Namespace, cfg: ASNGConfig) -> ASNGConfig:
    changes: dict[str, Any] = {f: getattr(args, f) for f in _FIELDS if hasattr(args, f)}
    if changes.get("select") == "connections" and "lr" not in changes:
        # The preset was built for units; take its learning rate for connection selection.
        changes["lr"] = ASNGConfig.preset(args.preset, select="connections").lr
    return cfg.replace(**changes) if changes else cfg


def _start(args: argparse.Namespace, splits: Splits) -> Network:
    classes = int(max(splits.y_train.max(), splits.y_val.max())) + 1
    select = getattr(args, "select", "units")
    if select == "units":
        if any(h < 1 for h in args.hidden):
            raise ConfigError("--hidden widths must be at least 1")
        spec = Spec.mlp(int(splits.X_train[0].size), list(args.hidden), classes)
    else:
        shape = splits.X_train.shape[1:]
        if len(shape) != 3:
            image = data.load(args.dataset, seed=args.seed).image_shape
            if image is None or len(image) != 3:
                raise ConfigError(f"--select connections needs images; {args.dataset} has none")
            shape = image
        spec = Spec.densenet(tuple(shape), classes, growth=args.growth, blocks=args.blocks)
    return Network.init(spec, seed=args.seed)


COMMAND = Command(
    name="asng",
    help="select hidden units or connections while training, with a complexity penalty "
    "(probabilistic structure search, Saito and Shirakawa 2019)",
    controller=ASNG,
    add_arguments=_add,
    configure=_configure,
    start_network=_start,
    default_preset="fast",
)
