"""The ``"synthetic"`` dataset: the "n_f independent features" task of the thesis (Sec. 6.3.2)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neuroplast.data._dataset import (
    Dataset,
    LoadRequest,
    _check_dtype,
    _check_int,
    _check_no_kwargs,
    _check_seed,
    _check_test_size,
    _finish,
    _n_test_for,
)


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


def _load_synthetic(req: LoadRequest) -> Dataset:
    # Synthetic features have no image shape; they are always flat (req.flatten is ignored).
    _check_no_kwargs("synthetic", req.kwargs, ("n_samples", "n_features", "n_features_independent"))
    test_size = 0.1 if req.test_size is None else req.test_size
    return make_synthetic(seed=req.seed, test_size=test_size, dtype=req.dtype, **req.kwargs)
