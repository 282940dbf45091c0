"""Gradients of lifting, group, mixed and group-BN layers vs float64 backprop and finite
differences."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec
from neuroplast.groups import GROUPS
from neuroplast.layers import GroupConv, LiftConv, MixedConv
from neuroplast.testing import assert_close, reference
from neuroplast.testing.group import expand_reference, plain_equivalent

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _smooth(spec_net: Network, seed: int) -> Network:
    rng = np.random.default_rng(seed)
    params = {n: rng.normal(0, 0.4, p.shape).astype(np.float32) for n, p in spec_net.params.items()}
    for n in params:
        if ".g_" in n:
            params[n] = np.abs(params[n]) + 0.5
    return Network(spec_net.spec, params)


def _loss64(net: Network, params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Float64 loss of ``net``'s function at stored ``params`` (through the plain equivalent)."""
    trial = Network(net.spec, {k: v.astype(np.float32) for k, v in params.items()})
    plain = plain_equivalent(trial)
    # Rebuild the plain parameters in float64 from float64 stored values where it matters.
    return reference.loss_value(plain.spec, reference.forward(plain.spec, plain.params, X), y)


def _scattered(net: Network, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Reference gradients of the stored weights: backprop through the plain network, then
    each expanded kernel's gradient summed onto its stored sources (NumPy's own scatter)."""
    plain = plain_equivalent(net)
    _, grads = reference.loss_and_gradients(plain.spec, plain.params, X, y)
    out = dict(grads)
    for node in net.spec.nodes:
        if isinstance(node, (LiftConv, GroupConv)):
            shape = net.spec.param_shapes[f"{node.name}.weight"]
            ids = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
            in_group = None if isinstance(node, LiftConv) else node.in_group
            src = expand_reference(ids, node.group, in_group).astype(np.int64).ravel()
            g = np.bincount(src, grads[f"{node.name}.weight"].ravel(), minlength=ids.size)
            out[f"{node.name}.weight"] = g.reshape(shape)
            if node.bias:
                b = grads[f"{node.name}.bias"]
                out[f"{node.name}.bias"] = b.reshape(node.channels, -1).sum(axis=1)
    return out


@SETTINGS
@given(
    st.sampled_from([("D4", "C4"), ("D4", "D2"), ("D2", "D1"), ("C2", "C2"), ("C4", "C1")]),
    st.sampled_from([1, 3]),
    st.integers(0, 50),
)
def test_group_layer_gradients_match_float64_backprop(
    groups: tuple[str, str], k: int, seed: int
) -> None:
    spec = Spec.gcnn(
        (1, 5, 5),
        3,
        list(groups),
        widths=[8, 8],
        kernel_size=k,
        batch_norm=False,
        hidden=[4],
        activation="tanh",
        pool=None,
    )
    net = _smooth(Network.init(spec, seed=0), seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, 1, 5, 5)).astype(np.float32)
    y = rng.integers(0, 3, 3)
    _, grads = net.gradients(X, y)
    ref = _scattered(net, X, y)
    for name, g in grads.items():
        assert_close(g, ref[name], rtol=1e-3, atol=1e-5, what=name)


def test_group_layer_gradients_match_finite_differences() -> None:
    spec = Spec.gcnn(
        (1, 5, 5),
        3,
        ["D4", "C2"],
        widths=[8, 8],
        batch_norm=False,
        hidden=[],
        activation="tanh",
        pool=None,
    )
    net = _smooth(Network.init(spec, seed=0), 1)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 1, 5, 5)).astype(np.float32)
    y = rng.integers(0, 3, 4)
    _, grads = net.gradients(X, y)
    base = {k: np.asarray(v, np.float64) for k, v in net.params.items()}
    h = 1e-3
    for name in ("conv_0.weight", "conv_1.weight", "conv_1.bias"):
        for idx in list(np.ndindex(base[name].shape))[::7][:6]:
            hi, lo = dict(base), dict(base)
            hi[name], lo[name] = base[name].copy(), base[name].copy()
            hi[name][idx] += h
            lo[name][idx] -= h
            fd = (_loss64(net, hi, X, y) - _loss64(net, lo, X, y)) / (2 * h)
            assert abs(grads[name][idx] - fd) <= 2e-3 * max(1.0, abs(fd)), (name, idx)


def _group_bn_loss(
    w: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    head: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
) -> float:
    """Lift (1×1, C4) → group BN (batch statistics) → group pool → mean over space → dense."""
    c, n = w.shape[0], 4
    kern = expand_reference(w, "C4")  # (c·4, 1, 1, 1)
    f = np.einsum("oi,bihw->bohw", kern[:, :, 0, 0], X)
    g = f.reshape(f.shape[0], c, n, *f.shape[2:])
    mean = g.mean(axis=(0, 2, 3, 4), keepdims=True)
    var = g.var(axis=(0, 2, 3, 4), keepdims=True)
    g = (g - mean) / np.sqrt(var + 1e-5) * gamma.reshape(1, c, 1, 1, 1) + beta.reshape(
        1, c, 1, 1, 1
    )
    pooled = g.mean(axis=(2, 3, 4))
    z = pooled @ head.T
    z -= z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def test_group_batch_norm_shares_statistics_and_matches_finite_differences() -> None:
    spec = Spec.gcnn(
        (1, 4, 4), 3, "C4", widths=[8], kernel_size=1, hidden=[], pool=None, activation="identity"
    )
    net = _smooth(Network.init(spec, seed=0), 3)
    params = dict(net.params)
    params["output.bias"] = np.zeros(3, np.float32)
    net = Network(spec, params)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5, 1, 4, 4)).astype(np.float32)
    y = rng.integers(0, 3, 5)
    loss, grads = net.gradients(X, y)
    p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}
    args = ["conv_0.weight", "conv_0_bn.weight", "conv_0_bn.bias", "output.weight"]

    def f(vals: dict[str, np.ndarray]) -> float:
        return _group_bn_loss(*(vals[a] for a in args), X.astype(np.float64), y)

    assert abs(loss - f(p64)) < 1e-5
    h = 1e-4
    for name in args:
        for idx in np.ndindex(p64[name].shape):
            hi, lo = dict(p64), dict(p64)
            hi[name], lo[name] = p64[name].copy(), p64[name].copy()
            hi[name][idx] += h
            lo[name][idx] -= h
            fd = (f(hi) - f(lo)) / (2 * h)
            assert abs(grads[name][idx] - fd) <= 1e-3 * max(1.0, abs(fd)), (name, idx)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=4, unique=True), st.integers(0, 20))
def test_mixed_layer_gradients_match_finite_differences(cands: list[str], seed: int) -> None:
    spec = Spec.mixed_gcnn(
        (1, 4, 4), 2, candidates=cands, widths=[8, 8], hidden=[], pool=None, activation="tanh"
    )
    # Drop the batch norms: finite differences through batch statistics are not needed here.
    nodes = tuple(n for n in spec.nodes if not n.name.endswith("_bn"))
    nodes = tuple(
        type(n)(**{**n.__dict__, "input": n.input.replace("_bn", "")})  # type: ignore[union-attr]
        if hasattr(n, "input")
        else n
        for n in nodes
    )
    spec = Spec(spec.input_shape, nodes, spec.output)
    net = _smooth(Network.init(spec, seed=0), seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, 1, 4, 4)).astype(np.float32)
    y = rng.integers(0, 2, 3)
    _, grads = net.gradients(X, y)
    base = {k: np.asarray(v, np.float64) for k, v in net.params.items()}
    h = 1e-3
    names = [n for n in base if n.endswith(".logits")] + [f"conv_1.v_{cands[0]}"]
    for name in names:
        for idx in list(np.ndindex(base[name].shape))[:4]:
            hi, lo = dict(base), dict(base)
            hi[name], lo[name] = base[name].copy(), base[name].copy()
            hi[name][idx] += h
            lo[name][idx] -= h
            fd = (_loss64(net, hi, X, y) - _loss64(net, lo, X, y)) / (2 * h)
            assert abs(grads[name][idx] - fd) <= 3e-3 * max(1.0, abs(fd)), (name, idx)
    for n, g in grads.items():
        if ".g_" in n:
            assert not g.any()
    assert any(isinstance(n, MixedConv) for n in spec.nodes)
