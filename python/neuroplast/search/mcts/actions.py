"""The structural actions of seed 000 and their legality rules, all applied through morph.

Action kinds (the paper's Table 1):

* ``add_neurons`` (×1.5, ×2): :func:`~neuroplast.morph.widen` of a hidden dense/conv layer.
* ``remove_neurons`` (keep 0.1 / 0.5 / 0.9 of the units): :func:`~neuroplast.morph.narrow`, by
  default with the paper's quasi-identity resampling; ``"select"``/``"svd"`` and least-squares
  compensation are selectable (:class:`ActionSpace`).
* ``add_dense`` / ``add_residual_dense``: :func:`~neuroplast.morph.deepen` after a flat node
  (identity layer, or a zero-initialized residual branch).
* ``add_conv`` / ``add_residual_conv``: the same after a spatial node (only where conv layers
  exist).
* ``delete_layer``: :func:`~neuroplast.morph.shallow` (merge a dense layer into its dense reader,
  drop a layer that keeps its input's shape, e.g. an inserted identity conv, or drop a residual
  branch). A conv layer that changes the channel count in a plain chain cannot be removed.

Legality (:meth:`ActionSpace.legal`): the kind is enabled; the target is a hidden layer (never
the output); a removal keeps at least ``min_width`` units and removes at least one; a growth
stays within ``max_width``; the predicted parameter count stays within ``max_params``; the edit
applies to the graph (coupled groups, shallow rules). :meth:`ActionSpace.check` raises
:class:`IllegalActionError` with the reason for an action outside that set.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from neuroplast.errors import ConfigError, InvalidMorphismError
from neuroplast.layers import Add, AvgPool2d, Conv2d, Dense, MaxPool2d
from neuroplast.morph import NARROW_METHODS, WIDEN_METHODS, shallow_kind
from neuroplast.morph.deps import group_leaders
from neuroplast.morph.record import EditRecord
from neuroplast.network import Network
from neuroplast.search._evaluate import EditStep
from neuroplast.search.mcts._size import depth as _depth
from neuroplast.search.mcts._size import predict_params
from neuroplast.spec import Spec

__all__ = [
    "ACTION_KINDS",
    "Action",
    "ActionSpace",
    "IllegalActionError",
    "random_action",
]

#: Every action kind, in the order actions are listed.
ACTION_KINDS: tuple[str, ...] = (
    "add_neurons",
    "remove_neurons",
    "add_dense",
    "add_residual_dense",
    "add_conv",
    "add_residual_conv",
    "delete_layer",
)


class IllegalActionError(InvalidMorphismError):
    """An action that is not legal for this network under the action space's rules."""


@dataclass(frozen=True, order=True)
class Action:
    """One structural action: a kind, a target node and an amount.

    Attributes:
        kind: One of :data:`ACTION_KINDS`.
        layer: The node edited (``add_*``: the node the new layer is inserted after).
        amount: Growth factor (``add_neurons``) or fraction kept (``remove_neurons``).
    """

    kind: str
    layer: str
    amount: float | None = None

    @property
    def label(self) -> str:
        """A short readable label, e.g. ``remove_neurons(dense_0, 0.5)``."""
        extra = "" if self.amount is None else f", {self.amount:g}"
        return f"{self.kind}({self.layer}{extra})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return {"kind": self.kind, "layer": self.layer, "amount": self.amount}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Action:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["kind"]), str(d["layer"]), d.get("amount"))


def _flat_or_spatial(spec: Spec, name: str) -> str:
    return "conv" if len(spec.shapes[name]) == 3 else "dense"


