"""Arguments of :class:`~neuroplast.Network`'s engine calls: checks, conversions and results.

``fit``'s options are checked here in the order ``fit`` documents them, before any data is
converted; the engine's results come back through :func:`trained_state` and
:func:`fit_history`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import as_ndim, check_int, to_float32
from neuroplast._params import adopt as _adopt
from neuroplast.errors import ConfigError, ShapeError
from neuroplast.history import EpochCallback, History
from neuroplast.limits import check_bytes
from neuroplast.optim import Adam, Optimizer, OptimizerState
from neuroplast.spec import Spec

if TYPE_CHECKING:
    from neuroplast.network import Network

__all__ = [
    "FitOptions",
    "distillation",
    "fit_history",
    "fit_options",
    "optimizer_slots",
    "teacher_logits",
    "trained_state",
]

F32 = npt.NDArray[np.float32]

_U64_MAX = 2**64 - 1
_MONITORS = ("val_loss", "val_accuracy")
#: Memory of one epoch's history record (engine record, Python dict and list entry), rounded up.
_RECORD_BYTES = 512


class FitOptions(NamedTuple):
    """``fit``'s checked scalar options, as ``_core.fit`` takes them."""

    epochs: int
    batch_size: int
    seed: int
    initial_epoch: int
    optimizer: Optimizer
    early: tuple[str, int, float, bool] | None
    dropout: float


def fit_options(
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    initial_epoch: int,
    optimizer: Optimizer | None,
    monitor: str,
    dropout: float,
    patience: int | None,
    min_delta: float,
    restore_best: bool,
    callback: EpochCallback | None,
) -> FitOptions:
    """Checks ``fit``'s hyperparameters (see :meth:`~neuroplast.Network.fit`).

    Raises:
        ConfigError: An invalid hyperparameter.
        ResourceLimitError: The history of ``epochs`` epochs would exceed ``max_bytes``.
    """
    epochs = check_int(epochs, "epochs", 0, 2**63 - 1)
    batch_size = check_int(batch_size, "batch_size", 1, 2**63 - 1)
    seed = check_int(seed, "seed", 0, _U64_MAX)
    initial_epoch = check_int(initial_epoch, "initial_epoch", 0, _U64_MAX - epochs)
    opt = Adam() if optimizer is None else optimizer
    if not hasattr(opt, "slot_names"):
        raise ConfigError(f"optimizer must be SGD, Adam or AdamW, got {opt!r}")
    if monitor not in _MONITORS:
        raise ConfigError(f"monitor must be 'val_loss' or 'val_accuracy', got {monitor!r}")
    rate = _real(dropout, "dropout")
    if not 0.0 <= rate < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
    early = None
    if patience is None and callback is None:
        # One history record per epoch, and nothing that could stop the loop early.
        check_bytes(_RECORD_BYTES * epochs, f"the history of {epochs} epochs")
    if patience is not None:
        patience = check_int(patience, "patience", 1, 2**64 - 1)
        early = (monitor, patience, _real(min_delta, "min_delta"), _flag(restore_best))
    return FitOptions(epochs, batch_size, seed, initial_epoch, opt, early, rate)


def distillation(
    spec: Spec,
    teacher: Network | npt.ArrayLike | None,
    xs: F32,
    temperature: float,
    alpha: float,
) -> tuple[F32, float, float] | None:
    """The engine's distillation argument ``(logits, T, α)``, or ``None`` without a teacher."""
    if teacher is None:
        return None
    logits = teacher_logits(spec, teacher, xs)
    return (logits, _real(temperature, "temperature"), _real(alpha, "alpha"))


def teacher_logits(spec: Spec, teacher: Network | npt.ArrayLike, xs: F32) -> F32:
    """Teacher logits ``(n, n_classes)`` float32 for the flat features ``xs``."""
    from neuroplast.network import Network  # imported here: network.py imports this module

    if spec.loss != "cross_entropy":
        raise ConfigError(
            f"distillation (a teacher) needs a cross-entropy classifier; "
            f"this network's loss is {spec.loss!r}"
        )
    if isinstance(teacher, Network):
        if teacher.spec.loss != "cross_entropy":
            raise ConfigError("the teacher network must be a cross-entropy classifier")
        logits: npt.NDArray[Any] = teacher.forward(xs)
    else:
        logits = as_ndim(teacher, "teacher logits", (2,))
    want = (xs.shape[0], spec.n_outputs)
    if logits.shape != want:
        raise ShapeError(
            f"teacher logits have shape {logits.shape}; expected {want} "
            "(one row per sample, one column per class)"
        )
    return to_float32(logits)


def optimizer_slots(
    state: OptimizerState | None, opt: Optimizer, shapes: Mapping[str, tuple[int, ...]]
) -> tuple[OptimizerState | None, list[list[F32]]]:
    """The state ``fit`` continues (``None`` if it does not fit ``opt``) and its flat slots."""
    if state is not None and not state.compatible_with(opt, shapes):
        state = None
    slots = (
        []
        if state is None
        else [[state.slots[n][k].reshape(-1) for k in opt.slot_names] for n in shapes]
    )
    return state, slots


def trained_state(
    opt: Optimizer,
    shapes: Mapping[str, tuple[int, ...]],
    params: Sequence[F32],
    new_slots: Sequence[Sequence[F32]],
    step: int,
) -> tuple[dict[str, F32], OptimizerState]:
    """A network's new ``(params, optimizer state)`` from the flat arrays ``_core.fit`` made."""
    names = list(shapes)
    # Fresh arrays from the engine, already checked finite there: adopt them as they are.
    new_state = OptimizerState(
        opt.kind,
        int(step),
        {
            n: {k: _adopt(s, shapes[n]) for k, s in zip(opt.slot_names, sl, strict=True)}
            for n, sl in zip(names, new_slots, strict=True)
        },
    )
    new_params = {n: _adopt(p, shapes[n]) for n, p in zip(names, params, strict=True)}
    return new_params, new_state


def fit_history(records: Sequence[dict[str, Any]], best_epoch: Any, stopped_early: Any) -> History:
    """The :class:`~neuroplast.History` of the epoch records ``_core.fit`` returned."""
    history = History()
    for record in records:
        history.append(record)
    history.stopped_early = bool(stopped_early)
    history.best_epoch = None if best_epoch is None else int(best_epoch)
    return history


def _real(value: object, name: str) -> float:
    """``value`` as a Python float (its range is checked by the engine), else ConfigError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ConfigError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _flag(value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"restore_best must be True or False, got {value!r}")
    return bool(value)


def _node_names(nodes: Sequence[str]) -> list[str]:
    if (
        isinstance(nodes, str)
        or not isinstance(nodes, (Sequence, set, frozenset))
        or not all(isinstance(n, str) for n in nodes)
    ):
        raise ConfigError(f"nodes must be a sequence of node names, got {nodes!r}")
    return list(nodes)
