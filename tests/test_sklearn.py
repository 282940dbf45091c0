"""The scikit-learn estimator: API contract, label encoding, composition with sklearn tools."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from neuroplast import ConfigError, DataError, Network, NeuroplastClassifier, ShapeError, data
from neuroplast.testing import assert_bitwise_equal

Data = tuple[np.ndarray, np.ndarray]


def _small() -> NeuroplastClassifier:
    return NeuroplastClassifier(hidden=(16,), epochs=50, lr=0.01)


def test_fit_predict_score(blobs: Data) -> None:
    X, y = blobs
    clf = NeuroplastClassifier(hidden=(16,), epochs=30, lr=0.01, seed=1)
    assert clf.fit(X, y) is clf
    assert isinstance(clf.network_, Network)
    assert clf.n_features_in_ == 4 and len(clf.history_) == 30
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(1)])
    assert clf.score(X, y) == pytest.approx(np.mean(pred == y))
    assert clf.score(X, y) >= 0.95


def test_string_and_unordered_labels(blobs: Data) -> None:
    X, y = blobs
    names = np.array(["setosa", "virginica", "versicolor"])[y]
    clf = NeuroplastClassifier(hidden=(16,), epochs=30, lr=0.01).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    pred = clf.predict(X)
    assert pred.dtype.kind == "U" and set(pred) <= set(names)
    assert clf.score(X, names) >= 0.95
    shifted = NeuroplastClassifier(hidden=(16,), epochs=30, lr=0.01).fit(X, y * 10 - 7)
    assert set(shifted.predict(X)) <= {-7, 3, 13}


def test_params_and_clone(blobs: Data) -> None:
    X, y = blobs
    clf = NeuroplastClassifier(hidden=(8, 4), activation="tanh", optimizer="sgd", lr=0.05, seed=3)
    params = clf.get_params()
    assert params == {
        "hidden": (8, 4),
        "activation": "tanh",
        "epochs": 20,
        "batch_size": 32,
        "optimizer": "sgd",
        "lr": 0.05,
        "weight_decay": 0.0,
        "momentum": 0.9,
        "seed": 3,
        "early_stopping": False,
        "validation_fraction": 0.1,
        "n_iter_no_change": 10,
        "tol": 1e-4,
    }
    assert clf.set_params(epochs=3, momentum=0.5) is clf
    assert clf.epochs == 3 and clf.momentum == 0.5
    fitted = clf.fit(X, y)
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params()
    assert not hasattr(twin, "network_")
    twin.fit(X, y)
    assert_bitwise_equal(twin.network_.params, fitted.network_.params)
    assert [n.units for n in fitted.network_.spec.nodes] == [8, 4, 3]  # type: ignore[union-attr]


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_optimizers(optimizer: str, blobs: Data) -> None:
    X, y = blobs
    clf = NeuroplastClassifier(
        hidden=(16,), epochs=20, optimizer=optimizer, lr=0.01, weight_decay=1e-4
    )
    clf.fit(X, y)
    assert clf.network_.optimizer_state is not None
    assert clf.network_.optimizer_state.kind == optimizer
    assert clf.score(X, y) > 0.8


def test_errors(blobs: Data) -> None:
    X, y = blobs
    with pytest.raises(NotFittedError):
        NeuroplastClassifier().predict(X)
    with pytest.raises(NotFittedError):
        NeuroplastClassifier().predict_proba(X)
    with pytest.raises(ConfigError):
        NeuroplastClassifier(optimizer="rmsprop").fit(X, y)
    with pytest.raises(DataError):
        NeuroplastClassifier().fit(X, np.zeros(90, int))
    with pytest.raises(DataError):
        NeuroplastClassifier().fit(X[:0], y[:0])
    with pytest.raises(ShapeError):
        NeuroplastClassifier().fit(X, y[:10])
    with pytest.raises(ShapeError):
        NeuroplastClassifier().fit(X[0], y[:1])
    clf = NeuroplastClassifier(hidden=(4,), epochs=1).fit(X, y)
    with pytest.raises(ShapeError):
        clf.predict(X[:, :3])


def test_composes_with_sklearn_tools(blobs: Data) -> None:
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), NeuroplastClassifier(hidden=(8,), epochs=15, lr=0.01))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8
    grid = GridSearchCV(NeuroplastClassifier(epochs=5), {"hidden": [(4,), (8,)]}, cv=2).fit(X, y)
    assert grid.best_params_["hidden"] in [(4,), (8,)]


def test_digits_end_to_end() -> None:
    ds = data.load("digits", seed=0)
    clf = NeuroplastClassifier(hidden=(64,), epochs=15, seed=0).fit(ds.X_train, ds.y_train)
    assert clf.score(ds.X_test, ds.y_test) > 0.93


def test_fitted_classifier_pickles(blobs: Data) -> None:
    X, y = blobs
    clf = NeuroplastClassifier(hidden=(4,), epochs=2).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))


# ------------------------------------------------------------------------------ check_estimator
# sklearn's common checks: all must pass (the estimator validates with sklearn's own
# validate_data and re-raises its errors as typed neuroplast errors with the same messages).
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


def _expected_failed(estimator: Any) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@parametrize_with_checks([_small()], expected_failed_checks=_expected_failed)
def test_sklearn_common_checks(estimator: Any, check: Any) -> None:
    check(estimator)


def test_early_stopping_as_mlp_classifier(blobs: Data) -> None:
    X, y = blobs
    clf = NeuroplastClassifier(
        hidden=(16,), epochs=400, lr=0.01, early_stopping=True, n_iter_no_change=5, seed=2
    ).fit(X, y)
    hist = clf.history_
    assert hist.stopped_early and len(hist) < 400 and hist.best_epoch is not None
    assert clf.validation_scores_ == [float(a) for a in hist.val_accuracy]
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # The best epoch's weights are kept: refitting that many epochs on the same split agrees.
    again = NeuroplastClassifier(
        hidden=(16,), epochs=hist.best_epoch + 1, lr=0.01, early_stopping=True, seed=2
    ).fit(X, y)
    assert_bitwise_equal(again.network_.params, clf.network_.params)
    assert clf.score(X, y) >= 0.9
    with pytest.raises(ConfigError):
        NeuroplastClassifier(early_stopping=True, validation_fraction=1.0).fit(X, y)
    with pytest.raises(DataError, match="stratified"):
        NeuroplastClassifier(early_stopping=True, validation_fraction=0.01).fit(X[:20], y[:20])
