"""Alternating training of architecture weights and kernels in one engine call (Algorithm 2).

Maile (2023, Sec. 4.4): "Update Z by ∇_Z L(Ψ, Z); update Ψ by ∇_Ψ L(Ψ, Z)", first order, with
separate optimizers, and "Ψ and Z batches drawn independently and randomly from the same
training split". The engine runs whole epochs of this loop (no Python per batch): each step
updates the architecture logits on a batch of one shuffled stream, then every other trainable
parameter on the batch at the same position of an independent stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import as_features, as_labels
from neuroplast._params import adopt
from neuroplast.errors import ConfigError
from neuroplast.history import History
from neuroplast.network import Network
from neuroplast.optim import Adam, Optimizer, OptimizerState

__all__ = ["AlternatingState", "arch_params", "fit_alternating"]

F32 = npt.NDArray[np.float32]


def arch_params(net: Network) -> list[str]:
    """Names of the architecture parameters: every mixed layer's ``logits``."""
    return [n for n in net.spec.param_shapes if n.endswith(".logits")]


@dataclass(frozen=True)
class AlternatingState:
    """The architecture optimizer's state (the weights' state lives on the network).

    Attributes:
        step: Architecture updates so far.
        slots: Per architecture parameter, its optimizer buffers.
    """

    step: int = 0
    slots: dict[str, dict[str, list[float]]] | None = None


def _slots(
    state: OptimizerState | None,
    names: list[str],
    shapes: dict[str, tuple[int, ...]],
    opt: Optimizer,
) -> tuple[list[list[F32]], int]:
    if state is None or not state.compatible_with(opt, shapes):
        return [], 0
    return [[state.slots[n][k].reshape(-1) for k in opt.slot_names] for n in names], state.step


def _arch_slots(
    st: AlternatingState, names: list[str], shapes: dict[str, tuple[int, ...]], opt: Optimizer
) -> list[list[F32]]:
    if st.slots is None:
        return []
    out = []
    for n in names:
        saved = st.slots.get(n)
        size = int(np.prod(shapes[n]))
        out.append(
            [
                np.asarray(saved[k], np.float32) if saved else np.zeros(size, np.float32)
                for k in opt.slot_names
            ]
        )
    return out


def fit_alternating(
    net: Network,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    epochs: int,
    batch_size: int = 64,
    optimizer: Optimizer | None = None,
    arch_optimizer: Optimizer | None = None,
    seeds: tuple[int, int] = (0, 1),
    initial_epoch: int = 0,
    arch_state: AlternatingState | None = None,
    validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> tuple[Network, AlternatingState, History]:
    """Trains ``net``'s kernels and architecture logits alternately (a new network back).

    Args:
        net: A network with mixed layers (cross-entropy).
        X: Training features.
        y: Integer labels.
        epochs: Passes over the weight batches.
        batch_size: Size of both kinds of batch.
        optimizer: Weights' update rule (default ``Adam(lr=0.01)``; its state continues from
            the network's).
        arch_optimizer: Logits' update rule (default ``Adam(lr=0.01)``).
        seeds: Shuffle seeds of the weight and the architecture batches.
        initial_epoch: Global index of the first epoch (shuffle streams).
        arch_state: The architecture optimizer's state from an earlier call.
        validation_data: Optional ``(X_val, y_val)`` evaluated after every epoch.

    Returns:
        The trained network (weights' optimizer state on it), the architecture optimizer's
        state and the history.

    Raises:
        ConfigError: The network has no architecture parameters or is not a classifier.

    Example:
        >>> from neuroplast import Network, Spec, data
        >>> ds = data.load("digits", seed=0)
        >>> spec = Spec.mixed_gcnn((1, 8, 8), 10, candidates=["C1", "C4"], widths=[8])
        >>> net = Network.init(spec, seed=0)
        >>> out, arch, hist = fit_alternating(net, ds.X_train[:256], ds.y_train[:256], epochs=1)
        >>> arch.step, out.optimizer_state.step, len(hist)
        (4, 4, 1)
    """
    names = list(net.spec.param_shapes)
    arch = set(arch_params(net))
    if not arch or net.spec.loss != "cross_entropy":
        raise ConfigError("alternating training needs a classifier with [G]-mixed layers")
    opt_w = Adam(lr=0.01) if optimizer is None else optimizer
    opt_a = Adam(lr=0.01) if arch_optimizer is None else arch_optimizer
    shapes = dict(net.spec.param_shapes)
    xs = as_features(X, net.spec)
    ys = as_labels(y, xs.shape[0])
    val = None
    if validation_data is not None:
        vx = as_features(validation_data[0], net.spec, "X_val")
        val = (vx, as_labels(validation_data[1], vx.shape[0], "y_val"), None)
    st = arch_state or AlternatingState()
    slots_w, step_w = _slots(net.optimizer_state, names, shapes, opt_w)
    slots_a = _arch_slots(st, names, shapes, opt_a)
    params, new_w, step_w, new_a, step_a, records = _core.fit_alternating(
        net.spec._wire,
        [np.ascontiguousarray(net.params[n]).reshape(-1) for n in names],
        ((slots_w, step_w), (slots_a, st.step)),
        [n in arch for n in names],
        xs,
        ys,
        val,
        (opt_w.to_dict(), opt_a.to_dict()),
        epochs,
        batch_size,
        seeds,
        initial_epoch,
    )
    state = OptimizerState(
        opt_w.kind,
        int(step_w),
        {
            n: {k: adopt(s, shapes[n]) for k, s in zip(opt_w.slot_names, sl, strict=True)}
            for n, sl in zip(names, new_w, strict=True)
        },
    )
    out = Network(
        net.spec, {n: p.reshape(shapes[n]) for n, p in zip(names, params, strict=True)}, state
    )
    arch_slots = {
        n: {k: [float(v) for v in s] for k, s in zip(opt_a.slot_names, sl, strict=True)}
        for n, sl in zip(names, new_a, strict=True)
        if n in arch
    }
    history = History()
    for r in records:
        history.append(r)
    return out, AlternatingState(int(step_a), arch_slots), history
