"""Distillation in ``Network.fit``: the soft-target loss and its gradient against a float64
NumPy reference and finite differences, alpha = 0 equal to plain training, determinism, errors.
"""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import SGD, Adam, Network, Spec
from neuroplast.errors import ConfigError, DataError, DTypeError, ShapeError
from neuroplast.testing import assert_bitwise_equal

F64 = npt.NDArray[np.float64]
SPEC = Spec.mlp(5, [7], 3, activation="tanh")


# ------------------------------------------------------------------------------ reference
def _log_softmax(z: F64) -> F64:
    z = z - z.max(axis=1, keepdims=True)
    out: F64 = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return out


def distill_loss(z: F64, y: Any, t: F64, temp: float, alpha: float) -> tuple[float, F64]:
    """Mean soft-target loss of logits ``z`` and its gradient with respect to ``z`` (float64)."""
    n = z.shape[0]
    rows = np.arange(n)
    ce = -_log_softmax(z)[rows, y]
    lq_t, lq_s = _log_softmax(t / temp), _log_softmax(z / temp)
    kl = (np.exp(lq_t) * (lq_t - lq_s)).sum(axis=1)
    loss = float(np.mean((1 - alpha) * ce + alpha * temp**2 * kl))
    onehot = np.zeros_like(z)
    onehot[rows, y] = 1.0
    grad = (1 - alpha) * (np.exp(_log_softmax(z)) - onehot) + alpha * temp * (
        np.exp(lq_s) - np.exp(lq_t)
    )
    return loss, grad / n


def reference(
    params: dict[str, F64], X: F64, y: Any, t: F64, temp: float, alpha: float
) -> tuple[float, dict[str, F64]]:
    """Loss and parameter gradients of the tanh MLP ``SPEC`` under the soft-target loss."""
    W1, b1, W2, b2 = (params[k] for k in SPEC.param_shapes)
    h = np.tanh(X @ W1.T + b1)
    z = h @ W2.T + b2
    loss, gz = distill_loss(z, y, t, temp, alpha)
    gh = (gz @ W2) * (1 - h**2)
    grads = {"output.weight": gz.T @ h, "output.bias": gz.sum(0)}
    grads |= {"dense_0.weight": gh.T @ X, "dense_0.bias": gh.sum(0)}
    return loss, grads


def _problem(seed: int, n: int = 12) -> tuple[Network, F64, Any, F64]:
    rng = np.random.default_rng(seed)
    net = Network.init(SPEC, seed=seed)
    X = rng.normal(size=(n, 5))
    y = rng.integers(0, 3, size=n)
    t = rng.normal(scale=3.0, size=(n, 3))
    return net, X.astype(np.float32).astype(np.float64), y, t.astype(np.float32).astype(np.float64)


def _params64(net: Network) -> dict[str, F64]:
    return {k: v.astype(np.float64) for k, v in net.params.items()}


# ------------------------------------------------------------------------------ gradients
def test_reference_gradient_matches_finite_differences() -> None:
    """The formula itself (factor T on the soft term) against central differences."""
    rng = np.random.default_rng(0)
    z, t = rng.normal(size=(4, 5)), rng.normal(scale=2.0, size=(4, 5))
    y = rng.integers(0, 5, size=4)
    for temp, alpha in [(4.0, 0.5), (1.0, 1.0), (0.7, 0.25), (10.0, 0.9)]:
        _, g = distill_loss(z, y, t, temp, alpha)
        eps = 1e-6
        fd = np.zeros_like(z)
        for idx in np.ndindex(*z.shape):
            zp, zm = z.copy(), z.copy()
            zp[idx] += eps
            zm[idx] -= eps
            fd[idx] = (
                distill_loss(zp, y, t, temp, alpha)[0] - distill_loss(zm, y, t, temp, alpha)[0]
            ) / (2 * eps)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
    net, X, yy, tt = _problem(1)
    p = _params64(net)
    _, grads = reference(p, X, yy, tt, 3.0, 0.6)
    for name, g in grads.items():
        fd = np.zeros_like(g)
        for idx in np.ndindex(*g.shape):
            old = p[name][idx]
            p[name][idx] = old + 1e-6
            lp = reference(p, X, yy, tt, 3.0, 0.6)[0]
            p[name][idx] = old - 1e-6
            lm = reference(p, X, yy, tt, 3.0, 0.6)[0]
            p[name][idx] = old
            fd[idx] = (lp - lm) / 2e-6
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    temp=st.floats(0.5, 20.0),
    alpha=st.floats(0.0, 1.0),
    n=st.integers(1, 20),
)
def test_engine_matches_reference(seed: int, temp: float, alpha: float, n: int) -> None:
    net, X, y, t = _problem(seed, n)
    # The engine takes the settings as float32: compare at those values.
    temp, alpha = float(np.float32(temp)), float(np.float32(alpha))
    loss, grads = net.gradients(X, y, teacher=t, temperature=temp, alpha=alpha)
    ref_loss, ref_grads = reference(_params64(net), X, y, t, temp, alpha)
    assert loss == pytest.approx(ref_loss, rel=1e-5, abs=1e-6)
    for name, g in grads.items():
        np.testing.assert_allclose(g, ref_grads[name], rtol=1e-4, atol=2e-6, err_msg=name)


