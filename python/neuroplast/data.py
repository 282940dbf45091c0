"""Benchmark datasets for neuroplast: loaders with deterministic, seeded splits.

Four datasets are available by name through :func:`load`:

``"digits"``
    scikit-learn's 8x8 hand-written digits (1797 samples, 64 features, 10 classes), pixel
    values scaled to ``[0, 1]``, seeded stratified train/test split (default 20 % test).
``"fashion-mnist"``
    Zalando's Fashion-MNIST (28x28 grey images, 10 classes) read with numpy from the IDX files
    of the Debian package ``dataset-fashion-mnist`` (standard 60 000/10 000 split), pixel
    values scaled to ``[0, 1]``.
``"mnist1d"``
    MNIST-1D (40-sample 1-D signals, 10 classes) built by the *offline* generator of the
    ``mnist1d`` package; nothing is downloaded.
``"synthetic"``
    The "n_f independent features" binary classification task of the neurogenesis thesis
    (Sec. 6.3.2), also available directly as :func:`make_synthetic`.

Every loader returns a :class:`Dataset` with float features (``float32`` unless asked
otherwise) and ``int64`` labels ``0 .. n_classes - 1``. Same seed, same arrays.
"""

from __future__ import annotations

import gzip
import importlib
import math
import os
import random
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast.errors import DataError, DTypeError, ShapeError

__all__ = [
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_ENV_VAR",
    "Dataset",
    "available",
    "load",
    "make_synthetic",
]

FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.int64]
Split = Literal["train", "test"]

