"""ASNG: structure and weights optimized in one training run, with a complexity penalty.

Saito and Shirakawa (2019), *Controlling Model Complexity in Probabilistic Model-Based
Dynamic Optimization of Neural Network Structures*, building on the dynamic structure
optimization of Shirakawa, Iwata and Akimoto (2018). A multivariate Bernoulli distribution
``p(M | θ)`` over a binary structure vector (hidden units, or connections between layers; see
:mod:`~neuroplast.search.asng.encoding`) is trained together with the weights: every minibatch
samples ``λ`` structures, the weights descend the mean of their gradients (eq. 6) and ``θ``
follows the analytical natural gradient of the expected loss with ranking utilities plus the
penalty ``ε·Σ cᵢθᵢ`` (eq. 7), ``ε = ε₀ / max(c)``, clipped to ``[1/d, 1 − 1/d]``. All of it
runs in the Rust engine, one call per epoch (the epoch is the checkpoint unit).

At the end, the deterministic structure (bits with ``θᵢ ≥ ½``, the paper's prediction rule)
is **physically removed** (:func:`~neuroplast.search.asng.removal.remove`), so the returned
network is smaller, not masked; its outputs equal the masked network's (the result records
the largest difference measured on the validation split). An optional short fine-tune
follows and is kept only if the validation accuracy does not drop.

Where the paper is silent: a layer (or merge) whose every bit ends below ½ keeps its most
probable bit, so the result is always a network (the result lists such ``forced`` bits);
the paper's ``θᵢ ≥ ½`` keeps a bit at exactly ½. The start network's weights are trained as
given: pass a freshly initialized network (:meth:`Network.init` is He-uniform for ReLU
layers) to reproduce the paper. ``executor`` is accepted and unused (one training run).

Example:
    >>> from neuroplast import Network, Spec, data
    >>> from neuroplast.search import ASNG, ASNGConfig, Splits
    >>> splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
    >>> net = Network.init(Spec.mlp(64, [32, 32], 10), seed=0)
    >>> res = ASNG(ASNGConfig.fast(epochs=2, penalty=2**-4)).run(net, splits, progress=False)
    >>> res.network.n_params < net.n_params, sorted(res.theta)
    (True, ['dense_0', 'dense_1'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.network import Network
from neuroplast.optim import SGD
from neuroplast.search._contract import Controller, Result, RunContext
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits
from neuroplast.search.asng.config import ASNGConfig
from neuroplast.search.asng.encoding import Encoding, encode
from neuroplast.search.asng.engine import Settings, deterministic, masked_forward, train
from neuroplast.search.asng.removal import remove, selected

__all__ = ["ASNG", "ASNGResult"]

F64 = npt.NDArray[np.float64]


@dataclass(kw_only=True)
class ASNGResult(Result):
    """:class:`~neuroplast.search.Result` of :class:`ASNG`.

    Attributes:
        theta: Final ``θ`` per layer (units) or merge (connections), in bit order.
        selected: ``{layer or merge: [bits kept, bits]}`` of the deterministic structure.
        forced: Bits kept although ``θ < ½`` (a layer or merge would otherwise be empty).
        d: Number of bits.
        penalty: ``ε₀``.
        val_accuracy_masked: Validation accuracy of the trained network under the
            deterministic mask (before removal).
        val_accuracy_removed: Validation accuracy right after removal.
        val_accuracy_finetuned: After the fine-tune (``None`` without one).
        removal_max_abs_diff: Largest ``|masked − removed|`` output on the validation split.
    """

    theta: dict[str, list[float]] = field(default_factory=dict)
    selected: dict[str, list[int]] = field(default_factory=dict)
    forced: list[str] = field(default_factory=list)
    d: int = 0
    penalty: float = 0.0
    val_accuracy_masked: float = 0.0
    val_accuracy_removed: float = 0.0
    val_accuracy_finetuned: float | None = None
    removal_max_abs_diff: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The base summary plus the search's own figures."""
        before = self.before.get("n_params") or 1
        return {
            **super().summary(),
            "d": self.d,
            "penalty": self.penalty,
            "weight_usage": round(self.after.get("n_params", 0) / before, 4),
            "val_accuracy_removed": self.val_accuracy_removed,
            "val_accuracy_finetuned": self.val_accuracy_finetuned,
            "removal_max_abs_diff": self.removal_max_abs_diff,
        }

    def to_dict(self) -> dict[str, Any]:
        """``history.json``: the base content plus ``theta``, ``selected`` and ``forced``."""
        return {
            **super().to_dict(),
            "theta": self.theta,
            "selected": self.selected,
            "forced": self.forced,
        }


@dataclass
class _State:
    net: Network
    theta: F64
    epoch: int
    history: list[dict[str, Any]]

    def state(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "theta": self.theta.tolist(), "history": self.history}

    @classmethod
    def restore(cls, net: Network, state: dict[str, Any]) -> _State:
        theta = np.array(state["theta"], np.float64)
        return cls(net, theta, int(state["epoch"]), list(state["history"]))


def _accuracy(logits: npt.NDArray[Any], y: npt.NDArray[Any]) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == y))


