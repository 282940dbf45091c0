"""How narrow is told what to keep (``keep=`` count or indices, ``fraction=``), and
calibration data given as ``X`` alone or as ``(X, y)`` for every edit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import ConfigError, InvalidMorphismError, Network, Spec
from neuroplast.growth.init import grow
from neuroplast.morph import (
    EditLog,
    deepen,
    factorize,
    narrow,
    shallow,
    split_calibration,
    widen,
)
from neuroplast.testing import assert_bitwise_equal

SETTINGS = settings(max_examples=40, deadline=None)


def _net(n: int = 6, seed: int = 0) -> Network:
    return Network.init(Spec.mlp(4, [n], 3, activation="tanh"), seed=seed)


def _data(seed: int = 0, rows: int = 30) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, 4)).astype(np.float32), rng.integers(0, 3, rows)


# ------------------------------------------------------------------------------ keep / fraction
def test_keep_one_keeps_one_unit_and_fraction_one_keeps_all() -> None:
    net = _net()
    assert narrow(net, "dense_0", keep=1, method="svd")[0].spec.widths["dense_0"] == 1
    assert narrow(net, "dense_0", fraction=1.0, method="svd")[0].spec.widths["dense_0"] == 6
    assert narrow(net, "dense_0", fraction=1, method="svd")[0].spec.widths["dense_0"] == 6
    assert narrow(net, "dense_0", keep=np.int64(2), method="svd")[0].spec.widths["dense_0"] == 2


@SETTINGS
@given(st.floats(allow_nan=True) | st.sampled_from([np.float32(0.5), np.float64(1.0)]))
def test_a_float_keep_is_refused_and_points_to_fraction(keep) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"keep= takes a unit count \(int\).*fraction="):
        narrow(_net(), "dense_0", keep=keep, method="svd")


def test_a_float_keep_suggests_the_matching_fraction() -> None:
    with pytest.raises(ConfigError, match=r"pass fraction=0\.5 instead"):
        narrow(_net(), "dense_0", keep=0.5, method="quasi_identity")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="pass an int count instead"):
        narrow(_net(), "dense_0", keep=3.0, method="quasi_identity")  # type: ignore[arg-type]


def test_keep_and_fraction_exclude_each_other_and_one_is_needed() -> None:
    net = _net()
    with pytest.raises(ConfigError, match="not both"):
        narrow(net, "dense_0", keep=2, fraction=0.5, method="svd")
    with pytest.raises(ConfigError, match="not both"):
        narrow(net, "dense_0", keep=[0, 1], fraction=0.5)
    with pytest.raises(ConfigError, match="needs keep="):
        narrow(net, "dense_0", method="svd")


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.0000001, float("nan"), float("inf"), True, "0.5"])
def test_fractions_outside_the_unit_interval_are_config_errors(bad: object) -> None:
    with pytest.raises(ConfigError, match="fraction"):
        narrow(_net(), "dense_0", fraction=bad, method="svd")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, 7, -1, True, np.bool_(True)])
def test_counts_out_of_range_are_invalid_morphisms(bad: object) -> None:
    with pytest.raises(InvalidMorphismError):
        narrow(_net(), "dense_0", keep=bad, method="svd")  # type: ignore[arg-type]


@SETTINGS
@given(st.integers(1, 12), st.floats(1e-6, 1.0), st.floats(1e-6, 1.0))
def test_fraction_rounds_to_nearest_and_is_monotone(n, r, s) -> None:  # type: ignore[no-untyped-def]
    net = _net(n)
    widths = [
        narrow(net, "dense_0", fraction=f, method="quasi_identity")[0].spec.widths["dense_0"]
        for f in (min(r, s), max(r, s))
    ]
    assert widths[0] == max(1, int(np.floor(min(r, s) * n + 0.5)))
    assert 1 <= widths[0] <= widths[1] <= n


def test_a_fraction_is_recorded_as_the_count_and_replays() -> None:
    net = _net(10)
    X, _ = _data()
    small, rec = narrow(net, "dense_0", fraction=0.3, method="svd", calibration=X)
    assert rec.args["keep"] == 3 and "fraction" not in rec.args
    again = EditLog.from_json(EditLog((rec,)).to_json()).replay(net)
    assert_bitwise_equal(again.params, small.params, "params")
    picked, rec = narrow(net, "dense_0", fraction=0.3, select="cosine", calibration=X)
    assert len(rec.args["keep"]) == 3 == picked.spec.widths["dense_0"]


# ------------------------------------------------------------------------------ calibration
def test_split_calibration() -> None:
    X, y = _data()
    assert split_calibration(X)[0] is X and split_calibration(X)[1] is None
    assert split_calibration((X, y)) == (X, y)
    rows = X.tolist()  # a list of samples is X, not (X, y)
    assert split_calibration(rows) == (rows, None)
    with pytest.raises(ConfigError, match="tuple of 3 items"):
        split_calibration((X, y, y))  # type: ignore[arg-type]


@pytest.mark.parametrize("select", ["magnitude_std", "cosine", "dormant", "low_energy"])
def test_narrow_with_x_alone_matches_x_with_no_labels(select: str) -> None:
    net = _net(8)
    X, y = _data()
    a, rec_a = narrow(net, "dense_0", 4, select=select, compensate="lstsq", calibration=X)  # type: ignore[arg-type]
    b, rec_b = narrow(net, "dense_0", 4, select=select, compensate="lstsq", calibration=(X, None))  # type: ignore[arg-type]
    assert rec_a.args["keep"] == rec_b.args["keep"]
    assert_bitwise_equal(a.params, b.params, "params")
    assert rec_a.distortion == rec_b.distortion
    assert rec_a.distortion is not None and rec_a.distortion.accuracy_before is None
    _, rec_y = narrow(net, "dense_0", 4, select=select, calibration=(X, y))  # type: ignore[arg-type]
    assert rec_y.distortion is not None and rec_y.distortion.accuracy_after is not None


EDITS = {
    "widen": lambda n, c: widen(n, "dense_0", 2, "random", seed=1, calibration=c),
    "narrow": lambda n, c: narrow(n, "dense_0", fraction=0.5, method="svd", calibration=c),
    "deepen": lambda n, c: deepen(n, "dense_0", calibration=c),
    "shallow": lambda n, c: shallow(n, "dense_0", calibration=c),
    "factorize": lambda n, c: factorize(n, "dense_0", 2, calibration=c),
    "grow": lambda n, c: grow(
        n, "dense_0", 2, "north_random", X=split_calibration(c)[0], calibration=c
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_every_edit_measures_distortion_from_x_alone(edit: str) -> None:
    net = Network.init(Spec.mlp(4, [6, 5], 3, activation="tanh"), seed=0)
    X, y = _data()
    with_x, rec_x = EDITS[edit](net, X)
    with_y, rec_y = EDITS[edit](net, (X, y))
    assert_bitwise_equal(with_x.params, with_y.params, "params")
    assert rec_x.distortion is not None and rec_y.distortion is not None
    assert rec_x.distortion.max_abs_output == rec_y.distortion.max_abs_output
    assert rec_x.distortion.accuracy_before is None and rec_x.distortion.accuracy_after is None
    assert rec_y.distortion.accuracy_before is not None


def test_missing_calibration_names_both_forms() -> None:
    with pytest.raises(ConfigError, match=r"needs calibration=X \(or \(X, y\)\)"):
        narrow(_net(), "dense_0", 3, select="cosine")