DEFAULT_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where the Debian package ``dataset-fashion-mnist`` installs its IDX files."""

FASHION_MNIST_ENV_VAR = "NEUROPLAST_FASHION_MNIST_DIR"
"""Environment variable that overrides :data:`DEFAULT_FASHION_MNIST_DIR`."""

_FASHION_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_FASHION_INSTALL = "sudo apt-get install dataset-fashion-mnist"
_IDX_UBYTE = 0x08


# --------------------------------------------------------------------------------------------
# The Dataset container
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_test_size(test_size: object) -> float:
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.floating)):
        raise DataError(f"test_size must be a float in (0, 1), got {test_size!r}")
    value = float(test_size)
    if not 0.0 < value < 1.0:
        raise DataError(f"test_size must be in the open interval (0, 1), got {test_size!r}")
    return value


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in {low}..{high}"
        raise DataError(f"{name} must be {bounds}, got {value!r}")
    return int(value)


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


# --------------------------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------------------------


def _load_digits(
    seed: int,
    test_size: float | None,
    flatten: bool,
    dtype: np.dtype[np.floating[Any]],
    kwargs: dict[str, Any],
) -> Dataset:
    _check_no_kwargs("digits", kwargs)
    test_size = 0.2 if test_size is None else test_size
    sk_datasets = _import_optional("sklearn.datasets", "pip install scikit-learn")
    bunch = sk_datasets.load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    train_idx, test_idx = _stratified_split(y, test_size, np.random.default_rng(seed))
    return _finish(
        "digits",
        X[train_idx],
        y[train_idx],
        X[test_idx],
        y[test_idx],
        n_classes=10,
        image_shape=(1, 8, 8),
        flatten=flatten,
        dtype=dtype,
        scale=16.0,
    )


# --------------------------------------------------------------------------------------------
# fashion-mnist (IDX files)
# --------------------------------------------------------------------------------------------


def _read_idx(path: Path, ndim: int) -> npt.NDArray[np.uint8]:
    """Parse an (optionally gzip-compressed) IDX file of unsigned bytes with ``ndim`` dims.

    Raises:
        DataError: If the file cannot be read or decompressed, or its header or size is wrong.
    """
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"IDX file {path} is truncated: {len(raw)} bytes, no complete header")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(f"IDX file {path} has a bad magic number {raw[:4].hex()}")
    if raw[2] != _IDX_UBYTE:
        raise DataError(f"IDX file {path} has data type 0x{raw[2]:02x}; expected 0x08 (ubyte)")
    if raw[3] != ndim:
        raise DataError(f"IDX file {path} has {raw[3]} dimensions; expected {ndim}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = math.prod(dims)
    actual = len(raw) - header_len
    if actual != expected:
        raise DataError(
            f"IDX file {path} declares dimensions {dims} ({expected} bytes of data) "
            f"but holds {actual} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(dims)


def _fashion_dir(path: str | os.PathLike[str] | None) -> Path:
    if path is not None:
        return Path(path)
    env = os.environ.get(FASHION_MNIST_ENV_VAR)
    return Path(env) if env else DEFAULT_FASHION_MNIST_DIR


def _find_fashion_files(directory: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    missing: list[str] = []
    for key, stem in _FASHION_FILES.items():
        for candidate in (directory / f"{stem}.gz", directory / stem):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            missing.append(f"{stem}.gz")
    if missing:
        raise DataError(
            f"Fashion-MNIST files not found in {directory} (missing: {', '.join(missing)}). "
            f"Install them with `{_FASHION_INSTALL}`, or pass path=... or set "
            f"{FASHION_MNIST_ENV_VAR} to a directory holding the IDX files."
        )
    return found


def _load_fashion_mnist(
    seed: int,
    test_size: float | None,
    flatten: bool,
    dtype: np.dtype[np.floating[Any]],
    kwargs: dict[str, Any],
) -> Dataset:
    _check_no_kwargs("fashion-mnist", kwargs, ("path", "n_train", "n_test"))
    if test_size is not None:
        raise DataError(
            "fashion-mnist keeps its standard train/test split; test_size is not accepted "
            "(use n_train=/n_test= for smaller subsets)"
        )
    files = _find_fashion_files(_fashion_dir(kwargs.get("path")))
    parts: dict[str, tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]] = {}
    for split in ("train", "test"):
        images = _read_idx(files[f"{split}_images"], 3)
        labels = _read_idx(files[f"{split}_labels"], 1)
        if images.shape[1:] != (28, 28):
            raise DataError(f"Fashion-MNIST {split} images are {images.shape[1:]}, not 28x28")
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"Fashion-MNIST {split} split has {images.shape[0]} images "
                f"but {labels.shape[0]} labels"
            )
        if images.shape[0] == 0:
            raise DataError(f"Fashion-MNIST {split} split is empty")
        if labels.max() >= 10:
            raise DataError(f"Fashion-MNIST {split} labels exceed 9 (max {labels.max()})")
        parts[split] = (images, labels)

    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        n_key = f"n_{split}"
        if kwargs.get(n_key) is None:
            continue
        images, labels = parts[split]
        n = _check_int(n_key, kwargs[n_key], 1, int(labels.shape[0]))
        idx = _stratified_sample(labels.astype(np.int64), n, rng)
        parts[split] = (images[idx], labels[idx])

    (X_train, y_train), (X_test, y_test) = parts["train"], parts["test"]
    return _finish(
        "fashion-mnist",
        X_train,
        y_train,
        X_test,
        y_test,
        n_classes=10,
        image_shape=(1, 28, 28),
        flatten=flatten,
        dtype=dtype,
        scale=255.0,
    )


# --------------------------------------------------------------------------------------------
# mnist1d (offline generator)
# --------------------------------------------------------------------------------------------

_MNIST1D_FORBIDDEN = ("seed", "train_split", "url")


def _load_mnist1d(
    seed: int,
    test_size: float | None,
    flatten: bool,
    dtype: np.dtype[np.floating[Any]],
    kwargs: dict[str, Any],
) -> Dataset:
    test_size = 0.2 if test_size is None else test_size
    m1d = _import_optional("mnist1d.data", "pip install mnist1d")
    args = m1d.get_dataset_args()
    allowed = tuple(k for k in vars(args) if k not in _MNIST1D_FORBIDDEN)
    _check_no_kwargs("mnist1d", kwargs, allowed)
    if "num_samples" in kwargs:
        _check_int("num_samples", kwargs["num_samples"], 10)
    for key, value in kwargs.items():
        setattr(args, key, value)
    args.seed = seed
    args.train_split = 1.0 - test_size
    n_total = 10 * (int(args.num_samples) // 10)
    split_ix = int(n_total * args.train_split)
    if not 0 < split_ix < n_total:
        raise DataError(
            f"test_size={test_size} on {n_total} samples leaves an empty train or test split"
        )

    # make_dataset seeds and draws from the *global* random / numpy.random state; restore it.
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        make: Callable[..., dict[str, Any]] = m1d.make_dataset
        data = make(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)

    length = int(np.asarray(data["x"]).shape[1])
    return _finish(
        "mnist1d",
        np.asarray(data["x"]),
        np.asarray(data["y"]),
        np.asarray(data["x_test"]),
        np.asarray(data["y_test"]),
        n_classes=10,
        image_shape=(1, length),
        flatten=flatten,
        dtype=dtype,
    )


# --------------------------------------------------------------------------------------------
# synthetic (thesis Sec. 6.3.2)
# --------------------------------------------------------------------------------------------


def make_synthetic(
    n_samples: int = 5000,
    n_features: int = 64,
    n_features_independent: int = 8,
    *,
    seed: int = 0,
    test_size: float = 0.1,
    dtype: npt.DTypeLike = np.float32,
) -> Dataset:
    """Generate the "n_f independent features" binary task of the neurogenesis thesis.

    Recipe (Sec. 6.3.2): draw ``n_features_independent`` (``n_f``) standard-normal features
    per sample; fill the remaining ``n_features - n_f`` columns with random linear combinations
    of them (mixing matrix ``M ~ randn(n_features - n_f, n_f)``, so the feature matrix has rank
    ``n_f``); the response is ``0.9 * sum(all features) + 0.1 * N(0, 1)`` noise and the label
    is ``response > mean(response)``. Columns are ordered independent first, then mixed; the
    features are not standardised. The thesis text holds out 10 % of the samples for testing
    (hence the default ``test_size=0.1``); the authors' code used 20 %. As samples are i.i.d.,
    the last ``ceil(test_size * n_samples)`` samples form the test split.

    Everything is drawn from ``numpy.random.default_rng(seed)`` in the order: features,
    mixing matrix, noise.

    Args:
        n_samples: Total number of samples (train + test), at least 2.
        n_features: Total number of input features, at least 1.
        n_features_independent: Number of independent features ``n_f``, in
            ``1 .. n_features``.
        seed: Non-negative random seed.
        test_size: Fraction of samples in the test split, in ``(0, 1)``.
        dtype: Feature dtype, ``float32`` or ``float64``.

    Returns:
        A :class:`Dataset` named ``"synthetic"`` with 2 classes and no image shape.

    Raises:
        DataError: If an argument is out of range.
        DTypeError: If ``dtype`` is not float32 or float64.

    Example:
        >>> ds = make_synthetic(n_samples=100, n_features_independent=4, seed=1)
        >>> ds.X_train.shape, ds.X_test.shape, ds.n_classes
        ((90, 64), (10, 64), 2)
        >>> int(np.linalg.matrix_rank(ds.X_train))
        4
    """
    seed = _check_seed(seed)
    resolved = _check_dtype(dtype)
    n_samples = _check_int("n_samples", n_samples, 2)
    n_features = _check_int("n_features", n_features, 1)
    n_f = _check_int("n_features_independent", n_features_independent, 1, n_features)
    n_test = _n_test_for(n_samples, _check_test_size(test_size))

    rng = np.random.default_rng(seed)
    independent = rng.standard_normal((n_samples, n_f))
    mixing = rng.standard_normal((n_features - n_f, n_f))
    X = np.concatenate([independent, independent @ mixing.T], axis=1)
    response = 0.9 * X.sum(axis=1) + 0.1 * rng.standard_normal(n_samples)
    y = (response > response.mean()).astype(np.int64)

    n_train = n_samples - n_test
    return _finish(
        "synthetic",
        X[:n_train],
        y[:n_train],
        X[n_train:],
        y[n_train:],
        n_classes=2,
        image_shape=None,
        flatten=True,
        dtype=resolved,
    )


def _load_synthetic(
    seed: int,
    test_size: float | None,
    flatten: bool,
    dtype: np.dtype[np.floating[Any]],
    kwargs: dict[str, Any],
) -> Dataset:
    del flatten  # synthetic features have no image shape; they are always flat
    _check_no_kwargs("synthetic", kwargs, ("n_samples", "n_features", "n_features_independent"))
    return make_synthetic(
        seed=seed, test_size=0.1 if test_size is None else test_size, dtype=dtype, **kwargs
    )


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------

_Loader = Callable[[int, float | None, bool, np.dtype[np.floating[Any]], dict[str, Any]], Dataset]

_LOADERS: dict[str, _Loader] = {
    "digits": _load_digits,
    "fashion-mnist": _load_fashion_mnist,
    "mnist1d": _load_mnist1d,
    "synthetic": _load_synthetic,
}


def available() -> list[str]:
    """Return the names accepted by :func:`load`, sorted.

    The list does not check that optional dependencies or data files are installed.

    Returns:
        ``["digits", "fashion-mnist", "mnist1d", "synthetic"]``.
    """
    return sorted(_LOADERS)


def load(
    name: str,
    seed: int = 0,
    *,
    test_size: float | None = None,
    flatten: bool = True,
    dtype: npt.DTypeLike = np.float32,
    **kwargs: Any,
) -> Dataset:
    """Load a benchmark dataset by name with a deterministic, seeded train/test split.

    Per dataset:

    * ``"digits"``: scikit-learn ``load_digits`` (1797 samples, 8x8 images, 10 classes),
      pixels divided by 16 into ``[0, 1]``. Seeded stratified split, ``test_size`` default
      0.2 (test size ``ceil(test_size * 1797)``); both splits come in shuffled order.
    * ``"fashion-mnist"``: the IDX files of the Debian package ``dataset-fashion-mnist``
      (``sudo apt-get install dataset-fashion-mnist``), searched in the directory given by the
      ``path=`` keyword, else ``$NEUROPLAST_FASHION_MNIST_DIR``, else
      ``/usr/share/datasets/fashion-mnist``; ``.gz`` or uncompressed files. Pixels divided by
      255 into ``[0, 1]``; images ``1 x 28 x 28``. The standard 60 000/10 000 split is kept
      unchanged (``test_size`` is rejected). Optional ``n_train=``/``n_test=`` keep a seeded
      *stratified* random subset of that size (class proportions preserved, largest-remainder
      rounding, shuffled order); the seed is used only for these subsets.
    * ``"mnist1d"``: the offline generator ``mnist1d.data.make_dataset`` (never downloads)
      with the package's default arguments, its ``seed`` set to ``seed`` and its
      ``train_split`` to ``1 - test_size`` (default 0.2, i.e. 4000/1000 samples). Other
      generator arguments (e.g. ``num_samples``, ``final_seq_length``) may be passed as
      keywords. Signals are standardised by the generator (zero mean, unit std; not in
      ``[0, 1]``) and come as ``1 x 40`` (channels x length) "images". The generator's split is
      a plain cut after a random shuffle, not stratified. The global ``random``/``numpy.random``
      state it uses is restored afterwards.
    * ``"synthetic"``: :func:`make_synthetic` (thesis Sec. 6.3.2); keywords ``n_samples``
      (5000), ``n_features`` (64), ``n_features_independent`` (8); ``test_size`` default 0.1.

    Args:
        name: One of :func:`available` (case-insensitive; ``_`` may stand for ``-``).
        seed: Non-negative random seed; the same seed gives identical arrays.
        test_size: Fraction of samples in the test split, in ``(0, 1)``; ``None`` for the
            dataset's default (see above).
        flatten: If true, ``X_train``/``X_test`` are ``N x n_features``; otherwise they are
            image-shaped ``N x C x H x W`` (``N x C x L`` for mnist1d). Ignored by
            ``"synthetic"``. Either way ``Dataset.images``/``Dataset.flat`` give both views.
        dtype: Feature dtype, ``float32`` (default) or ``float64``. Labels are always int64.
        **kwargs: Dataset-specific options listed above; anything else is an error.

    Returns:
        The loaded :class:`Dataset` with C-contiguous arrays.

    Raises:
        DataError: For an unknown name, invalid or unknown keyword arguments, missing data
            files or optional packages, or corrupt data files.
        DTypeError: If ``dtype`` is not float32 or float64.

    Example:
        >>> ds = load("digits", seed=0)
        >>> ds.X_train.shape, ds.X_test.shape, ds.X_train.dtype, ds.n_classes
        ((1437, 64), (360, 64), dtype('float32'), 10)
        >>> ds.X_train_images.shape
        (1437, 1, 8, 8)
        >>> float(ds.X_train.max()) <= 1.0
        True
    """
    if not isinstance(name, str):
        raise DataError(f"dataset name must be a string, got {name!r}")
    key = name.strip().lower().replace("_", "-")
    loader = _LOADERS.get(key)
    if loader is None:
        raise DataError(f"unknown dataset {name!r}; available: {', '.join(available())}")
    seed = _check_seed(seed)
    checked_size = None if test_size is None else _check_test_size(test_size)
    return loader(seed, checked_size, bool(flatten), _check_dtype(dtype), dict(kwargs))
