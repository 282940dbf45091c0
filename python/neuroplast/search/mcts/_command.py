"""``neuroplast optimize mcts``: the MCTS controller's own options and its start network.

``neuroplast optimize mcts --dataset digits [--model saved.npl] [--budget 40|30s] [--phase
grow]`` runs phase 2 (default; a quickly trained 64-100-10 MLP when no ``--model`` is given) or
phase 1 (``--phase grow``: an untrained small network grown until the target accuracy). The
shared options (data, preset, seed, run folder, output) come from
:mod:`neuroplast.search._cli`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.morph import NARROW_METHODS
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._budget import parse_max_drop
from neuroplast.search._cli import Command, evaluators
from neuroplast.search._splits import Splits
from neuroplast.search.mcts.config import MCTSConfig
from neuroplast.search.mcts.controller import MCTS
from neuroplast.spec import Spec

__all__ = [
    "COMMAND",
    "add_arguments",
    "configure",
    "parse_budget",
    "parse_max_drop",
    "start_network",
]

# Option name -> config field, for options copied as they are when given.
_FIELDS = (
    ("generations", "generations"),
    ("generation_epochs", "epochs"),
    ("w_params", "w_params"),
    ("rollout_depth", "depth"),
    ("train_samples", "train_samples"),
    ("val_size", "val_size"),
    ("target_accuracy", "target_accuracy"),
    ("max_drop", "max_drop"),
    ("final_epochs", "final_epochs"),
)


def add_arguments(g: Any) -> None:
    """Adds the MCTS options (never the shared ones) to the subcommand's argument group."""
    g.add_argument(
        "--phase",
        choices=("optimize", "grow"),
        default="optimize",
        help="optimize: phase 2 on a trained network (w_params 2); grow: phase 1 from a "
        "small untrained network until --target-accuracy",
    )
    g.add_argument(
        "--quick-arch",
        choices=("mlp", "cnn"),
        default="mlp",
        help="architecture of the start network when --model is not given",
    )
    _preset_option(g, "--budget", "per decision: N evaluations, or Ns seconds (e.g. 30s)")
    _preset_option(g, "--generations", "most decisions", type=int)
    _preset_option(g, "--generation-epochs", "training epochs per generation", type=int)
    _preset_option(g, "--w-params", "weight of the score's parameter term", type=float)
    _preset_option(g, "--rollout-depth", "random actions per rollout", type=int)
    _preset_option(
        g, "--train-samples", "training samples of each short training in the search", type=int
    )
    _preset_option(
        g, "--val-size", "validation samples scored in the search (a seeded subset)", type=int
    )
    _preset_option(g, "--target-accuracy", "validation accuracy ending phase 1", type=float)
    _preset_option(g, "--narrow-method", "neuron removal", choices=NARROW_METHODS)
    _preset_option(
        g,
        "--max-drop",
        "validation accuracy budget below the start network's, or 'none' (phase 2)",
        type=parse_max_drop,
    )
    _preset_option(
        g, "--final-epochs", "early-stopped fine-tuning of the result (0: none)", type=int
    )
    g.add_argument(
        "--parallel",
        type=int,
        default=argparse.SUPPRESS,
        help="evaluations submitted together; results depend on it, not on where they run "
        "(default: --workers or --dask-workers)",
    )


def _preset_option(g: Any, flag: str, text: str, **kw: Any) -> None:
    """An option that, when absent, leaves the preset's value (and is absent from args)."""
    g.add_argument(flag, default=argparse.SUPPRESS, help=f"{text} (default: the preset's)", **kw)


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


def configure(args: argparse.Namespace, preset: MCTSConfig) -> MCTSConfig:
    """The preset (rebuilt for ``--phase``, whose defaults differ) with the options applied."""
    if preset.phase != args.phase:
        preset = MCTSConfig.preset(args.preset, phase=args.phase)
    given = vars(args)  # options left unset are absent (argparse.SUPPRESS)
    over: dict[str, Any] = parse_budget(given["budget"]) if "budget" in given else {}
    over.update({name: given[opt] for opt, name in _FIELDS if opt in given})
    parallel = given.get("parallel", evaluators(args))
    if parallel > 1:
        over["parallel"] = parallel
    if "narrow_method" in given:
        over["actions"] = dataclasses.replace(preset.actions, narrow_method=args.narrow_method)
    return preset.replace(**over)


def start_network(args: argparse.Namespace, splits: Splits) -> Network:
    """A quick network: trained (phase 2) or small and untrained (phase 1, ``--phase grow``)."""
    grow = args.phase == "grow"
    n_classes = int(max(splits.y_train.max(), splits.y_val.max())) + 1
    if args.quick_arch == "cnn":
        shape = data.load(args.dataset, seed=args.seed).image_shape
        if shape is None or len(shape) != 3:
            raise ConfigError(f"--quick-arch cnn needs an image data set; {splits.name} is not")
        spec = Spec.cnn(shape, [4] if grow else [8, 16], n_classes, hidden=[8] if grow else [32])
    else:
        n_features = int(splits.X_train[0].size)
        spec = Spec.mlp(n_features, [10] if grow else [100], n_classes)
    net = Network.init(spec, seed=args.seed)
    if not grow:
        print(f"training a quick {args.quick_arch} ({net.n_params} parameters)", file=sys.stderr)
        epochs = 30 if args.quick_arch == "mlp" else 15
        net.fit(
            splits.X_train, splits.y_train, epochs=epochs, optimizer=Adam(lr=1e-3), seed=args.seed
        )
    return net


#: The ``neuroplast optimize mcts`` subcommand.
COMMAND = Command(
    name="mcts",
    help="Monte Carlo tree search over structural actions (seed 000)",
    controller=MCTS,
    add_arguments=add_arguments,
    configure=configure,
    start_network=start_network,
    executor=True,
)
