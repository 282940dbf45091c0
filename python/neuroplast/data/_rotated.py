"""``"rotated-digits"`` and ``"augmented-digits"``: symmetric variants of the 8x8 digits.

``"rotated-digits"`` imitates rotMNIST (Larochelle et al. 2007, the benchmark of Maile 2023,
Sec. 4.5): every digit, zero-padded to ``size × size`` so that no ink leaves the frame, is
rotated by its own seeded angle drawn uniformly from ``[0°, 360°)`` with bilinear interpolation
(``scipy.ndimage.rotate``). ``"augmented-digits"`` applies to every image a seeded, uniformly
drawn element of a point group (exact quarter turns and mirrors, no interpolation), the
group-augmented data of the thesis's symmetry-discovery experiment (Fig. 12).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.data._dataset import (
    Dataset,
    LoadRequest,
    Split,
    _check_int,
    _check_no_kwargs,
    _import_optional,
)
from neuroplast.errors import DataError, SpecError

__all__ = ["augment"]

_STREAMS: dict[Split, int] = {"train": 1, "test": 2}


def _digits(req: LoadRequest) -> Dataset:
    from neuroplast.data import load

    return load("digits", req.seed, test_size=req.test_size, flatten=False, dtype=np.float64)


def _pad(images: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    h = images.shape[-1]
    if size < h:
        raise DataError(f"size must be at least the digits' {h} pixels, got {size}")
    lo = (size - h) // 2
    pad = [(0, 0)] * (images.ndim - 2) + [(lo, size - h - lo)] * 2
    return np.pad(images, pad)


def _rotate(images: npt.NDArray[Any], seed: int, stream: int) -> npt.NDArray[Any]:
    ndimage = _import_optional("scipy.ndimage", "pip install scipy")
    rng = np.random.default_rng([seed, stream])
    angles = np.asarray(rng.uniform(0.0, 360.0, size=images.shape[0]), dtype=np.float64)
    out = np.empty_like(images)
    for i in range(images.shape[0]):
        out[i] = ndimage.rotate(
            images[i], float(angles[i]), axes=(-1, -2), reshape=False, order=1, mode="constant"
        )
    clipped: npt.NDArray[Any] = np.clip(out, 0.0, 1.0)
    return clipped


def _finish(ds: Dataset, X_train: Any, X_test: Any, name: str, req: LoadRequest) -> Dataset:
    shape = tuple(X_train.shape[1:])
    n = int(np.prod(shape))

    def cast(X: npt.NDArray[Any]) -> npt.NDArray[Any]:
        out = np.ascontiguousarray(X, dtype=req.dtype)
        return out.reshape(X.shape[0], n) if req.flatten else out

    return Dataset(cast(X_train), ds.y_train, cast(X_test), ds.y_test, ds.n_classes, n, shape, name)


def _load_rotated_digits(req: LoadRequest) -> Dataset:
    _check_no_kwargs("rotated-digits", req.kwargs, ("size",))
    size = _check_int("size", req.kwargs.get("size", 12), 8, 64)
    ds = _digits(req)
    X = {s: _rotate(_pad(ds.images(s), size), req.seed, i) for s, i in _STREAMS.items()}
    return _finish(ds, X["train"], X["test"], "rotated-digits", req)


def augment(
    images: npt.ArrayLike, group: str, seed: int, *, stream: int = 0
) -> npt.NDArray[np.float64]:
    """Every image ``(n, C, H, H)`` transformed by a seeded, uniformly drawn element of ``group``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(8.0).reshape(2, 1, 2, 2)
        >>> augment(x, "C1", seed=0).tolist() == x.tolist()
        True
    """
    from neuroplast.groups import table, transform_images

    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim < 3 or arr.shape[-1] != arr.shape[-2]:
        raise DataError(f"augment needs square images (n, ..., H, H), got shape {arr.shape}")
    order = table(group).order
    picks = np.random.default_rng([seed, 100 + stream]).integers(0, order, size=arr.shape[0])
    out = np.empty_like(arr)
    for e in range(order):
        sel = picks == e
        out[sel] = transform_images(arr[sel], group, e)
    return out


def _load_augmented_digits(req: LoadRequest) -> Dataset:
    _check_no_kwargs("augmented-digits", req.kwargs, ("group",))
    group = req.kwargs.get("group", "C4")
    ds = _digits(req)
    try:
        X = {s: augment(ds.images(s), group, req.seed, stream=i) for s, i in _STREAMS.items()}
    except SpecError as exc:  # an unknown group name is the user's data error here
        raise DataError(f"augmented-digits: {exc}") from exc
    return _finish(ds, X["train"], X["test"], "augmented-digits", req)
