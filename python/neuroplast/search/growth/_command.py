"""The growth controllers of ``neuroplast optimize``: ``north-select`` … ``nest`` and ``dyno``.

``neuroplast optimize --dataset digits --controller north-select --hidden 8 --max-width 128``
trains a small MLP (or the ``--model``) while Algorithm 4 grows it; ``--controller dyno``
fine-tunes a trained network with grow-and-prune (Algorithm 5; without ``--model`` a network of
``--hidden`` units is trained first). Both print before/after parameters and test accuracy and,
with ``--run-dir``, write ``history.json``, ``final.npl``, ``edits.json`` and
``report/widths.png`` / ``report/accuracy.png``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._cli import add_once
from neuroplast.search._run import RunFolder
from neuroplast.search.growth.dyno import DYNO
from neuroplast.search.growth.neurogenesis import STRATEGIES, Neurogenesis
from neuroplast.search.growth.report import write_report
from neuroplast.spec import Spec

__all__ = ["CONTROLLERS", "add_arguments", "run"]

#: Controller names of ``optimize --controller`` handled here.
CONTROLLERS: tuple[str, ...] = (*STRATEGIES, "dyno")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the growth controllers' options to the ``optimize`` parser (once for all names)."""
    if "--max-width" in p._option_string_actions:  # one group serves every growth controller
        return
    g = p.add_argument_group("growth controllers (north-*, gradmax, firefly, nest, dyno)")
    g.add_argument("--max-width", type=int, help="growth: largest width of every hidden layer")
    g.add_argument("--hidden-layers", type=int, default=1, help="growth: layers of a quick MLP")
    g.add_argument("--schedule", choices=("dynamic", "linear", "batched"), default="dynamic")
    g.add_argument("--target-width", type=int, help="growth: final width of a preset schedule")
    g.add_argument("--eval-every", type=int, help="growth: steps between trigger evaluations")
    g.add_argument("--batch-size", type=int, help="growth: minibatch size (128; dyno 64)")
    g.add_argument("--lr", type=float, help="growth: Adam learning rate (3e-3; dyno 3e-4)")
    g.add_argument("--steps", type=int, default=1000, help="dyno: gradient steps")
    g.add_argument("--gamma-a", type=float, default=0.97, help="growth: activation trigger γ")
    add_once(g, "--run-dir", metavar="DIR", help="write the run folder")
    add_once(g, "--no-progress", action="store_true", help="no progress bars")


def _network(args: argparse.Namespace, ds: data.Dataset, train_first: bool) -> Network:
    if args.model:
        return Network.load(args.model)
    if args.hidden < 1 or args.hidden_layers < 1:
        raise ConfigError("--hidden and --hidden-layers must be at least 1")
    spec = Spec.mlp(ds.n_features, [args.hidden] * args.hidden_layers, ds.n_classes)
    net = Network.init(spec, seed=args.seed)
    if train_first:
        print(f"training a {spec.widths} MLP before fine-tuning", file=sys.stderr)
        net.fit(ds.X_train, ds.y_train, epochs=args.epochs, optimizer=Adam(lr=1e-3), seed=args.seed)
    return net


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the chosen growth controller; returns the before/after summary."""
    if args.dataset == "xor":
        raise ConfigError(f"the {args.controller} controller needs a data set, not xor")
    ds = data.load(args.dataset, seed=args.seed)
    dyno = args.controller == "dyno"
    net = _network(args, ds, train_first=dyno)
    before = net.evaluate(ds.X_test, ds.y_test)
    progress = not args.no_progress
    val = (ds.X_test, ds.y_test)
    lr = args.lr or (3e-4 if dyno else 3e-3)
    if dyno:
        result = DYNO(max_width=args.max_width, eval_every=args.eval_every or 50).fit(
            net,
            ds.X_train,
            ds.y_train,
            steps=args.steps,
            batch_size=args.batch_size or 64,
            optimizer=Adam(lr=lr, weight_decay=1e-3),
            seed=args.seed,
            validation_data=val,
            progress=progress,
        )
    else:
        result = Neurogenesis(
            strategy=args.controller,
            schedule=args.schedule,
            max_width=args.max_width,
            target_width=args.target_width,
            gamma_a=args.gamma_a,
            eval_every=args.eval_every or 1,
        ).fit(
            net,
            ds.X_train,
            ds.y_train,
            epochs=args.epochs,
            batch_size=args.batch_size or 128,
            optimizer=Adam(lr=lr),
            seed=args.seed,
            validation_data=val,
            progress=progress,
        )
    final = result.network
    after = final.evaluate(ds.X_test, ds.y_test)
    if args.run_dir:
        folder = RunFolder(args.run_dir)
        folder.write_history({"controller": args.controller, **result.to_dict()})
        folder.write_final(final)
        folder.write_edits(result.log)
        write_report(result, folder.report, args.controller)
    if args.save:
        final.save(args.save)
    widths = {k: v for k, v in final.spec.widths.items() if k not in ("input", final.spec.output)}
    return {
        "params_before": int(net.n_params),
        "params_after": int(final.n_params),
        "accuracy_before": float(before["accuracy"]),
        "accuracy_after": float(after["accuracy"]),
        "widths": " ".join(f"{k}={v}" for k, v in widths.items()),
        "structural_changes": len(result.events),
        "seconds": result.seconds,
    }
