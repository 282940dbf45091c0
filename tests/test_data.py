"""Tests of ``neuroplast.data``: dataset loaders, splits, views and error paths."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import pkgutil
import random
import sys
from typing import Any, Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import data
from neuroplast.data import Dataset, available, load, make_synthetic
from neuroplast.errors import DataError, DTypeError, NeuroplastError, ShapeError

pytestmark = pytest.mark.filterwarnings("error")


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
    assert available() == [
        "augmented-digits",
        "digits",
        "fashion-mnist",
        "mnist1d",
        "rotated-digits",
        "synthetic",
    ]


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
    # The package and each of its loader modules (make_synthetic's example lives in one).
    submodules = [f"neuroplast.data.{m.name}" for m in pkgutil.iter_modules(data.__path__)]
    attempted = 0
    for module in [data, *map(importlib.import_module, submodules)]:
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted >= 7  # load's four example statements and make_synthetic's three


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
