"""The ``neuroplast`` command line.

``neuroplast train --dataset digits --hidden 100 --epochs 20`` trains an MLP on a bundled data
set with a progress bar and prints the final metrics. ``neuroplast optimize mcts --dataset
digits`` optimizes the structure of a network with one controller and prints its size and
accuracy before and after.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from neuroplast import data
from neuroplast.errors import ConfigError, NeuroplastError
from neuroplast.network import Network
from neuroplast.optim import SGD, Adam, AdamW, Optimizer
from neuroplast.search._cli import Command, add_shared, run_command
from neuroplast.spec import Spec

__all__ = ["main"]


def _optimizer(args: argparse.Namespace) -> Optimizer:
    if args.optimizer == "sgd":
        return SGD(
            lr=args.lr,
            momentum=args.momentum,
            nesterov=args.nesterov,
            weight_decay=args.weight_decay,
        )
    cls = AdamW if args.optimizer == "adamw" else Adam
    return cls(lr=args.lr, weight_decay=args.weight_decay)


def _spec(args: argparse.Namespace, ds: data.Dataset) -> tuple[Spec, list[int]]:
    """The architecture requested on the command line and its layer widths for the log."""
    if args.arch == "mlp":
        hidden = args.hidden or [100]
        return Spec.mlp(ds.n_features, hidden, ds.n_classes, args.activation), hidden
    if ds.image_shape is None or len(ds.image_shape) != 3:
        raise ConfigError(f"--arch {args.arch} needs an image data set; {ds.name} is not one")
    channels = args.channels or [16, 32]
    if args.arch == "cnn":
        hidden = args.hidden if args.hidden is not None else [64]
        spec = Spec.cnn(
            ds.image_shape,
            channels,
            ds.n_classes,
            hidden=hidden,
            batch_norm=bool(args.batch_norm),
            activation=args.activation,
        )
        return spec, [*channels, *hidden]
    stages = [(c, 1) for c in channels]
    spec = Spec.resnet(
        ds.image_shape,
        ds.n_classes,
        stem_channels=channels[0],
        stages=stages,
        batch_norm=args.batch_norm is not False,
        activation=args.activation,
    )
    return spec, [channels[0], *channels]


def _train(args: argparse.Namespace) -> int:
    from neuroplast import set_num_threads

    set_num_threads(args.threads)
    ds = data.load(args.dataset, seed=args.seed)
    spec, hidden = _spec(args, ds)
    net = Network.init(spec, seed=args.seed)
    print(
        f"dataset {ds.name}: {ds.X_train.shape[0]} train / {ds.X_test.shape[0]} test, "
        f"{ds.n_features} features, {ds.n_classes} classes",
        file=sys.stderr,
    )
    print(
        f"network {args.arch} {ds.n_features}-{'-'.join(map(str, hidden))}-{ds.n_classes} "
        f"({args.activation}), {net.n_params} parameters, {net.flops} FLOPs/sample",
        file=sys.stderr,
    )
    t0 = time.perf_counter()
    hist = net.fit(
        ds.X_train,
        ds.y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=_optimizer(args),
        seed=args.seed,
        validation_data=(ds.X_test, ds.y_test),
        progress=not args.no_progress,
        dropout=args.dropout,
    )
    seconds = time.perf_counter() - t0
    train = net.evaluate(ds.X_train, ds.y_train)
    test = net.evaluate(ds.X_test, ds.y_test)
    result = {
        "dataset": ds.name,
        "arch": args.arch,
        "hidden": hidden,
        "epochs": len(hist),
        "seconds": round(seconds, 3),
        "n_params": net.n_params,
        "train_loss": train["loss"],
        "train_accuracy": train["accuracy"],
        "test_loss": test["loss"],
        "test_accuracy": test["accuracy"],
    }
    if args.save:
        net.save(args.save)
        result["saved"] = args.save
    if args.json:
        print(json.dumps(result))
    else:
        width = max(map(len, result))
        for k, v in result.items():
            print(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    return 0


def _commands() -> dict[str, Command]:
    """Every ``optimize`` subcommand, by name (imported here: the CLI loads them all)."""
    from neuroplast.lp._command import COMMAND as LP
    from neuroplast.search._compress_command import COMMAND as COMPRESS
    from neuroplast.search.asng._command import COMMAND as ASNG
    from neuroplast.search.darts._command import COMMANDS as DARTS
    from neuroplast.search.equinas._command import COMMANDS as EQUINAS
    from neuroplast.search.growth._command import COMMANDS as GROWTH
    from neuroplast.search.mcts._command import COMMAND as MCTS
    from neuroplast.search.surgeon._command import COMMAND as SURGEON

    return {c.name: c for c in (MCTS, SURGEON, *GROWTH, LP, ASNG, COMPRESS, *EQUINAS, *DARTS)}


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    pairs = [k[: -len("_before")] for k in result if k.endswith("_before")]
    rest = {k: v for k, v in result.items() if not k.endswith(("_before", "_after"))}
    width = max(map(len, [*pairs, *rest, "quantity"]))
    print(f"{'quantity':<{width}}  {'before':>10}  {'after':>10}")
    for name in pairs:
        b, a = result[f"{name}_before"], result[f"{name}_after"]
        print(f"{name:<{width}}  {_cell(b):>10}  {_cell(a):>10}")
    for k, v in rest.items():
        print(f"{k:<{width}}  {_cell(v)}")


def _cell(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _optimize_parser(sub: Any) -> None:
    o = sub.add_parser(
        "optimize",
        help="optimize the structure of a network and report before/after",
        description="Optimize the structure of a network with one controller; "
        "`neuroplast optimize <controller> --help` lists its options.",
    )
    controllers = o.add_subparsers(dest="controller", required=True, metavar="CONTROLLER")
    for cmd in _commands().values():
        # No abbreviations: a prefix of this controller's option must not pass for another's.
        c = controllers.add_parser(
            cmd.name,
            help=cmd.help,
            description=cmd.help,
            formatter_class=_Formatter,
            allow_abbrev=False,
        )
        add_shared(c, cmd)
        cmd.add_arguments(c.add_argument_group(f"{cmd.name} options"))
        c.set_defaults(func=_optimize, command_spec=cmd)


def _compress_parser(sub: Any) -> None:
    cmd = _commands()["compress"]
    c = sub.add_parser(
        "compress",
        help="shrink a trained network within a validation accuracy budget",
        description=cmd.help + ". Same as `neuroplast optimize compress --model MODEL`.",
        formatter_class=_Formatter,
        allow_abbrev=False,
    )
    c.add_argument("model_path", nargs="?", metavar="MODEL", help="a saved network (.npl)")
    add_shared(c, cmd)
    cmd.add_arguments(c.add_argument_group("compress options"))
    c.set_defaults(func=_optimize, command_spec=cmd)


def _convert_parser(sub: Any) -> None:
    c = sub.add_parser(
        "convert",
        help="convert a network between .npl and .onnx",
        description="Convert a network file by suffix: .npl (neuroplast) or .onnx.",
        formatter_class=_Formatter,
    )
    c.add_argument("source", metavar="IN", help="the network to read (.npl or .onnx)")
    c.add_argument("target", metavar="OUT", help="the file to write (.npl or .onnx)")
    c.add_argument("--opset", type=int, help="ONNX opset of an .onnx target (default: 17)")
    c.add_argument("--softmax", action="store_true", help="an .onnx target ends with a Softmax")
    c.set_defaults(func=_convert)


def _convert(args: argparse.Namespace) -> int:
    from neuroplast.interop import load_model
    from neuroplast.search._cli import export_network

    net = load_model(args.source)
    export_network(net, args.target, opset=args.opset, softmax=args.softmax)
    print(f"{args.source} -> {args.target}: {net.n_params} parameters, {net.flops} FLOPs/sample")
    return 0


def _optimize(args: argparse.Namespace) -> int:
    if getattr(args, "model_path", None):
        if args.model:
            raise ConfigError("give the model once: as MODEL or as --model")
        args.model = args.model_path
    result = run_command(args, args.command_spec)
    _print_result(result, args.json)
    return 0


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults in every option's help (``%(default)s``)."""


