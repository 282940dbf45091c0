"""One MCTS decision: expand every legal action of the current network, roll out, choose.

Each evaluation is one :class:`~neuroplast.search.Job`: from the parent's network, apply the
node's action and train briefly (the node's own network, captured and cached), then ``depth``
random legal actions each followed by the same short training (the rollout). Validation
accuracy and the true parameter count after every training step give scores (eq. 1, or with an
accuracy floor and ``budget_score`` the budget's
:func:`~neuroplast.search.mcts.penalized_score`); the backed-up value is the last score of the
rollout, or the best (or mean) of the node's own score and the rollout's. Every legal action of
the root is evaluated at least once (the paper's expansion), so a decision runs
``max(budget, number of legal actions)`` evaluations under a rollout budget. Up to ``parallel``
evaluations are selected at once with virtual visits and run on the executor.

With an accuracy floor (the run's budget on the validation subset) the search first measures
what its short training alone does to the root network: ``IDENTITY_RUNS`` short trainings of
the unedited root (not counted as evaluations), whose mean accuracy is the root's accuracy
"the search's way". The floor is shifted by the difference to the root's plain accuracy, so an
edit is judged by the accuracy it costs, not by the noise of training on a few hundred samples
(the short training alone moved a trained MNIST-1D network by −0.02). The decision is the most
visited root child among the *admitted* ones: those whose own accuracy reaches that floor and,
in phase ``"optimize"``, whose own score beats the root's (its accuracy the search's way and
its size; so a growth that buys nothing is not taken). When none is
admitted, the decision has no action and says ``stop="budget"``; in phase ``None`` it falls
back to the most visited child.

Networks are never stored in the tree. An LRU cache bounded in count and bytes
(``cache_size``, ``cache_mb``) keeps the networks of recently evaluated nodes; any other node's
network is re-derived by replaying its path (edit, then the short training with the node's own
seed) from the nearest cached ancestor or the root, which gives the same network bit-for-bit.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._evaluate import (
    DataRef,
    EditStep,
    Job,
    JobResult,
    TrainStep,
    evaluate,
    run_job,
)
from neuroplast.search._progress import Progress
from neuroplast.search.mcts.actions import Action
from neuroplast.search.mcts.config import MCTSConfig, penalized_score, score
from neuroplast.search.mcts.tree import Node, backup, most_visited, select_child

__all__ = ["IDENTITY_RUNS", "Decision", "Searcher"]

_RANDOM_ACTION = "neuroplast.search.mcts.actions:random_action"

#: Short trainings of the unedited root that calibrate the accuracy floor of a decision.
IDENTITY_RUNS = 3


@dataclass(frozen=True)
class Decision:
    """The outcome of one decision.

    Attributes:
        action: The chosen action (the most visited child of the root), ``None`` if no action
            was legal.
        edit_seed: Seed to apply it with (the one its evaluations used).
        rollouts: Evaluations run.
        seconds: Wall time of the decision.
        nodes: Nodes in the tree at the end.
        children: Per root child: label, visits, mean value, own score, own accuracy,
            parameters, and (with a floor) whether it is within the budget.
        stop: Why there is no action: ``"no legal action"`` or ``"budget"`` (no legal
            action stays within the accuracy floor); ``None`` when there is one.
        floor: The floor the candidates were held to (after the identity calibration);
            ``None`` without a budget.
    """

    action: Action | None
    edit_seed: int
    rollouts: int
    seconds: float
    nodes: int
    children: tuple[dict[str, Any], ...]
    stop: str | None = None
    floor: float | None = None


def _nbytes(net: Network) -> int:
    """Bytes of a network's parameters and optimizer state."""
    n = sum(a.nbytes for a in net.params.values())
    state = net.optimizer_state
    if state is not None:
        n += sum(a.nbytes for slots in state.slots.values() for a in slots.values())
    return n


def _seeds(rng: np.random.Generator) -> tuple[int, int]:
    a, b = rng.integers(0, 2**31, size=2)
    return int(a), int(b)


