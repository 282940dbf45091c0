"""Benchmark datasets for neuroplast: loaders with deterministic, seeded splits.

Six datasets are available by name through :func:`load`:

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
``"rotated-digits"``
    The digits zero-padded to 12x12 and rotated by seeded arbitrary angles (like rotMNIST).
``"augmented-digits"``
    The digits, each transformed by a seeded random element of a point group (exact quarter
    turns and mirrors; :func:`augment` does it to any square images).

Every loader returns a :class:`Dataset` with float features (``float32`` unless asked
otherwise) and ``int64`` labels ``0 .. n_classes - 1``. Same seed, same arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.data._dataset import (
    Dataset,
    LoadRequest,
    _check_dtype,
    _check_seed,
    _check_test_size,
)
from neuroplast.data._digits import _load_digits
from neuroplast.data._fashion_mnist import (
    DEFAULT_FASHION_MNIST_DIR,
    FASHION_MNIST_ENV_VAR,
    _load_fashion_mnist,
)
from neuroplast.data._mnist1d import _load_mnist1d
from neuroplast.data._rotated import _load_augmented_digits, _load_rotated_digits, augment
from neuroplast.data._synthetic import _load_synthetic, make_synthetic
from neuroplast.errors import DataError

__all__ = [
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_ENV_VAR",
    "Dataset",
    "augment",
    "available",
    "load",
    "make_synthetic",
]

_Loader = Callable[[LoadRequest], Dataset]

_LOADERS: dict[str, _Loader] = {
    "digits": _load_digits,
    "fashion-mnist": _load_fashion_mnist,
    "mnist1d": _load_mnist1d,
    "synthetic": _load_synthetic,
    "rotated-digits": _load_rotated_digits,
    "augmented-digits": _load_augmented_digits,
}


def available() -> list[str]:
    """Return the names accepted by :func:`load`, sorted.

    The list does not check that optional dependencies or data files are installed.

    Returns:
        ``["augmented-digits", "digits", "fashion-mnist", "mnist1d", "rotated-digits",
        "synthetic"]``.
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
    * ``"rotated-digits"``: the ``"digits"`` split (same seed, same ``test_size``), each image
      zero-padded to ``size x size`` (keyword ``size``, default 12) and rotated by its own
      angle drawn uniformly from ``[0, 360)`` degrees (seeded; train and test from separate
      streams) with bilinear interpolation (``scipy.ndimage.rotate``, needs ``scipy``),
      clipped to ``[0, 1]``; images ``1 x size x size``.
    * ``"augmented-digits"``: the ``"digits"`` split, each 8x8 image transformed by a seeded
      uniformly drawn element of the point group ``group`` (keyword, default ``"C4"``; one of
      ``C1, D1, C2, D2, C4, D4``), exact (no interpolation).

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
    return loader(LoadRequest(seed, checked_size, bool(flatten), _check_dtype(dtype), dict(kwargs)))
