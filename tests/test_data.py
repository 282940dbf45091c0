"""Tests of ``neuroplast.data``: dataset loaders, splits, views and error paths."""

from __future__ import annotations

import dataclasses
import doctest
import gzip
import importlib
import random
import struct
import sys
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import data
from neuroplast.data import Dataset, available, load, make_synthetic
from neuroplast.errors import DataError, DTypeError, NeuroplastError, ShapeError

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


def _assert_common(ds: Dataset) -> None:
    """Invariants every loaded dataset satisfies."""
    for X, y in ((ds.X_train, ds.y_train), (ds.X_test, ds.y_test)):
        assert X.flags.c_contiguous and y.flags.c_contiguous
        assert X.dtype == np.float32
        assert y.dtype == np.int64
        assert y.ndim == 1 and X.shape[0] == y.shape[0]
        assert np.isfinite(X).all()
        assert y.min() >= 0 and y.max() < ds.n_classes
    assert ds.n_train == ds.y_train.shape[0] and ds.n_test == ds.y_test.shape[0]
    assert ds.flat("train").shape == (ds.n_train, ds.n_features)
    assert ds.flat("test").shape == (ds.n_test, ds.n_features)


def _assert_views_consistent(ds: Dataset) -> None:
    assert ds.image_shape is not None
    pairs: tuple[tuple[Literal["train", "test"], np.ndarray[Any, Any]], ...] = (
        ("train", ds.X_train),
        ("test", ds.X_test),
    )
    for split, X in pairs:
        images = ds.images(split)
        assert images.shape == (X.shape[0], *ds.image_shape)
        assert np.may_share_memory(images, X)  # a view, not a copy
        head = slice(0, 64)  # enough to catch a wrong layout, cheap on 60 000 images
        np.testing.assert_array_equal(images[head].reshape(-1, ds.n_features), ds.flat(split)[head])
    np.testing.assert_array_equal(ds.X_train_images[:64], ds.images("train")[:64])
    np.testing.assert_array_equal(ds.X_test_images[:64], ds.images("test")[:64])


# --------------------------------------------------------------------------------------------
# General API
# --------------------------------------------------------------------------------------------


def test_available_lists_all_names() -> None:
    assert available() == ["digits", "fashion-mnist", "mnist1d", "synthetic"]


def test_unknown_name_lists_available() -> None:
    with pytest.raises(DataError) as info:
        load("cifar-10")
    for name in available():
        assert name in str(info.value)
    assert isinstance(info.value, NeuroplastError) and isinstance(info.value, ValueError)


def test_name_must_be_string() -> None:
    with pytest.raises(DataError):
        load(3)  # type: ignore[arg-type]


def test_name_aliases() -> None:
    ds = load("SYNTHETIC", n_samples=50)
    assert ds.name == "synthetic"
    with pytest.raises(DataError, match="not found"):
        load("Fashion_MNIST", path="/nonexistent/neuroplast-test")


@pytest.mark.parametrize("test_size", [0, 0.0, 1, 1.0, -0.1, 1.5, True, "0.2", float("nan")])
def test_bad_test_size(test_size: Any) -> None:
    with pytest.raises(DataError, match="test_size"):
        load("digits", test_size=test_size)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None, True])
def test_bad_seed(seed: Any) -> None:
    with pytest.raises(DataError, match="seed"):
        load("synthetic", seed=seed)


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.complex64, "U3", object])
def test_bad_dtype(dtype: Any) -> None:
    with pytest.raises(DTypeError):
        load("synthetic", dtype=dtype, n_samples=20)


@pytest.mark.parametrize("name", ["digits", "synthetic", "mnist1d", "fashion-mnist"])
def test_unknown_kwarg(name: str) -> None:
    with pytest.raises(DataError, match="bogus"):
        load(name, bogus=1)


