"""One EquiNAS_E generation (children, partial training, selection) and its checkpoints.

After every generation the population is saved as generation ``g`` of the run folder: the most
accurate individual through :meth:`RunFolder.save_checkpoint` (whose JSON, written last, marks
the checkpoint complete), the others before it as ``checkpoints/gen_XXXX_ind_<id>.npl``. Every
random choice derives from ``(seed, purpose, generation, ...)``, so a resumed run ends
bit-for-bit where an uninterrupted one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuroplast.morph import relaxations
from neuroplast.network import Network
from neuroplast.optim import SGD, Adam
from neuroplast.search._contract import RunContext
from neuroplast.search._evaluate import DataRef, EditStep, Job, JobResult, TrainStep, evaluate
from neuroplast.search._run import RunFolder
from neuroplast.search._splits import Splits
from neuroplast.search.equinas._pareto import select
from neuroplast.search.equinas.evolution import EquiNASEConfig, Individual, layer_groups

__all__ = ["Loop", "State"]

# Purposes of the derived seeds.
_TRAIN, _CHILDREN, _SELECT = 1, 2, 3


@dataclass
class State:
    """The loop's state after ``generation`` generations."""

    generation: int
    population: list[Individual]
    history: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 1


class Loop:
    """Runs generations of EquiNAS_E for one controller run."""

    def __init__(self, cfg: EquiNASEConfig, data: Splits, ctx: RunContext, threads: int) -> None:
        self.cfg, self.data, self.ctx, self.threads = cfg, data, ctx, threads

    # ------------------------------------------------------------------ start and resume
    def start(self, net: Network) -> State:
        """Generation 0: the start network alone."""
        acc = float(net.evaluate(self.data.X_val, self.data.y_val).get("accuracy", 0.0))
        first = Individual(0, net, None, [], acc, net.n_params, -1)
        return State(0, [first], [])

    def resume(self) -> State | None:
        """The state of the newest checkpoint (``None`` without one)."""
        folder = self.ctx.folder
        latest = folder.latest_checkpoint() if folder is not None else None
        if folder is None or latest is None:
            return None
        gen, best, st = latest
        pop = []
        for meta in st["population"]:
            net = (
                best
                if meta["id"] == st["population"][0]["id"]
                else Network.load(_path(folder, gen, meta["id"]))
            )
            pop.append(_individual(net, meta))
        return State(gen, pop, st["history"], st["next_id"])

    def save(self, st: State) -> None:
        """Checkpoints ``st`` (when the run has a folder)."""
        folder = self.ctx.folder
        if folder is None:
            return
        for ind in st.population[1:]:
            ind.net.save(_path(folder, st.generation, ind.id))
        state = {
            "generation": st.generation,
            "population": [i.meta() for i in st.population],
            "history": st.history,
            "next_id": st.next_id,
        }
        folder.save_checkpoint(st.generation, st.population[0].net, state)

    # ------------------------------------------------------------------ one generation
    def _train_step(self, gen: int) -> TrainStep:
        cfg, n = self.cfg, int(self.data.y_train.shape[0])
        whole = cfg.epochs_per_generation >= 1
        return TrainStep(
            epochs=int(cfg.epochs_per_generation) if whole else 1,
            samples=None if whole else max(1, round(cfg.epochs_per_generation * n)),
            batch_size=cfg.batch_size,
            optimizer=_optimizer(cfg),
            seed=self.ctx.seed_for(_TRAIN, gen),
            initial_epoch=gen,
        )

    def _children(self, parent: Individual, gen: int) -> list[tuple[str, str]]:
        options = relaxations(parent.net)
        k = self.cfg.max_children
        if k is None or len(options) <= k:
            return options
        rng = np.random.default_rng(self.ctx.seed_for(_CHILDREN, gen, parent.id))
        return [options[i] for i in sorted(rng.choice(len(options), size=k, replace=False))]

    def generation(self, st: State, data: DataRef) -> State:
        """Runs generation ``st.generation`` and checkpoints the result."""
        gen, train = st.generation, self._train_step(st.generation)
        jobs: list[Job] = []
        for p in st.population:
            jobs.append(Job(p.net, (train,), data, self.threads, tag=(p.id, None)))
        for p in st.population:
            for layer, sub in self._children(p, gen):
                edit = EditStep("relax", {"layer": layer, "subgroup": sub})
                jobs.append(Job(p.net, (edit, train), data, self.threads, tag=(p.id, edit)))
        results = evaluate(jobs, self.ctx.executor)
        cands, next_id = self._candidates(st, results, gen)
        points = [(c.val_accuracy, c.n_params) for c in cands]
        if self.cfg.random_select:
            rng = np.random.default_rng(self.ctx.seed_for(_SELECT, gen))
            order = sorted(rng.choice(len(cands), min(len(cands), self.cfg.population), False))
            chosen = sorted(order, key=lambda i: (-points[i][0], points[i][1], i))
        else:
            chosen = select(points, self.cfg.population, self.cfg.front_cap)
        pop = [cands[i] for i in chosen]
        record = _record(gen, pop, len(cands), st.population[0].id)
        out = State(gen + 1, pop, [*st.history, record], next_id)
        self.save(out)
        return out

    def _candidates(
        self, st: State, results: list[JobResult], gen: int
    ) -> tuple[list[Individual], int]:
        parents = {p.id: p for p in st.population}
        cands, next_id = [], st.next_id
        for res in results:
            pid, edit = res.tag
            if res.network is None:
                continue  # a diverged child is dropped
            par = parents[pid]
            acc = 0.0 if np.isnan(res.accuracy) else float(res.accuracy)
            if edit is None:  # the parent itself, trained on
                cands.append(
                    Individual(pid, res.network, par.parent, par.edits, acc, res.n_params, par.born)
                )
            else:
                edits = [*par.edits, *res.records]
                cands.append(Individual(next_id, res.network, pid, edits, acc, res.n_params, gen))
                next_id += 1
        return cands, next_id


def _optimizer(cfg: EquiNASEConfig) -> SGD | Adam:
    if cfg.optimizer == "adam":
        return Adam(lr=cfg.lr)
    return SGD(lr=cfg.lr, momentum=cfg.momentum)


def _record(gen: int, pop: list[Individual], n_cands: int, previous_best: int) -> dict[str, Any]:
    best = pop[0]
    changed = best.id != previous_best and best.born == gen and best.edits
    last = best.edits[-1]["args"] if changed else None
    return {
        "step": gen,
        "val_accuracy": best.val_accuracy,
        "n_params": best.n_params,
        "groups": layer_groups(best.net),
        "edit": f"relax {last['layer']}->{last['subgroup']}" if last else None,
        "edit_kind": "relax" if last else None,
        "candidates": n_cands,
        "population": [i.meta() for i in pop],
    }


def _path(folder: RunFolder, gen: int, ident: int) -> Any:
    return folder.checkpoints / f"gen_{gen:04d}_ind_{ident}.npl"


def _individual(net: Network, meta: dict[str, Any]) -> Individual:
    return Individual(
        meta["id"],
        net,
        meta["parent"],
        meta["edits"],
        meta["val_accuracy"],
        meta["n_params"],
        meta["born"],
    )
