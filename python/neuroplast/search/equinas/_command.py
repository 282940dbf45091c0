"""``neuroplast optimize equinas-e`` and ``neuroplast optimize equinas-d``.

``neuroplast optimize equinas-e --dataset rotated-digits`` evolves the per-layer symmetry of a
fully ``D4``-equivariant G-CNN (or the ``--model``); ``neuroplast optimize equinas-d --dataset
digits --augment C4`` trains a network of ``[G]``-mixed layers and reports the architecture
weights. Both need square single-channel images (the data set's features are read as
``1 × H × H``). ``--augment G`` transforms every image (train, validation, test) by a seeded
random element of ``G`` first.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from neuroplast import data
from neuroplast.data import augment
from neuroplast.errors import ConfigError
from neuroplast.layers import GROUPS
from neuroplast.network import Network
from neuroplast.search._cli import Command
from neuroplast.search._splits import Splits
from neuroplast.search.equinas.differentiable import EquiNASD
from neuroplast.search.equinas.evolution import EquiNASE
from neuroplast.spec import Spec

__all__ = ["COMMANDS", "EQUINAS_D_COMMAND", "EQUINAS_E_COMMAND"]

_E_FIELDS = (
    "generations",
    "population",
    "epochs_per_generation",
    "optimizer",
    "lr",
    "max_children",
)
_D_FIELDS = ("epochs", "lr", "arch_lr", "batch_size")


def _suppress(g: Any, fields: tuple[str, ...]) -> None:
    for action in g._group_actions:
        if action.dest in fields:
            action.default = argparse.SUPPRESS
            action.help += " (default: the preset's)"


def _add_shared(g: Any) -> None:
    g.add_argument(
        "--widths",
        type=int,
        nargs="+",
        default=[16, 16, 32, 32],
        help="expanded width of every conv layer of the start network",
    )
    g.add_argument("--augment", choices=GROUPS, help="transform every image by a random element")


def _add_e(g: Any) -> None:
    g.add_argument("--generations", type=int, help="generations")
    g.add_argument("--population", type=int, help="parents kept per generation")
    g.add_argument("--epochs-per-generation", type=float, help="training per generation")
    g.add_argument("--optimizer", choices=("sgd", "adam"), help="update rule")
    g.add_argument("--lr", type=float, help="learning rate")
    g.add_argument("--max-children", type=int, help="relaxations tried per parent")
    _suppress(g, _E_FIELDS)
    g.add_argument("--group", choices=GROUPS, default="D4", help="group of the start network")
    g.add_argument("--random-select", action="store_true", help="ablation: random parents")
    _add_shared(g)


def _add_d(g: Any) -> None:
    g.add_argument("--epochs", type=int, help="training epochs")
    g.add_argument("--lr", type=float, help="Adam learning rate of the kernels")
    g.add_argument("--arch-lr", type=float, help="Adam learning rate of the architecture")
    g.add_argument("--batch-size", type=int, help="batch size")
    _suppress(g, _D_FIELDS)
    g.add_argument(
        "--candidates", nargs="+", choices=GROUPS, default=list(GROUPS), help="candidate groups"
    )
    _add_shared(g)


def _configure(fields: tuple[str, ...]) -> Any:
    def configure(args: argparse.Namespace, cfg: Any) -> Any:
        changes = {f: getattr(args, f) for f in fields if hasattr(args, f)}
        if getattr(args, "random_select", False):
            changes["random_select"] = True
        return cfg.replace(**changes) if changes else cfg

    return configure


def _image_shape(n_features: int) -> tuple[int, int, int]:
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ConfigError(f"EquiNAS needs square single-channel images; got {n_features} features")
    return (1, side, side)


def _inputs(start: Any) -> Any:
    def inputs(args: argparse.Namespace) -> tuple[Network, Splits]:
        ds = data.load(args.dataset, seed=args.seed, flatten=False)
        X_train, X_test = ds.X_train, ds.X_test
        if args.augment:
            X_train = augment(X_train, args.augment, args.seed, stream=1).astype(np.float32)
            X_test = augment(X_test, args.augment, args.seed, stream=2).astype(np.float32)
        n = X_train.shape[0]
        splits = Splits.carve(
            X_train.reshape(n, -1),
            ds.y_train,
            val_fraction=args.val_fraction,
            seed=args.seed,
            X_test=X_test.reshape(X_test.shape[0], -1),
            y_test=ds.y_test,
            name=ds.name,
        )
        net = Network.load(args.model) if args.model else start(args, splits)
        return net, splits

    return inputs


def _n_classes(splits: Splits) -> int:
    return int(np.max(splits.y_train)) + 1


def _start_e(args: argparse.Namespace, splits: Splits) -> Network:
    shape = _image_shape(splits.X_train.shape[1])
    spec = Spec.gcnn(shape, _n_classes(splits), args.group, widths=args.widths)
    return Network.init(spec, seed=args.seed)


def _start_d(args: argparse.Namespace, splits: Splits) -> Network:
    shape = _image_shape(splits.X_train.shape[1])
    spec = Spec.mixed_gcnn(
        shape, _n_classes(splits), candidates=args.candidates, widths=args.widths
    )
    return Network.init(spec, seed=args.seed)


EQUINAS_E_COMMAND = Command(
    name="equinas-e",
    help="evolve per-layer symmetry of a G-CNN by relaxation morphisms and Pareto selection "
    "(EquiNAS_E)",
    controller=EquiNASE,
    add_arguments=_add_e,
    configure=_configure(_E_FIELDS),
    start_network=_start_e,
    inputs=_inputs(_start_e),
)
EQUINAS_D_COMMAND = Command(
    name="equinas-d",
    help="learn per-layer symmetry with [G]-mixed layers and alternating updates (EquiNAS_D)",
    controller=EquiNASD,
    add_arguments=_add_d,
    configure=_configure(_D_FIELDS),
    start_network=_start_d,
    inputs=_inputs(_start_d),
)
COMMANDS = (EQUINAS_E_COMMAND, EQUINAS_D_COMMAND)
