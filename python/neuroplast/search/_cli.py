"""``neuroplast optimize <controller>``: one grammar for every controller.

Each controller module defines one :class:`Command` (its name, its own options, how they
change the preset config, and the network it starts from when no ``--model`` is given). This
module adds the options every controller shares, builds the :class:`Splits` the same way for
all of them, runs the controller through its one ``run`` method and returns the before/after
summary that the CLI prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.search._contract import ConfigBase, Controller
from neuroplast.search._splits import DEFAULT_VAL_FRACTION, Splits

__all__ = ["Command", "add_shared", "load_splits", "run_command"]

Inputs = Callable[[argparse.Namespace], tuple[Network, Splits]]


@dataclass(frozen=True)
class Command:
    """How ``neuroplast optimize <name>`` builds and runs one controller.

    Attributes:
        name: The subcommand (``mcts``, ``surgeon``, ...).
        help: One line for ``neuroplast optimize --help``.
        controller: The controller class (a :class:`Controller` subclass).
        add_arguments: Adds the controller's own options to its argument group.
        configure: Applies those options to the preset config and returns the config.
        start_network: The network to optimize when ``--model`` is not given (usually a
            quickly trained one), from the parsed options and the data.
        default_preset: The ``--preset`` used when none is given.
        datasets: Accepted ``--dataset`` names (default: :func:`neuroplast.data.available`).
        inputs: Replaces the shared loading of ``(network, splits)`` entirely (e.g. the LP
            controller's built-in XOR demo).
    """

    name: str
    help: str
    controller: type[Controller[Any, Any]]
    add_arguments: Callable[[Any], None]
    configure: Callable[[argparse.Namespace, Any], Any]
    start_network: Callable[[argparse.Namespace, Splits], Network]
    default_preset: str = "fast"
    datasets: tuple[str, ...] | None = None
    inputs: Inputs | None = None


def add_shared(p: argparse.ArgumentParser, cmd: Command) -> None:
    """Adds the options every controller has (data, model, seed, run folder, output)."""
    presets: tuple[str, ...] = cmd.controller.config_class.PRESETS
    g = p.add_argument_group("data and model")
    g.add_argument(
        "--dataset",
        default="digits",
        choices=cmd.datasets or data.available(),
        help="data set to optimize on (its test split is only reported)",
    )
    g.add_argument("--model", metavar="PATH", help="start from this saved network (.npl)")
    g.add_argument(
        "--val-fraction",
        type=float,
        default=DEFAULT_VAL_FRACTION,
        help="share of the training split held out for the controller's decisions",
    )
    r = p.add_argument_group("run")
    r.add_argument(
        "--preset", choices=presets, default=cmd.default_preset, help="the config's preset"
    )
    r.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    r.add_argument("--threads", type=int, default=2, help="engine threads")
    r.add_argument("--workers", type=int, default=1, help="processes evaluating candidates")
    r.add_argument("--run-dir", metavar="DIR", help="write config, history, checkpoints, report")
    r.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    r.add_argument("--overwrite", action="store_true", help="replace the run in --run-dir")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    o = p.add_argument_group("output")
    o.add_argument("--save", metavar="PATH", help="write the optimized network (.npl)")
    o.add_argument("--json", action="store_true", help="print the result as one JSON line")


def load_splits(args: argparse.Namespace) -> Splits:
    """The data set of ``--dataset`` with validation carved by ``--val-fraction``."""
    ds = data.load(args.dataset, seed=args.seed)
    return Splits.from_dataset(ds, val_fraction=args.val_fraction, seed=args.seed)


def _inputs(args: argparse.Namespace, cmd: Command) -> tuple[Network, Splits]:
    if cmd.inputs is not None:
        return cmd.inputs(args)
    splits = load_splits(args)
    net = Network.load(args.model) if args.model else cmd.start_network(args, splits)
    return net, splits


def run_command(args: argparse.Namespace, cmd: Command) -> dict[str, Any]:
    """Runs the controller of ``cmd`` as the parsed options say; returns the summary."""
    from neuroplast import set_num_threads

    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    set_num_threads(args.threads)
    net, splits = _inputs(args, cmd)
    preset: ConfigBase = cmd.controller.config_class.preset(args.preset)
    controller = cmd.controller(cmd.configure(args, preset))
    executor: Executor | None = None
    if args.workers > 1:
        executor = ProcessPoolExecutor(args.workers)
    try:
        result = controller.run(
            net,
            splits,
            seed=args.seed,
            run_dir=args.run_dir,
            resume=args.resume,
            overwrite=args.overwrite,
            executor=executor,
            progress=not args.no_progress,
        )
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    out: dict[str, Any] = {"controller": cmd.name, "dataset": splits.name, **result.summary()}
    if result.run_dir is not None:
        out["run_dir"] = str(result.run_dir)
    if args.save:
        result.network.save(args.save)
        out["saved"] = args.save
    return out
