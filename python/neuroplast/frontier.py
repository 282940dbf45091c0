"""The static frontier: is an optimized network better than simply training a smaller one?

The protocol (anyone can rerun it on their own data:
``python benches/python/frontier.py --npz FILE`` in the source tree, or these functions):

1. A stratified 80/20 train/test split (seed 0), features standardized on the training split,
   15 % of the training split held out for validation (stratified, seed 0).
2. The *static sweep*: MLPs with one hidden layer of 4…256 units and two hidden layers of
   32-32…128-128 units, Adam 1e-3, batch 64, at most 100 epochs with early stopping on the
   validation loss (patience 15, best weights restored), ``seeds`` seeds each.
   For image data the sweep can be of CNNs instead (``kind="cnn"``): ``Spec.cnn`` with two
   3×3 conv + ReLU + 2×2 max-pool stages of ``c``-``2c`` channels, ``c`` = 2…32
   (:data:`STATIC_CNN_CHANNELS`), then the output layer; same training.
3. The *frontier*: the upper envelope of mean test accuracy over log(parameters) — the running
   maximum over the sweep sorted by size, interpolated linearly in log(parameters).
4. Every method is scored by Δ = its test accuracy minus the frontier at its parameter count:
   Δ ≥ 0 means it is at least as good as training a network of its size directly.

Example:
    >>> import numpy as np
    >>> sweep = [{"n_params": 100, "test_accuracy": 0.8}, {"n_params": 1000, "test_accuracy": 0.9}]
    >>> f = Frontier.from_points(sweep)
    >>> round(f(316), 3), f(50), f(5000)
    (0.85, 0.8, 0.9)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, DataError
from neuroplast.network import Network
from neuroplast.optim import Adam
from neuroplast.search._splits import Splits
from neuroplast.spec import Spec

__all__ = [
    "STATIC_CNN_CHANNELS",
    "STATIC_WIDTHS",
    "Frontier",
    "prepare",
    "static_sweep",
    "train_static",
]

#: Hidden widths of the static sweep (one and two hidden layers).
STATIC_WIDTHS: tuple[tuple[int, ...], ...] = (
    (4,),
    (8,),
    (16,),
    (32,),
    (64,),
    (128,),
    (256,),
    (32, 32),
    (64, 64),
    (128, 128),
)


#: Channels of the two conv stages of the static CNN sweep (``kind="cnn"``).
STATIC_CNN_CHANNELS: tuple[tuple[int, ...], ...] = ((2, 4), (4, 8), (8, 16), (16, 32), (32, 64))


def prepare(X: npt.ArrayLike, y: npt.ArrayLike, *, name: str = "data") -> Splits:
    """The protocol's splits: stratified 80/20, standardized on train, 15 % validation.

    Raises:
        DataError: Non-numeric or non-finite features, non-integer labels, or too few samples.
    """
    Xa = np.asarray(X)
    ya = np.asarray(y)
    if Xa.ndim != 2 or not np.issubdtype(Xa.dtype, np.number):
        raise DataError(f"X must be a numeric n×d array, got {Xa.dtype} {Xa.shape}")
    if ya.ndim != 1 or not np.issubdtype(ya.dtype, np.integer) or ya.shape[0] != Xa.shape[0]:
        raise DataError("y must hold one integer label per row of X")
    Xa = Xa.astype(np.float32)
    if not np.isfinite(Xa).all():
        raise DataError("X holds NaN or Inf")
    _, ya = np.unique(ya, return_inverse=True)  # labels 0..k-1 whatever the file used
    outer = Splits.carve(Xa, ya.astype(np.int64), val_fraction=0.2, seed=0)
    X_test, y_test = outer.X_val, outer.y_val
    mean = outer.X_train.mean(axis=0)
    std = outer.X_train.std(axis=0)
    std[std == 0] = 1.0

    def scale(A: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        scaled: npt.NDArray[np.float32] = ((A - mean) / std).astype(np.float32)
        return scaled

    return Splits.carve(
        scale(outer.X_train),
        outer.y_train,
        val_fraction=0.15,
        seed=0,
        X_test=scale(X_test),
        y_test=y_test,
        name=name,
    )


def train_static(
    hidden: Sequence[int],
    data: Splits,
    seed: int,
    *,
    max_epochs: int = 100,
    patience: int = 15,
    input_shape: Sequence[int] | None = None,
) -> Network:
    """One network of the static sweep, trained by the protocol.

    ``hidden`` are the hidden layers' units, or with ``input_shape`` ``(C, H, W)`` the conv
    stages' channels of a ``Spec.cnn`` (the rows of ``data`` are the flattened images).
    """
    net = Network.init(_static_spec(hidden, data, input_shape), seed=seed)
    net.fit(
        data.X_train,
        data.y_train,
        epochs=max_epochs,
        batch_size=64,
        optimizer=Adam(lr=1e-3),
        seed=seed,
        validation_data=(data.X_val, data.y_val),
        patience=patience,
        restore_best=True,
    )
    return net


def _static_spec(hidden: Sequence[int], data: Splits, input_shape: Sequence[int] | None) -> Spec:
    n_classes = int(max(data.y_train.max(), data.y_val.max())) + 1
    if input_shape is None:
        return Spec.mlp(data.X_train.shape[1], list(hidden), n_classes)
    if int(np.prod(input_shape)) != data.X_train.shape[1]:
        raise ConfigError(
            f"input_shape {tuple(input_shape)} does not hold the {data.X_train.shape[1]} features"
        )
    return Spec.cnn(tuple(input_shape), list(hidden), n_classes)


def static_sweep(
    data: Splits,
    seeds: Sequence[int] = (0, 1, 2),
    widths: Sequence[Sequence[int]] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    input_shape: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Trains every static network for every seed; one row per width (means over seeds).

    ``widths`` default to :data:`STATIC_WIDTHS` (MLPs), or with ``input_shape`` to
    :data:`STATIC_CNN_CHANNELS` (CNNs of those conv channels, rows named ``static cnn c-2c``).
    """
    if widths is None:
        widths = STATIC_WIDTHS if input_shape is None else STATIC_CNN_CHANNELS
    kind = "static " if input_shape is None else "static cnn "
    if data.X_test is None or data.y_test is None:
        raise ConfigError("the frontier needs a test split (see prepare)")
    rows = []
    for hidden in widths:
        accs, secs, n_params = [], 0.0, 0
        for seed in seeds:
            t0 = time.perf_counter()
            net = train_static(hidden, data, seed, input_shape=input_shape)
            secs += time.perf_counter() - t0
            accs.append(net.evaluate(data.X_test, data.y_test)["accuracy"])
            n_params = net.n_params
        rows.append(
            {
                "method": kind + "-".join(map(str, hidden)),
                "n_params": n_params,
                "test_accuracy": float(np.mean(accs)),
                "test_accuracy_sd": float(np.std(accs)),
                "seconds": secs / len(seeds),
            }
        )
        if progress is not None:
            progress(f"{rows[-1]['method']}: {rows[-1]['test_accuracy']:.4f}")
    return rows