def test_engine_loss_finite_differences() -> None:
    """The engine's own loss, differenced in float32 with a wide step, against its gradient."""
    net, X, y, t = _problem(3)
    kw: dict[str, Any] = {"teacher": t, "temperature": 2.5, "alpha": 0.7}
    _, grads = net.gradients(X, y, **kw)
    for name, g in grads.items():
        for idx in list(np.ndindex(*g.shape))[::3]:
            p = {k: v.copy() for k, v in net.params.items()}
            p[name][idx] += 1e-2
            lp = Network(SPEC, p).gradients(X, y, **kw)[0]
            p[name][idx] -= 2e-2
            lm = Network(SPEC, p).gradients(X, y, **kw)[0]
            assert (lp - lm) / 2e-2 == pytest.approx(float(g[idx]), abs=2e-4, rel=1e-2)


def test_history_loss_is_the_distillation_loss() -> None:
    net, X, y, t = _problem(4, 30)
    loss, _ = net.gradients(X, y, teacher=t, temperature=3.0, alpha=0.4)
    plain = net.evaluate(X, y)["loss"]
    kw: dict[str, Any] = {"teacher": t, "temperature": 3.0, "alpha": 0.4}
    hist = net.fit(X, y, epochs=1, batch_size=30, shuffle=False, **kw)
    assert hist.loss[0] == loss != plain