@dataclass(frozen=True)
class ActionSpace:
    """Which actions exist, their amounts, how they edit and when they are legal.

    Attributes:
        kinds: Enabled action kinds (subset of :data:`ACTION_KINDS`).
        widen_factors: Growth factors of ``add_neurons`` (new width ``round(f·n)``).
        keep_fractions: Fractions kept by ``remove_neurons``.
        min_width: Fewest units a layer may keep.
        min_depth: Fewest hidden dense/conv layers on the longest input-to-output path that
            ``delete_layer`` may leave (default 1: the last hidden layer is never merged into
            the output, which would leave a linear model that no action can grow again, since
            a layer cannot be inserted after the input; growingnn does not offer it either).
        max_width: Most units a layer may grow to (``None``: no limit).
        max_params: Most trainable parameters after an action (``None``: no limit).
        widen_method: :func:`~neuroplast.morph.widen` method (default ``"zero_fanout"``:
            exact, and the new units get distinct gradients, unlike Net2Wider copies).
        narrow_method: :func:`~neuroplast.morph.narrow` method (default the paper's
            ``"quasi_identity"``; ``"select"`` and ``"svd"`` are the better removals).
        narrow_compensate: ``"lstsq"`` to refit the consumers after a removal.
        calibration: Training samples used by data-aware removal (``"select"``,
            compensation).
        kernel_size: Kernel of inserted conv layers.
    """

    kinds: tuple[str, ...] = ACTION_KINDS
    widen_factors: tuple[float, ...] = (1.5, 2.0)
    keep_fractions: tuple[float, ...] = (0.1, 0.5, 0.9)
    min_width: int = 1
    min_depth: int = 1
    max_width: int | None = None
    max_params: int | None = None
    widen_method: str = "zero_fanout"
    narrow_method: str = "quasi_identity"
    narrow_compensate: str | None = None
    calibration: int = 256
    kernel_size: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "widen_factors", tuple(float(f) for f in self.widen_factors))
        object.__setattr__(self, "keep_fractions", tuple(float(f) for f in self.keep_fractions))
        bad = [k for k in self.kinds if k not in ACTION_KINDS]
        if bad:
            raise ConfigError(f"unknown action kinds {bad}; expected some of {ACTION_KINDS}")
        if any(f <= 1.0 for f in self.widen_factors):
            raise ConfigError(f"widen factors must be > 1, got {self.widen_factors}")
        if any(not 0.0 < f < 1.0 for f in self.keep_fractions):
            raise ConfigError(f"keep fractions must lie in (0, 1), got {self.keep_fractions}")
        if self.min_depth < 0:
            raise ConfigError(f"min_depth must be >= 0, got {self.min_depth}")
        if self.min_width < 1:
            raise ConfigError(f"min_width must be >= 1, got {self.min_width}")
        if self.widen_method not in WIDEN_METHODS or self.widen_method == "given":
            raise ConfigError(f"unsupported widen method {self.widen_method!r}")
        if self.narrow_method not in NARROW_METHODS:
            raise ConfigError(f"unknown narrow method {self.narrow_method!r}")
        if self.narrow_compensate not in (None, "lstsq"):
            raise ConfigError(
                f"narrow_compensate must be None or 'lstsq', got {self.narrow_compensate!r}"
            )
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd and >= 1, got {self.kernel_size}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (see :meth:`from_dict`)."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ActionSpace:
        """Inverse of :meth:`to_dict`."""
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kwargs)

    # ------------------------------------------------------------------ candidates
    def _unit_targets(self, spec: Spec) -> list[str]:
        """Hidden dense/conv layers whose units can change, one per coupled group."""
        return list(group_leaders(spec))

    def candidates(self, spec: Spec) -> list[Action]:
        """Every action the graph admits, before the width and parameter limits."""
        return list(_candidates(self, spec))

    def _candidates(self, spec: Spec) -> tuple[Action, ...]:
        acts: list[Action] = []
        units = self._unit_targets(spec)
        if "add_neurons" in self.kinds:
            acts += [Action("add_neurons", n, f) for n in units for f in self.widen_factors]
        if "remove_neurons" in self.kinds:
            acts += [Action("remove_neurons", n, f) for n in units for f in self.keep_fractions]
        insertable = (Dense, Conv2d, Add, MaxPool2d, AvgPool2d)
        for node in spec.nodes:
            if node.name == spec.output or not isinstance(node, insertable):
                continue
            kind = _flat_or_spatial(spec, node.name)
            for k in (f"add_{kind}", f"add_residual_{kind}"):
                if k in self.kinds:
                    acts.append(Action(k, node.name))
        if "delete_layer" in self.kinds:
            for node in spec.nodes:
                if isinstance(node, (Dense, Conv2d)) and node.name != spec.output:
                    try:
                        shallow_kind(spec, node.name)
                    except InvalidMorphismError:
                        continue
                    acts.append(Action("delete_layer", node.name))
        return tuple(acts)

    def legal(self, spec: Spec) -> list[Action]:
        """The legal actions for ``spec``, in a fixed order."""
        return list(_legal(self, spec))

    def _legal(self, spec: Spec) -> tuple[Action, ...]:
        out = []
        for a in _candidates(self, spec):
            try:
                self._limits(spec, a)
            except IllegalActionError:
                continue
            out.append(a)
        return tuple(out)

    def check(self, spec: Spec, action: Action) -> None:
        """Raises :class:`IllegalActionError` (with the reason) unless ``action`` is legal."""
        if action.kind not in ACTION_KINDS:
            raise IllegalActionError(f"unknown action kind {action.kind!r}")
        if action.kind not in self.kinds:
            raise IllegalActionError(f"action kind {action.kind!r} is disabled in this space")
        names = {n.name for n in spec.nodes}
        if action.layer not in names:
            raise IllegalActionError(f"no layer named {action.layer!r}")
        if action.layer == spec.output:
            raise IllegalActionError(f"{action.layer!r} is the output layer")
        if action not in _candidates(self, spec):
            raise IllegalActionError(
                f"{action.label} does not apply to this graph (wrong layer type, no conv "
                "layer, coupled units, an amount not in the space, or a layer shallow cannot "
                "remove)"
            )
        self._limits(spec, action)

    # ------------------------------------------------------------------ limits
    def new_width(self, spec: Spec, action: Action) -> int:
        """Units of the target after an ``add_neurons``/``remove_neurons`` action."""
        n = spec.widths[action.layer]
        assert action.amount is not None
        if action.kind == "add_neurons":
            return max(n + 1, round(action.amount * n))
        return max(1, math.floor(action.amount * n + 0.5))

    def _limits(self, spec: Spec, action: Action) -> None:
        if action.kind in ("add_neurons", "remove_neurons"):
            n, k = spec.widths[action.layer], self.new_width(spec, action)
            if action.kind == "remove_neurons" and (k < self.min_width or k >= n):
                raise IllegalActionError(
                    f"{action.label}: {n} -> {k} units (min_width {self.min_width}; at least "
                    "one unit must go)"
                )
            if action.kind == "add_neurons" and self.max_width is not None and k > self.max_width:
                raise IllegalActionError(f"{action.label}: {k} units > max_width {self.max_width}")
        if action.kind == "delete_layer" and shallow_kind(spec, action.layer) != "branch":
            depth = _depth(spec, skip=action.layer)
            if depth < self.min_depth:
                raise IllegalActionError(
                    f"{action.label} would leave {depth} hidden layers on the longest path "
                    f"(min_depth {self.min_depth})"
                )
        if self.max_params is not None:
            p = predict_params(spec, action, self)
            if p > self.max_params:
                raise IllegalActionError(
                    f"{action.label}: about {p} parameters > max_params {self.max_params}"
                )

    # ------------------------------------------------------------------ application
    @property
    def data_aware(self) -> bool:
        """Whether removals need calibration data (``"select"`` or compensation)."""
        return self.narrow_method == "select" or self.narrow_compensate is not None

    def step(self, spec: Spec, action: Action, seed: int = 0) -> EditStep:
        """The :class:`~neuroplast.search.EditStep` applying ``action`` to a ``spec`` network.

        Args:
            spec: The network's spec (``add_neurons`` needs the current width).
            action: The action (not checked; see :meth:`check`).
            seed: Seed of the edit's random initialization (widen, residual branches).
        """
        k = action.kind
        if k == "add_neurons":
            n_new = self.new_width(spec, action) - spec.widths[action.layer]
            args = {"layer": action.layer, "n_new": n_new, "method": self.widen_method}
            return EditStep("widen", {**args, "seed": seed})
        if k == "remove_neurons":
            args2: dict[str, Any] = {
                "layer": action.layer,
                "fraction": action.amount,
                "method": self.narrow_method,
            }
            if self.narrow_compensate is not None:
                args2["compensate"] = self.narrow_compensate
            return EditStep("narrow", args2, calibration=self.calibration if self.data_aware else 0)
        if k == "delete_layer":
            return EditStep("shallow", {"layer": action.layer})
        kind = "residual" if "residual" in k else "identity"
        args3 = {"after": action.layer, "kind": kind, "seed": seed}
        if k.endswith("conv"):
            args3["kernel_size"] = self.kernel_size
        return EditStep("deepen", args3)

    def apply(
        self,
        net: Network,
        action: Action,
        seed: int = 0,
        calibration: tuple[Any, Any] | None = None,
    ) -> tuple[Network, EditRecord]:
        """Checks and applies ``action`` to ``net`` (not modified).

        Raises:
            IllegalActionError: The action is not legal for ``net``.
        """
        from neuroplast.morph import EDITS

        self.check(net.spec, action)
        step = self.step(net.spec, action, seed)
        kwargs = dict(step.args)
        if step.calibration:
            if calibration is None:
                raise ConfigError(f"{action.label} with data-aware removal needs calibration")
            kwargs["calibration"] = calibration
        return EDITS[step.name](net, **kwargs)


