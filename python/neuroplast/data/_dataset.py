"""The :class:`Dataset` container and the helpers shared by the loaders.

Argument validation, seeded (stratified) splitting and the final cast/scale/reshape step used
by every loader of :mod:`neuroplast.data`.
"""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import check_int
from neuroplast.errors import DataError, DTypeError, ShapeError

FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.int64]
Split = Literal["train", "test"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled dataset with a fixed train/test split.

    ``X_train``/``X_test`` are C-contiguous float arrays, either flat (``N x n_features``) or,
    when loaded with ``flatten=False``, image-shaped (``N x C x H x W``; ``N x C x L`` for 1-D
    signals). ``y_train``/``y_test`` are ``int64`` labels in ``0 .. n_classes - 1``.

    Attributes:
        X_train: Training features.
        y_train: Training labels.
        X_test: Test features.
        y_test: Test labels.
        n_classes: Number of classes.
        n_features: Number of features of one sample (product of ``image_shape`` if any).
        image_shape: Shape of one sample as an image, e.g. ``(1, 8, 8)`` or ``(1, 40)``;
            ``None`` for datasets without spatial structure (``"synthetic"``).
        name: Dataset name as accepted by :func:`load`.

    Raises:
        ShapeError: If the arrays' shapes disagree with each other or with ``n_features`` /
            ``image_shape``.
        DTypeError: If features are not floating point or labels not ``int64``.
    """

    X_train: FloatArray
    y_train: IntArray
    X_test: FloatArray
    y_test: IntArray
    n_classes: int
    n_features: int
    image_shape: tuple[int, ...] | None
    name: str

    def __post_init__(self) -> None:
        if self.image_shape is not None and math.prod(self.image_shape) != self.n_features:
            raise ShapeError(
                f"image_shape {self.image_shape} does not hold n_features={self.n_features}"
            )
        for split in ("train", "test"):
            X, y = self._arrays(split)
            if not np.issubdtype(X.dtype, np.floating):
                raise DTypeError(f"X_{split} must be floating point, got {X.dtype}")
            if y.dtype != np.int64:
                raise DTypeError(f"y_{split} must be int64, got {y.dtype}")
            if y.ndim != 1:
                raise ShapeError(f"y_{split} must be 1-D, got shape {y.shape}")
            ok_shapes = [(y.shape[0], self.n_features)]
            if self.image_shape is not None:
                ok_shapes.append((y.shape[0], *self.image_shape))
            if X.shape not in ok_shapes:
                raise ShapeError(
                    f"X_{split} has shape {X.shape}; expected one of {ok_shapes} "
                    f"(y_{split} has {y.shape[0]} labels)"
                )

    def _arrays(self, split: str) -> tuple[FloatArray, IntArray]:
        if split == "train":
            return self.X_train, self.y_train
        if split == "test":
            return self.X_test, self.y_test
        raise DataError(f"split must be 'train' or 'test', got {split!r}")

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.y_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return int(self.y_test.shape[0])

    def flat(self, split: Split = "train") -> FloatArray:
        """Return the features of ``split`` as an ``N x n_features`` array (a view, no copy).

        Args:
            split: ``"train"`` or ``"test"``.

        Returns:
            The flat, C-contiguous feature matrix.

        Raises:
            DataError: If ``split`` is not ``"train"`` or ``"test"``.
        """
        X, y = self._arrays(split)
        return X.reshape(y.shape[0], self.n_features)

    def images(self, split: Split = "train") -> FloatArray:
        """Return the features of ``split`` as images (a view, no copy).

        Args:
            split: ``"train"`` or ``"test"``.

        Returns:
            An ``N x C x H x W`` array for images, ``N x C x L`` for 1-D signals (MNIST-1D).

        Raises:
            DataError: If ``split`` is not ``"train"`` or ``"test"``.
            ShapeError: If the dataset has no image shape (``"synthetic"``).
        """
        X, y = self._arrays(split)
        if self.image_shape is None:
            raise ShapeError(f"dataset {self.name!r} has no image shape")
        return X.reshape(y.shape[0], *self.image_shape)

    @property
    def X_train_images(self) -> FloatArray:
        """``images("train")``."""
        return self.images("train")

    @property
    def X_test_images(self) -> FloatArray:
        """``images("test")``."""
        return self.images("test")

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"n_features={self.n_features}, n_classes={self.n_classes}, "
            f"image_shape={self.image_shape}, X_train.shape={self.X_train.shape}, "
            f"dtype={self.X_train.dtype})"
        )


@dataclass(frozen=True)
class LoadRequest:
    """The validated arguments of :func:`neuroplast.data.load`, as handed to one loader.

    Attributes:
        seed: Non-negative random seed.
        test_size: Fraction of samples in the test split, or ``None`` for the loader's default.
        flatten: Whether features come flat (``N x n_features``) rather than image-shaped.
        dtype: Feature dtype, float32 or float64.
        kwargs: The dataset-specific keyword arguments, not yet checked.
    """

    seed: int
    test_size: float | None
    flatten: bool
    dtype: np.dtype[np.floating[Any]]
    kwargs: dict[str, Any]


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_seed(seed: object) -> int:
    return check_int(seed, "seed", 0, error=DataError)


def _check_test_size(test_size: object) -> float:
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.floating)):
        raise DataError(f"test_size must be a float in (0, 1), got {test_size!r}")
    value = float(test_size)
    if not 0.0 < value < 1.0:
        raise DataError(f"test_size must be in the open interval (0, 1), got {test_size!r}")
    return value


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    return check_int(value, name, low, high, error=DataError)


def _check_dtype(dtype: npt.DTypeLike) -> np.dtype[np.floating[Any]]:
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if resolved == np.dtype(np.float32):
        return np.dtype(np.float32)
    if resolved == np.dtype(np.float64):
        return np.dtype(np.float64)
    raise DTypeError(f"dtype must be float32 or float64, got {resolved}")


def _check_no_kwargs(name: str, kwargs: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) if allowed else "none"
        raise DataError(
            f"unknown keyword argument(s) for dataset {name!r}: {', '.join(unknown)} "
            f"(accepted: {accepted})"
        )


def _n_test_for(n: int, test_size: float) -> int:
    """Test-set size ``ceil(test_size * n)`` (scikit-learn's convention), both splits non-empty."""
    n_test = math.ceil(test_size * n)
    if not 0 < n_test < n:
        raise DataError(f"test_size={test_size} on {n} samples leaves an empty train or test split")
    return n_test


def _stratified_sample(y: IntArray, n: int, rng: np.random.Generator) -> IntArray:
    """Pick ``n`` indices of ``y`` with class proportions preserved, in shuffled order.

    Each class gets ``floor(n * share)`` samples; the leftover slots go to the classes with the
    largest fractional parts (ties: smaller class label first). Samples within a class are drawn
    uniformly without replacement.
    """
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = counts * (n / y.shape[0])
    alloc = np.floor(exact).astype(np.int64)
    short = n - int(alloc.sum())
    if short > 0:
        order = np.argsort(-(exact - alloc), kind="stable")
        alloc[order[:short]] += 1
    chosen = [
        rng.permutation(np.flatnonzero(inverse == k))[: alloc[k]] for k in range(classes.size)
    ]
    picked = np.concatenate(chosen).astype(np.int64)
    return rng.permutation(picked)


def _stratified_split(
    y: IntArray, test_size: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Seeded stratified split; returns (train indices, test indices), each shuffled."""
    n_test = _n_test_for(int(y.shape[0]), test_size)
    test_idx = _stratified_sample(y, n_test, rng)
    mask = np.ones(y.shape[0], dtype=bool)
    mask[test_idx] = False
    train_idx = rng.permutation(np.flatnonzero(mask)).astype(np.int64)
    return train_idx, test_idx


def _finish(
    name: str,
    X_train: npt.NDArray[Any],
    y_train: npt.NDArray[Any],
    X_test: npt.NDArray[Any],
    y_test: npt.NDArray[Any],
    *,
    n_classes: int,
    image_shape: tuple[int, ...] | None,
    flatten: bool,
    dtype: np.dtype[np.floating[Any]],
    scale: float = 1.0,
) -> Dataset:
    """Cast, scale, reshape and make contiguous, then build the :class:`Dataset`."""
    n_features = int(math.prod(X_train.shape[1:]))
    shape = image_shape if (image_shape is not None and not flatten) else (n_features,)

    def features(X: npt.NDArray[Any]) -> FloatArray:
        out = np.ascontiguousarray(X, dtype=dtype).reshape(X.shape[0], *shape)
        if scale != 1.0:
            out /= dtype.type(scale)
        return out

    def labels(y: npt.NDArray[Any]) -> IntArray:
        return np.ascontiguousarray(y, dtype=np.int64)

    return Dataset(
        X_train=features(X_train),
        y_train=labels(y_train),
        X_test=features(X_test),
        y_test=labels(y_test),
        n_classes=n_classes,
        n_features=n_features,
        image_shape=image_shape,
        name=name,
    )


def _import_optional(module: str, install: str) -> ModuleType:
    try:
        with warnings.catch_warnings():
            # Third-party import-time noise (e.g. matplotlib cache warnings) is not ours.
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError as exc:
        raise DataError(
            f"this dataset needs the Python module {module!r}, which could not be imported "
            f"({exc}); install it with `{install}`"
        ) from exc
