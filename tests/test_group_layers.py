"""Group layers: structure, expansion, invariance, equivariance and gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec, _core
from neuroplast.errors import SpecError
from neuroplast.groups import GROUPS, table, transform_features, transform_images
from neuroplast.layers import Flatten, GroupConv, GroupPool, LiftConv
from neuroplast.testing import assert_close, reference
from neuroplast.testing.group import expand_reference, plain_equivalent

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORDER = {g: table(g).order for g in GROUPS}


def _randomized(net: Network, seed: int) -> Network:
    """Random weights, biases and batch-norm statistics (so nothing is trivially symmetric)."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, p in net.params.items():
        if name.endswith("running_var") or (name.endswith(".weight") and "_bn" in name):
            params[name] = rng.uniform(0.5, 1.5, p.shape).astype(np.float32)
        else:
            params[name] = rng.normal(0, 0.5, p.shape).astype(np.float32)
    return Network(net.spec, params)


@st.composite
def gcnns(draw: st.DrawFn, uniform: bool = False) -> tuple[Network, np.ndarray]:
    chain = draw(
        st.sampled_from(
            [
                ("D4", "C4", "C2", "C1"),
                ("D4", "D2", "D1", "C1"),
                ("D2", "C2", "C1", "C1"),
                ("C4", "C4", "C4", "C4"),
            ]
        )
    )
    n_layers = draw(st.integers(1, 3))
    start = draw(st.integers(0, len(chain) - n_layers))
    groups = [chain[start]] * n_layers if uniform else list(chain[start : start + n_layers])
    width = draw(st.sampled_from([8, 16]))
    k = draw(st.sampled_from([1, 3, 5]))
    size = draw(st.sampled_from([6, 7, 8]))
    bn = draw(st.booleans())
    spec = Spec.gcnn(
        (draw(st.integers(1, 2)), size, size),
        3,
        groups,
        widths=[width] * n_layers,
        kernel_size=k,
        batch_norm=bn,
        hidden=[5],
    )
    net = _randomized(Network.init(spec, seed=0), draw(st.integers(0, 99)))
    X = (
        np.random.default_rng(draw(st.integers(0, 99)))
        .normal(size=(draw(st.integers(1, 4)), *spec.input_shape))
        .astype(np.float32)
    )
    return net, X


def test_structure_counts_stored_parameters_and_expanded_flops() -> None:
    spec = Spec.gcnn((1, 8, 8), 10, ["D4", "C4"], widths=[16, 16], hidden=[], batch_norm=False)
    assert spec.param_shapes["conv_0.weight"] == (2, 1, 3, 3)
    assert spec.param_shapes["conv_0.bias"] == (2,)
    assert spec.param_shapes["conv_1.weight"] == (4, 4, 4, 3, 3)  # C_in·|R| = 2·2, |C4| = 4
    assert spec.shapes["conv_1"] == (16, 8, 8) and spec.shapes["group_pool"] == (4, 4, 4)
    assert spec.node_flops["conv_1"] == 2 * 16 * 16 * 9 * 64 + 16 * 64 + 16 * 64  # + bias + relu
    assert spec.node_flops["group_pool"] == 16 * 16
    plain = Spec.cnn((1, 8, 8), [16, 16], 10, pool=None, global_pool=True)
    assert spec.node_flops["conv_1"] == plain.node_flops["conv_1"]
    # Stored parameters: W²k²/|G| at equal expanded width.
    assert spec.n_params == 2 * 9 + 2 + 4 * 4 * 4 * 9 + 4 + 4 * 10 + 10
    assert Spec.from_json(spec.to_json()) == spec


def test_invalid_group_layers_are_refused() -> None:
    with pytest.raises(SpecError, match="group"):
        LiftConv("a", "input", 2, 3, group="C3")
    with pytest.raises(SpecError, match="subgroup"):
        Spec(
            (8, 5, 5),
            (GroupConv("a", "input", 2, 3, group="C4", in_group="D2"), Flatten("f", "a")),
            "f",
        )
    with pytest.raises(SpecError, match="blocks"):
        Spec((6, 5, 5), (GroupPool("p", "input", "C4"), Flatten("f", "p")), "f")
    with pytest.raises(SpecError, match="subgroup of the one before"):
        Spec.gcnn((1, 8, 8), 2, ["C4", "D4"], widths=[8, 8])
    with pytest.raises(SpecError, match="square"):
        Spec.gcnn((1, 8, 6), 2)


@SETTINGS
@given(
    st.sampled_from(GROUPS),
    st.sampled_from(GROUPS),
    st.integers(1, 3),
    st.integers(1, 2),
    st.sampled_from([1, 3, 5]),
    st.integers(0, 99),
)
def test_expansion_matches_the_numpy_statement(
    g: str, h: str, c_out: int, c_in: int, k: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(c_out, c_in, k, k)).astype(np.float32)
    got = _core.expand_kernel(g, None, c_out, c_in, k, w.reshape(-1))
    np.testing.assert_array_equal(got.reshape(-1), expand_reference(w, g).reshape(-1))
    if not set(table(g).elements) <= set(table(h).elements):
        return
    reps = ORDER[h] // ORDER[g]
    w = rng.normal(size=(c_out, c_in * reps, ORDER[g], k, k)).astype(np.float32)
    got = _core.expand_kernel(g, h, c_out, c_in, k, w.reshape(-1))
    np.testing.assert_array_equal(got.reshape(-1), expand_reference(w, g, h).reshape(-1))


@SETTINGS
@given(gcnns())
def test_forward_is_the_plain_network_with_expanded_kernels(
    case: tuple[Network, np.ndarray],
) -> None:
    net, X = case
    plain = plain_equivalent(net)
    assert_close(net.forward(X), plain.forward(X), what="engine vs plain engine")
    ref = reference.forward(plain.spec, plain.params, X)
    assert_close(net.forward(X), ref, what="engine vs float64 reference")


@SETTINGS
@given(gcnns())
def test_logits_are_invariant_to_the_last_group(case: tuple[Network, np.ndarray]) -> None:
    net, X = case
    last = [n for n in net.spec.nodes if isinstance(n, (LiftConv, GroupConv))][-1].group
    base = net.forward(X)
    scale = max(1.0, float(np.abs(base).max()))
    for e in range(ORDER[last]):
        moved = net.forward(transform_images(X, last, e))
        assert float(np.abs(moved - base).max()) <= 2e-6 * scale * 8


@SETTINGS
@given(gcnns(uniform=True))
def test_feature_maps_transform_by_the_group(case: tuple[Network, np.ndarray]) -> None:
    net, X = case
    convs = [n for n in net.spec.nodes if isinstance(n, (LiftConv, GroupConv))]
    names = [n.name for n in convs] + [n for n in net.spec.shapes if n.startswith("pool_")]
    group = convs[0].group
    base = net.activations(X, names)
    for e in range(ORDER[group]):
        moved = net.activations(transform_images(X, group, e), names)
        for name in names:
            want = transform_features(base[name], group, e)
            scale = max(1.0, float(np.abs(want).max()))
            assert float(np.abs(moved[name] - want).max()) <= 1e-5 * scale, name
