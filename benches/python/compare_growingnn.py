"""Side-by-side: neuroplast's MCTS vs growingnn 0.4.1 (seed 000's code) on digits.

Not part of CI. Needs ``pip install growingnn==0.4.1 numba`` (growingnn does not declare numba).

Both libraries start from a trained 64-100-10 MLP (each with its own defaults: growingnn a
sigmoid network trained by SGD with its progressive learning-rate schedule, neuroplast a ReLU
network trained by Adam) on the same stratified split of scikit-learn's digits (the same
validation part, 1/7 of the training split, for both), then run the same protocol: decisions
with training epochs between them until the paper's phase-2 rule (parameters down by >= 20 %
with < 0.1 validation-accuracy loss) or ``--decisions``. growingnn's search runs first; each
neuroplast decision then gets the same number of evaluations ("rollouts") as growingnn's
decision with the same index. Each library runs in its own subprocess with
``OPENBLAS_NUM_THREADS=1`` (neuroplast's engine also on 1 thread) so that peak memory is
measured separately: ``ru_maxrss`` of the process and its increase over the resident size
after the warm-up decision (an upper bound of the search's own memory: the high-water mark may
date from the warm-up).

Speed is measured on ``--timed`` decisions made from the trained start network (after one
untimed warm-up decision in each library: numba compilation for growingnn, first-call costs for
neuroplast); the end-to-end loop gives the final parameters and test accuracy. Wall and CPU
time are both recorded (the CPU time of a single-threaded process is robust on a shared
machine).

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


def _digits(seed: int) -> tuple[Any, ...]:
    """Train / validation / test splits shared by both libraries (validation: 1/7 of train)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    idx = np.random.default_rng(seed).permutation(Xtr.shape[0])
    va, tr = idx[: len(idx) // 7], idx[len(idx) // 7 :]
    return Xtr[tr], ytr[tr], Xtr[va], ytr[va], Xte, yte


class Clock:
    """Wall and CPU time of a block (CPU time is robust on a shared machine)."""

    def __enter__(self) -> Clock:
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


def _stop(first: dict[str, Any], now: dict[str, Any]) -> bool:
    """The paper's phase-2 rule: parameters fell >= 20 % with < 0.1 accuracy drop."""
    return bool(
        now["n_params"] <= 0.8 * first["n_params"]
        and now["val_accuracy"] > first["val_accuracy"] - 0.1
    )


def worker_growingnn(args: argparse.Namespace) -> dict[str, Any]:
    import asyncio

    import growingnn as gnn
    from growingnn.Simulation import montecarlo_alg
    from growingnn.Simulation.ScoreFunctions import Simulation_score
    from growingnn.Simulation.simulation import create_simulation_set_SAMLE

    Xtr, ytr, Xva, yva, Xte, yte = _digits(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
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
    with Clock() as clock:
        M.gradient_descent(Xtr.T, ytr, args.initial_epochs, lr, quiet=True)

    def state() -> dict[str, Any]:
        return {
            "n_params": int(M.get_parametr_count()),
            "val_accuracy": float(M.evaluate(Xva.T, yva)),
            "test_accuracy": float(M.evaluate(Xte.T, yte)),
        }

    before = state()
    sim_x, sim_y = create_simulation_set_SAMLE(Xtr.T, ytr, 20)
    score = Simulation_score(weight_acc=1.0, weight_countW=2.0)
    decisions, timed = [], []
    loop = asyncio.new_event_loop()

    def decide(k: int, budget: float) -> tuple[Any, int, Clock]:
        random.seed(args.seed + k)
        np.random.seed(args.seed + k)
        with Clock() as c:
            action, _, rollouts = loop.run_until_complete(
                montecarlo_alg.get_action(M.deepcopy(), budget, 20, sim_x, sim_y, score)
            )
        return action, int(rollouts), c

    decide(10**6, 0.0)  # warm-up (untimed, minimal budget), like neuroplast's
    rss0 = _rss_now_kb()
    for k in range(args.timed):
        _, rollouts, c = decide(1000 + k, args.sim_time)
        timed.append({"seconds": c.wall, "cpu_seconds": c.cpu, "rollouts": rollouts})
    after = before
    for k in range(args.decisions):
        action, rollouts, c = decide(k, args.sim_time)
        action.execute(M)
        decisions.append({"seconds": c.wall, "rollouts": rollouts, "action": str(action).strip()})
        M.gradient_descent(Xtr.T, ytr, args.epochs, lr, quiet=True)
        after = state()
        if _stop(before, after):
            break
    loop.close()
    return {
        "library": "growingnn 0.4.1",
        "initial_training_s": clock.wall,
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
    from neuroplast.search import MCTS, ActionSpace, MCTSConfig, Splits

    neuroplast.set_num_threads(1)
    Xtr, ytr, Xva, yva, Xte, yte = _digits(args.seed)
    net = Network.init(Spec.mlp(64, [100], 10), seed=args.seed)
    opt = Adam(lr=1e-3)
    with Clock() as clock:
        net.fit(
            Xtr,
            ytr,
            epochs=args.initial_epochs,
            batch_size=args.batch_size,
            optimizer=opt,
            seed=args.seed,
        )

    def state() -> dict[str, Any]:
        return {
            "n_params": net.n_params,
            "val_accuracy": net.evaluate(Xva, yva)["accuracy"],
            "test_accuracy": net.evaluate(Xte, yte)["accuracy"],
        }

    space = ActionSpace(narrow_method=args.narrow_method, narrow_compensate=args.compensate)

    def mcts_for(n: int) -> MCTS:
        config = MCTSConfig.fast(
            rollouts=n,
            depth=2,
            w_params=2.0,
            batch_size=args.batch_size,
            train_samples=args.train_samples,
            actions=space,
        )
        return MCTS(config)

    before = state()
    rollouts = [int(r) for r in args.rollouts.split(",")]
    timed_rollouts = [int(r) for r in args.timed_rollouts.split(",")]
    decisions, timed = [], []
    data = Splits(Xtr, ytr, Xva, yva)
    mcts_for(timed_rollouts[0]).decide(net, data, seed=10**6)  # warm-up (untimed)
    rss0 = _rss_now_kb()
    for k in range(args.timed):
        with Clock() as c:
            d = mcts_for(timed_rollouts[min(k, len(timed_rollouts) - 1)]).decide(
                net, data, seed=1000 + k
            )
        timed.append({"seconds": c.wall, "cpu_seconds": c.cpu, "rollouts": d.rollouts})
    after = before
    for k in range(args.decisions):
        mcts = mcts_for(rollouts[min(k, len(rollouts) - 1)])
        with Clock() as c:
            d = mcts.decide(net, data, seed=args.seed + k)
        if d.action is None:
            decisions.append({"seconds": c.wall, "rollouts": d.rollouts, "action": None})
            break
        net, _ = mcts.config.actions.apply(
            net, d.action, d.edit_seed, calibration=(Xtr[:256], ytr[:256])
        )
        decisions.append({"seconds": c.wall, "rollouts": d.rollouts, "action": d.action.label})
        net.fit(
            Xtr,
            ytr,
            epochs=args.epochs,
            batch_size=args.batch_size,
            optimizer=opt,
            seed=args.seed + 100 + k,
            initial_epoch=1000 * (k + 1),
        )
        after = state()
        if _stop(before, after):
            break
    return {
        "library": f"neuroplast {neuroplast.__version__}",
        "initial_training_s": clock.wall,
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
        "--train-samples",
        str(args.train_samples),
        "--narrow-method",
        args.narrow_method,
        *(["--compensate", args.compensate] if args.compensate else []),
        *extra,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{which} worker failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _summary(r: dict[str, Any]) -> dict[str, Any]:
    secs = [d["seconds"] for d in r["timed"]]
    cpu = [d["cpu_seconds"] for d in r["timed"]]
    rolls = [d["rollouts"] for d in r["timed"]]
    return {
        "s_per_decision": float(np.median(secs)),
        "cpu_s_per_decision": float(np.median(cpu)),
        "ms_per_rollout": 1000 * float(np.sum(secs) / np.sum(rolls)),
        "cpu_ms_per_rollout": 1000 * float(np.sum(cpu) / np.sum(rolls)),
        "rollouts": rolls,
        "loop_rollouts": [d["rollouts"] for d in r["decisions"]],
        "peak_rss_mb": r["peak_rss_kb"] / 1024,
        "search_peak_increase_mb": max(0, r["peak_rss_kb"] - r["rss_before_kb"]) / 1024,
        "params_before": r["before"]["n_params"],
        "params_after": r["after"]["n_params"],
        "acc_before": r["before"]["test_accuracy"],
        "acc_after": r["after"]["test_accuracy"],
        "decisions_made": len(r["decisions"]),
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
    p.add_argument("--train-samples", type=int, default=256, help="neuroplast short training")
    p.add_argument("--narrow-method", default="quasi_identity", help="neuroplast neuron removal")
    p.add_argument("--compensate", choices=("lstsq",), help="neuroplast: refit consumers")
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
        "cpu_speedup_per_decision": gs["cpu_s_per_decision"] / ns["cpu_s_per_decision"],
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
        ("s / decision (wall, median)", "s_per_decision", ".3f"),
        ("s / decision (CPU, median)", "cpu_s_per_decision", ".3f"),
        ("ms / rollout (wall)", "ms_per_rollout", ".1f"),
        ("ms / rollout (CPU)", "cpu_ms_per_rollout", ".1f"),
        ("peak RSS (MB)", "peak_rss_mb", ".0f"),
        ("search RSS increase (MB)", "search_peak_increase_mb", ".1f"),
        ("params before", "params_before", "d"),
        ("params after", "params_after", "d"),
        ("test acc before", "acc_before", ".4f"),
        ("test acc after", "acc_after", ".4f"),
        ("decisions until the stop rule", "decisions_made", "d"),
    ]
    print("| | growingnn 0.4.1 | neuroplast | ratio |\n|---|---|---|---|")
    for label, key, fmt in rows:
        a, b = gs[key], ns[key]
        ratio = f"{a / b:.1f}x" if "per_" in key else (f"{b / a:.3f}" if "rss" in key and a else "")
        print(f"| {label} | {a:{fmt}} | {b:{fmt}} | {ratio} |")
    print(f"rollouts per decision: {gs['rollouts']} (neuroplast {ns['rollouts']})")
    print(f"actions: growingnn {gs['actions']}; neuroplast {ns['actions']}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(table, fh, indent=1)


if __name__ == "__main__":
    main()