# Specs and spaces are immutable and hashable: legal sets are computed once per architecture
# (the coupled-group analysis dominates the cost of a rollout step otherwise).
@functools.lru_cache(maxsize=512)
def _candidates(space: ActionSpace, spec: Spec) -> tuple[Action, ...]:
    return space._candidates(spec)


@functools.lru_cache(maxsize=512)
def _legal(space: ActionSpace, spec: Spec) -> tuple[Action, ...]:
    return space._legal(spec)


@functools.lru_cache(maxsize=64)
def _space(items: tuple[tuple[str, Any], ...]) -> ActionSpace:
    return ActionSpace.from_dict(dict(items))


def random_action(
    net: Network,
    *,
    space: Mapping[str, Any],
    seed: int,
    calibration: tuple[Any, Any] | None = None,
) -> tuple[Network, EditRecord | None]:
    """Applies one uniformly random legal action (a rollout step, called by name from a job).

    Args:
        net: The network (not modified).
        space: :meth:`ActionSpace.to_dict` of the action space.
        seed: Seed of the choice and of the edit.
        calibration: Calibration data for data-aware removal.

    Returns:
        The edited network and its record, or ``(net, None)`` when no action is legal.
    """
    sp = _space(
        tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in space.items()))
    )
    legal = sp.legal(net.spec)
    if not legal:
        return net, None
    rng = np.random.default_rng(seed)
    action = legal[int(rng.integers(len(legal)))]
    return sp.apply(net, action, seed=int(rng.integers(2**31)), calibration=calibration)
