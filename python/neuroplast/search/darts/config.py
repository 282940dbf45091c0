"""Settings of :class:`~neuroplast.search.DARTS`: DARTS and every DARTS-PRIME component.

Defaults are the thesis's (Maile 2023, Secs. 5.3.2–5.3.3, which keep all DARTS settings of
Liu et al. 2019 unless stated): search network of 8 cells, 16 channels and 4 states, 50
search epochs with batch 64, SGD 0.025 cosine-annealed to 0.001 (momentum 0.9, weight decay
3e-4, gradient clipping 5) for the weights, Adam 3e-4 (betas 0.5, 0.999, weight decay 1e-3)
for α, first-order gradients; FIMT ``r = 10, h0 = 1.0, h_i = 1.05, λ = 0.2``; PR ``ρ_p = 0.1``;
ADMM every 10 α steps, ``λ_u = 0.8, ρ_a = 0.1``; evaluation network of 20 cells and 36
channels trained 600 epochs (batch 96, SGD 0.025 cosine-annealed to 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from neuroplast.errors import ConfigError
from neuroplast.layers import WEIGHTINGS
from neuroplast.nas import OPS
from neuroplast.search._contract import ConfigBase

__all__ = ["SCHEDULES", "VARIANTS", "DARTSConfig"]

#: α/w schedules: one α step per w step, one per ``ratio`` w steps (CS10), or FIMT.
SCHEDULES: tuple[str, ...] = ("alternating", "constant", "fimt")

#: The rows of the thesis's ablation (Table 5) as changes to a base config.
VARIANTS: dict[str, dict[str, Any]] = {
    "DARTS": {},
    "+CS10": {"schedule": "constant"},
    "+FIMT": {"schedule": "fimt"},
    "+PR": {"proximity": True},
    "DARTS-PRIME": {"schedule": "fimt", "proximity": True},
    "+CRB": {"weighting": "crb"},
    "+FIMT+CRB": {"schedule": "fimt", "weighting": "crb"},
    "DARTS-PRIME+CRB": {"schedule": "fimt", "proximity": True, "weighting": "crb"},
    "+ADMM": {"admm": True},
    "+ADMM+FIMT": {"admm": True, "schedule": "fimt"},
    "+ADMM+FIMT+CRB": {"admm": True, "schedule": "fimt", "weighting": "crb"},
}


def _positive(name: str, value: Any, kind: type = int) -> None:
    real = isinstance(value, int | float) and not isinstance(value, bool)
    ok = real and (kind is float or isinstance(value, int)) and value > 0
    if not ok:
        raise ConfigError(f"{name} must be a positive {kind.__name__}, got {value!r}")


@dataclass(frozen=True)
class DARTSConfig(ConfigBase):
    """Settings of :class:`~neuroplast.search.DARTS` (see the module docstring for defaults).

    Attributes:
        cells: Cells of the search network (reduction cells at ``cells//3``, ``2·cells//3``).
        channels: Channels of the first cells of the search network.
        states: Intermediate states per cell.
        stem_multiplier: The stem has ``stem_multiplier · channels`` channels.
        ops: Candidate operations (a subset of :data:`neuroplast.nas.OPS`).
        image_shape: ``(C, H, W)`` of the samples when the start network's input is flat
            (default: one channel, square).
        weighting: ``"softmax"`` (DARTS) or ``"crb"`` (clipped ReLU, non-affine batch norm
            after every state, no "none", progressive pruning; Sec. 5.2.5).
        schedule: ``"alternating"`` (DARTS), ``"constant"`` (``ratio`` w steps per α step,
            CS10) or ``"fimt"`` (Algorithm 3).
        ratio: ``r`` of the constant and FIMT schedules.
        fimt_h0: Initial FIMT threshold ``h0``.
        fimt_hi: Threshold increase factor ``h_i`` (the decrease is ``h_i^(-r)``).
        fimt_lambda: Weight ``λ`` of the Fisher trace's moving average (eq. 19).
        proximity: Proximity regularization (eq. 20) on the activated α.
        rho_p: Its weight ``ρ_p`` (ramped by ``c`` from 0 to 1 over the search).
        admm: ADMM regularization (eqs. 21–25) on the activated α.
        rho_a: Its weight ``ρ_a``.
        admm_every: α steps between ``z``/``u`` updates.
        admm_lambda_u: Discount ``λ_u`` of ``u`` (eq. 25).
        prune: With CRB, prune operations whose α becomes non-positive.
        search_epochs: Epochs of the search (over its training part).
        batch_size: Minibatch of weight and α steps.
        w_lr: Initial weight learning rate (cosine-annealed per epoch to ``w_lr_min``).
        w_lr_min: Final weight learning rate.
        momentum: SGD momentum of the weights.
        w_weight_decay: L2 weight decay of the weights.
        grad_clip: Largest norm of the weight gradient (0: no clipping).
        alpha_lr: Adam learning rate of α.
        alpha_betas: Adam betas of α.
        alpha_weight_decay: L2 weight decay of α (``None``: 1e-3, 0 with CRB).
        alpha_cosine: Anneal α's learning rate like the weights' (``None``: yes except with
            CRB; the thesis turns it off for CRB).
        arch_fraction: Share of the training split whose minibatches drive the α steps
            (``None``: 1/2 for the alternating schedule, 1/11 for the others, Sec. 5.3.3).
        subset: Use only this many training samples (stratified; search and retraining).
        eval_cells: Cells of the evaluation network.
        eval_channels: Its initial channels.
        eval_epochs: Epochs of training the evaluation network from scratch.
        eval_batch_size: Its minibatch.
        eval_lr: Its SGD learning rate (cosine-annealed per epoch to 0; momentum 0.9).
        eval_weight_decay: Its L2 weight decay.
    """

    PRESETS: ClassVar[tuple[str, ...]] = ("paper", "fast")

    cells: int = 8
    channels: int = 16
    states: int = 4
    stem_multiplier: int = 3
    ops: tuple[str, ...] = OPS
    image_shape: tuple[int, int, int] | None = None
    weighting: str = "softmax"
    schedule: str = "alternating"
    ratio: int = 10
    fimt_h0: float = 1.0
    fimt_hi: float = 1.05
    fimt_lambda: float = 0.2
    proximity: bool = False
    rho_p: float = 0.1
    admm: bool = False
    rho_a: float = 0.1
    admm_every: int = 10
    admm_lambda_u: float = 0.8
    prune: bool = True
    search_epochs: int = 50
    batch_size: int = 64
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float = 5.0
    alpha_lr: float = 3e-4
    alpha_betas: tuple[float, float] = (0.5, 0.999)
    alpha_weight_decay: float | None = None
    alpha_cosine: bool | None = None
    arch_fraction: float | None = None
    subset: int | None = None
    eval_cells: int = 20
    eval_channels: int = 36
    eval_epochs: int = 600
    eval_batch_size: int = 96
    eval_lr: float = 0.025
    eval_weight_decay: float = 3e-4

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("cells", "channels", "states", "stem_multiplier", "ratio", "admm_every"):
            _positive(name, getattr(self, name))
        for name in ("search_epochs", "batch_size", "eval_cells", "eval_channels"):
            _positive(name, getattr(self, name))
        if self.cells < 3:
            raise ConfigError(
                f"cells must be >= 3 (a normal and two reduction cells), got {self.cells}"
            )
        for name in ("w_lr", "alpha_lr", "eval_lr", "eval_batch_size"):
            _positive(name, getattr(self, name), float)
        if not isinstance(self.eval_epochs, int) or self.eval_epochs < 0:
            raise ConfigError(f"eval_epochs must be an int >= 0, got {self.eval_epochs!r}")
        if not set(self.ops) <= set(OPS) or not self.ops:
            raise ConfigError(f"ops must be a non-empty subset of {OPS}, got {self.ops!r}")
        frac = self.arch_fraction
        if frac is not None and not 0 < frac < 1:
            raise ConfigError(f"arch_fraction must be in (0, 1), got {frac!r}")
        if self.subset is not None:
            _positive("subset", self.subset)
        if self.image_shape is not None and len(self.image_shape) != 3:
            raise ConfigError(f"image_shape must be (C, H, W), got {self.image_shape!r}")

    # ------------------------------------------------------------------ presets
    @classmethod
    def paper(cls, **overrides: Any) -> DARTSConfig:
        """DARTS with the thesis's settings (the class defaults)."""
        return cls(**overrides)

    @classmethod
    def fast(cls, **overrides: Any) -> DARTSConfig:
        """Laptop scale: small search and evaluation networks, short training.

        A 5-cell, 8-channel search network for 10 epochs and a 5-cell, 16-channel evaluation
        network for 10 epochs. α's learning rate is 100 times the thesis's 3e-4: over the few
        hundred α steps of such a search Adam then moves α about as far as over the thesis's
        ~19 500 (50 epochs of CIFAR-10, alternating).
        """
        base: dict[str, Any] = dict(
            cells=5,
            channels=8,
            search_epochs=10,
            batch_size=32,
            alpha_lr=3e-2,
            eval_cells=5,
            eval_channels=16,
            eval_epochs=10,
            eval_batch_size=64,
        )
        base.update(overrides)
        return cls(**base)

    @classmethod
    def variant(cls, name: str, base: DARTSConfig | None = None) -> DARTSConfig:
        """A row of the thesis's ablation (:data:`VARIANTS`) applied to ``base`` (default paper).

        Example:
            >>> cfg = DARTSConfig.variant("DARTS-PRIME")
            >>> cfg.schedule, cfg.proximity
            ('fimt', True)
        """
        if name not in VARIANTS:
            raise ConfigError(f"unknown variant {name!r}; choose from {sorted(VARIANTS)}")
        return (base or cls.paper()).replace(**VARIANTS[name])

    # ------------------------------------------------------------------ derived settings
    @property
    def crb(self) -> bool:
        """Whether the CRB weighting is used."""
        return self.weighting == "crb"

    def arch_share(self) -> float:
        """Share of the training split used for α steps (see :attr:`arch_fraction`)."""
        if self.arch_fraction is not None:
            return self.arch_fraction
        return 0.5 if self.schedule == "alternating" else 1.0 / (self.ratio + 1)

    def engine_json(self, seed: int) -> str:
        """The search settings in the engine's JSON form."""
        sched: dict[str, Any] = {"kind": self.schedule}
        if self.schedule == "constant":
            sched["ratio"] = self.ratio
        elif self.schedule == "fimt":
            sched.update(ratio=float(self.ratio), h0=self.fimt_h0, hi=self.fimt_hi)
            sched["lambda"] = self.fimt_lambda
        wd = self.alpha_weight_decay
        cosine = self.alpha_cosine
        admm = dict(rho=self.rho_a, every=self.admm_every, lambda_u=self.admm_lambda_u)
        return json.dumps(
            {
                "total_epochs": self.search_epochs,
                "batch_size": self.batch_size,
                "seed": seed,
                "w_lr": self.w_lr,
                "w_lr_min": self.w_lr_min,
                "momentum": self.momentum,
                "w_weight_decay": self.w_weight_decay,
                "grad_clip": self.grad_clip,
                "alpha_lr": self.alpha_lr,
                "alpha_beta1": self.alpha_betas[0],
                "alpha_beta2": self.alpha_betas[1],
                "alpha_weight_decay": (0.0 if self.crb else 1e-3) if wd is None else wd,
                "alpha_cosine": (not self.crb) if cosine is None else cosine,
                "schedule": sched,
                "proximity": self.rho_p if self.proximity else None,
                "admm": admm if self.admm else None,
                "prune": self.prune,
            }
        )