def test_dataset_is_frozen() -> None:
    ds = load("synthetic", n_samples=20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"  # type: ignore[misc]
    assert "synthetic" in repr(ds)


def test_dataset_validates_shapes_and_dtypes() -> None:
    X = np.zeros((4, 6), dtype=np.float32)
    y = np.zeros(4, dtype=np.int64)
    kw: dict[str, Any] = {"n_classes": 2, "n_features": 6, "image_shape": (1, 2, 3), "name": "t"}
    Dataset(X, y, X, y, **kw)  # fine
    Dataset(X.reshape(4, 1, 2, 3), y, X, y, **kw)  # image-shaped is fine too
    with pytest.raises(ShapeError):
        Dataset(X, y[:3], X, y, **kw)
    with pytest.raises(ShapeError):
        Dataset(X.reshape(4, 2, 3), y, X, y, **kw)
    with pytest.raises(ShapeError):
        Dataset(X, y, X, y, n_classes=2, n_features=6, image_shape=(1, 2, 2), name="t")
    with pytest.raises(DTypeError):
        Dataset(X, y.astype(np.float64), X, y, **kw)
    with pytest.raises(DTypeError):
        Dataset(X.astype(np.int64), y, X, y, **kw)


def test_bad_split_name() -> None:
    ds = load("synthetic", n_samples=20)
    with pytest.raises(DataError, match="split"):
        ds.flat("validation")  # type: ignore[arg-type]


def test_module_doctests() -> None:
    result = doctest.testmod(data, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_missing_optional_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(DataError, match="pip install mnist1d"):
        load("mnist1d")
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(DataError, match="pip install scikit-learn"):
        load("digits")


# --------------------------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load("digits", seed=0)


def test_digits_shapes_and_ranges(digits: Dataset) -> None:
    _assert_common(digits)
    assert digits.X_train.shape == (1437, 64) and digits.X_test.shape == (360, 64)
    assert (digits.n_classes, digits.n_features, digits.image_shape) == (10, 64, (1, 8, 8))
    assert digits.name == "digits"
    for X in (digits.X_train, digits.X_test):
        assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(digits.y_train)) == set(range(10))
    _assert_views_consistent(digits)


def test_digits_split_is_a_partition_of_the_data(digits: Dataset) -> None:
    bunch = importlib.import_module("sklearn.datasets").load_digits()
    full = np.concatenate([digits.X_train, digits.X_test]).astype(np.float64) * 16
    labels = np.concatenate([digits.y_train, digits.y_test])
    rows = np.column_stack([bunch.data, bunch.target])
    got = np.column_stack([full, labels])
    np.testing.assert_array_equal(np.unique(got, axis=0), np.unique(rows, axis=0))
    assert got.shape == rows.shape


def test_digits_images_match_sklearn_layout(digits: Dataset) -> None:
    bunch = importlib.import_module("sklearn.datasets").load_digits()
    lookup = {row.tobytes(): img for row, img in zip(bunch.data, bunch.images, strict=True)}
    for i in range(5):
        flat = (digits.X_train[i].astype(np.float64) * 16).round()
        np.testing.assert_array_equal(digits.X_train_images[i, 0] * 16, lookup[flat.tobytes()])


def test_digits_split_is_stratified(digits: Dataset) -> None:
    total = np.bincount(np.concatenate([digits.y_train, digits.y_test]), minlength=10)
    test_counts = np.bincount(digits.y_test, minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * total) <= 1)
    assert test_counts.sum() == 360


def test_digits_deterministic_per_seed(digits: Dataset) -> None:
    again = load("digits", seed=0)
    other = load("digits", seed=1)
    for name in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(digits, name), getattr(again, name))
    assert not np.array_equal(digits.y_train, other.y_train)
    assert not np.array_equal(digits.X_test, other.X_test)


