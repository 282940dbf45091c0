"""``neuroplast optimize <controller>``: one grammar for every controller.

Each controller module defines one :class:`Command` (its name, its own options, how they
change the preset config, and the network it starts from when no ``--model`` is given). This
module adds the options every controller shares, builds the :class:`Splits` the same way for
all of them, runs the controller through its one ``run`` method and returns the before/after
summary that the CLI prints.

Candidate evaluation (MCTS, Surgeon, compress) runs in this process, on ``--workers N`` local
processes, on a Dask ``LocalCluster`` of ``--dask-workers N`` processes, or on a running Dask
cluster (``--scheduler tcp://host:8786``); the last two scatter the data once to every worker.
"""

from __future__ import annotations

import argparse
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.interop import load_model
from neuroplast.network import Network
from neuroplast.search._contract import ConfigBase, Controller
from neuroplast.search._splits import DEFAULT_VAL_FRACTION, Splits

__all__ = [
    "Command",
    "add_shared",
    "evaluators",
    "export_network",
    "load_splits",
    "run_command",
    "start_network",
]

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
        executor: Whether the controller evaluates candidates on an executor (only then does
            it have ``--workers``, ``--dask-workers`` and ``--scheduler``).
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
    executor: bool = False


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
    g.add_argument("--model", metavar="PATH", help="start from this saved network (.npl or .onnx)")
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
    if cmd.executor:  # elsewhere argparse refuses them: there is nothing to distribute
        r.add_argument("--workers", type=int, default=1, help="processes evaluating candidates")
        r.add_argument(
            "--dask-workers",
            type=int,
            metavar="N",
            help="evaluate candidates on a Dask LocalCluster of N processes "
            "(needs neuroplast[dask])",
        )
        r.add_argument(
            "--scheduler",
            metavar="ADDRESS",
            help="evaluate candidates on the Dask cluster at ADDRESS (e.g. tcp://host:8786)",
        )
    r.add_argument("--run-dir", metavar="DIR", help="write config, history, checkpoints, report")
    r.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    r.add_argument("--overwrite", action="store_true", help="replace the run in --run-dir")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    o = p.add_argument_group("output")
    o.add_argument("--save", metavar="PATH", help="write the optimized network (.npl)")
    o.add_argument(
        "--export", metavar="PATH", help="also write the optimized network as .onnx (or .npl)"
    )
    o.add_argument("--opset", type=int, help="ONNX opset of --export (default: 17)")
    o.add_argument("--softmax", action="store_true", help="--export ends with a Softmax")
    o.add_argument("--json", action="store_true", help="print the result as one JSON line")


def load_splits(args: argparse.Namespace) -> Splits:
    """The data set of ``--dataset`` with validation carved by ``--val-fraction``."""
    ds = data.load(args.dataset, seed=args.seed)
    return Splits.from_dataset(ds, val_fraction=args.val_fraction, seed=args.seed)


def start_network(
    args: argparse.Namespace,
    splits: Splits,
    build: Callable[[argparse.Namespace, Splits], Network],
) -> Network:
    """The ``--model`` file (``.npl`` or ``.onnx``) or, without one, ``build(args, splits)``."""
    return load_model(args.model) if args.model else build(args, splits)


def _inputs(args: argparse.Namespace, cmd: Command) -> tuple[Network, Splits]:
    if cmd.inputs is not None:
        return cmd.inputs(args)
    splits = load_splits(args)
    return start_network(args, splits, cmd.start_network), splits


def evaluators(args: argparse.Namespace) -> int:
    """Candidate evaluations that run at once: ``--workers`` or ``--dask-workers`` (else 1).

    With ``--scheduler`` the cluster's size is not read (results must not depend on which
    workers happen to be up): a controller's own option (``--parallel``) says how many.
    """
    dask_workers: int | None = getattr(args, "dask_workers", None)
    return dask_workers if dask_workers is not None else int(getattr(args, "workers", 1))


def _check_executor_options(args: argparse.Namespace) -> None:
    """Refuses executor options that are out of range or in conflict.

    Controllers that evaluate no candidates do not have these options at all (argparse
    refuses them there).
    """
    workers: int = getattr(args, "workers", 1)
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    dask_workers, scheduler = getattr(args, "dask_workers", None), getattr(args, "scheduler", None)
    if dask_workers is None and scheduler is None:
        return
    if dask_workers is not None and dask_workers < 1:
        raise ConfigError(f"--dask-workers must be >= 1, got {dask_workers}")
    given = [
        flag
        for flag, on in (
            ("--workers", workers > 1),
            ("--dask-workers", dask_workers is not None),
            ("--scheduler", scheduler is not None),
        )
        if on
    ]
    if len(given) > 1:
        raise ConfigError(f"give one of --workers, --dask-workers and --scheduler, not {given}")


def _open_executor(args: argparse.Namespace, stack: ExitStack) -> Executor | None:
    """The executor the options ask for, closed (with its cluster) when ``stack`` closes."""
    dask_workers, scheduler = getattr(args, "dask_workers", None), getattr(args, "scheduler", None)
    if dask_workers is None and scheduler is None:
        workers: int = getattr(args, "workers", 1)
        if workers == 1:
            return None
        # Spawned, not forked: a fork copies this process's locks but not its threads
        # (engine pool, executors), and a worker can then wait forever on a copied lock.
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        stack.callback(pool.shutdown, cancel_futures=True)
        return pool
    from neuroplast.search._dask import DaskExecutor, require_distributed

    distributed = require_distributed()
    if scheduler is None:
        # One engine thread per worker process: the jobs set their own thread count anyway,
        # and more Dask threads per worker would only queue jobs behind each other.
        cluster = distributed.LocalCluster(
            n_workers=dask_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        stack.callback(cluster.close)
        scheduler = cluster
    try:
        client = distributed.Client(scheduler)
    except OSError as exc:  # unreachable scheduler (TimeoutError is an OSError)
        raise ConfigError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from exc
    stack.callback(client.close)
    executor = DaskExecutor(client)
    stack.callback(executor.shutdown, cancel_futures=True)
    return executor


def run_command(args: argparse.Namespace, cmd: Command) -> dict[str, Any]:
    """Runs the controller of ``cmd`` as the parsed options say; returns the summary."""
    from neuroplast import set_num_threads

    _check_executor_options(args)
    set_num_threads(args.threads)
    with ExitStack() as stack:
        executor = _open_executor(args, stack)  # first: an unreachable cluster fails fast
        net, splits = _inputs(args, cmd)
        preset: ConfigBase = cmd.controller.config_class.preset(args.preset)
        controller = cmd.controller(cmd.configure(args, preset))
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
    out: dict[str, Any] = {"controller": cmd.name, "dataset": splits.name, **result.summary()}
    if result.run_dir is not None:
        out["run_dir"] = str(result.run_dir)
    if args.save:
        result.network.save(args.save)
        out["saved"] = args.save
    if args.export:
        export_network(result.network, args.export, opset=args.opset, softmax=args.softmax)
        out["exported"] = args.export
    return out


def export_network(net: Network, path: str, *, opset: int | None, softmax: bool) -> None:
    """Writes ``net`` by the suffix of ``path`` (ONNX options apply to ``.onnx`` only)."""
    from neuroplast.interop import export

    options: dict[str, Any] = {}
    if Path(path).suffix.lower() == ".onnx":
        options["softmax"] = softmax
        if opset is not None:
            options["opset"] = opset
    elif softmax or opset is not None:
        raise ConfigError("--opset and --softmax apply to an .onnx export only")
    export(net, path, **options)