# ------------------------------------------------------------------------------ training
def _train(teacher: Any, seed: int = 5, epochs: int = 4, **kwargs: Any) -> tuple[Network, Any]:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(70, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    net = Network.init(SPEC, seed=2)
    val = (X[:20], y[:20])
    hist = net.fit(
        X,
        y,
        epochs=epochs,
        batch_size=16,
        seed=seed,
        validation_data=val,
        teacher=teacher,
        **kwargs,
    )
    return net, hist


def _teacher() -> Network:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(70, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    teacher = Network.init(Spec.mlp(5, [32, 32], 3), seed=9)
    teacher.fit(X, y, epochs=10, seed=0)
    return teacher


TEACHER = _teacher()


def _same(a: tuple[Network, Any], b: tuple[Network, Any]) -> None:
    assert_bitwise_equal(a[0].params, b[0].params)
    assert a[1].to_dict() == b[1].to_dict()
    sa, sb = a[0].optimizer_state, b[0].optimizer_state
    assert sa is not None and sb is not None and sa.step == sb.step
    for name in sa.slots:
        assert_bitwise_equal(sa.slots[name], sb.slots[name])


@pytest.mark.parametrize("opt", [Adam(lr=0.01), SGD(lr=0.1, momentum=0.9)], ids=repr)
def test_alpha_zero_equals_plain_fit_bitwise(opt: Any) -> None:
    plain = _train(None, optimizer=opt)
    _same(plain, _train(TEACHER, alpha=0.0, optimizer=opt))
    noise = np.random.default_rng(0).normal(scale=50.0, size=(70, 3))
    _same(plain, _train(noise, alpha=0.0, temperature=0.3, optimizer=opt))


def test_network_teacher_equals_its_logits_and_is_deterministic() -> None:
    X = np.random.default_rng(11).normal(size=(70, 5)).astype(np.float32)
    a = _train(TEACHER, temperature=2.0, alpha=0.8)
    _same(a, _train(TEACHER.forward(X), temperature=2.0, alpha=0.8))
    _same(a, _train(TEACHER.forward(X).astype(np.float64), temperature=2.0, alpha=0.8))
    b = _train(TEACHER, seed=6, temperature=2.0, alpha=0.8)
    assert not np.array_equal(a[0].params["dense_0.weight"], b[0].params["dense_0.weight"])
    plain = _train(None)
    assert a[1].loss != plain[1].loss
    # Validation metrics stay plain cross-entropy on the validation labels.
    assert a[1].val_loss[-1] == pytest.approx(a[0].evaluate(*_val())["loss"], rel=1e-12)


def _val() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(70, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X[:20], y[:20]


def test_pure_distillation_moves_the_student_toward_the_teacher() -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(70, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=70)  # labels unrelated to the teacher: alpha=1 ignores them
    net = Network.init(SPEC, seed=2)
    before = float(np.mean(net.predict(X) == TEACHER.predict(X)))
    net.fit(X, y, epochs=60, optimizer=Adam(lr=0.02), teacher=TEACHER, temperature=2.0, alpha=1.0)
    after = float(np.mean(net.predict(X) == TEACHER.predict(X)))
    assert after > max(before, 0.8)


def test_works_with_early_stopping() -> None:
    net, hist = _train(TEACHER, epochs=100, patience=2, temperature=2.0)
    assert hist.best_epoch is not None
    full = _train(TEACHER, epochs=len(hist), temperature=2.0)[1]
    assert hist.to_dict()["loss"] == full.loss
    best = _train(TEACHER, epochs=hist.best_epoch + 1, temperature=2.0)
    assert_bitwise_equal(net.params, best[0].params)


# ------------------------------------------------------------------------------ errors
def _student_fit(net: Network, **kwargs: Any) -> None:
    X, y = _val()
    net.fit(X, y, epochs=2, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"teacher": np.zeros((20, 4))}, ShapeError, "teacher logits"),
        ({"teacher": np.zeros((19, 3))}, ShapeError, "teacher logits"),
        ({"teacher": np.zeros(60)}, ShapeError, "teacher logits"),
        ({"teacher": np.zeros((20, 3), complex)}, DTypeError, "teacher logits"),
        ({"teacher": np.full((20, 3), np.nan)}, DataError, "teacher logits"),
        ({"teacher": np.full((20, 3), np.inf)}, DataError, "teacher logits"),
        ({"teacher": np.full((20, 3), 1e39)}, DataError, "teacher logits"),
        ({"teacher": np.zeros((20, 3)), "temperature": 0.0}, ConfigError, "temperature"),
        ({"teacher": np.zeros((20, 3)), "temperature": -2.0}, ConfigError, "temperature"),
        ({"teacher": np.zeros((20, 3)), "temperature": float("nan")}, ConfigError, "temperature"),
        ({"teacher": np.zeros((20, 3)), "temperature": float("inf")}, ConfigError, "temperature"),
        ({"teacher": np.zeros((20, 3)), "temperature": "4"}, ConfigError, "temperature"),
        ({"teacher": np.zeros((20, 3)), "alpha": -0.1}, ConfigError, "alpha"),
        ({"teacher": np.zeros((20, 3)), "alpha": 1.5}, ConfigError, "alpha"),
        ({"teacher": np.zeros((20, 3)), "alpha": True}, ConfigError, "alpha"),
        ({"teacher": Network.init(Spec.mlp(5, [4], 4), seed=0)}, ShapeError, "teacher logits"),
        (
            {"teacher": Network.init(Spec.mlp(5, [4], 3, loss="mse"), seed=0)},
            ConfigError,
            "teacher",
        ),
        ({"teacher": Network.init(Spec.mlp(6, [4], 3), seed=0)}, ShapeError, "X"),
    ],
)
def test_bad_teachers_and_settings(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    net = Network.init(SPEC, seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(error, match=match):
        _student_fit(net, **kwargs)
    assert_bitwise_equal(net.params, before)
    assert net.optimizer_state is None
    with pytest.raises(error, match=match):
        net.gradients(*_val(), **kwargs)


def test_regression_networks_refuse_a_teacher() -> None:
    X, _ = _val()
    net = Network.init(Spec.mlp(5, [4], 3, loss="mse"), seed=0)
    with pytest.raises(ConfigError, match="cross-entropy"):
        net.fit(X, X[:, :3], epochs=1, teacher=np.zeros((20, 3)))


def test_docstring_examples() -> None:
    for method in (Network.fit, Network.gradients):
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        globs = {"Network": Network, "Spec": Spec}
        for test in doctest.DocTestFinder().find(method, globs=globs):
            runner.run(test)
        assert runner.failures == 0 and runner.tries > 0