def _parser() -> argparse.ArgumentParser:
    from neuroplast import __version__

    p = argparse.ArgumentParser(prog="neuroplast", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"neuroplast {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "train",
        help="train a network on a data set and print its metrics",
        formatter_class=_Formatter,
    )
    t.add_argument("--dataset", default="digits", choices=data.available())
    t.add_argument(
        "--arch",
        choices=("mlp", "cnn", "resnet"),
        default="mlp",
        help="mlp (flat features), cnn (conv stack, Spec.cnn) or resnet (Spec.resnet)",
    )
    t.add_argument(
        "--channels",
        type=int,
        action="append",
        help="conv channels per block (cnn) or per stage (resnet); repeat (default: 16, 32)",
    )
    t.add_argument(
        "--batch-norm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="batch normalization after each conv (default: off for cnn, on for resnet)",
    )
    t.add_argument(
        "--hidden",
        type=int,
        action="append",
        help="hidden dense layer width; repeat for more layers (default: 100 for mlp, 64 for cnn)",
    )
    t.add_argument("--activation", default="relu")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--optimizer", choices=("adam", "adamw", "sgd"), default="adam")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--nesterov", action="store_true")
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument(
        "--dropout", type=float, default=0.0, help="dropout rate of the hidden dense layers"
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--save", metavar="PATH", help="write the trained network to PATH")
    t.add_argument("--json", action="store_true", help="print the metrics as one JSON line")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    _optimize_parser(sub)
    _compress_parser(sub)
    _convert_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neuroplast`` console script."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except NeuroplastError as exc:
        print(f"neuroplast: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = ""
        if getattr(args, "run_dir", None):
            hint = " (checkpoints are kept: run the same command with --resume to continue)"
        print(f"\nneuroplast: interrupted{hint}", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
