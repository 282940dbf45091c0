"""Narrow: remove units of a layer (and of everything coupled to them), with a declared contract.

Methods: ``"select"`` keeps chosen units (explicit indices, or ``k`` units picked by a rule of
:mod:`neuroplast.morph.select` on calibration activations); ``"quasi_identity"`` (Świdorski and
Jastrzębska, :mod:`neuroplast.morph.quasi_identity`) and ``"svd"`` (Schiessler et al. 2021,
:mod:`neuroplast.morph.svd`) replace the units by ``k`` linear combinations
(:mod:`neuroplast.morph._mix`). Any method can be followed by a least-squares refit of the consumers
(:mod:`neuroplast.morph.compensate`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, InvalidMorphismError
from neuroplast.morph._apply import apply_plan
from neuroplast.morph._mix import mix_group
from neuroplast.morph.compensate import Refit, apply_refit, lstsq_refit
from neuroplast.morph.deps import CoupledGroup, UnitGraph, coupled_group, unit_graph
from neuroplast.morph.quasi_identity import quasi_identity
from neuroplast.morph.record import (
    Calibration,
    Contract,
    EditRecord,
    check_bound,
    measure,
    split_calibration,
)
from neuroplast.morph.select import SELECT_RULES, SelectRule, select_units, unit_samples
from neuroplast.morph.svd import svd_mix
from neuroplast.network import Network

__all__ = ["NARROW_METHODS", "NarrowMethod", "narrow"]

F32 = npt.NDArray[np.float32]
NarrowMethod = Literal["select", "quasi_identity", "svd"]
#: Methods accepted by :func:`narrow`.
NARROW_METHODS: tuple[str, ...] = ("select", "quasi_identity", "svd")
#: What ``keep=`` takes: a unit count, or explicit unit indices (``"select"`` only). A fraction
#: of the units goes to ``fraction=`` instead.
Keep = int | Sequence[int]


class _NoFresh:
    """Narrowing creates no units; these are never asked for a non-empty array."""

    def rows(self, layer: str, n: int, weight: F32) -> F32:
        return np.zeros((n, *weight.shape[1:]), np.float32)

    def bias(self, layer: str, n: int) -> F32:
        return np.zeros(n, np.float32)

    def cols(self, layer: str, n: int, weight: F32) -> F32:
        return np.zeros((weight.shape[0], n, *weight.shape[2:]), np.float32)


def _keep_indices(keep: Sequence[int], units: int, layer: str) -> list[int]:
    if isinstance(keep, (str, bytes)) or not isinstance(keep, Sequence | np.ndarray):
        raise InvalidMorphismError(f"keep must be a sequence of unit indices, got {keep!r}")
    out: list[int] = []
    for k in keep:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise InvalidMorphismError(f"keep must contain ints, got {k!r}")
        if not 0 <= int(k) < units:
            raise InvalidMorphismError(
                f"unit index {int(k)} out of range for {layer!r} with {units} units"
            )
        out.append(int(k))
    if len(set(out)) != len(out):
        raise InvalidMorphismError(f"keep has repeated indices: {sorted(out)}")
    if not out:
        raise InvalidMorphismError(f"cannot remove all {units} units of {layer!r}")
    return sorted(out)


def _removed_contribution(
    net: Network, group: CoupledGroup, removed: set[int], ug: UnitGraph
) -> bool:
    """Whether a surviving row of any consumer reads a removed unit through a non-zero weight."""
    gone = {group.classes[u] for u in removed}
    for name, cols in group.consumers.items():
        idx = sorted({c for u in removed for c in cols[u]})
        w = np.asarray(net.params[f"{name}.weight"])
        rows = [r for r in range(w.shape[0]) if ug.root[(name, r)] not in gone]
        if idx and np.any(w[rows][:, idx]):
            return True
    return False


def _count(keep: Keep | None, fraction: float | None, units: int, layer: str) -> int | None:
    """``k`` for a count or fraction; ``None`` for explicit indices (checked later)."""
    if keep is None and fraction is None:
        raise ConfigError("narrow needs keep= (a count or unit indices) or fraction=")
    if fraction is not None:
        if keep is not None:
            raise ConfigError("pass keep= (a count or unit indices) or fraction=, not both")
        return _fraction_count(fraction, units)
    if isinstance(keep, (float, np.floating)):
        # keep=1 kept one unit but keep=1.0 kept all; floats are refused so that cannot recur.
        hint = f"fraction={float(keep)!r}" if 0 < keep <= 1 else "an int count"
        raise ConfigError(
            f"keep= takes a unit count (int) or unit indices, not the float {keep!r}; "
            f"pass {hint} instead (fraction= keeps a fraction of the units, in (0, 1])"
        )
    if isinstance(keep, (bool, np.bool_)):
        raise InvalidMorphismError(f"keep must be a count or unit indices, got {keep!r}")
    if isinstance(keep, (int, np.integer)):
        if not 1 <= int(keep) <= units:
            raise InvalidMorphismError(
                f"keep={int(keep)} units is out of range for {layer!r} with {units} units"
            )
        return int(keep)
    return None


def _fraction_count(fraction: float, units: int) -> int:
    """``max(1, ⌊r·n + ½⌋)`` units for a fraction ``r ∈ (0, 1]`` of ``n``."""
    number = isinstance(fraction, (int, float, np.integer, np.floating))
    if not number or isinstance(fraction, (bool, np.bool_)):
        raise ConfigError(f"fraction must be a number in (0, 1], got {fraction!r}")
    if not 0.0 < float(fraction) <= 1.0:  # also refuses nan
        raise ConfigError(f"fraction kept must lie in (0, 1], got {float(fraction)}")
    return max(1, math.floor(float(fraction) * units + 0.5))


def _remove(net: Network, group: CoupledGroup, kept: list[int], ug: UnitGraph) -> Network:
    """The network without the units of ``group`` outside ``kept`` (rows, columns, BN, moments)."""
    gone = {group.classes[u] for u in range(group.units) if u not in set(kept)}
    if not gone:
        return net.copy()
    plans: dict[str, list[int | None]] = {}
    for p in group.producers:
        rows = [r for r in range(net.spec.widths[p]) if ug.root[(p, r)] not in gone]
        if not rows:
            raise InvalidMorphismError(
                f"removing these units of {group.layer!r} would leave coupled layer {p!r} empty"
            )
        if len(rows) < net.spec.widths[p]:
            plans[p] = list(rows)
    return apply_plan(net, plans, _NoFresh())


def _calibration_x(calibration: Calibration | None, why: str) -> npt.ArrayLike:
    if calibration is None:
        raise ConfigError(f"{why} needs calibration=X (or (X, y))")
    return split_calibration(calibration)[0]


def _narrow_select(
    net: Network,
    group: CoupledGroup,
    ug: UnitGraph,
    k: int | None,
    keep: Keep | None,
    select: SelectRule | None,
    calibration: Calibration | None,
) -> tuple[Network, list[int], Contract, str]:
    """``"select"``: keeps the given units, or ``k`` units picked by a rule on calibration data."""
    if k is None:
        if select is not None:
            raise ConfigError("select= picks units for a count or fraction, not indices")
        kept = _keep_indices(keep, group.units, group.layer)  # type: ignore[arg-type]
        how = "given indices"
    else:
        rule: SelectRule = "magnitude_std" if select is None else select
        x = _calibration_x(calibration, f"select={rule!r}")
        kept = select_units(rule, net, group, unit_samples(net, group.layer, x), k)
        how = f"selection rule {rule!r} on calibration activations"
    out = _remove(net, group, kept, ug)
    removed = set(range(group.units)) - set(kept)
    if _removed_contribution(net, group, removed, ug):
        return (
            out,
            kept,
            "approximate",
            f"{how}; removed units feed consumers through non-zero weights",
        )
    return out, kept, "exact", f"{how}; removed units have zero outgoing weights; any activation"


def _narrow_mix(
    net: Network,
    group: CoupledGroup,
    ug: UnitGraph,
    k: int,
    method: NarrowMethod,
    bound: Sequence[float] | None,
) -> tuple[Network, Contract, str, list[float] | None]:
    """``"quasi_identity"`` or ``"svd"``: ``k`` linear combinations of the units."""
    discarded: list[float] | None = None
    contract: Contract = "approximate"
    if method == "quasi_identity":
        mix = quasi_identity(group.units, k)
        if k == group.units:
            contract, conditions = "exact", "quasi-identity with k = n is the identity"
        else:
            conditions = f"quasi-identity resampling {group.units} -> {k} units"
    else:
        mix, discarded = svd_mix(net, group, k)
        check_bound(bound, discarded)
        conditions = (
            f"truncated SVD of [W | b] to {k} units; the consumers' input error "
            f"(I - U_k U_k^T)[W | b][x; 1] has singular values {discarded} (exactly the "
            "error seen by consumers for an identity activation)"
        )
    out = _remove(mix_group(net, group, mix), group, list(range(k)), ug)
    return out, contract, conditions, discarded


def _check_options(
    method: str, compensate: str | None, select: str | None, refit: Refit | None
) -> None:
    if method not in NARROW_METHODS:
        raise ConfigError(f"unknown narrow method {method!r}; expected one of {NARROW_METHODS}")
    if compensate not in (None, "lstsq"):
        raise ConfigError(f"unknown compensation {compensate!r}; expected None or 'lstsq'")
    if select is not None and select not in SELECT_RULES:
        raise ConfigError(f"unknown selection rule {select!r}; expected one of {SELECT_RULES}")
    if refit is not None and compensate is None:
        raise ConfigError("refit= is only meaningful with compensate='lstsq'")


def narrow(
    net: Network,
    layer: str,
    keep: Keep | None = None,
    method: NarrowMethod = "select",
    *,
    fraction: float | None = None,
    compensate: Literal["lstsq"] | None = None,
    calibration: Calibration | None = None,
    select: SelectRule | None = None,
    refit: Refit | None = None,
    bound: Sequence[float] | None = None,
) -> tuple[Network, EditRecord]:
    """Reduces ``layer`` (and everything coupled to it) to ``k`` units.

    A removed unit disappears with its whole coupled class: the rows (and biases) of every
    coupled producer, the batch-norm entries of every position carrying it, and the input
    columns (dense, ``H·W`` per channel after flatten) or input channels (conv) of every
    consumer, at every concat offset. Kept units keep their order.

    Pass exactly one of ``keep`` and ``fraction``. ``keep`` is a count ``k`` (an int,
    ``1 ≤ k ≤ n``) or explicit unit indices (``"select"`` only); ``fraction`` is the fraction
    kept ``r ∈ (0, 1]``, giving ``k = max(1, ⌊r·n + ½⌋)``. The record stores the resolved
    count or indices, so replay does not depend on how ``k`` was given.

    Methods and contracts:

    * ``"select"``: keep units; with a count or fraction they are picked by ``select`` (default
      ``"magnitude_std"``) on ``calibration`` (see :mod:`neuroplast.morph.select`). ``"exact"``
      when every surviving consumer row has zero weights on the removed units, else
      ``"approximate"``. Recorded with the chosen indices, so replay needs no calibration.
    * ``"quasi_identity"``: ``W' = Q·W``, ``b' = Q·b`` for every coupled producer, ``W_next·Qᵀ``
      for every consumer (:mod:`neuroplast.morph.quasi_identity`); ``"exact"`` only for
      ``k = n`` (``Q = I``).
    * ``"svd"``: truncated SVD of ``[W | b]`` of the single producer
      (:mod:`neuroplast.morph.svd`); ``"approximate"``, with the discarded singular values
      recorded as ``args["bound"]`` and in the conditions.

    Optimizer moments of removed entries are dropped; mixed entries follow
    :mod:`neuroplast.morph._mix`.

    Args:
        net: The network (not modified).
        layer: Name of a dense or conv layer (or a merge/pass-through node).
        keep: Count (int) or indices of the units to keep. Not a float: see ``fraction``.
        method: ``"select"``, ``"quasi_identity"`` or ``"svd"``.
        fraction: Fraction of the units to keep, in ``(0, 1]``.
        compensate: ``"lstsq"``: refit every dense consumer by least squares on the
            calibration inputs (:mod:`neuroplast.morph.compensate`); the refit parameters are
            recorded in ``args["refit"]``.
        calibration: Inputs ``X`` or ``(X, y)``: needed by selection rules and compensation;
            also used to measure the distortion (accuracies only with labels ``y``).
        select: Selection rule for a count or fraction with ``"select"``.
        refit: Recorded consumer parameters of a compensated edit (replay without data).
        bound: Recorded discarded singular values of an ``"svd"`` edit; replay checks them.

    Returns:
        The narrowed network and its :class:`EditRecord`.

    Raises:
        InvalidMorphismError: See :func:`~neuroplast.morph.deps.coupled_group`; also a count
            out of range, bad indices, removing every unit, emptying a coupled producer, a
            group the method cannot mix (see :mod:`neuroplast.morph.svd`), or a refit that
            does not fit.
        ConfigError: Unknown method, rule or compensation; missing calibration; a float
            ``keep``; both or neither of ``keep`` and ``fraction``; a fraction outside
            ``(0, 1]``.

    Example:
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(3, [5], 2), seed=0)
        >>> small, rec = narrow(net, "dense_0", keep=[0, 2, 4])
        >>> small.spec.widths["dense_0"], rec.contract
        (3, 'approximate')
        >>> same, rec = narrow(net, "dense_0", keep=5, method="quasi_identity")
        >>> rec.contract
        'exact'
        >>> half, rec = narrow(net, "dense_0", fraction=0.5, method="svd")
        >>> half.spec.widths["dense_0"], rec.args["keep"]
        (3, 3)
    """
    _check_options(method, compensate, select, refit)
    ug = unit_graph(net.spec)
    group = coupled_group(net.spec, layer, ug)
    k = _count(keep, fraction, group.units, layer)
    args: dict[str, Any] = {"layer": layer, "keep": k, "method": method}
    if method == "select":
        out, args["keep"], contract, conditions = _narrow_select(
            net, group, ug, k, keep, select, calibration
        )
    elif k is None:
        raise InvalidMorphismError(
            f"method {method!r} takes a count or fraction kept, not indices: {keep!r}"
        )
    else:
        out, contract, conditions, discarded = _narrow_mix(net, group, ug, k, method, bound)
        if discarded is not None:
            args["bound"] = discarded
    if compensate == "lstsq":
        if refit is None:
            x = _calibration_x(calibration, "compensate='lstsq'")
            out, refit = lstsq_refit(net, out, group, x)
        else:
            out = apply_refit(out, refit)
        args.update(compensate="lstsq", refit={c: dict(p) for c, p in refit.items()})
        contract = "approximate"
        conditions += "; consumers refit by least squares on calibration activations"
    dist = None if calibration is None else measure(net, out, calibration)
    return out, EditRecord("narrow", args, contract, conditions, dist)