class Searcher:
    """Runs one decision from ``root_net`` (see the module docstring).

    Args:
        root_net: The current (trained) network; not modified.
        config: The MCTS settings.
        data: Training data and the validation subset (:func:`~neuroplast.search.shared_data`).
        seed: Seed of every random choice of this decision.
        executor: Where evaluations run (``None``: in this process).
        progress: Show a progress bar over evaluations.
        floor: The accuracy floor on the validation subset (``None``: no budget).
    """

    def __init__(
        self,
        root_net: Network,
        config: MCTSConfig,
        data: DataRef,
        seed: int,
        executor: Executor | None = None,
        progress: bool = False,
        floor: float | None = None,
    ) -> None:
        self.cfg = config
        self.floor = floor
        self.root_score: float | None = None
        self.data = data
        self.executor = executor
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        self.root = Node(None, None)
        self.root_net = root_net
        self.cache: OrderedDict[Node, Network] = OrderedDict()
        self.cache_bytes = 0
        self.space = config.actions.to_dict()
        self.optimizer = Adam(lr=config.lr)
        self.evaluations = 0

    # ------------------------------------------------------------------ networks
    def _train_step(self, seed: int, validate: bool = True) -> TrainStep:
        c = self.cfg
        return TrainStep(
            c.train_epochs, c.train_samples, c.batch_size, self.optimizer, seed, 0, validate
        )

    def _edit(self, parent_net: Network, node: Node) -> EditStep:
        return self.cfg.actions.step(parent_net.spec, node.action, node.edit_seed)

    def network_of(self, node: Node) -> Network:
        """The node's network: cached, or replayed from its nearest cached ancestor."""
        if node.parent is None:
            return self.root_net
        if node in self.cache:
            self.cache.move_to_end(node)
            return self.cache[node]
        parent = self.network_of(node.parent)
        steps = (self._edit(parent, node), self._train_step(node.train_seed))
        res = run_job(Job(parent, steps, self.data, threads=self.cfg.threads))
        if res.network is None:  # the evaluation of this node succeeded before, so it cannot
            raise RuntimeError(f"replaying {node!r} failed: {res.error}")
        self._remember(node, res.network)
        return res.network

    def _remember(self, node: Node, net: Network) -> None:
        if node in self.cache:
            self.cache_bytes -= _nbytes(self.cache[node])
        self.cache[node] = net
        self.cache_bytes += _nbytes(net)
        self.cache.move_to_end(node)
        limit = self.cfg.cache_mb * 2**20
        while self.cache and (len(self.cache) > self.cfg.cache_size or self.cache_bytes > limit):
            _, old = self.cache.popitem(last=False)
            self.cache_bytes -= _nbytes(old)

    # ------------------------------------------------------------------ tree policy
    def _expand(self, node: Node) -> None:
        legal = self.cfg.actions.legal(self.network_of(node).spec)
        node.children = []
        for i in self.rng.permutation(len(legal)):
            node.add_child(legal[int(i)], *_seeds(self.rng))

    def _select(self) -> Node | None:
        """A node to evaluate, or ``None`` when only pending nodes are reachable."""
        node = self.root
        while True:
            if node.children is None:
                if node.visits == 0 or node.depth >= self.cfg.tree_depth:
                    break
                self._expand(node)
            if not node.children:
                break
            node = select_child(node, self.cfg.c, self.cfg.backup)
            if node.pending:
                return None
        return node

    def _job(self, node: Node) -> Job:
        steps: list[EditStep | TrainStep] = []
        if node.score is None:  # first visit: the node's own edit and training come first
            start = self.network_of(node.parent) if node.parent else self.root_net
            steps += [self._edit(start, node), self._train_step(node.train_seed)]
        else:
            start = self.network_of(node)
        calib = self.cfg.actions.calibration if self.cfg.actions.data_aware else 0
        # With the last score as value, intermediate rollout steps need no validation.
        every = self.cfg.rollout_value != "last"
        for i in range(self.cfg.depth):
            a, b = _seeds(self.rng)
            steps.append(EditStep(_RANDOM_ACTION, {"space": self.space, "seed": a}, calib))
            steps.append(self._train_step(b, validate=every or i == self.cfg.depth - 1))
        capture = 2 if node.score is None else None
        # No tag: a node would pickle the whole tree into a worker; results come back in order.
        return Job(start, tuple(steps), self.data, self.cfg.threads, capture, False)

    def _score(self, accuracy: float, n_params: int) -> float:
        """Eq. 1, or the budget's penalized score when a floor is set and ``budget_score``."""
        c = self.cfg
        if self.floor is not None and c.budget_score:
            return penalized_score(accuracy, n_params, self.floor, c.w_acc, c.w_params, c.beta)
        return score(accuracy, n_params, c.w_acc, c.w_params, c.beta)

    def _value(self, res: JobResult, own: float | None) -> float:
        """The backed-up value; ``own``: the node's score when the trace starts after it."""
        if not res.trace:  # failed before any training: nothing to score
            return 0.0 if own is None else own
        c = self.cfg
        scores = [self._score(a, p) for a, p in res.trace]
        if own is not None and c.rollout_value != "last":
            scores.insert(0, own)
        if c.rollout_value == "max":
            return max(scores)
        if c.rollout_value == "mean":
            return float(np.mean(scores))
        return scores[-1]

    def _absorb(self, node: Node, res: JobResult) -> None:
        node.pending = False
        own = node.score  # None on the first visit: the trace starts with the node itself
        if node.score is None:
            if res.captured is None or not res.trace:
                # The node's own edit failed: it is illegal here; drop it from the tree.
                assert node.parent is not None and node.parent.children is not None
                backup(node.parent, 0.0, visits=-1, real=False)
                node.parent.children.remove(node)
                return
            acc, p = res.trace[0]
            node.score, node.accuracy, node.n_params = self._score(acc, p), acc, p
            self._remember(node, res.captured)
        # The virtual visit added at selection becomes the real one.
        backup(node, self._value(res, own), visits=0)

    # ------------------------------------------------------------------ decision
    def _budget_left(self, t0: float) -> bool:
        """Budget left; every legal action of the root is evaluated once whatever the budget."""
        c = self.cfg
        if any(ch.visits == 0 for ch in self.root.children or ()):
            return True
        if c.rollouts is not None:
            return self.evaluations < c.rollouts
        assert c.seconds is not None
        return time.perf_counter() - t0 < c.seconds

    def run(self) -> Decision:
        """Runs the search and returns the :class:`Decision`."""
        t0 = time.perf_counter()
        self._calibrate()
        self._expand(self.root)
        total = None
        if self.cfg.rollouts is not None:
            total = max(self.cfg.rollouts, len(self.root.children or ()))
        bar = Progress(total, "mcts", enabled=self.progress, unit="rollout", leave=False)
        with bar:
            while self.root.children and self._budget_left(t0):
                batch: list[Node] = []
                while len(batch) < self.cfg.parallel and self._budget_left(t0):
                    node = self._select()
                    if node is None:
                        break
                    node.pending = True
                    backup(node, 0.0, real=False)  # virtual visit: spreads a batch
                    batch.append(node)
                    self.evaluations += 1
                if not batch:
                    break
                results = evaluate([self._job(n) for n in batch], self.executor)
                for node, res in zip(batch, results, strict=True):
                    self._absorb(node, res)
                best = max((ch.mean for ch in self.root.children), default=0.0)
                bar.update(len(batch), best=best)
        return self._decision(time.perf_counter() - t0)

    def _in_budget(self, node: Node) -> bool:
        return self.floor is None or (math.isfinite(node.accuracy) and node.accuracy >= self.floor)

    def _admitted(self, node: Node) -> bool:
        """In the budget and, in phase ``"optimize"``, better scored than the root."""
        if not self._in_budget(node):
            return False
        if self.floor is None or self.cfg.phase != "optimize" or node.score is None:
            return True
        return node.score > self._root_score()

    def _calibrate(self) -> None:
        """Shifts the floor by what the short training alone does to the root network."""
        if self.floor is None:
            return
        _, _, X, y = self.data.arrays()
        plain = float(self.root_net.evaluate(X, y).get("accuracy", float("nan")))
        seeds = self.rng.integers(0, 2**31, size=IDENTITY_RUNS)
        steps = [(self._train_step(int(s)),) for s in seeds]
        jobs = [Job(self.root_net, st, self.data, self.cfg.threads, None, False) for st in steps]
        accs = [r.accuracy for r in evaluate(jobs, self.executor) if math.isfinite(r.accuracy)]
        trained = float(np.mean(accs)) if accs else plain
        if math.isfinite(trained) and math.isfinite(plain):
            self.floor += trained - plain
        self.root_score = self._score(trained, self.root_net.n_params)

    def _root_score(self) -> float:
        if self.root_score is None:
            _, _, X, y = self.data.arrays()
            acc = float(self.root_net.evaluate(X, y).get("accuracy", float("nan")))
            self.root_score = self._score(acc, self.root_net.n_params)
        return self.root_score

    def _decision(self, seconds: float) -> Decision:
        kids = self.root.children or []
        stats = tuple(self._stats(ch) for ch in kids)
        n = self.root.size()
        if not kids:
            return Decision(
                None, 0, self.evaluations, seconds, n, stats, "no legal action", self.floor
            )
        admit = self._admitted if any(self._admitted(ch) for ch in kids) else None
        if admit is None and self.floor is not None and self.cfg.phase == "optimize":
            return Decision(None, 0, self.evaluations, seconds, n, stats, "budget", self.floor)
        best = most_visited(self.root, admit, self.cfg.backup)
        return Decision(
            best.action, best.edit_seed, self.evaluations, seconds, n, stats, None, self.floor
        )

    def _stats(self, ch: Node) -> dict[str, Any]:
        out = {
            "action": ch.action.label,
            "visits": ch.visits,
            "mean": ch.mean,
            "score": ch.score,
            "accuracy": None if math.isnan(ch.accuracy) else ch.accuracy,
            "n_params": ch.n_params,
        }
        if self.floor is not None:
            out["in_budget"] = self._in_budget(ch)
            out["admitted"] = self._admitted(ch)
        return out
