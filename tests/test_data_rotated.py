"""The rotated and group-augmented digits."""

from __future__ import annotations

import numpy as np
import pytest

from neuroplast.data import augment, load
from neuroplast.errors import DataError
from neuroplast.groups import table, transform_images


def test_rotated_digits_are_seeded_padded_rotations_of_the_digits() -> None:
    ds = load("rotated-digits", seed=3, flatten=False)
    plain = load("digits", seed=3, flatten=False)
    assert ds.X_train.shape == (plain.n_train, 1, 12, 12) and ds.X_train.dtype == np.float32
    np.testing.assert_array_equal(ds.y_train, plain.y_train)
    assert ds.X_train.min() >= 0.0 and ds.X_train.max() <= 1.0
    again = load("rotated-digits", seed=3)
    np.testing.assert_array_equal(again.X_train.reshape(ds.X_train.shape), ds.X_train)
    # Rotation roughly preserves the ink of every digit (bilinear interpolation, no clipping).
    ink, ink0 = ds.X_train.sum(axis=(1, 2, 3)), plain.X_train.sum(axis=(1, 2, 3))
    assert np.median(np.abs(ink - ink0) / ink0) < 0.1
    # Different images get different angles: not a single global rotation.
    assert not any(
        np.allclose(
            ds.X_train[:20],
            np.rot90(np.pad(plain.X_train[:20], ((0, 0),) * 2 + ((2, 2),) * 2), k, axes=(2, 3)),
        )
        for k in range(4)
    )
    assert load("rotated-digits", seed=0, size=16).image_shape == (1, 16, 16)
    with pytest.raises(DataError):
        load("rotated-digits", size=4)
    with pytest.raises(DataError):
        load("rotated-digits", angle=3)


@pytest.mark.parametrize("group", ["C1", "D1", "C2", "D2", "C4", "D4"])
def test_augmented_digits_apply_exact_group_elements(group: str) -> None:
    ds = load("augmented-digits", seed=1, flatten=False, group=group)
    plain = load("digits", seed=1, flatten=False)
    t = table(group)
    for x, x0 in zip(ds.X_train[:40], plain.X_train[:40], strict=True):
        assert any(np.array_equal(x, transform_images(x0, group, e)) for e in range(t.order))
    if group == "C1":
        np.testing.assert_array_equal(ds.X_train, plain.X_train)


def test_augment_checks_its_input() -> None:
    with pytest.raises(DataError, match="square"):
        augment(np.zeros((2, 1, 3, 4)), "C4", seed=0)
    with pytest.raises(DataError):
        load("augmented-digits", group="C3")
