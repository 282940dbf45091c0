"""The Rust side of ASNG, from Python: sampling, the θ update, averaged gradients, training.

Every function is one engine call with the GIL released. :func:`train` runs whole epochs of
Algorithm 1 (Saito and Shirakawa 2019): per minibatch ``λ`` structures drawn from
``Bernoulli(θ)``, the loss of the same minibatch under each, the ``θ`` update of eq. 7 with
ranking utilities (clipped to ``[1/d, 1 − 1/d]``), and one optimizer step along the mean of
the ``λ`` weight gradients (eq. 6). No Python runs per step.

Example:
    >>> import numpy as np
    >>> theta = np.array([0.5, 0.5, 0.5])
    >>> M = np.array([[1, 0, 1], [0, 0, 1]], bool)
    >>> update(theta, M, [0.2, 0.7], costs=np.ones(3), penalty=0.0, eta=0.25).tolist()
    [0.625, 0.5, 0.5]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import as_features, check_int
from neuroplast._fit_args import trained_state
from neuroplast.errors import ConfigError, ShapeError
from neuroplast.network import Network
from neuroplast.optim import SGD, Optimizer
from neuroplast.search.asng.encoding import Encoding

__all__ = [
    "SAMPLE_STREAM",
    "Settings",
    "averaged_gradients",
    "deterministic",
    "masked_forward",
    "sample",
    "train",
    "update",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

#: Structures of epoch ``e`` are drawn from stream ``SAMPLE_STREAM + e`` of the seed.
SAMPLE_STREAM = 1 << 62


@dataclass(frozen=True)
class Settings:
    """Hyperparameters of the ``θ`` update.

    Attributes:
        lam: Structures sampled per minibatch (``λ ≥ 2``).
        eta: Learning rate of ``θ`` (``η_θ``).
        penalty: ``ε₀``; the engine uses ``ε = ε₀ / max(c)``.
        costs: Complexity coefficient of every bit.
    """

    lam: int
    eta: float
    penalty: float
    costs: F64

    def wire(self) -> tuple[int, float, float, F64]:
        """The engine's form."""
        costs = np.ascontiguousarray(self.costs, np.float64)
        return (
            check_int(self.lam, "lam", 0, 2**32),
            _real(self.eta, "eta"),
            _real(self.penalty, "penalty"),
            costs,
        )


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _theta(theta: npt.ArrayLike) -> F64:
    t = np.ascontiguousarray(theta, np.float64)
    if t.ndim != 1:
        raise ShapeError(f"θ must be a vector, got shape {t.shape}")
    return t


def sample(theta: npt.ArrayLike, *, seed: int, n: int, stream: int = 0) -> Bools:
    """``n`` structure vectors drawn from ``Bernoulli(θ)`` (row ``i`` is ``M_{i+1}``).

    The engine draws a training step's ``λ`` structures the same way, one row after the
    other, from stream ``SAMPLE_STREAM + epoch``.
    """
    seed = check_int(seed, "seed", 0, 2**64 - 1)
    n = check_int(n, "n", 0, 2**40)
    out: Bools = _core.asng_sample(
        _theta(theta), seed, check_int(stream, "stream", 0, 2**64 - 1), n
    )
    return out


def update(
    theta: npt.ArrayLike,
    samples: npt.ArrayLike,
    losses: npt.ArrayLike,
    *,
    costs: npt.ArrayLike,
    penalty: float,
    eta: float,
) -> F64:
    """One ``θ`` update (eq. 7) and the clipping to ``[1/d, 1 − 1/d]``.

    ``θ ← θ + η·(Σᵢ uᵢ/λ·(Mᵢ − θ) − ε·c·θ·(1 − θ))`` with ``ε = penalty / max(c)`` and
    ranking utilities ``uᵢ``: ``+1`` for the ``⌈λ/4⌉`` lowest losses, ``−1`` for the
    ``⌈λ/4⌉`` highest, ``0`` otherwise; tied losses share the mean utility of their ranks.
    """
    ms = np.ascontiguousarray(samples, bool)
    if ms.ndim != 2:
        raise ShapeError(f"samples must be λ × d, got shape {ms.shape}")
    settings = Settings(ms.shape[0], eta, penalty, np.asarray(costs, np.float64))
    ls = np.ascontiguousarray(losses, np.float64)
    out: F64 = _core.asng_update(_theta(theta), ms, ls, settings.wire())
    return out


