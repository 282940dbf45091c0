"""The ``"fashion-mnist"`` loader: IDX parsing of the Debian ``dataset-fashion-mnist`` files."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

from neuroplast.data._dataset import (
    Dataset,
    LoadRequest,
    _check_int,
    _check_no_kwargs,
    _finish,
    _stratified_sample,
)
from neuroplast.errors import DataError

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


def _load_fashion_mnist(req: LoadRequest) -> Dataset:
    _check_no_kwargs("fashion-mnist", req.kwargs, ("path", "n_train", "n_test"))
    if req.test_size is not None:
        raise DataError(
            "fashion-mnist keeps its standard train/test split; test_size is not accepted "
            "(use n_train=/n_test= for smaller subsets)"
        )
    files = _find_fashion_files(_fashion_dir(req.kwargs.get("path")))
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

    rng = np.random.default_rng(req.seed)
    for split in ("train", "test"):
        n_key = f"n_{split}"
        if req.kwargs.get(n_key) is None:
            continue
        images, labels = parts[split]
        n = _check_int(n_key, req.kwargs[n_key], 1, int(labels.shape[0]))
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
        flatten=req.flatten,
        dtype=req.dtype,
        scale=255.0,
    )
