"""``neuroplast optimize lp``: LP pruning of a one-hidden-layer network (seed 004).

``neuroplast optimize lp --dataset digits`` trains a quick tanh MLP (``--hidden``,
``--epochs``) unless ``--model`` is given, prunes it by the LP on the first ``--samples``
training samples and prints the before/after table; ``--max-drop`` is the validation accuracy
budget below the start network's (the start network is returned when the LP's result breaks
it), as for ``mcts`` and ``surgeon``. ``--dataset xor`` runs the seed's demo
instead: :func:`~neuroplast.lp.xor_example` builds the four XOR samples and its own dense
10-hidden-unit sign network, and the four samples serve as training and validation data.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.lp._config import HIDDEN_ACTIVATIONS
from neuroplast.lp._solve import METHODS
from neuroplast.lp.controller import LPPrune, LPPruneConfig
from neuroplast.lp.examples import xor_example
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._budget import parse_max_drop
from neuroplast.search._cli import Command, load_splits
from neuroplast.search._cli import start_network as shared_start
from neuroplast.search._splits import Splits
from neuroplast.spec import Spec

__all__ = ["COMMAND"]

#: Options that default to the preset's value (absent from the namespace unless given).
_CONFIG_OPTIONS = (
    "method",
    "big_m",
    "multilevel",
    "samples",
    "max_drop",
    "hidden_activation",
    "final_epochs",
)


def _preset_default(name: str) -> str:
    """``(default: A with --preset fast, B with --preset paper)``, or one value if equal."""
    values = {p: getattr(LPPruneConfig.preset(p), name) for p in LPPruneConfig.PRESETS}
    if len(set(values.values())) == 1:
        return f"(default: {next(iter(values.values()))})"
    shown = ", ".join(f"{v} with --preset {p}" for p, v in values.items())
    return f"(default: {shown})"


def add_arguments(g: Any) -> None:
    """Adds the LP controller's own options (and those of its quick start network)."""
    g.add_argument(
        "--method",
        choices=METHODS,
        default=argparse.SUPPRESS,
        help=f"LP solver: simplex, interior point or chosen per LP {_preset_default('method')}",
    )
    g.add_argument(
        "--big-m",
        type=float,
        default=argparse.SUPPRESS,
        help=f"weight of the training error in the LP objective {_preset_default('big_m')}",
    )
    g.add_argument(
        "--multilevel",
        action=argparse.BooleanOptionalAction,
        default=argparse.SUPPRESS,
        help="after the hidden-layer LP, re-solve as a multi-level DAG where every unit may "
        f"read all earlier units {_preset_default('multilevel')}",
    )
    g.add_argument(
        "--samples",
        type=int,
        default=argparse.SUPPRESS,
        help=f"training samples in the LP (the first ones) {_preset_default('samples')}",
    )
    g.add_argument(
        "--max-drop",
        type=parse_max_drop,
        default=argparse.SUPPRESS,
        help="validation accuracy budget below the start network's, or 'none' (the last LP "
        f"result); out of budget, the start network is returned {_preset_default('max_drop')}",
    )
    g.add_argument(
        "--hidden-activation",
        choices=HIDDEN_ACTIVATIONS,
        default=argparse.SUPPRESS,
        help="read the hidden layer as saturation and re-solve both layers (the paper), "
        "keep the network's own activation and first layer and re-solve the output layer "
        "(real), or auto: real, saturation with --multilevel "
        f"{_preset_default('hidden_activation')}",
    )
    g.add_argument(
        "--final-epochs",
        type=int,
        default=argparse.SUPPRESS,
        help="most epochs of the early-stopped, distilled fine-tune of the LP's network, "
        f"0 for none {_preset_default('final_epochs')}",
    )
    g.add_argument("--hidden", type=int, default=32, help="hidden units of the quick tanh network")
    g.add_argument("--epochs", type=int, default=30, help="training epochs of that network")


def configure(args: argparse.Namespace, preset: LPPruneConfig) -> LPPruneConfig:
    """The preset with the options given on the command line applied."""
    given = {k: getattr(args, k) for k in _CONFIG_OPTIONS if hasattr(args, k)}
    return preset.replace(**given)


def start_network(args: argparse.Namespace, splits: Splits) -> Network:
    """A one-hidden-layer tanh MLP trained on the training split (Adam, lr 3e-3)."""
    if splits.X_train.ndim != 2:
        raise ConfigError(f"the lp controller needs flat features; {splits.name} is not flat")
    n_classes = int(max(splits.y_train.max(), splits.y_val.max())) + 1
    # tanh is the engine activation closest to the perceptron's saturation.
    spec = Spec.mlp(splits.X_train.shape[1], [args.hidden], n_classes, "tanh")
    net = Network.init(spec, seed=args.seed)
    net.fit(
        splits.X_train,
        splits.y_train,
        epochs=args.epochs,
        optimizer=Adam(lr=3e-3),
        seed=args.seed,
        progress=not args.no_progress,
    )
    return net


def _inputs(args: argparse.Namespace) -> tuple[Network, Splits]:
    if args.dataset != "xor":
        splits = load_splits(args)
        net = shared_start(args, splits, start_network)
        return net, splits
    if args.model:
        raise ConfigError("--model cannot be combined with --dataset xor (it builds its own)")
    X, Y, start = xor_example(seed=args.seed)
    # The demo's +-1 target columns are the one-versus-rest code of these labels, so the LP
    # solves the same problem, and accuracy (argmax) is defined.
    y = np.argmax(Y, axis=1)
    return start.to_network("cross_entropy"), Splits(X, y, X, y, name="xor")


COMMAND = Command(
    name="lp",
    help="LP pruning of a one-hidden-layer network (seed 004); --dataset xor runs the seed's "
    "XOR demo with its own 10-hidden-unit sign network, validated on its 4 training samples "
    "(--val-fraction is ignored)",
    controller=LPPrune,
    add_arguments=add_arguments,
    configure=configure,
    start_network=start_network,
    default_preset="fast",
    datasets=(*data.available(), "xor"),
    inputs=_inputs,
    executor=True,
)