class ASNG(Controller[ASNGConfig, ASNGResult]):
    """Probabilistic structure search with a complexity penalty (see the module docstring)."""

    name = "asng"
    config_class = ASNGConfig

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> ASNGResult:
        cfg = self.config
        enc = encode(net.spec, cfg.select, cfg.layers)
        eta = cfg.eta if cfg.eta is not None else 1.0 / enc.d
        settings = Settings(cfg.lam, eta, cfg.penalty, enc.costs(cfg.cost_kind))  # type: ignore[arg-type]
        st = _State(Network(net.spec, net.params), np.full(enc.d, cfg.theta0), 0, [])
        ckpt = ctx.folder.latest_checkpoint() if ctx.folder is not None and ctx.resume else None
        if ckpt is not None:
            st = _State.restore(ckpt[1], ckpt[2])
        with Progress(cfg.epochs, "asng", enabled=ctx.progress, unit="epoch") as bar:
            bar.update(st.epoch)
            while st.epoch < cfg.epochs:
                self._epoch(st, enc, settings, data, ctx)
                if ctx.folder is not None:
                    ctx.folder.save_checkpoint(st.epoch, st.net, st.state())
                last = st.history[-1]
                bar.update(1, val_acc=last["val_accuracy"], params=last["n_params"])
        return self._finish(st, enc, data, ctx)

    def _epoch(
        self, st: _State, enc: Encoding, settings: Settings, data: Splits, ctx: RunContext
    ) -> None:
        cfg = self.config
        lr = cfg.lr_at(st.epoch)
        opt = SGD(lr=lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay)
        st.net, st.theta, recs = train(
            st.net,
            enc,
            st.theta,
            data.X_train,
            data.y_train,
            settings=settings,
            optimizer=opt,
            epochs=1,
            batch_size=cfg.batch_size,
            seed=ctx.seed_for(0),
            initial_epoch=st.epoch,
            validation_data=(data.X_val, data.y_val),
        )
        st.epoch += 1
        m = deterministic(enc, st.theta)
        rec = recs[0]
        st.history.append(
            {
                "step": st.epoch,
                "phase": "train",
                "lr": lr,
                "loss": rec["loss"],
                "accuracy": rec["accuracy"],
                "val_loss": rec["val_loss"],
                "val_accuracy": rec["val_accuracy"],
                "n_params": round(enc.n_params(m)),
                "n_params_expected": enc.n_params(st.theta),
                "selected": {g: on for g, (on, _) in selected(enc, m).items()},
                "theta_mean": {g: float(st.theta[i].mean()) for g, i in enc.groups.items()},
            }
        )

    def _finish(self, st: _State, enc: Encoding, data: Splits, ctx: RunContext) -> ASNGResult:
        cfg = self.config
        m = deterministic(enc, st.theta)
        masked = masked_forward(st.net, enc, m, data.X_val)
        pruned, edits = remove(st.net, enc, m)
        diff = float(np.max(np.abs(masked - pruned.forward(data.X_val))))
        removed_acc = float(pruned.evaluate(data.X_val, data.y_val)["accuracy"])
        history = [
            *st.history,
            {
                "step": cfg.epochs + 1,
                "phase": "removed",
                "n_params": int(pruned.n_params),
                "val_accuracy": removed_acc,
                "edit": f"remove {len(edits)} groups" if len(edits) else None,
            },
        ]
        final, tuned_acc = pruned, None
        if cfg.finetune_epochs:
            tuned = pruned.copy()
            lr = cfg.finetune_lr if cfg.finetune_lr is not None else cfg.lr_at(cfg.epochs - 1)
            opt = SGD(lr=lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay)
            tuned.fit(
                data.X_train,
                data.y_train,
                epochs=cfg.finetune_epochs,
                batch_size=cfg.batch_size,
                optimizer=opt,
                seed=ctx.seed_for(1),
            )
            tuned_acc = float(tuned.evaluate(data.X_val, data.y_val)["accuracy"])
            history.append(
                {
                    "step": cfg.epochs + 2,
                    "phase": "finetuned",
                    "n_params": int(tuned.n_params),
                    "val_accuracy": tuned_acc,
                }
            )
            if tuned_acc >= removed_acc:
                final = tuned
        return ASNGResult(
            network=final,
            history=history,
            edits=edits,
            stop_reason=f"{cfg.epochs} epochs",
            theta={g: st.theta[i].tolist() for g, i in enc.groups.items()},
            selected={g: list(v) for g, v in selected(enc, m).items()},
            forced=[enc.bits[i].label for i in np.flatnonzero(m & (st.theta < 0.5))],
            d=enc.d,
            penalty=cfg.penalty,
            val_accuracy_masked=_accuracy(masked, np.asarray(data.y_val)),
            val_accuracy_removed=removed_acc,
            val_accuracy_finetuned=tuned_acc,
            removal_max_abs_diff=diff,
        )

    def report(self, result: ASNGResult, out: Any) -> None:
        """The shared overview plus ``theta.png`` (θ and kept bits per layer over training)."""
        from neuroplast.search._report import plot_overview
        from neuroplast.search.asng.report import plot_theta

        plot_overview(result, out / "overview.png", title=self.name)
        plot_theta(result, out / "theta.png")
