"""The ``lp`` controller of ``neuroplast optimize``: load or build a network, prune, report."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

import numpy as np

from neuroplast import data
from neuroplast.errors import ConfigError
from neuroplast.lp.examples import xor_example
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.lp.persist import save_perceptron
from neuroplast.lp.prune import LPPruneResult, optimize_multilevel, prune_hidden_lp
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.spec import Spec

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the options of the LP controller to the ``optimize`` parser."""
    g = p.add_argument_group("lp controller")
    g.add_argument("--method", choices=("auto", "simplex", "ipm"), default="auto")
    g.add_argument("--big-m", type=float, default=1.0e4, help="weight of the training error")
    g.add_argument("--multilevel", action="store_true", help="then optimize as a DAG")
    g.add_argument("--samples", type=int, default=500, help="training samples in the LP")
    g.add_argument("--hidden", type=int, default=32, help="hidden units of a quick network")
    g.add_argument("--epochs", type=int, default=30, help="epochs of a quick network")


def _quick_network(ds: data.Dataset, args: argparse.Namespace) -> Network:
    # tanh is the engine activation closest to the perceptron's saturation.
    net = Network.init(Spec.mlp(ds.n_features, [args.hidden], ds.n_classes, "tanh"), args.seed)
    print(f"training {ds.n_features}-{args.hidden}-{ds.n_classes} (tanh)", file=sys.stderr)
    net.fit(ds.X_train, ds.y_train, epochs=args.epochs, optimizer=Adam(lr=3e-3), seed=args.seed)
    return net


def _accuracy(net: Network | PerceptronNetwork | PerceptronDAG, X: Any, y: Any) -> float:
    out = net.forward(X) if isinstance(net, Network) else net.predict(X)
    return float(np.mean(np.argmax(out, axis=1) == y))


def _solve(net: Any, X: Any, Y: Any, args: argparse.Namespace) -> LPPruneResult:
    kw: dict[str, Any] = dict(big_m=args.big_m, method=args.method)
    res = prune_hidden_lp(net, X, Y, **kw)
    if args.multilevel:
        ml = optimize_multilevel(res.network, X, Y, **kw)
        # Before/after of the whole run: the multi-level step starts from the pruned network.
        report = replace(
            ml.report,
            links_before=res.report.links_before,
            units_before=res.report.units_before,
            accuracy_before=res.report.accuracy_before,
            lp_error=res.report.lp_error + ml.report.lp_error,
            nit=res.report.nit + ml.report.nit,
        )
        return LPPruneResult(ml.network, report)
    return res


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the LP controller and returns the result as a JSON-compatible dict."""
    if args.dataset == "xor":
        if args.model:
            raise ConfigError("--model cannot be combined with --dataset xor (it builds its own)")
        X, Y, net = xor_example(seed=args.seed)
        res = _solve(net, X, Y, args)
        result: dict[str, Any] = {"dataset": "xor", **res.report.as_dict()}
    else:
        if args.samples < 1:
            raise ConfigError(f"--samples must be >= 1, got {args.samples}")
        ds = data.load(args.dataset, seed=args.seed)
        model = Network.load(args.model) if args.model else _quick_network(ds, args)
        Xs, ys = ds.X_train[: args.samples], ds.y_train[: args.samples]
        res = _solve(model, Xs, ys, args)
        result = {"dataset": ds.name, "samples": int(Xs.shape[0]), **res.report.as_dict()}
        result["test_accuracy_before"] = _accuracy(model, ds.X_test, ds.y_test)
        result["test_accuracy_after"] = _accuracy(res.network, ds.X_test, ds.y_test)
    result["structure"] = "dag" if isinstance(res.network, PerceptronDAG) else "layers"
    if args.save:
        save_perceptron(res.network, args.save)
        result["saved"] = args.save
    return result
