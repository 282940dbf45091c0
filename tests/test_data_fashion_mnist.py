"""Tests of the ``"fashion-mnist"`` loader of ``neuroplast.data``: IDX parsing and error paths."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast.data import Dataset, load
from neuroplast.errors import DataError
from test_data import _assert_common, _assert_views_consistent

pytestmark = pytest.mark.filterwarnings("error")

REAL_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _real_fashion_present() -> bool:
    return all((REAL_FASHION_DIR / f"{stem}.gz").is_file() for stem in FASHION_STEMS.values())


# --------------------------------------------------------------------------------------------
# fashion-mnist: synthetic IDX files, error paths
# --------------------------------------------------------------------------------------------


def _idx_bytes(array: np.ndarray[Any, Any]) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _write_fashion(
    directory: Path, n_train: int = 50, n_test: int = 20, compress: bool = True
) -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }
    arrays["train_images"][0, 0, 0] = 255
    arrays["train_images"][0, 0, 1] = 0
    directory.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        raw = _idx_bytes(array)
        if compress:
            (directory / f"{FASHION_STEMS[key]}.gz").write_bytes(gzip.compress(raw))
        else:
            (directory / FASHION_STEMS[key]).write_bytes(raw)
    return arrays


def test_fashion_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load("fashion-mnist", path=tmp_path / "nowhere")
    message = str(info.value)
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert str(tmp_path / "nowhere") in message
    assert "NEUROPLAST_FASHION_MNIST_DIR" in message


def test_fashion_partially_missing(tmp_path: Path) -> None:
    _write_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load("fashion-mnist", path=tmp_path)


def test_fashion_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROPLAST_FASHION_MNIST_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="apt-get") as info:
        load("fashion-mnist")
    assert str(tmp_path / "empty") in str(info.value)
    _write_fashion(tmp_path / "good")
    monkeypatch.setenv("NEUROPLAST_FASHION_MNIST_DIR", str(tmp_path / "good"))
    assert load("fashion-mnist").n_train == 50
    # path= wins over the environment variable.
    with pytest.raises(DataError, match="apt-get"):
        load("fashion-mnist", path=tmp_path / "empty")


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_from_small_idx_files(tmp_path: Path, compress: bool) -> None:
    arrays = _write_fashion(tmp_path, compress=compress)
    ds = load("fashion-mnist", path=tmp_path)
    _assert_common(ds)
    _assert_views_consistent(ds)
    assert ds.X_train.shape == (50, 784) and ds.X_test.shape == (20, 784)
    assert (ds.n_classes, ds.n_features, ds.image_shape) == (10, 784, (1, 28, 28))
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    # Standard split kept unchanged, in file order.
    np.testing.assert_array_equal(ds.y_train, arrays["train_labels"])
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    np.testing.assert_allclose(ds.X_train_images[:, 0] * 255, arrays["train_images"], atol=1e-3)
    np.testing.assert_allclose(ds.images("test")[:, 0] * 255, arrays["test_images"], atol=1e-3)
    image_shaped = load("fashion-mnist", path=tmp_path, flatten=False)
    assert image_shaped.X_train.shape == (50, 1, 28, 28)
    np.testing.assert_array_equal(image_shaped.flat("train"), ds.X_train)


def test_fashion_subsets(tmp_path: Path) -> None:
    arrays = _write_fashion(tmp_path)
    ds = load("fashion-mnist", seed=1, path=tmp_path, n_train=20, n_test=10)
    assert ds.n_train == 20 and ds.n_test == 10
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=10), np.full(10, 2))
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=10), np.full(10, 1))
    # Each subset row is a row of the original split with the matching label.
    originals = {
        row.tobytes(): lab
        for row, lab in zip(
            arrays["train_images"].reshape(50, -1), arrays["train_labels"], strict=True
        )
    }
    for row, lab in zip(ds.X_train, ds.y_train, strict=True):
        key = np.round(row.astype(np.float64) * 255).astype(np.uint8).tobytes()
        assert originals[key] == lab
    assert len({row.tobytes() for row in ds.X_train}) == 20
    same = load("fashion-mnist", seed=1, path=tmp_path, n_train=20, n_test=10)
    other = load("fashion-mnist", seed=2, path=tmp_path, n_train=20, n_test=10)
    np.testing.assert_array_equal(ds.X_train, same.X_train)
    assert not np.array_equal(ds.X_train, other.X_train)
    only_train = load("fashion-mnist", path=tmp_path, n_train=7)
    assert only_train.n_train == 7 and only_train.n_test == 20


@pytest.mark.parametrize(
    "kwargs",
    [{"n_train": 0}, {"n_train": 51}, {"n_test": 21}, {"n_train": 2.0}, {"test_size": 0.2}],
)
def test_fashion_bad_kwargs(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    _write_fashion(tmp_path)
    with pytest.raises(DataError):
        load("fashion-mnist", path=tmp_path, **kwargs)


def _valid_labels() -> bytes:
    return _idx_bytes(np.arange(50, dtype=np.uint8) % 10)


CORRUPTIONS: dict[str, tuple[str, Any]] = {
    "truncated_gzip": ("train_labels", lambda: gzip.compress(_valid_labels())[:-12]),
    "not_gzip": ("train_labels", lambda: b"this is not a gzip stream at all"),
    "empty_file": ("train_labels", lambda: b""),
    "short_header": ("train_labels", lambda: gzip.compress(b"\x00\x00\x08")),
    "bad_magic": ("train_labels", lambda: gzip.compress(b"\x01" + _valid_labels()[1:])),
    "bad_dtype": ("train_labels", lambda: gzip.compress(b"\x00\x00\x0d" + _valid_labels()[3:])),
    "bad_ndim": ("train_images", lambda: gzip.compress(_valid_labels())),
    "data_truncated": ("train_labels", lambda: gzip.compress(_valid_labels()[:-5])),
    "trailing_bytes": ("train_labels", lambda: gzip.compress(_valid_labels() + b"\x00")),
    "count_mismatch": (
        "train_labels",
        lambda: gzip.compress(_idx_bytes(np.zeros(49, dtype=np.uint8))),
    ),
    "label_out_of_range": (
        "test_labels",
        lambda: gzip.compress(_idx_bytes(np.full(20, 10, dtype=np.uint8))),
    ),
    "wrong_image_size": (
        "test_images",
        lambda: gzip.compress(_idx_bytes(np.zeros((20, 27, 28), dtype=np.uint8))),
    ),
    "empty_split": (
        "test_images",
        lambda: gzip.compress(_idx_bytes(np.zeros((0, 28, 28), dtype=np.uint8))),
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_fashion_corrupt_files(tmp_path: Path, case: str) -> None:
    _write_fashion(tmp_path)
    key, make = CORRUPTIONS[case]
    if case == "empty_split":  # keep labels consistent so the emptiness itself is caught
        (tmp_path / f"{FASHION_STEMS['test_labels']}.gz").write_bytes(
            gzip.compress(_idx_bytes(np.zeros(0, dtype=np.uint8)))
        )
    (tmp_path / f"{FASHION_STEMS[key]}.gz").write_bytes(make())
    with pytest.raises(DataError):
        load("fashion-mnist", path=tmp_path)


# --------------------------------------------------------------------------------------------
# fashion-mnist: the real Debian files
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fashion() -> Dataset:
    if not _real_fashion_present():
        pytest.skip("Fashion-MNIST not installed (sudo apt-get install dataset-fashion-mnist)")
    return load("fashion-mnist", path=REAL_FASHION_DIR)


def test_fashion_real_files(fashion: Dataset) -> None:
    _assert_common(fashion)
    _assert_views_consistent(fashion)
    assert fashion.X_train.shape == (60000, 784) and fashion.X_test.shape == (10000, 784)
    assert fashion.X_train_images.shape == (60000, 1, 28, 28)
    assert fashion.X_train.min() == 0.0 and fashion.X_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(fashion.y_train), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(fashion.y_test), np.full(10, 1000))
    np.testing.assert_array_equal(fashion.y_train[:5], [9, 0, 0, 3, 0])
    np.testing.assert_array_equal(fashion.y_test[:5], [9, 2, 1, 1, 6])


@pytest.mark.skipif(not _real_fashion_present(), reason="Fashion-MNIST not installed")
def test_fashion_real_subset() -> None:
    sub = load("fashion-mnist", seed=4, path=REAL_FASHION_DIR, n_train=1000, n_test=500)
    assert sub.n_train == 1000 and sub.n_test == 500
    np.testing.assert_array_equal(np.bincount(sub.y_train), np.full(10, 100))
    np.testing.assert_array_equal(np.bincount(sub.y_test), np.full(10, 50))