def test_digits_flatten_false_and_float64(digits: Dataset) -> None:
    images = load("digits", seed=0, flatten=False)
    assert images.X_train.shape == (1437, 1, 8, 8) and images.X_test.shape == (360, 1, 8, 8)
    assert images.X_train.flags.c_contiguous
    np.testing.assert_array_equal(images.flat("train"), digits.X_train)
    np.testing.assert_array_equal(images.images("test"), digits.X_test_images)
    wide = load("digits", seed=0, dtype=np.float64)
    assert wide.X_train.dtype == np.float64
    np.testing.assert_allclose(wide.X_train, digits.X_train)


def test_digits_test_size() -> None:
    ds = load("digits", seed=3, test_size=0.5)
    assert ds.n_test == 899 and ds.n_train == 898


# --------------------------------------------------------------------------------------------
# synthetic (thesis Sec. 6.3.2)
# --------------------------------------------------------------------------------------------


def test_synthetic_defaults() -> None:
    ds = load("synthetic")
    _assert_common(ds)
    assert ds.X_train.shape == (4500, 64) and ds.X_test.shape == (500, 64)
    assert (ds.n_classes, ds.n_features, ds.image_shape, ds.name) == (2, 64, None, "synthetic")
    y = np.concatenate([ds.y_train, ds.y_test])
    assert set(np.unique(y)) == {0, 1}
    assert 0.4 < y.mean() < 0.6
    with pytest.raises(ShapeError):
        ds.images()
    with pytest.raises(ShapeError):
        _ = ds.X_test_images


@pytest.mark.parametrize("n_f", [1, 2, 8, 33, 64])
def test_synthetic_rank_equals_n_independent(n_f: int) -> None:
    ds = make_synthetic(n_samples=300, n_features_independent=n_f, seed=n_f, dtype=np.float64)
    X = np.concatenate([ds.X_train, ds.X_test])
    assert np.linalg.matrix_rank(X) == n_f
    # The mixed columns lie in the span of the first n_f (independent) columns.
    coef, *_ = np.linalg.lstsq(X[:, :n_f], X[:, n_f:], rcond=None)
    np.testing.assert_allclose(X[:, :n_f] @ coef, X[:, n_f:], atol=1e-8)


def test_synthetic_follows_the_recipe() -> None:
    n, n_f, seed = 400, 5, 11
    rng = np.random.default_rng(seed)
    independent = rng.standard_normal((n, n_f))
    mixing = rng.standard_normal((64 - n_f, n_f))
    X = np.concatenate([independent, independent @ mixing.T], axis=1)
    response = 0.9 * X.sum(axis=1) + 0.1 * rng.standard_normal(n)
    y = (response > response.mean()).astype(np.int64)

    ds = make_synthetic(n_samples=n, n_features_independent=n_f, seed=seed, dtype=np.float64)
    assert ds.n_test == 40  # 10 % test split, as in the thesis text
    np.testing.assert_array_equal(np.concatenate([ds.X_train, ds.X_test]), X)
    np.testing.assert_array_equal(np.concatenate([ds.y_train, ds.y_test]), y)


def test_synthetic_deterministic_and_seed_dependent() -> None:
    a = load("synthetic", seed=5, n_samples=200)
    b = load("synthetic", seed=5, n_samples=200)
    c = load("synthetic", seed=6, n_samples=200)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.X_train, c.X_train)


def test_synthetic_load_matches_make_synthetic() -> None:
    a = load(
        "synthetic",
        seed=2,
        test_size=0.25,
        n_samples=100,
        n_features=16,
        n_features_independent=3,
        flatten=False,
    )
    b = make_synthetic(100, 16, 3, seed=2, test_size=0.25)
    assert a.X_train.shape == (75, 16) and a.X_test.shape == (25, 16)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_features_independent": 0},
        {"n_features_independent": 65},
        {"n_features_independent": 2.5},
        {"n_features": 0},
        {"n_features": 4, "n_features_independent": 8},
        {"n_samples": 1},
        {"n_samples": 10, "test_size": 0.99},
    ],
)
def test_synthetic_bad_kwargs(kwargs: dict[str, Any]) -> None:
    with pytest.raises(DataError):
        load("synthetic", **kwargs)