def _targets(net: Network, y: Any, n: int) -> tuple[Any, Any]:
    return net._targets(y, n, "y")


def averaged_gradients(
    net: Network, enc: Encoding, samples: npt.ArrayLike, X: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[F64, dict[str, F32]]:
    """The losses of ``(X, y)`` (one batch) under each structure and the mean gradient (eq. 6)."""
    xs = as_features(X, net.spec)
    yc, yv = _targets(net, y, xs.shape[0])
    ms = np.ascontiguousarray(samples, bool)
    if ms.ndim != 2:
        raise ShapeError(f"samples must be λ × d, got shape {ms.shape}")
    losses, grads = _core.asng_gradients(
        net.spec._wire, net._flat_params(), enc.wire(), ms, xs, yc, yv
    )
    shapes = net.spec.param_shapes
    return np.array(losses), {n: g.reshape(shapes[n]) for n, g in zip(shapes, grads, strict=True)}


def masked_forward(net: Network, enc: Encoding, m: npt.ArrayLike, X: npt.ArrayLike) -> F32:
    """Outputs ``(n, n_outputs)`` of ``net`` with the units/connections of ``m`` switched."""
    xs = as_features(X, net.spec)
    bits = np.ascontiguousarray(m, bool)
    out = _core.asng_predict(net.spec._wire, net._flat_params(), enc.wire(), bits, xs)
    return out.reshape(xs.shape[0], net.spec.n_outputs)


def deterministic(enc: Encoding, theta: npt.ArrayLike) -> Bools:
    """The most likely structure: ``θᵢ ≥ ½``.

    A layer or merge left empty keeps its most probable bit, so the result is always a network.
    """
    out: Bools = _core.asng_deterministic(enc.spec._wire, enc.wire(), _theta(theta))
    return out


def _slots(net: Network, opt: Optimizer) -> tuple[list[list[F32]], int]:
    state = net.optimizer_state
    shapes = net.spec.param_shapes
    if state is None or not state.compatible_with(opt, shapes):
        return [], 0
    return [[state.slots[n][k].reshape(-1) for k in opt.slot_names] for n in shapes], state.step


def train(
    net: Network,
    enc: Encoding,
    theta: npt.ArrayLike,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    settings: Settings,
    optimizer: SGD,
    epochs: int,
    batch_size: int,
    seed: int,
    initial_epoch: int = 0,
    validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    callback: Callable[[dict[str, Any]], Any] | None = None,
) -> tuple[Network, F64, list[dict[str, Any]]]:
    """Trains weights and ``θ`` together for ``epochs`` epochs in one engine call.

    Returns:
        The trained network (a new object with its optimizer state), the new ``θ`` and one
        record per epoch: ``loss`` and ``accuracy`` averaged over the sampled structures,
        ``val_loss`` and ``val_accuracy`` of the deterministic structure.
    """
    if enc.spec != net.spec:
        raise ConfigError("the encoding was built for another spec than the network's")
    xs = as_features(X, net.spec)
    yc, yv = _targets(net, y, xs.shape[0])
    val = None
    if validation_data is not None:
        vx = as_features(validation_data[0], net.spec, "X_val")
        val = (vx, *net._targets(validation_data[1], vx.shape[0], "y_val"))
    slots, step = _slots(net, optimizer)
    params, new_slots, step, new_theta, records = _core.asng_fit(
        net.spec._wire,
        net._flat_params(),
        slots,
        step,
        _theta(theta),
        enc.wire(),
        settings.wire(),
        xs,
        yc,
        yv,
        val,
        optimizer.to_dict(),
        check_int(epochs, "epochs", 0, 2**40),
        check_int(batch_size, "batch_size", 1, 2**40),
        check_int(seed, "seed", 0, 2**64 - 1),
        True,
        check_int(initial_epoch, "initial_epoch", 0, 2**62),
        callback,
    )
    new, state = trained_state(optimizer, net.spec.param_shapes, params, new_slots, step)
    return Network(net.spec, new, state), np.asarray(new_theta), list(records)
