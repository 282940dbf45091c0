"""The [G]-mixed layer: one-hot z is the single-group layer, collapse() is bitwise identical."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec
from neuroplast.errors import InvalidMorphismError, SpecError
from neuroplast.groups import GROUPS, table
from neuroplast.layers import Flatten, GroupConv, LiftConv, MixedConv
from neuroplast.morph import EDITS, architecture_weights, collapse, collapsed_kernel
from neuroplast.optim import Adam

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mixed_layer(cands: tuple[str, ...], lift: bool, c_in: int, k: int, seed: int) -> Network:
    spec = Spec(
        (c_in, 5, 5), (MixedConv("m", "input", 8, k, cands, lift=lift), Flatten("f", "m")), "f"
    )
    return Network.init(spec, seed=seed)


def _effective(net: Network, g: str) -> np.ndarray:
    v = np.asarray(net.params[f"m.v_{g}"], np.float64)
    scale = np.asarray(net.params[f"m.g_{g}"], np.float64)
    norms = np.sqrt((v.reshape(v.shape[0], -1) ** 2).sum(axis=1))
    return (v * (scale / norms).reshape(-1, *([1] * (v.ndim - 1)))).astype(np.float32)


@SETTINGS
@given(
    st.lists(st.sampled_from(GROUPS), min_size=1, max_size=6, unique=True),
    st.booleans(),
    st.sampled_from([1, 3, 5]),
    st.integers(0, 99),
    st.integers(1, 4),
)
def test_one_hot_z_is_the_single_group_layer(
    cands: list[str], lift: bool, k: int, seed: int, batch: int
) -> None:
    c_in = 1 if lift else 8
    net = _mixed_layer(tuple(cands), lift, c_in, k, seed)
    X = np.random.default_rng(seed).normal(size=(batch, c_in, 5, 5)).astype(np.float32)
    for hot, g in enumerate(cands):
        params = dict(net.params)
        params["m.logits"] = np.where(np.arange(len(cands)) == hot, 0.0, -1e4).astype(np.float32)
        mixed = Network(net.spec, params)
        n = table(g).order
        layer = (
            LiftConv("m", "input", 8 // n, k, g, bias=False)
            if lift
            else GroupConv("m", "input", 8 // n, k, g, bias=False)
        )
        single = Network(
            Spec((c_in, 5, 5), (layer, Flatten("f", "m")), "f"), {"m.weight": _effective(net, g)}
        )
        a, b = mixed.forward(X), single.forward(X)
        assert float(np.abs(a - b).max()) <= 1e-6 * max(1.0, float(np.abs(b).max()))
        assert architecture_weights(mixed)["m"][g] == 1.0


@SETTINGS
@given(
    st.lists(st.sampled_from(GROUPS), min_size=1, max_size=6, unique=True),
    st.sampled_from([1, 3]),
    st.integers(0, 99),
    st.integers(1, 3),
)
def test_collapse_gives_identical_outputs(cands: list[str], k: int, seed: int, batch: int) -> None:
    spec = Spec.mixed_gcnn((1, 6, 6), 3, candidates=cands, widths=[8, 8], kernel_size=k)
    net = Network.init(spec, seed=seed)
    rng = np.random.default_rng(seed)
    params = dict(net.params)
    for name in params:
        if name.endswith("logits"):
            params[name] = rng.normal(size=params[name].shape).astype(np.float32)
    net = Network(spec, params)
    plain, rec = collapse(net)
    X = rng.normal(size=(batch, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(plain.forward(X), net.forward(X))
    assert rec.contract == "exact" and rec.name == "collapse"
    assert not any(isinstance(n, MixedConv) for n in plain.spec.nodes)
    kernel, z = collapsed_kernel(net, "conv_1")
    np.testing.assert_array_equal(plain.params["conv_1.weight"], kernel)
    assert abs(float(z.sum()) - 1.0) < 1e-6


def test_weight_norm_scales_are_frozen_and_z_trains() -> None:
    spec = Spec.mixed_gcnn((1, 6, 6), 3, widths=[8], hidden=[])
    net = Network.init(spec, seed=0)
    assert spec.buffers >= {f"conv_0.g_{g}" for g in GROUPS}
    for g in GROUPS:  # initial kernels are their directions
        v = net.params[f"conv_0.v_{g}"]
        norms = np.sqrt((v.astype(np.float64).reshape(v.shape[0], -1) ** 2).sum(axis=1))
        np.testing.assert_allclose(net.params[f"conv_0.g_{g}"], norms, rtol=1e-6)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    before = dict(net.params)
    net.fit(X, y, epochs=2, batch_size=8, optimizer=Adam(lr=0.05), seed=0)
    for g in GROUPS:
        np.testing.assert_array_equal(net.params[f"conv_0.g_{g}"], before[f"conv_0.g_{g}"])
    assert not np.array_equal(net.params["conv_0.logits"], before["conv_0.logits"])
    assert EDITS["collapse"] is collapse


def test_mixed_layer_validation() -> None:
    with pytest.raises(SpecError, match="repeat"):
        MixedConv("m", "input", 8, 3, ("C4", "C4"))
    with pytest.raises(SpecError, match="multiples"):
        Spec((3, 5, 5), (MixedConv("m", "input", 8, 3, ("C2",)), Flatten("f", "m")), "f")
    net = Network.init(Spec.gcnn((1, 6, 6), 3, "C4", widths=[8]), seed=0)
    with pytest.raises(InvalidMorphismError, match="no \\[G\\]-mixed"):
        collapse(net)
