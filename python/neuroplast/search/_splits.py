"""The data every controller receives: training, validation and (optional) test splits.

Controllers make every decision on the validation split; the test split, when given, is only
measured for the before/after table of the :class:`~neuroplast.search.Result`. When a user
passes training data alone, the validation split is carved from it the same way for every
controller (:meth:`Splits.carve`: stratified for classification, seeded).

Example:
    >>> import neuroplast as npl
    >>> ds = npl.data.load("digits", seed=0)
    >>> data = Splits.from_dataset(ds, seed=0)
    >>> data.X_train.shape[0] + data.X_val.shape[0] == ds.X_train.shape[0]
    True
    >>> data.X_test is ds.X_test
    True
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import check_int
from neuroplast.data import Dataset
from neuroplast.data._dataset import _stratified_split
from neuroplast.errors import ConfigError, DataError, ShapeError

__all__ = ["DEFAULT_VAL_FRACTION", "Splits"]

#: Share of the training data held out for validation when none is given.
DEFAULT_VAL_FRACTION = 0.15

Array = npt.NDArray[Any]


def _pair(X: npt.ArrayLike, y: npt.ArrayLike, name: str) -> tuple[Array, Array]:
    Xa, ya = np.asarray(X), np.asarray(y)
    if Xa.ndim < 2:
        raise ShapeError(f"X_{name} must have one row per sample, got shape {Xa.shape}")
    if ya.ndim < 1 or ya.shape[0] != Xa.shape[0]:
        raise ShapeError(f"X_{name} has {Xa.shape[0]} rows but y_{name} has shape {ya.shape}")
    if Xa.shape[0] == 0:
        raise DataError(f"the {name} split is empty")
    return Xa, ya


@dataclass(frozen=True, eq=False)
class Splits:
    """Training, validation and optional test arrays of one controller run.

    Attributes:
        X_train: Training features (flat rows or images), used to train and edit.
        y_train: Training labels (or regression targets).
        X_val: Validation features: every decision and every budget is measured here.
        y_val: Validation labels.
        X_test: Optional test features, reported only (never used for decisions).
        y_test: Optional test labels.
        name: A label for reports (the data set's name).
    """

    X_train: Array
    y_train: Array
    X_val: Array
    y_val: Array
    X_test: Array | None = None
    y_test: Array | None = None
    name: str = "data"

    def __post_init__(self) -> None:
        _pair(self.X_train, self.y_train, "train")
        _pair(self.X_val, self.y_val, "val")
        if (self.X_test is None) != (self.y_test is None):
            raise ConfigError("give both X_test and y_test, or neither")
        if self.X_test is not None and self.y_test is not None:
            _pair(self.X_test, self.y_test, "test")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def carve(
        cls,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        val_fraction: float = DEFAULT_VAL_FRACTION,
        seed: int = 0,
        X_test: npt.ArrayLike | None = None,
        y_test: npt.ArrayLike | None = None,
        name: str = "data",
    ) -> Splits:
        """Holds out ``val_fraction`` of ``(X, y)`` for validation (stratified for labels).

        Args:
            X: Features.
            y: Integer labels (stratified split) or float targets (plain seeded split).
            val_fraction: Share held out, in ``(0, 1)``.
            seed: Seed of the split.
            X_test: Optional test features (reported only).
            y_test: Optional test labels.
            name: Label for reports.

        Raises:
            ConfigError: ``val_fraction`` outside ``(0, 1)``.
            DataError: Too few samples to leave both splits non-empty.
        """
        Xa, ya = _pair(X, y, "train")
        if not isinstance(val_fraction, float | int) or not 0 < val_fraction < 1:
            raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
        rng = np.random.default_rng(check_int(seed, "seed", 0))
        if np.issubdtype(ya.dtype, np.integer):
            train, val = _stratified_split(ya.astype(np.int64), float(val_fraction), rng)
        else:
            n_val = int(np.ceil(val_fraction * ya.shape[0]))
            if not 0 < n_val < ya.shape[0]:
                raise DataError(f"{ya.shape[0]} samples cannot give non-empty splits")
            perm = rng.permutation(ya.shape[0])
            train, val = perm[n_val:], perm[:n_val]
        # Sorted indices keep the original sample order inside each split.
        train, val = np.sort(train), np.sort(val)
        return cls(Xa[train], ya[train], Xa[val], ya[val], _opt(X_test), _opt(y_test), name)

    @classmethod
    def from_dataset(
        cls, ds: Dataset, *, val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0
    ) -> Splits:
        """Carves validation from ``ds``'s training split; its test split is kept for reports."""
        return cls.carve(
            ds.X_train,
            ds.y_train,
            val_fraction=val_fraction,
            seed=seed,
            X_test=ds.X_test,
            y_test=ds.y_test,
            name=ds.name,
        )

    @classmethod
    def coerce(cls, data: Any, *, seed: int = 0) -> Splits:
        """The :class:`Splits` of whatever a user passed as a controller's ``data``.

        Accepted: a :class:`Splits`; a :class:`~neuroplast.data.Dataset` (validation carved
        from its training split, see :meth:`from_dataset`); ``(X, y)`` (validation carved);
        ``(X_train, y_train, X_val, y_val)``.

        Raises:
            ConfigError: Anything else.
        """
        if isinstance(data, Splits):
            return data
        if isinstance(data, Dataset):
            return cls.from_dataset(data, seed=seed)
        if isinstance(data, tuple | list) and len(data) == 2:
            return cls.carve(data[0], data[1], seed=seed)
        if isinstance(data, tuple | list) and len(data) == 4:
            Xt, yt, Xv, yv = (np.asarray(a) for a in data)
            return cls(Xt, yt, Xv, yv)
        raise ConfigError(
            "data must be a Splits, a neuroplast.data.Dataset, (X, y) or "
            f"(X_train, y_train, X_val, y_val); got {type(data).__name__}"
        )

    # ------------------------------------------------------------------ helpers
    @property
    def has_test(self) -> bool:
        """Whether a test split is attached."""
        return self.X_test is not None

    def fingerprint(self) -> dict[str, Any]:
        """Shapes and CRC-32s of the arrays: a resumed run must see the same data."""
        out: dict[str, Any] = {}
        for key in ("X_train", "y_train", "X_val", "y_val"):
            a = np.ascontiguousarray(getattr(self, key))
            out[key] = [list(a.shape), str(a.dtype), zlib.crc32(a.tobytes())]
        return out


def _opt(a: npt.ArrayLike | None) -> Array | None:
    return None if a is None else np.asarray(a)