@settings(max_examples=25, deadline=None)
@given(
    n_features=st.integers(1, 24),
    data_=st.data(),
    seed=st.integers(0, 2**32),
    test_size=st.floats(0.05, 0.5),
)
def test_synthetic_properties(
    n_features: int, data_: st.DataObject, seed: int, test_size: float
) -> None:
    n_f = data_.draw(st.integers(1, n_features))
    n_samples = data_.draw(st.integers(2 * n_features + 4, 120))
    ds = make_synthetic(n_samples, n_features, n_f, seed=seed, test_size=test_size)
    _assert_common(ds)
    assert ds.n_train + ds.n_test == n_samples
    assert ds.n_test == int(np.ceil(test_size * n_samples))
    assert ds.X_train.shape[1] == n_features
    X = np.concatenate([ds.X_train, ds.X_test]).astype(np.float64)
    assert np.linalg.matrix_rank(X, tol=1e-3 * np.abs(X).max()) == n_f


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


# --------------------------------------------------------------------------------------------
# mnist1d (offline generator)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist1d_small() -> Dataset:
    return load("mnist1d", seed=0, num_samples=500)


def test_mnist1d_small(mnist1d_small: Dataset) -> None:
    ds = mnist1d_small
    _assert_common(ds)
    _assert_views_consistent(ds)
    assert ds.X_train.shape == (400, 40) and ds.X_test.shape == (100, 40)
    assert ds.X_train_images.shape == (400, 1, 40)
    assert (ds.n_classes, ds.n_features, ds.image_shape, ds.name) == (10, 40, (1, 40), "mnist1d")
    assert set(np.unique(np.concatenate([ds.y_train, ds.y_test]))) == set(range(10))


def test_mnist1d_matches_offline_generator(mnist1d_small: Dataset) -> None:
    m1d = importlib.import_module("mnist1d.data")

    args = m1d.get_dataset_args()
    args.num_samples, args.seed = 500, 0
    state = np.random.get_state()
    try:
        reference = m1d.make_dataset(args)
    finally:
        np.random.set_state(state)
    np.testing.assert_array_equal(mnist1d_small.X_train, reference["x"].astype(np.float32))
    np.testing.assert_array_equal(mnist1d_small.y_test, reference["y_test"])


def test_mnist1d_deterministic_and_restores_global_rng(mnist1d_small: Dataset) -> None:
    np.random.seed(1234)
    random.seed(1234)
    expected_np, expected_py = np.random.random(5), random.random()
    np.random.seed(1234)
    random.seed(1234)
    again = load("mnist1d", seed=0, num_samples=500)
    # The generator's global seeding is undone: the global streams continue as before.
    np.testing.assert_array_equal(np.random.random(5), expected_np)
    assert random.random() == expected_py
    np.testing.assert_array_equal(again.X_train, mnist1d_small.X_train)
    np.testing.assert_array_equal(again.y_train, mnist1d_small.y_train)
    other = load("mnist1d", seed=1, num_samples=500)
    assert not np.array_equal(other.X_train, mnist1d_small.X_train)


def test_mnist1d_defaults_and_options() -> None:
    ds = load("mnist1d", seed=3, flatten=False, test_size=0.25, num_samples=800)
    assert ds.X_train.shape == (600, 1, 40) and ds.X_test.shape == (200, 1, 40)
    assert ds.flat("test").shape == (200, 40)
    # Standardised by the generator.
    X = np.concatenate([ds.flat("train"), ds.flat("test")])
    assert abs(float(X.mean())) < 1e-3 and abs(float(X.std()) - 1.0) < 1e-3


@pytest.mark.parametrize(
    "kwargs",
    [{"url": "http://example.com"}, {"train_split": 0.5}, {"num_samples": 5}, {"test_size": 0.0}],
)
def test_mnist1d_bad_kwargs(kwargs: dict[str, Any]) -> None:
    with pytest.raises(DataError):
        load("mnist1d", **kwargs)
