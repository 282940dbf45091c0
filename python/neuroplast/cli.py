"""The ``neuroplast`` command line.

``neuroplast train --dataset digits --hidden 100 --epochs 20`` trains an MLP on a bundled data
set with a progress bar and prints the final metrics. ``neuroplast optimize --controller lp
--dataset xor`` optimizes the structure of a network and prints its size and accuracy before
and after.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from neuroplast import data
from neuroplast.errors import ConfigError, NeuroplastError
from neuroplast.network import Network
from neuroplast.optim import SGD, Adam, AdamW, Optimizer
from neuroplast.search.growth import _command as _growth_command
from neuroplast.search.mcts import _command as _mcts_command
from neuroplast.search.surgeon import _command as _surgeon_command
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
        progress=not args.quiet,
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


def _lp_controller(args: argparse.Namespace) -> dict[str, Any]:
    from neuroplast.lp import _command

    return _command.run(args)


def _add_lp_arguments(p: argparse.ArgumentParser) -> None:
    from neuroplast.lp import _command

    _command.add_arguments(p)


# Structure-optimization controllers: name -> (run, add its options). Each run returns a
# JSON-compatible dict with links/units/accuracy before and after.
_CONTROLLERS: dict[
    str, tuple[Callable[[argparse.Namespace], dict[str, Any]], Callable[..., None]]
] = {
    "lp": (_lp_controller, _add_lp_arguments),
    "surgeon": (_surgeon_command.run, _surgeon_command.add_arguments),
    "mcts": (_mcts_command.run, _mcts_command.add_arguments),
    **{
        name: (_growth_command.run, _growth_command.add_arguments)
        for name in _growth_command.CONTROLLERS
    },
}


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    pairs = sorted({k[: -len("_before")] for k in result if k.endswith("_before")})
    rest = {k: v for k, v in result.items() if not k.endswith(("_before", "_after"))}
    width = max(map(len, [*pairs, *rest, "quantity"]))
    print(f"{'quantity':<{width}}  {'before':>10}  {'after':>10}")
    for name in pairs:
        b, a = result[f"{name}_before"], result[f"{name}_after"]
        fmt = ".4f" if isinstance(b, float) else "d"
        print(f"{name:<{width}}  {b:>10{fmt}}  {a:>10{fmt}}")
    for k, v in rest.items():
        print(f"{k:<{width}}  {v:.4g}" if isinstance(v, float) else f"{k:<{width}}  {v}")


def _optimize(args: argparse.Namespace) -> int:
    from neuroplast import set_num_threads

    set_num_threads(args.threads)
    run, _ = _CONTROLLERS[args.controller]
    result = {"controller": args.controller, **run(args)}
    _print_result(result, args.json)
    return 0


def _optimize_parser(sub: Any) -> None:
    o = sub.add_parser(
        "optimize", help="optimize the structure of a network and report before/after"
    )
    o.add_argument("--controller", choices=sorted(_CONTROLLERS), default="lp")
    o.add_argument("--model", metavar="PATH", help="a network saved by `train --save`")
    o.add_argument(
        "--dataset",
        default="xor",
        choices=[*data.available(), "xor"],
        help="data to optimize on; without --model a quick network is trained first "
        "(xor: the seed's demo with 10 random hidden units)",
    )
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--threads", type=int, default=2)
    o.add_argument("--save", metavar="PATH", help="write the optimized network to PATH")
    o.add_argument("--json", action="store_true", help="print the result as one JSON line")
    for _, add in _CONTROLLERS.values():
        add(o)
    o.set_defaults(func=_optimize)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neuroplast", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a network on a data set and print its metrics")
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
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--save", metavar="PATH", help="write the trained network to PATH")
    t.add_argument("--json", action="store_true", help="print the metrics as one JSON line")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    _optimize_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``neuroplast`` console script."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except NeuroplastError as exc:
        print(f"neuroplast: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
