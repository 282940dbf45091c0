"""Side-by-side: neuroplast's MCTS vs growingnn 0.4.1 (seed 000's code) on digits.

Not part of CI. Needs ``pip install growingnn==0.4.1 numba`` (growingnn does not declare numba).

Both libraries start from a trained 64-100-10 MLP (each with its own defaults: growingnn a
sigmoid network trained by SGD with its progressive learning-rate schedule, neuroplast a ReLU
network trained by Adam) on the same stratified split of scikit-learn's digits, then run the
same number of decisions with training epochs between them. growingnn's search runs first; each
neuroplast decision then gets the same number of evaluations ("rollouts") as growingnn's
decision with the same index. Each library runs in its own subprocess with
``OPENBLAS_NUM_THREADS=1`` (neuroplast's engine also on 1 thread) so that peak memory is
measured separately: ``ru_maxrss`` of the process and its increase over the resident size
just before the first decision.

Speed is measured on ``--timed`` decisions made from the trained start network (after one
untimed warm-up decision in each library: numba compilation for growingnn, first-call costs for
neuroplast); the end-to-end loop then applies ``--decisions`` decisions with training between
them and gives the final parameters and accuracy.

growingnn's decision budget is time (``--sim-time``, its default is 60 s); with 0 it evaluates
every action once (it always runs at least one rollout per action plus one). Its score uses the
paper's weights for phase 2 (accuracy 1, parameters 2, β = 0.001).

Usage:
    OPENBLAS_NUM_THREADS=1 python benches/python/compare_growingnn.py --decisions 3 \
        --out benches/results/compare_growingnn.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np


def _rss_now_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _peak_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _digits(seed: int) -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    return Xtr, ytr, Xte, yte


def worker_growingnn(args: argparse.Namespace) -> dict[str, Any]:
    import asyncio

    import growingnn as gnn
    from growingnn.Simulation import montecarlo_alg
    from growingnn.Simulation.ScoreFunctions import Simulation_score
    from growingnn.Simulation.simulation import create_simulation_set_SAMLE

    Xtr, ytr, Xte, yte = _digits(args.seed)
    np.random.seed(args.seed)
    M = gnn.Model(
        64,
        100,
        10,
        gnn.Loss.multiclass_cross_entropy,
        gnn.Activations.Sigmoid,
        1,
        gnn.SGDOptimizer(),
        gnn.Activations.SoftMax,
    )
    M.batch_size = args.batch_size
    lr = gnn.LearningRateScheduler(gnn.LearningRateScheduler.PROGRESIVE, 0.03, 0.8)
    t = time.perf_counter()
    M.gradient_descent(Xtr.T, ytr, args.initial_epochs, lr, quiet=True)
    train_s = time.perf_counter() - t
    before = {
        "n_params": int(M.get_parametr_count()),
        "test_accuracy": float(M.evaluate(Xte.T, yte)),
    }
    sim_x, sim_y = create_simulation_set_SAMLE(Xtr.T, ytr, 20)
    score = Simulation_score(weight_acc=1.0, weight_countW=2.0)
    rss0, decisions, timed = _rss_now_kb(), [], []
    loop = asyncio.new_event_loop()

    def decide(k: int, budget: float) -> tuple[Any, int, float]:
        random.seed(args.seed + k)
        np.random.seed(args.seed + k)
        t = time.perf_counter()
        action, _, rollouts = loop.run_until_complete(
            montecarlo_alg.get_action(M.deepcopy(), budget, 20, sim_x, sim_y, score)
        )
        return action, int(rollouts), time.perf_counter() - t

    decide(10**6, 0.0)  # warm-up (untimed, minimal budget), like neuroplast's
    for k in range(args.timed):
        _, rollouts, seconds = decide(1000 + k, args.sim_time)
        timed.append({"seconds": seconds, "rollouts": rollouts})
    for _ in range(args.decisions):
        t = time.perf_counter()
        action, _, rollouts = loop.run_until_complete(
            montecarlo_alg.get_action(M.deepcopy(), args.sim_time, 20, sim_x, sim_y, score)
        )
        seconds = time.perf_counter() - t
        action.execute(M)
        decisions.append(
            {"seconds": seconds, "rollouts": int(rollouts), "action": str(action).strip()}
        )
        M.gradient_descent(Xtr.T, ytr, args.epochs, lr, quiet=True)
    loop.close()
    after = {
        "n_params": int(M.get_parametr_count()),
        "test_accuracy": float(M.evaluate(Xte.T, yte)),
    }
    return {
        "library": "growingnn 0.4.1",
        "initial_training_s": train_s,
        "before": before,
        "after": after,
        "timed": timed,
        "decisions": decisions,
        "rss_before_kb": rss0,
        "peak_rss_kb": _peak_kb(),
    }


def worker_neuroplast(args: argparse.Namespace) -> dict[str, Any]:
    import neuroplast
    from neuroplast import Network, Spec
    from neuroplast.optim import Adam
    from neuroplast.search import MCTS

    neuroplast.set_num_threads(1)
    Xtr, ytr, Xte, yte = _digits(args.seed)
    rng = np.random.default_rng(args.seed)
    idx = rng.permutation(Xtr.shape[0])
    va, tr = idx[: len(idx) // 7], idx[len(idx) // 7 :]
    net = Network.init(Spec.mlp(64, [100], 10), seed=args.seed)
    t = time.perf_counter()
    net.fit(
        Xtr[tr],
        ytr[tr],
        epochs=args.initial_epochs,
        batch_size=args.batch_size,
        optimizer=Adam(lr=1e-3),
        seed=args.seed,
    )
    train_s = time.perf_counter() - t
    before = {"n_params": net.n_params, "test_accuracy": net.evaluate(Xte, yte)["accuracy"]}
    rollouts = [int(r) for r in args.rollouts.split(",")]
    timed_rollouts = [int(r) for r in args.timed_rollouts.split(",")]
    rss0, decisions, timed = _rss_now_kb(), [], []

    def mcts_for(n: int) -> MCTS:
        return MCTS.fast(rollouts=n, depth=2, w_params=2.0, batch_size=args.batch_size)

    data = (Xtr[tr], ytr[tr], Xtr[va], ytr[va])
    mcts_for(timed_rollouts[0]).decide(net, *data, seed=10**6)  # warm-up (untimed)
    for k in range(args.timed):
        t = time.perf_counter()
        d = mcts_for(timed_rollouts[min(k, len(timed_rollouts) - 1)]).decide(
            net, *data, seed=1000 + k
        )
        timed.append({"seconds": time.perf_counter() - t, "rollouts": d.rollouts})
    for k in range(args.decisions):
        mcts = mcts_for(rollouts[min(k, len(rollouts) - 1)])
        t = time.perf_counter()
        d = mcts.decide(net, Xtr[tr], ytr[tr], Xtr[va], ytr[va], seed=args.seed + k)
        seconds = time.perf_counter() - t
        if d.action is None:  # e.g. a linear classifier: nothing left to grow or remove
            decisions.append({"seconds": seconds, "rollouts": d.rollouts, "action": None})
            break
        net, _ = mcts.config.actions.apply(net, d.action, d.edit_seed)
        decisions.append({"seconds": seconds, "rollouts": d.rollouts, "action": d.action.label})
        net.fit(
            Xtr[tr],
            ytr[tr],
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer=Adam(lr=1e-3),
            seed=args.seed + 100 + k,
            initial_epoch=1000 * (k + 1),
        )
    after = {"n_params": net.n_params, "test_accuracy": net.evaluate(Xte, yte)["accuracy"]}
    return {
        "library": f"neuroplast {neuroplast.__version__}",
        "initial_training_s": train_s,
        "before": before,
        "after": after,
        "timed": timed,
        "decisions": decisions,
        "rss_before_kb": rss0,
        "peak_rss_kb": _peak_kb(),
    }


def _spawn(which: str, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
    }
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        which,
        "--decisions",
        str(args.decisions),
        "--epochs",
        str(args.epochs),
        "--initial-epochs",
        str(args.initial_epochs),
        "--sim-time",
        str(args.sim_time),
        "--seed",
        str(args.seed),
        "--batch-size",
        str(args.batch_size),
        "--timed",
        str(args.timed),
        *extra,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{which} worker failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    secs = [d["seconds"] for d in r["timed"]]
    rolls = [d["rollouts"] for d in r["timed"]]
    return {
        "s_per_decision": float(np.median(secs)),
        "ms_per_rollout": 1000 * float(np.sum(secs) / np.sum(rolls)),
        "rollouts": rolls,
        "loop_rollouts": [d["rollouts"] for d in r["decisions"]],
        "peak_rss_mb": r["peak_rss_kb"] / 1024,
        "search_peak_increase_mb": max(0, r["peak_rss_kb"] - r["rss_before_kb"]) / 1024,
        "params_before": r["before"]["n_params"],
        "params_after": r["after"]["n_params"],
        "acc_before": r["before"]["test_accuracy"],
        "acc_after": r["after"]["test_accuracy"],
        "actions": [d["action"] for d in r["decisions"]],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", choices=("growingnn", "neuroplast"))
    p.add_argument("--decisions", type=int, default=3)
    p.add_argument("--epochs", type=int, default=5, help="training epochs between decisions")
    p.add_argument("--initial-epochs", type=int, default=20)
    p.add_argument("--sim-time", type=float, default=0.0, help="growingnn seconds per decision")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rollouts", default="10")
    p.add_argument("--timed-rollouts", default="10")
    p.add_argument("--timed", type=int, default=5, help="timed decisions from the start network")
    p.add_argument("--out")
    p.add_argument("--reuse-growingnn", metavar="JSON", help="growingnn worker output to reuse")
    args = p.parse_args()
    if args.worker == "growingnn":
        print(json.dumps(worker_growingnn(args)))
        return
    if args.worker == "neuroplast":
        print(json.dumps(worker_neuroplast(args)))
        return
    if args.reuse_growingnn:
        with open(args.reuse_growingnn) as fh:
            g = json.load(fh)
    else:
        g = _spawn("growingnn", args, [])
        with open((args.out or "compare_growingnn.json") + ".growingnn.json", "w") as fh:
            json.dump(g, fh)
    rollouts = ",".join(str(d["rollouts"]) for d in g["decisions"])
    timed = ",".join(str(d["rollouts"]) for d in g["timed"])
    n = _spawn("neuroplast", args, ["--rollouts", rollouts, "--timed-rollouts", timed])
    gs, ns = _summary(g), _summary(n)
    table = {
        "growingnn": gs,
        "neuroplast": ns,
        "speedup_per_decision": gs["s_per_decision"] / ns["s_per_decision"],
        "peak_rss_ratio": ns["peak_rss_mb"] / gs["peak_rss_mb"],
        "search_memory_ratio": (ns["search_peak_increase_mb"] or 0.0)
        / max(gs["search_peak_increase_mb"], 1e-9),
        "settings": vars(args)
        | {
            "OPENBLAS_NUM_THREADS": "1",
            "cpu_count": os.cpu_count(),
            "load_avg_at_end": os.getloadavg(),
        },
        "raw": {"growingnn": g, "neuroplast": n},
    }
    rows = [
        ("s / decision", "s_per_decision", ".3f"),
        ("ms / rollout", "ms_per_rollout", ".1f"),
        ("peak RSS (MB)", "peak_rss_mb", ".0f"),
        ("search RSS increase (MB)", "search_peak_increase_mb", ".1f"),
        ("params before", "params_before", "d"),
        ("params after", "params_after", "d"),
        ("test acc before", "acc_before", ".4f"),
        ("test acc after", "acc_after", ".4f"),
    ]
    print("| | growingnn 0.4.1 | neuroplast | ratio |\n|---|---|---|---|")
    for label, key, fmt in rows:
        a, b = gs[key], ns[key]
        ratio = (
            f"{a / b:.1f}x"
            if key in ("s_per_decision", "ms_per_rollout")
            else (f"{b / a:.3f}" if "rss" in key and a else "")
        )
        print(f"| {label} | {a:{fmt}} | {b:{fmt}} | {ratio} |")
    print(f"rollouts per decision: {gs['rollouts']} (neuroplast {ns['rollouts']})")
    print(f"actions: growingnn {gs['actions']}; neuroplast {ns['actions']}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(table, fh, indent=1)


if __name__ == "__main__":
    main()
