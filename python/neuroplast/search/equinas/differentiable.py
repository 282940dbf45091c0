"""EquiNAS_D: differentiable search over per-layer symmetry (Maile 2023, ch. 4, Algorithm 2).

The network's layers are ``[G]``-mixed layers (:class:`~neuroplast.layers.MixedConv`, eqs.
11–12; build one with :meth:`Spec.mixed_gcnn <neuroplast.Spec.mixed_gcnn>`): a kernel per
candidate group, mixed by ``z = softmax(logits)``. Training alternates first-order updates of
the architecture logits ``Z`` and of the kernels and everything else ``Ψ``, with separate Adam
optimizers (lr 0.01 each in the thesis) on batches drawn independently from the training split
(:mod:`._alternate`; no validation split for ``Z``). There is no regularization of ``Z`` and no
discretization: at the end every mixed layer is collapsed into the one standard convolution it
computes (eq. 12, :func:`~neuroplast.morph.collapse`), "a standard convolutional model with
encoded partial equivariance". The history records ``z`` of every layer after every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from neuroplast.errors import ConfigError
from neuroplast.morph import architecture_weights, collapse
from neuroplast.morph.record import EditLog
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._contract import ConfigBase, Controller, Result, RunContext
from neuroplast.search._progress import Progress
from neuroplast.search._splits import Splits
from neuroplast.search.equinas._alternate import AlternatingState, arch_params, fit_alternating

__all__ = ["EquiNASD", "EquiNASDConfig", "EquiNASDResult"]

# Purposes of the derived seeds.
_WEIGHTS, _ARCH = 11, 12


@dataclass(frozen=True)
class EquiNASDConfig(ConfigBase):
    """Settings of :class:`EquiNASD` (thesis defaults in ``paper()``).

    Attributes:
        epochs: Passes over the weight batches (100 for rotMNIST in the thesis).
        lr: Adam learning rate of the kernels and other weights ``Ψ``.
        arch_lr: Adam learning rate of the architecture logits ``Z``.
        batch_size: Size of the ``Ψ`` and ``Z`` batches.
        collapse: Return the collapsed standard CNN (eq. 12) instead of the mixed network.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    epochs: int = 100
    lr: float = 0.01
    arch_lr: float = 0.01
    batch_size: int = 64
    collapse: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
        if not (self.lr > 0 and self.arch_lr > 0):
            raise ConfigError("lr and arch_lr must be > 0")

    @classmethod
    def paper(cls, **overrides: Any) -> EquiNASDConfig:
        """Thesis Sec. 4.5.2: 100 epochs, separate Adam optimizers with lr 0.01."""
        return cls(**overrides)

    @classmethod
    def fast(cls, **overrides: Any) -> EquiNASDConfig:
        """Five epochs, for smoke runs."""
        return cls(**{"epochs": 5, **overrides})


@dataclass(kw_only=True)
class EquiNASDResult(Result):
    """:class:`~neuroplast.search.Result` with the architecture weights.

    Attributes:
        z: ``z`` of every mixed layer after the last epoch.
        architecture: The most weighted group of every mixed layer.
        mixed: The trained mixed network (before collapsing).
    """

    z: dict[str, dict[str, float]] = field(default_factory=dict)
    architecture: dict[str, str] = field(default_factory=dict)
    mixed: Network | None = None

    def to_dict(self) -> dict[str, Any]:
        """Adds ``z`` and ``architecture`` to the base fields."""
        return {**super().to_dict(), "z": self.z, "architecture": self.architecture}


class EquiNASD(Controller[EquiNASDConfig, EquiNASDResult]):
    """EquiNAS_D (see the module docstring).

    Example:
        >>> from neuroplast import Network, Spec, data
        >>> from neuroplast.search import EquiNASD, EquiNASDConfig, Splits
        >>> splits = Splits.from_dataset(data.load("digits", seed=0), seed=0)
        >>> net = Network.init(Spec.mixed_gcnn((1, 8, 8), 10, widths=[8, 8], hidden=[]), 0)
        >>> res = EquiNASD(EquiNASDConfig.fast(epochs=1)).run(net, splits, progress=False)
        >>> sorted(res.z), round(sum(res.z["conv_0"].values()), 6)
        (['conv_0', 'conv_1'], 1.0)
    """

    name = "equinas-d"
    config_class = EquiNASDConfig

    def _run(self, net: Network, data: Splits, ctx: RunContext) -> EquiNASDResult:
        if not arch_params(net):
            raise ConfigError("EquiNAS_D needs [G]-mixed layers, e.g. Spec.mixed_gcnn")
        cfg, epoch = self.config, 0
        arch, history = AlternatingState(), []
        latest = ctx.folder.latest_checkpoint() if ctx.resume and ctx.folder else None
        if latest is not None:
            epoch, net, st = latest
            arch = AlternatingState(st["arch_step"], st["arch_slots"])
            history = st["history"]
        seeds = (ctx.seed_for(_WEIGHTS), ctx.seed_for(_ARCH))
        with Progress(cfg.epochs, self.name, enabled=ctx.progress, unit="epoch") as bar:
            bar.update(epoch)
            while epoch < cfg.epochs:
                net, arch, hist = fit_alternating(
                    net,
                    data.X_train,
                    data.y_train,
                    epochs=1,
                    batch_size=cfg.batch_size,
                    optimizer=Adam(lr=cfg.lr),
                    arch_optimizer=Adam(lr=cfg.arch_lr),
                    seeds=seeds,
                    initial_epoch=epoch,
                    arch_state=arch,
                    validation_data=(data.X_val, data.y_val),
                )
                epoch += 1
                history.append(_record(epoch, net, hist.val_accuracy[-1], hist.loss[-1]))
                if ctx.folder is not None:
                    state = {"arch_step": arch.step, "arch_slots": arch.slots, "history": history}
                    ctx.folder.save_checkpoint(epoch, net, state)
                bar.update(1, val_acc=history[-1]["val_accuracy"])
        z = architecture_weights(net)
        final, edits = net, EditLog()
        if cfg.collapse:
            final, rec = collapse(net)
            edits = edits.append(rec)
        return EquiNASDResult(
            network=final,
            history=history,
            edits=edits,
            stop_reason=f"{cfg.epochs} epochs",
            z=z,
            architecture={layer: max(w, key=w.__getitem__) for layer, w in z.items()},
            mixed=net,
        )

    def report(self, result: EquiNASDResult, out: Path) -> None:
        """The overview figure and ``z`` of every mixed layer over the epochs."""
        from neuroplast.search.equinas.report import plot_z

        super().report(result, out)
        steps = [r["step"] for r in result.history]
        plot_z(steps, [r["z"] for r in result.history], out / "z.png", title="EquiNAS_D")


def _record(step: int, net: Network, val_acc: float | None, loss: float) -> dict[str, Any]:
    return {
        "step": step,
        "val_accuracy": val_acc,
        "loss": loss,
        "n_params": net.n_params,
        "z": architecture_weights(net),
    }
