"""The ``"mnist1d"`` loader: the offline generator of the ``mnist1d`` package."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from neuroplast.data._dataset import (
    Dataset,
    LoadRequest,
    _check_int,
    _check_no_kwargs,
    _finish,
    _import_optional,
)
from neuroplast.errors import DataError

_MNIST1D_FORBIDDEN = ("seed", "train_split", "url")


def _load_mnist1d(req: LoadRequest) -> Dataset:
    test_size = 0.2 if req.test_size is None else req.test_size
    m1d = _import_optional("mnist1d.data", "pip install mnist1d")
    args = m1d.get_dataset_args()
    allowed = tuple(k for k in vars(args) if k not in _MNIST1D_FORBIDDEN)
    _check_no_kwargs("mnist1d", req.kwargs, allowed)
    if "num_samples" in req.kwargs:
        _check_int("num_samples", req.kwargs["num_samples"], 10)
    for key, value in req.kwargs.items():
        setattr(args, key, value)
    args.seed = req.seed
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
        flatten=req.flatten,
        dtype=req.dtype,
    )
