"""``DARTS``: differentiable architecture search with every DARTS-PRIME component switchable.

The search (Liu et al. 2019, first order; Maile 2023, ch. 5) trains a cell-based search network
whose edges mix all candidate operations, alternating weight steps on one part of the training
split with architecture (α) steps on the other, as the schedule says; the projection ``Π_S``
then gives the :class:`~neuroplast.nas.Genotype`, whose evaluation network is trained from
scratch on the whole training split. The validation split only measures (and is reported);
the test split is never read.

Example:
    >>> from neuroplast import Network, Spec, data
    >>> from neuroplast.search import DARTS, DARTSConfig, Splits
    >>> splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
    >>> net = Network.init(Spec.mlp(64, [16], 10), seed=0)  # gives the task: 8×8 images, 10 classes
    >>> cfg = DARTSConfig.fast(cells=3, channels=4, states=2, search_epochs=1, eval_epochs=1,
    ...                        eval_cells=2, eval_channels=4, subset=200)
    >>> res = DARTS(cfg).run(net, splits, progress=False)
    >>> res.genotype.states
    2
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neuroplast.data._dataset import _stratified_split
from neuroplast.errors import ConfigError
from neuroplast.layers import MixedOp
from neuroplast.nas import Genotype, derive
from neuroplast.network import Network
from neuroplast.optim import SGD
from neuroplast.search._contract import Controller, Result, RunContext
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits
from neuroplast.search.darts._engine import search_epochs
from neuroplast.search.darts.config import DARTSConfig
from neuroplast.spec import Spec

__all__ = ["DARTS", "DARTSResult"]


@dataclass(kw_only=True)
class DARTSResult(Result):
    """:class:`~neuroplast.search.Result` of :class:`DARTS`.

    Attributes:
        genotype: The derived cells.
        ops: The operations of the α columns (after "none", present with softmax).
        weighting: How α was activated (``"softmax"`` or ``"crb"``).
        search: The engine's per-epoch search records (losses, α steps and where they
            happened, the Fisher trace and FIMT threshold per weight step, pruned operations).
        alphas: Per search epoch, the raw architecture tensors ``{"alpha_normal": ...,
            "alpha_reduce": ...}`` as nested lists (epoch 0: before the search).
        search_seconds: Wall time of the search phase.
    """

    genotype: Genotype
    ops: tuple[str, ...] = ()
    weighting: str = "softmax"
    search: list[dict[str, Any]] = field(default_factory=list)
    alphas: list[dict[str, Any]] = field(default_factory=list)
    search_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The base summary plus the genotype's skip share and the search time."""
        return {
            **super().summary(),
            "skip_share_normal": self.genotype.skip_share("normal"),
            "search_seconds": round(self.search_seconds, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        """``history.json``: the base content plus genotype, search records and α."""
        return {
            **super().to_dict(),
            "genotype": self.genotype.to_dict(),
            "search": self.search,
            "alphas": self.alphas,
        }


class DARTS(Controller[DARTSConfig, DARTSResult]):
    """Differentiable architecture search (see the module docstring).

    ``net`` gives the task: a search network built by :meth:`Spec.darts_search` is searched as
    it is (warm start); any other network only gives the sample shape (``(C, H, W)``, or a flat
    input taken as one square channel unless ``image_shape`` is set) and the class count, and
    a search network is built from the config.
    """

    name = "darts"
    config_class = DARTSConfig

    @classmethod
    def prime(cls, config: DARTSConfig | None = None, **overrides: Any) -> DARTS:
        """DARTS-PRIME: the FIMT schedule plus proximity regularization on ``config``."""
        base = (config or DARTSConfig.paper()).replace(schedule="fimt", proximity=True)
        return cls(base, **overrides)

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> DARTSResult:
        cfg = self.config
        shape, n_classes = _task(net, cfg)
        train = _subset(data, cfg.subset, ctx.seed_for(0))
        w_part, a_part = _arch_split(train, cfg.arch_share(), ctx.seed_for(1))
        st = _State.start(self._search_network(net, shape, n_classes, ctx.seed_for(2)))
        ckpt = ctx.folder.latest_checkpoint() if ctx.folder is not None and ctx.resume else None
        if ckpt is not None:
            st = _State.restore(ckpt[1], ckpt[2])
        if st.phase == "search":
            self._search(st, (w_part, a_part), data, (shape, n_classes), ctx)
            genotype = self._genotype(st.net)
            spec = Spec.darts_network(
                genotype, shape, n_classes, cells=cfg.eval_cells, channels=cfg.eval_channels
            )
            st.begin_eval(Network.init(spec, seed=ctx.seed_for(4)), genotype)
        self._retrain(st, train, data, ctx)
        assert st.genotype is not None
        return DARTSResult(
            network=st.net,
            history=st.history,
            stop_reason="search and retraining done",
            genotype=st.genotype,
            ops=self.config.ops,
            weighting=self.config.weighting,
            search=st.search,
            alphas=st.alphas,
            search_seconds=st.search_seconds,
        )

    # ------------------------------------------------------------------ phases
    def _search(
        self,
        st: _State,
        parts: tuple[Any, Any],
        data: Splits,
        task: tuple[tuple[int, ...], int],
        ctx: RunContext,
    ) -> None:
        """The search epochs left: one engine call, one record and one checkpoint each."""
        cfg = self.config
        engine_cfg = cfg.engine_json(ctx.seed_for(3))
        with Progress(cfg.search_epochs, "darts search", enabled=ctx.progress, unit="epoch") as bar:
            bar.update(st.epoch)
            while st.epoch < cfg.search_epochs:
                t0 = time.perf_counter()
                st.net, recs, st.engine = search_epochs(st.net, *parts, engine_cfg, st.engine, 1)
                st.search_seconds += time.perf_counter() - t0
                st.epoch += 1
                self._record(st, recs[0], data, *task)
                self._save(ctx, st)
                bar.update(1, params=st.history[-1]["n_params"])

    def _search_network(self, net: Network, shape: tuple[int, ...], n: int, seed: int) -> Network:
        if any(isinstance(node, MixedOp) for node in net.spec.nodes):
            if not {"alpha_normal", "alpha_reduce"} <= set(net.params):
                raise ConfigError(
                    "a search network needs normal and reduction cells (Spec.darts_search)"
                )
            node = next(n for n in net.spec.nodes if isinstance(n, MixedOp))
            if _ops(net) != tuple(self.config.ops) or node.weighting != self.config.weighting:
                raise ConfigError(
                    "the search network's operations or weighting differ from the config's"
                )
            return net.copy()
        cfg = self.config
        spec = Spec.darts_search(
            shape,
            n,
            cells=cfg.cells,
            channels=cfg.channels,
            states=cfg.states,
            stem_multiplier=cfg.stem_multiplier,
            weighting=cfg.weighting,
            ops=cfg.ops,
        )
        return Network.init(spec, seed=seed)

    def _genotype(self, net: Network) -> Genotype:
        cfg = self.config
        alphas = [net.params[a] for a in ("alpha_normal", "alpha_reduce")]
        pruned = tuple(a <= 0 for a in alphas) if cfg.crb and cfg.prune else None
        return derive(
            *alphas,
            ops=cfg.ops,
            none=not cfg.crb,
            weighting=cfg.weighting,
            pruned=pruned,  # type: ignore[arg-type]
        )

    def _record(
        self, st: _State, rec: dict[str, Any], data: Splits, shape: tuple[int, ...], n: int
    ) -> None:
        cfg = self.config
        genotype = self._genotype(st.net)
        spec = Spec.darts_network(
            genotype, shape, n, cells=cfg.eval_cells, channels=cfg.eval_channels
        )
        val = st.net.evaluate(data.X_val, data.y_val)
        st.search.append(rec)
        st.alphas.append(_alphas(st.net))
        st.history.append(
            {
                "step": st.epoch,
                "phase": "search",
                "n_params": spec.n_params,
                "val_accuracy": val["accuracy"],
                "supernet_val_loss": val["loss"],
                "train_loss": rec["loss"],
                "alpha_steps": rec["alpha_steps"],
                "pruned": rec["pruned"],
                "skip_share_normal": genotype.skip_share("normal"),
                "genotype": genotype.to_dict(),
            }
        )

    def _retrain(self, st: _State, train: tuple[Any, Any], data: Splits, ctx: RunContext) -> None:
        cfg = self.config
        with Progress(cfg.eval_epochs, "darts retrain", enabled=ctx.progress, unit="epoch") as bar:
            bar.update(st.epoch)
            while st.epoch < cfg.eval_epochs:
                lr = 0.5 * cfg.eval_lr * (1 + math.cos(math.pi * st.epoch / cfg.eval_epochs))
                opt = SGD(lr=max(lr, 1e-12), momentum=0.9, weight_decay=cfg.eval_weight_decay)
                h = st.net.fit(
                    train[0],
                    train[1],
                    epochs=1,
                    batch_size=cfg.eval_batch_size,
                    optimizer=opt,
                    seed=ctx.seed_for(5),
                    initial_epoch=st.epoch,
                    validation_data=(data.X_val, data.y_val),
                )
                st.epoch += 1
                st.history.append(
                    {
                        "step": cfg.search_epochs + st.epoch,
                        "phase": "eval",
                        "n_params": st.net.n_params,
                        "val_accuracy": h.val_accuracy[-1],
                        "train_loss": h.loss[-1],
                    }
                )
                self._save(ctx, st)
                bar.update(1)
        if cfg.eval_epochs == 0:
            val = st.net.evaluate(data.X_val, data.y_val)
            st.history.append(
                {
                    "step": cfg.search_epochs,
                    "phase": "eval",
                    "n_params": st.net.n_params,
                    "val_accuracy": val["accuracy"],
                }
            )

    def _save(self, ctx: RunContext, st: _State) -> None:
        if ctx.folder is not None:
            gen = st.epoch + (self.config.search_epochs if st.phase == "eval" else 0)
            ctx.folder.save_checkpoint(gen, st.net, st.state())

    def report(self, result: DARTSResult, out: Path) -> None:
        """The shared overview plus α per edge, the α/w schedule and the derived cells."""
        from neuroplast.search.darts import report

        super().report(result, out)
        report.draw_all(result, out)


@dataclass
class _State:
    """What a checkpoint holds besides its network (search or evaluation network)."""

    net: Network
    phase: str = "search"
    epoch: int = 0
    engine: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    search: list[dict[str, Any]] = field(default_factory=list)
    alphas: list[dict[str, Any]] = field(default_factory=list)
    genotype: Genotype | None = None
    search_seconds: float = 0.0

    @classmethod
    def start(cls, net: Network) -> _State:
        return cls(net, alphas=[_alphas(net)])

    def begin_eval(self, net: Network, genotype: Genotype) -> None:
        self.net, self.phase, self.epoch, self.genotype = net, "eval", 0, genotype

    def state(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "epoch": self.epoch,
            "engine": self.engine,
            "history": self.history,
            "search": self.search,
            "alphas": self.alphas,
            "genotype": None if self.genotype is None else self.genotype.to_dict(),
            "search_seconds": self.search_seconds,
        }

    @classmethod
    def restore(cls, net: Network, s: dict[str, Any]) -> _State:
        g = s.get("genotype")
        return cls(
            net,
            s["phase"],
            int(s["epoch"]),
            s["engine"],
            s["history"],
            s["search"],
            s["alphas"],
            None if g is None else Genotype.from_dict(g),
            float(s["search_seconds"]),
        )


# ---------------------------------------------------------------------- helpers
def _task(net: Network, cfg: DARTSConfig) -> tuple[tuple[int, ...], int]:
    """``(C, H, W)`` of the samples and the number of classes."""
    if net.spec.loss != "cross_entropy":
        raise ConfigError(
            "DARTS searches classifiers: the start network needs a cross-entropy loss"
        )
    shape = net.spec.input_shape
    if len(shape) != 3:
        if cfg.image_shape is not None:
            shape = tuple(cfg.image_shape)
        else:
            side = math.isqrt(net.spec.n_inputs)
            if side * side != net.spec.n_inputs:
                raise ConfigError(
                    f"cannot read {net.spec.n_inputs} flat inputs as a square image; "
                    "set image_shape=(C, H, W)"
                )
            shape = (1, side, side)
    if math.prod(shape) != net.spec.n_inputs:
        raise ConfigError(f"image_shape {shape} does not hold {net.spec.n_inputs} inputs")
    return tuple(shape), net.spec.n_outputs


def _subset(data: Splits, n: int | None, seed: int) -> tuple[Any, Any]:
    X, y = data.X_train, data.y_train
    if n is None or n >= y.shape[0]:
        return X, y
    _, keep = _stratified_split(
        np.asarray(y, np.int64), n / y.shape[0], np.random.default_rng(seed)
    )
    keep = np.sort(keep)
    return X[keep], y[keep]


def _arch_split(
    train: tuple[Any, Any], share: float, seed: int
) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    X, y = train
    w_idx, a_idx = _stratified_split(np.asarray(y, np.int64), share, np.random.default_rng(seed))
    w_idx, a_idx = np.sort(w_idx), np.sort(a_idx)
    return (X[w_idx], y[w_idx]), (X[a_idx], y[a_idx])


def _ops(net: Network) -> tuple[str, ...]:
    """The operations of the columns of a search network, read from its first mixed node.

    An operation's output node is named after the edge and the operation; the identity
    (``skip_connect`` with stride 1) is the source itself.
    """
    from neuroplast.nas import OPS

    node = next(n for n in net.spec.nodes if isinstance(n, MixedOp) and n.alpha == "alpha_normal")
    found = []
    for inp in node.inputs:
        match = [op for op in OPS if inp.startswith(f"{node.name}_{op}")]
        found.append(match[0] if match else "skip_connect")
    return tuple(found)


def _alphas(net: Network) -> dict[str, Any]:
    return {
        k: np.asarray(v, np.float64).round(6).tolist()
        for k, v in net.params.items()
        if k.startswith("alpha_")
    }