@dataclass(frozen=True)
class Frontier:
    """The upper envelope of accuracy over log(parameters) (see the module docstring).

    Attributes:
        log_params: Sorted log(parameter counts) of the sweep.
        accuracy: Running maximum of the mean test accuracy at those sizes.
    """

    log_params: npt.NDArray[np.float64]
    accuracy: npt.NDArray[np.float64]

    @classmethod
    def from_points(cls, rows: Sequence[Mapping[str, Any]]) -> Frontier:
        """The envelope of ``rows`` (``n_params`` and ``test_accuracy`` each)."""
        if not rows:
            raise ConfigError("the frontier needs at least one static network")
        pts = sorted((float(r["n_params"]), float(r["test_accuracy"])) for r in rows)
        logp = np.log([p for p, _ in pts])
        acc = np.maximum.accumulate([a for _, a in pts])
        return cls(np.asarray(logp, np.float64), np.asarray(acc, np.float64))

    def __call__(self, n_params: float) -> float:
        """The frontier's accuracy at ``n_params`` (flat beyond the sweep's ends)."""
        return float(np.interp(np.log(n_params), self.log_params, self.accuracy))

    def delta(self, n_params: float, accuracy: float) -> float:
        """Δ: ``accuracy`` minus the frontier at ``n_params``."""
        return float(accuracy) - self(n_params)
