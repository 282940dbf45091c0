"""Shared fixtures of the neuroplast test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import settings

import neuroplast

# The suite is reproducible by default: hypothesis draws the same examples on every run (CI
# included). Set HYPOTHESIS_PROFILE=explore for fresh random examples on each run.
settings.register_profile("reproducible", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


def pytest_configure(config: pytest.Config) -> None:
    """Keeps hypothesis failure reports readable under ``filterwarnings = error``.

    When a hypothesis test fails, its pytest plugin imports ``libcst`` (to suggest an
    ``@example`` patch), which triggers a third-party ``DeprecationWarning`` from
    ``mypy_extensions``. As an error that would turn the failure into an INTERNALERROR.
    """
    config.addinivalue_line(
        "filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
    )


@pytest.fixture
def restore_threads() -> Iterator[None]:
    """Restores the core's thread count after a test that changes it."""
    before = neuroplast.get_num_threads()
    try:
        yield
    finally:
        neuroplast.set_num_threads(before)


@pytest.fixture
def blobs() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """A small, easy 3-class problem: 90 samples, 4 features."""
    rng = np.random.default_rng(123)
    centers = rng.normal(scale=3.0, size=(3, 4))
    y = np.repeat(np.arange(3), 30)
    X = centers[y] + rng.normal(size=(90, 4))
    perm = rng.permutation(90)
    return X[perm].astype(np.float32), y[perm].astype(np.int64)


@pytest.fixture
def problem(
    blobs: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]],
) -> tuple[npt.NDArray[Any], ...]:
    """``blobs`` as ``(X_train, y_train, X_val, y_val)``: 60 training and 30 validation rows."""
    X, y = blobs
    return X[:60], y[:60], X[60:], y[60:]
