"""ASNG in the engine: the θ update (eq. 7), Bernoulli sampling, λ-averaged gradients (eq. 6),
determinism and typed errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from neuroplast import Network, Spec, _core
from neuroplast.errors import ConfigError, ShapeError
from neuroplast.optim import SGD
from neuroplast.search.asng import (
    ASNGConfig,
    Settings,
    averaged_gradients,
    encode,
    sample,
    train,
    update,
)


def _eq7(theta, M, losses, costs, eps0, eta):
    """Eq. 7 written out with the paper's utilities (ties share their ranks' mean)."""
    theta = np.asarray(theta, float)
    lam, d = M.shape
    mu = math.ceil(lam / 4)
    rank_u = np.array([1.0 if r < mu else -1.0 if r >= lam - mu else 0.0 for r in range(lam)])
    order = np.argsort(losses, kind="stable")
    u = np.empty(lam)
    for value in np.unique(losses):
        ranks = [r for r in range(lam) if losses[order[r]] == value]
        u[order[ranks]] = rank_u[ranks].mean()
    eps = eps0 / np.max(costs)
    g = (u[:, None] / lam * (M.astype(float) - theta)).sum(0) - eps * costs * theta * (1 - theta)
    return np.clip(theta + eta * g, 1 / d, 1 - 1 / d)


def test_update_lambda_2_by_hand() -> None:
    theta = np.array([0.5, 0.5, 0.3, 0.8])
    M = np.array([[1, 0, 1, 1], [0, 0, 1, 0]], bool)
    costs = np.array([1.0, 2.0, 4.0, 4.0])
    out = update(theta, M, [0.1, 0.4], costs=costs, penalty=0.5, eta=0.25)
    # u = (+1, −1); ε = 0.5 / 4.
    want = [
        0.5 + 0.25 * (0.5 * 0.5 + 0.5 * 0.5 - 0.125 * 1 * 0.25),
        0.5 + 0.25 * (0.0 - 0.125 * 2 * 0.25),
        0.3 + 0.25 * (0.5 * 0.7 - 0.5 * 0.7 - 0.125 * 4 * 0.21),
        0.75,  # 0.8 + 0.25·(0.5·0.2 + 0.5·0.8 − 0.125·4·0.16) = 0.905, clipped to 1 − 1/4
    ]
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-15)
    # Swapping the losses swaps the utilities.
    swapped = update(theta, M, [0.4, 0.1], costs=costs, penalty=0.5, eta=0.25)
    np.testing.assert_allclose(swapped[0], 0.5 + 0.25 * (-0.25 - 0.25 - 0.125 * 0.25))


def test_update_lambda_4_and_ties_by_hand() -> None:
    theta = np.full(4, 0.5)
    M = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 1], [0, 0, 0, 1]], bool)
    F = M.astype(float)
    costs = np.ones(4)
    # Distinct losses: best (index 2) +1, worst (index 0) −1, the middle two 0.
    out = update(theta, M, [0.9, 0.5, 0.1, 0.3], costs=costs, penalty=0.0, eta=0.5)
    np.testing.assert_allclose(out, 0.5 + 0.5 * (F[2] - F[0]) / 4, atol=1e-15)
    # Two best tied: ranks 0 and 1 share (1 + 0)/2; a tie of all four is no signal at all.
    tied = update(theta, M, [0.9, 0.1, 0.1, 0.3], costs=costs, penalty=0.0, eta=0.5)
    g = (0.5 * (F[1] - 0.5) + 0.5 * (F[2] - 0.5) - 1.0 * (F[0] - 0.5)) / 4
    np.testing.assert_allclose(tied, 0.5 + 0.5 * g, atol=1e-15)
    same = update(theta, M, [0.2] * 4, costs=costs, penalty=0.0, eta=0.5)
    np.testing.assert_array_equal(same, theta)
    # λ = 2 tie: both utilities 0; only the penalty moves θ.
    pen = update(theta, M[:2], [0.3, 0.3], costs=costs, penalty=0.5, eta=0.5)
    np.testing.assert_allclose(pen, 0.5 - 0.5 * 0.5 * 0.25, atol=1e-15)


@pytest.mark.parametrize("lam", [2, 3, 4, 7])
def test_update_matches_a_numpy_statement_of_eq7(lam: int) -> None:
    rng = np.random.default_rng(lam)
    for _ in range(20):
        d = int(rng.integers(2, 12))
        theta = rng.uniform(0.05, 0.95, d)
        M = rng.random((lam, d)) < 0.5
        losses = rng.choice([0.1, 0.2, 0.3], lam)  # plenty of ties
        costs = rng.uniform(0.0, 5.0, d)
        eps0, eta = float(rng.normal()), float(rng.uniform(0.01, 1))
        out = update(theta, M, losses, costs=costs, penalty=eps0, eta=eta)
        np.testing.assert_allclose(out, _eq7(theta, M, losses, costs, eps0, eta), atol=1e-14)


def test_samples_follow_bernoulli_theta() -> None:
    theta = np.array([0.02, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 0.98])
    n = 20000
    M = sample(theta, seed=7, n=n)
    assert M.shape == (n, theta.size) and M.dtype == bool
    ones = M.sum(0)
    chi2 = float(np.sum((ones - n * theta) ** 2 / (n * theta * (1 - theta))))
    assert stats.chi2.sf(chi2, df=theta.size) > 1e-3, chi2
    # Bits are independent: the joint counts of bits 3 and 5 fit the product distribution.
    joint = np.array(
        [
            [np.sum(~M[:, 3] & ~M[:, 5]), np.sum(~M[:, 3] & M[:, 5])],
            [np.sum(M[:, 3] & ~M[:, 5]), np.sum(M[:, 3] & M[:, 5])],
        ]
    )
    assert stats.chi2_contingency(joint)[1] > 1e-3
    np.testing.assert_array_equal(sample(theta, seed=7, n=n), M)
    assert not np.array_equal(sample(theta, seed=8, n=n), M)


@pytest.mark.parametrize("lam", [2, 3, 4])
def test_averaged_gradient_is_the_mean_of_fixed_mask_gradients(lam: int) -> None:
    spec = Spec.mlp(5, [6, 4], 3)
    net = Network.init(spec, seed=lam)
    rng = np.random.default_rng(lam)
    X = rng.normal(size=(17, 5)).astype(np.float32)
    y = rng.integers(0, 3, 17)
    enc = encode(spec, "units")
    M = rng.random((lam, enc.d)) < 0.6
    losses, grads = averaged_gradients(net, enc, M, X, y)
    singles = []
    for m in M:
        masks = {"dense_0": m[:6].astype(np.float32), "dense_1": m[6:].astype(np.float32)}
        singles.append(net.gradients(X, y, masks=masks))
    np.testing.assert_allclose(losses, [s[0] for s in singles], rtol=1e-12)
    for name, g in grads.items():
        want = np.mean([s[1][name] for s in singles], axis=0)
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
        if lam in (2, 4):
            np.testing.assert_array_equal(g, want)


def _digits_like(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def test_same_seed_same_training_and_theta_moves() -> None:
    X, y = _digits_like()
    net = Network.init(Spec.mlp(8, [10, 10], 2), seed=0)
    enc = encode(net.spec, "units")
    settings = Settings(2, 1 / enc.d, 2.0**-3, enc.costs("ones"))
    opt = SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    kw = dict(settings=settings, optimizer=opt, epochs=3, batch_size=8, validation_data=(X, y))
    a = train(net, enc, np.full(enc.d, 0.5), X, y, seed=3, **kw)
    b = train(net, enc, np.full(enc.d, 0.5), X, y, seed=3, **kw)
    c = train(net, enc, np.full(enc.d, 0.5), X, y, seed=4, **kw)
    np.testing.assert_array_equal(a[1], b[1])
    assert all(np.array_equal(a[0].params[k], b[0].params[k]) for k in net.params)
    assert a[2] == b[2] and not np.array_equal(a[1], c[1])
    assert np.all((a[1] >= 1 / enc.d) & (a[1] <= 1 - 1 / enc.d)) and np.any(a[1] != 0.5)
    # Two calls of one epoch each continue exactly like one call of two epochs.
    kw["epochs"] = 1
    one = train(net, enc, np.full(enc.d, 0.5), X, y, seed=3, **kw)
    two = train(one[0], enc, one[1], X, y, seed=3, initial_epoch=1, **kw)
    kw["epochs"] = 2
    both = train(net, enc, np.full(enc.d, 0.5), X, y, seed=3, **kw)
    np.testing.assert_array_equal(two[1], both[1])
    assert all(np.array_equal(two[0].params[k], both[0].params[k]) for k in net.params)


def test_penalty_removes_and_negative_penalty_keeps() -> None:
    X, y = _digits_like(128)
    net = Network.init(Spec.mlp(8, [12, 12], 2), seed=0)
    enc = encode(net.spec, "units")
    opt = SGD(lr=0.05, momentum=0.9, nesterov=True)
    means = []
    for eps0 in (1.0, 0.0, -1.0):
        s = Settings(2, 1 / enc.d, eps0, enc.costs("ones"))
        _, theta, _ = train(
            net,
            enc,
            np.full(enc.d, 0.5),
            X,
            y,
            settings=s,
            optimizer=opt,
            epochs=4,
            batch_size=8,
            seed=0,
        )
        means.append(theta.mean())
    assert means[0] < means[1] < means[2]


def test_bad_input_is_a_typed_error() -> None:
    with pytest.raises(ConfigError, match="penalty"):
        ASNGConfig(penalty=float("nan"))
    with pytest.raises(ConfigError, match="lam"):
        ASNGConfig(lam=1)
    spec = Spec.mlp(4, [5], 3)
    with pytest.raises(ConfigError, match="output"):
        encode(spec, "units", ["output"])
    with pytest.raises(ConfigError, match="select"):
        encode(spec, "neurons")
    with pytest.raises(ConfigError, match="no add or concat"):
        encode(spec, "connections")
    theta, M = np.full(4, 0.5), np.zeros((1, 4), bool)
    with pytest.raises(ConfigError, match="lambda"):
        update(theta, M, [0.1], costs=np.ones(4), penalty=0.0, eta=0.1)
    with pytest.raises(ConfigError, match="ε₀"):
        update(theta, np.zeros((2, 4), bool), [0.1, 0.2], costs=np.ones(4), penalty=np.nan, eta=0.1)
    with pytest.raises(ShapeError):
        update(theta, np.zeros((2, 3), bool), [0.1, 0.2], costs=np.ones(3), penalty=0.0, eta=0.1)
    with pytest.raises(ConfigError, match="probabilities"):
        sample([0.5, 1.5], seed=0, n=1)
    # The engine refuses a bit on the output layer (index of "output" is 2 here).
    net = Network.init(spec, seed=0)
    X = np.zeros((2, 4), np.float32)
    with pytest.raises(ConfigError, match="output layer"):
        _core.asng_predict(
            spec._wire, net._flat_params(), [(0, 2, 0), (0, 2, 1)], np.ones(2, bool), X
        )
    with pytest.raises(ConfigError, match="not an add or concat"):
        _core.asng_predict(
            spec._wire, net._flat_params(), [(1, 1, 0), (1, 1, 1)], np.ones(2, bool), X
        )


def test_connection_gates_equal_masks_on_the_connection_nodes() -> None:
    # In Spec.densenet each connection has its own BN node feeding only the concat, so switching
    # the concat input off is the same as masking that node's output.
    spec = Spec.densenet((1, 8, 8), 5, growth=3, blocks=(2, 2), stem_channels=4)
    net = Network.init(spec, seed=0)
    enc = encode(spec, "connections")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 5, 16)
    M = rng.random((3, enc.d)) < 0.5
    losses, grads = averaged_gradients(net, enc, M, X, y)
    singles = []
    for m in M:
        masks = {
            b.source: np.full(spec.widths[b.source], float(on), np.float32)
            for b, on in zip(enc.bits, m, strict=True)
        }
        singles.append(net.gradients(X, y, masks=masks))
    np.testing.assert_allclose(losses, [s[0] for s in singles], rtol=1e-12)
    for name, g in grads.items():
        want = np.mean([s[1][name] for s in singles], axis=0)
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7)
