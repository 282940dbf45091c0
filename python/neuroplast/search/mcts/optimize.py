"""The MCTS controller: generations of training and one searched action each (seed 000).

Generation ``g``: train ``epochs`` epochs (generation 0: ``initial_epochs``), record validation
accuracy and the true parameter count, check the phase's stopping rule, then run one MCTS
decision (:mod:`neuroplast.search.mcts.search`) and apply the chosen action through
:mod:`neuroplast.morph`. Every seed derives from ``(seed, generation)``, and a checkpoint after
every generation stores the network (with optimizer state) and the run's records, so
``resume=True`` continues a killed run to the same final network as an uninterrupted one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError
from neuroplast.morph.record import EditLog, EditRecord
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._evaluate import shared_data
from neuroplast.search._progress import Progress
from neuroplast.search._report import (
    layer_widths,
    plot_architectures,
    plot_epochs,
    plot_history,
)
from neuroplast.search._run import RunFolder
from neuroplast.search.mcts.actions import Action
from neuroplast.search.mcts.config import MCTSConfig
from neuroplast.search.mcts.search import Decision, Searcher

__all__ = ["MCTS", "MCTSResult"]


def _derive(seed: int, *keys: int) -> int:
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


@dataclass
class MCTSResult:
    """What an MCTS run produced.

    Attributes:
        network: The final network.
        records: One dict per generation: ``generation``, ``accuracy`` and ``loss``
            (validation), ``n_params``, ``widths``, ``epoch_accuracy`` (validation accuracy
            after every training epoch of the generation), and the ``action`` applied after it
            (label, ``action_kind``, ``decision`` statistics) when there was one.
        edits: The applied edits in order (training happens between them, so replaying them
            on the initial network gives the final architecture, not its weights).
        stop_reason: Why the run ended.
        run_dir: The run folder, if one was written.
    """

    network: Network
    records: list[dict[str, Any]]
    edits: EditLog
    stop_reason: str
    run_dir: Path | None = None

    @property
    def params_before(self) -> int:
        """Parameters at generation 0."""
        return int(self.records[0]["n_params"])

    @property
    def params_after(self) -> int:
        """Parameters of the final network."""
        return int(self.records[-1]["n_params"])

    def summary(self) -> dict[str, Any]:
        """``*_before``/``*_after`` pairs of parameters and validation accuracy, and more."""
        first, last = self.records[0], self.records[-1]
        return {
            "n_params_before": first["n_params"],
            "n_params_after": last["n_params"],
            "val_accuracy_before": first["accuracy"],
            "val_accuracy_after": last["accuracy"],
            "generations": len(self.records) - 1,
            "stop_reason": self.stop_reason,
        }


class MCTS:
    """Monte Carlo Tree Search over structural actions (seed 000), done the paper's way.

    Args:
        config: All settings (default :class:`MCTSConfig`); keyword ``overrides`` replace
            single fields.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> from neuroplast.search import MCTS
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 6)).astype(np.float32); y = (X[:, 0] > 0).astype(np.int64)
        >>> net = Network.init(Spec.mlp(6, [16], 2), seed=0)
        >>> res = MCTS.fast(generations=2, rollouts=6).optimize(
        ...     net, X[:150], y[:150], X[150:], y[150:], progress=False)
        >>> len(res.records) >= 1
        True
    """

    def __init__(self, config: MCTSConfig | None = None, **overrides: Any) -> None:
        cfg = config or MCTSConfig()
        self.config = cfg.replace(**overrides) if overrides else cfg

    @classmethod
    def paper(cls, phase: str = "optimize", **overrides: Any) -> MCTS:
        """The paper's settings (seed 000, Sec. 3.1 and Fig. 1).

        20 generations of 50 epochs, β = 0.001, w_acc = 1, w_params = 2 in phase 2 (0.5 in
        phase 1, the authors' code default; the paper states only phase 2's), rollout depth 2,
        UCB1 with c = √2. The paper states no search budget; its authors' code stops a decision
        after 60 s. The preset uses a deterministic 100 evaluations per decision instead (pass
        ``seconds=60`` for the time budget).
        """
        base = MCTSConfig(
            generations=20,
            epochs=50,
            w_params=2.0 if phase == "optimize" else 0.5,
            rollouts=100,
            depth=2,
            phase=phase,  # type: ignore[arg-type]
            initial_epochs=0 if phase == "optimize" else 50,
        )
        return cls(base, **overrides)

    @classmethod
    def fast(cls, phase: str = "optimize", **overrides: Any) -> MCTS:
        """Quick runs: 8 generations of 5 epochs, 24 evaluations per decision, depth 1.

        w_params is 2 for phase 2 and 0.5 for phase 1, as in :meth:`paper`.
        """
        base = MCTSConfig(
            generations=8,
            epochs=5,
            w_params=2.0 if phase == "optimize" else 0.5,
            rollouts=24,
            depth=1,
            tree_depth=2,
            train_samples=256,
            val_size=300,
            phase=phase,  # type: ignore[arg-type]
            initial_epochs=0 if phase == "optimize" else 5,
        )
        return cls(base, **overrides)

    # ------------------------------------------------------------------ one decision
    def decide(
        self,
        net: Network,
        X_train: npt.ArrayLike,
        y_train: npt.ArrayLike,
        X_val: npt.ArrayLike,
        y_val: npt.ArrayLike,
        *,
        seed: int = 0,
        executor: Executor | None = None,
        progress: bool = False,
    ) -> Decision:
        """Runs one MCTS decision from ``net`` and returns the chosen action."""
        Xv, yv = self._val_subset(X_val, y_val, seed)
        with shared_data(X_train, y_train, Xv, yv) as data:
            return Searcher(net, self.config, data, seed, executor, progress).run()

    def _val_subset(
        self, X: npt.ArrayLike, y: npt.ArrayLike, seed: int
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        Xa, ya = np.asarray(X), np.asarray(y)
        n = self.config.val_size
        if n is None or n >= Xa.shape[0]:
            return Xa, ya
        idx = np.sort(np.random.default_rng(_derive(seed, 2**31)).choice(Xa.shape[0], n, False))
        return Xa[idx], ya[idx]

    # ------------------------------------------------------------------ phases
    def phase1(self, net: Network, *args: Any, **kwargs: Any) -> MCTSResult:
        """Phase 1: grow until the validation accuracy reaches ``target_accuracy``."""
        return MCTS(self.config.replace(phase="grow")).optimize(net, *args, **kwargs)

    def phase2(self, net: Network, *args: Any, **kwargs: Any) -> MCTSResult:
        """Phase 2: optimize a trained network with ``w_params = 2`` (the paper's setting)."""
        cfg = self.config.replace(phase="optimize", w_params=2.0)
        return MCTS(cfg).optimize(net, *args, **kwargs)

    # ------------------------------------------------------------------ the run
    def optimize(
        self,
        net: Network,
        X_train: npt.ArrayLike,
        y_train: npt.ArrayLike,
        X_val: npt.ArrayLike,
        y_val: npt.ArrayLike,
        *,
        seed: int = 0,
        run_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        executor: Executor | None = None,
        progress: bool = True,
        report: bool = True,
    ) -> MCTSResult:
        """Runs generations of training and searched actions until the phase's stop rule.

        Args:
            net: The start network (not modified); trained already for phase 2.
            X_train: Training features (generation training and the search's short runs).
            y_train: Training labels.
            X_val: Held-out validation features: per-generation records, and (a seeded
                subset of ``val_size``) the search's scores.
            y_val: Validation labels.
            seed: Seed of the whole run.
            run_dir: Folder for history, final model, edit log, report and checkpoints.
            resume: Continue from the newest checkpoint in ``run_dir`` (same arguments).
            executor: Where the search's evaluations run (``None``: in this process).
            progress: Progress bars.
            report: Write the PNG report into ``run_dir/report``.

        Returns:
            The :class:`MCTSResult`.
        """
        cfg = self.config
        run = RunFolder(run_dir) if run_dir is not None else None
        if resume and run is None:
            raise ConfigError("resume=True needs a run_dir")
        Xv, yv = self._val_subset(X_val, y_val, seed)
        records: list[dict[str, Any]] = []
        log = EditLog()
        start = 0
        ckpt = run.latest_checkpoint() if (run is not None and resume) else None
        if ckpt is not None:
            _, net, state = ckpt
            self._check_state(state, seed)
            records, start = state["records"], int(state["generation"])
            log = EditLog(tuple(EditRecord.from_dict(d) for d in state["edits"]))
        else:
            net = net.copy()
        opt = Adam(lr=cfg.lr)
        reason = "generation limit"
        bar = Progress(cfg.generations + 1, "generations", enabled=progress, unit="gen")
        bar.update(start)
        with shared_data(X_train, y_train, Xv, yv) as data, bar:
            for g in range(start, cfg.generations + 1):
                epochs = cfg.epochs if g > 0 else cfg.initial_epochs
                curve: list[float | None] = []
                if epochs:
                    hist = net.fit(
                        X_train,
                        y_train,
                        epochs=epochs,
                        batch_size=cfg.batch_size,
                        optimizer=opt,
                        seed=_derive(seed, g, 0),
                        validation_data=(X_val, y_val),
                    )
                    curve = list(hist.val_accuracy)
                rec = self._record(net, g, X_val, y_val)
                rec["epoch_accuracy"] = curve
                records.append(rec)
                stop = self._stop(records)
                if stop is None and g == cfg.generations:
                    stop = "generation limit"
                if stop is not None:
                    reason = stop
                    bar.update(1, acc=rec["accuracy"], params=rec["n_params"])
                    break
                decision = Searcher(net, cfg, data, _derive(seed, g, 1), executor, progress).run()
                if decision.action is None:
                    reason = "no legal action"
                    break
                net, edit = cfg.actions.apply(
                    net,
                    decision.action,
                    decision.edit_seed,
                    calibration=(
                        np.asarray(X_train)[: cfg.actions.calibration],
                        np.asarray(y_train)[: cfg.actions.calibration],
                    ),
                )
                log = log.append(edit)
                rec.update(_action_fields(decision))
                bar.update(1, acc=rec["accuracy"], params=rec["n_params"])
                if run is not None:
                    state = {
                        "generation": g + 1,
                        "records": records,
                        "seed": seed,
                        "edits": [r.to_dict() for r in log.records],
                        "config": cfg.to_dict(),
                    }
                    run.save_checkpoint(g + 1, net, state)
        result = MCTSResult(net, records, log, reason, None if run is None else run.path)
        if run is not None:
            self._write(run, result, seed, report)
        return result

    def _check_state(self, state: Mapping[str, Any], seed: int) -> None:
        if state.get("seed") != seed or state.get("config") != self.config.to_dict():
            raise ConfigError(
                "the checkpoint was written with another seed or configuration; resume with "
                "the same settings or use a fresh run_dir"
            )

    @staticmethod
    def _record(net: Network, g: int, X: npt.ArrayLike, y: npt.ArrayLike) -> dict[str, Any]:
        m = net.evaluate(X, y)
        return {
            "generation": g,
            "accuracy": float(m.get("accuracy", float("nan"))),
            "loss": float(m["loss"]),
            "n_params": net.n_params,
            "widths": [list(w) for w in layer_widths(net.spec)],
            "action": None,
        }

    def _stop(self, records: list[dict[str, Any]]) -> str | None:
        cfg, first, last = self.config, records[0], records[-1]
        if cfg.phase == "grow" and last["accuracy"] >= cfg.target_accuracy:
            return f"target accuracy {cfg.target_accuracy} reached"
        if cfg.phase == "optimize" and len(records) > 1:
            shrunk = last["n_params"] <= (1.0 - cfg.min_param_reduction) * first["n_params"]
            kept = last["accuracy"] > first["accuracy"] - cfg.max_accuracy_drop
            if shrunk and kept:
                return (
                    f"parameters fell by >= {cfg.min_param_reduction:.0%} with an accuracy "
                    f"drop < {cfg.max_accuracy_drop}"
                )
        return None

    def _write(self, run: RunFolder, result: MCTSResult, seed: int, report: bool) -> None:
        run.write_final(result.network)
        run.write_edits(result.edits)
        history = {
            "controller": "mcts",
            "seed": seed,
            "config": self.config.to_dict(),
            "records": result.records,
            "summary": result.summary(),
        }
        run.write_history(history)
        if report:
            run.report.mkdir(parents=True, exist_ok=True)
            plot_history(
                result.records,
                run.report / "history.png",
                title="MCTS: validation accuracy and parameters per generation",
            )
            plot_epochs(
                result.records,
                run.report / "training.png",
                title="MCTS: validation accuracy per epoch (lines: applied actions)",
            )
            archs = [(r["generation"], [tuple(w) for w in r["widths"]]) for r in result.records]
            plot_architectures(archs, run.report / "architecture.png")


def _action_fields(decision: Decision) -> dict[str, Any]:
    action: Action = decision.action  # type: ignore[assignment]
    return {
        "action": action.label,
        "action_kind": action.kind,
        "action_args": action.to_dict(),
        "decision": {
            "rollouts": decision.rollouts,
            "seconds": round(decision.seconds, 4),
            "nodes": decision.nodes,
            "children": list(decision.children),
        },
    }
