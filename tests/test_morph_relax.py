"""The relaxation morphism: every lattice edge preserves the function (eval mode, BN included),
the expanded kernels are bitwise equal up to the channel permutation, and edits replay."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec, _core
from neuroplast.errors import InvalidMorphismError
from neuroplast.groups import LATTICE_EDGES, table
from neuroplast.layers import GroupConv, LiftConv
from neuroplast.morph import EDITS, EditLog, relax, relaxations
from neuroplast.optim import SGD, Adam

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _randomized(net: Network, seed: int) -> Network:
    rng = np.random.default_rng(seed)
    params = {}
    for name, p in net.params.items():
        if name.endswith("running_var") or (name.endswith(".weight") and "_bn" in name):
            params[name] = rng.uniform(0.5, 1.5, p.shape).astype(np.float32)
        else:
            params[name] = rng.normal(0, 0.5, p.shape).astype(np.float32)
    return Network(net.spec, params)


def _expanded(net: Network, name: str) -> np.ndarray:
    node = net.spec.node(name)
    assert isinstance(node, (LiftConv, GroupConv))
    in_c = net.spec.shapes[node.input][0] if node.input != "input" else net.spec.input_shape[0]
    g_in = None if isinstance(node, LiftConv) else node.in_group
    c_in = in_c if g_in is None else in_c // table(g_in).order
    w = np.asarray(net.params[f"{name}.weight"]).reshape(-1)
    k = node.kernel_size
    out = _core.expand_kernel(node.group, g_in, node.channels, c_in, k, w)
    return out.reshape(node.channels * table(node.group).order, -1, k, k)


@SETTINGS
@given(
    st.sampled_from(LATTICE_EDGES),
    st.integers(0, 2),
    st.integers(2, 3),
    st.sampled_from([1, 3, 5]),
    st.booleans(),
    st.integers(0, 99),
    st.integers(1, 4),
)
def test_every_lattice_edge_preserves_outputs_and_kernels(
    edge: tuple[str, str], pos: int, n_layers: int, k: int, bn: bool, seed: int, batch: int
) -> None:
    frm, to = edge
    pos = min(pos, n_layers - 1)
    # Layers before `pos` keep `frm`, the relaxed one and those after it must end below `to`.
    groups = [frm] * (pos + 1) + ["C1"] * (n_layers - pos - 1)
    spec = Spec.gcnn(
        (1, 6, 6), 4, groups, widths=[8] * n_layers, kernel_size=k, batch_norm=bn, hidden=[5]
    )
    net = _randomized(Network.init(spec, seed=0), seed)
    layer = f"conv_{pos}"
    assert (layer, to) in relaxations(net)
    out, rec = relax(net, layer, to)
    X = np.random.default_rng(seed).normal(size=(batch, 1, 6, 6)).astype(np.float32)
    a, b = net.forward(X), out.forward(X)
    assert float(np.abs(a - b).max()) <= 1e-5 * max(1.0, float(np.abs(a).max()))
    assert rec.contract == "exact" and rec.args == {"layer": layer, "subgroup": to}
    assert out.n_params > net.n_params
    # Expanded kernels: the relaxed layer's rows and the next layer's columns permuted.
    c = net.spec.node(layer).channels  # type: ignore[union-attr]
    perm = _core.relax_channels(frm, to, c)
    np.testing.assert_array_equal(_expanded(out, layer), _expanded(net, layer)[perm])
    if pos + 1 < n_layers:
        nxt = f"conv_{pos + 1}"
        np.testing.assert_array_equal(_expanded(out, nxt), _expanded(net, nxt)[:, perm])


def test_local_equivariance_and_lattice_are_enforced() -> None:
    net = Network.init(Spec.gcnn((1, 6, 6), 3, ["D4", "D4"], widths=[8, 8]), seed=0)
    with pytest.raises(InvalidMorphismError, match="relax it first"):
        relax(net, "conv_0", "C4")
    with pytest.raises(InvalidMorphismError, match="lattice edges"):
        relax(net, "conv_1", "C2")
    with pytest.raises(InvalidMorphismError, match="group convolution"):
        relax(net, "output", "C4")
    assert relaxations(net) == [("conv_1", "C4"), ("conv_1", "D2")]
    c4, _ = relax(net, "conv_1", "C4")
    assert relaxations(c4) == [("conv_0", "C4"), ("conv_1", "C2")]


def test_edit_log_replays_and_optimizer_state_follows() -> None:
    spec = Spec.gcnn((1, 6, 6), 3, "D4", widths=[8, 8], hidden=[])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    net = Network.init(spec, seed=0)
    net.fit(X, y, epochs=2, batch_size=8, optimizer=Adam(lr=1e-2), seed=0)
    a, r1 = relax(net, "conv_1", "D2", calibration=(X, y))
    b, r2 = relax(a, "conv_1", "C2")
    assert r1.distortion is not None and r1.distortion.max_abs_output < 1e-4
    again = EditLog((r1, r2)).replay(net)
    for k, v in b.params.items():
        np.testing.assert_array_equal(again.params[k], v)
    assert EDITS["relax"] is relax
    st = b.optimizer_state
    assert st is not None and st.kind == "adam"
    assert set(st.slots) == set(b.spec.param_shapes)
    for name, shape in b.spec.param_shapes.items():
        assert st.slots[name]["exp_avg"].shape == shape
    # The consumer's moments are a permutation; the relaxed weight's are split over |R| copies.
    old = net.optimizer_state.slots  # type: ignore[union-attr]
    new = a.optimizer_state.slots  # type: ignore[union-attr]
    np.testing.assert_allclose(
        np.sort(new["output.weight"]["exp_avg"].ravel()),
        np.sort(np.repeat(old["output.weight"]["exp_avg"], 2, axis=1).ravel()),
    )
    np.testing.assert_allclose(
        new["conv_1.weight"]["exp_avg"].sum(),
        old["conv_1.weight"]["exp_avg"].sum(),
        rtol=1e-4,
        atol=1e-7,
    )
    # Training continues from the surgered state.
    b.fit(X, y, epochs=1, batch_size=8, optimizer=Adam(lr=1e-2), seed=1)
    a.fit(X, y, epochs=1, batch_size=8, optimizer=SGD(lr=0.1), seed=1)
