"""The ``"digits"`` loader: scikit-learn's 8x8 hand-written digits, seeded stratified split."""

from __future__ import annotations

import numpy as np

from neuroplast.data._dataset import (
    Dataset,
    LoadRequest,
    _check_no_kwargs,
    _finish,
    _import_optional,
    _stratified_split,
)


def _load_digits(req: LoadRequest) -> Dataset:
    _check_no_kwargs("digits", req.kwargs)
    test_size = 0.2 if req.test_size is None else req.test_size
    sk_datasets = _import_optional("sklearn.datasets", "pip install scikit-learn")
    bunch = sk_datasets.load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    train_idx, test_idx = _stratified_split(y, test_size, np.random.default_rng(req.seed))
    return _finish(
        "digits",
        X[train_idx],
        y[train_idx],
        X[test_idx],
        y[test_idx],
        n_classes=10,
        image_shape=(1, 8, 8),
        flatten=req.flatten,
        dtype=req.dtype,
        scale=16.0,
    )
