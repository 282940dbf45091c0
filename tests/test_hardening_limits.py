"""Issue 19 reproducers: the resource policy, JSON depth, divergence, report without matplotlib.

Each test is one of the issue's reproducers; before the fix each raised a plain Python error,
panicked, aborted the interpreter or ran on for minutes.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import neuroplast as npl
from neuroplast import metrics, morph
from neuroplast.limits import Limits, get_limits, set_limits, temporary_limits
from neuroplast.search import RunFolder


@pytest.fixture(scope="module")
def net() -> npl.Network:
    return npl.Network.init(npl.Spec.mlp(4, [8], 3), seed=0)


def _quick(fn, *args, **kwargs) -> Exception:  # type: ignore[no-untyped-def]
    """The exception ``fn`` raises, asserting it is typed and raised at once."""
    start = time.perf_counter()
    with pytest.raises(npl.NeuroplastError) as info:
        fn(*args, **kwargs)
    assert time.perf_counter() - start < 5.0
    return info.value


# ------------------------------------------------------------------ 1. sizes reach the allocator
def test_huge_spec_is_refused_before_init() -> None:
    exc = _quick(npl.Spec.mlp, 4, [2**31], 3)
    assert isinstance(exc, npl.ResourceLimitError) and isinstance(exc, MemoryError)
    assert "2147483648" in str(exc) and "max_units" in str(exc)


def test_parameter_count_limit() -> None:
    with temporary_limits(max_params=1000):
        exc = _quick(npl.Spec.mlp, 64, [100], 10)
    assert "7510" in str(exc) and "max_params" in str(exc)


@pytest.mark.parametrize("amount", [10**9, 2**28])
def test_huge_widen_is_refused_at_once(net: npl.Network, amount: int) -> None:
    exc = _quick(morph.widen, net, "dense_0", amount)
    assert isinstance(exc, npl.ResourceLimitError)


def test_metrics_refuse_huge_workspaces_instead_of_panicking() -> None:
    wide = np.ones((1, 100_000))
    exc = _quick(metrics.cosine_redundancy, wide, 1)
    assert isinstance(exc, npl.ResourceLimitError) and "would need 80.0 GB" in str(exc)
    _quick(metrics.auxiliary_gradient, wide, wide)
    _quick(metrics.auxiliary_gradient_singular_values, wide, wide)


def test_activations_and_predict_check_outputs_before_allocating() -> None:
    big = npl.Network.init(npl.Spec.mlp(4, [1024], 3), seed=0)
    rows = np.broadcast_to(np.zeros((1, 4), np.float32), (2 * 10**6, 4))
    with temporary_limits(max_bytes=2**30):
        exc = _quick(big.activations, rows, ["dense_0"])
    assert "8.2 GB" in str(exc)
    huge = np.broadcast_to(np.zeros((1, 4), np.float32), (10**12, 4))
    exc = _quick(big.predict, huge)
    assert isinstance(exc, npl.ResourceLimitError) and "12.0 TB" in str(exc)


def test_chunked_inference_equals_one_call() -> None:
    net = npl.Network.init(npl.Spec.mlp(6, [16], 3), seed=1)
    X = np.random.default_rng(0).normal(size=(5000, 6))  # float64: converted, so chunked
    y = np.arange(5000) % 3
    whole = net.forward(X.astype(np.float32))
    acts = net.activations(X.astype(np.float32), ["dense_0"])["dense_0"]
    ev = net.evaluate(X.astype(np.float32), y)
    with temporary_limits(chunk_bytes=4 * 6 * 1024):  # 1024-row chunks
        assert np.array_equal(net.forward(X), whole)
        assert np.array_equal(net.activations(X, ["dense_0"])["dense_0"], acts)
        chunked = net.evaluate(X, y)
    assert chunked["accuracy"] == ev["accuracy"]
    assert chunked["loss"] == pytest.approx(ev["loss"], rel=1e-12)


def test_init_and_fit_check_their_memory() -> None:
    with temporary_limits(max_bytes=2**20):
        _quick(npl.Network.init, npl.Spec.mlp(64, [1024], 10), 0)
        small = npl.Network.init(npl.Spec.mlp(4, [4], 2), seed=0)
        X = np.broadcast_to(np.ones((1, 4)), (10**6, 4))  # float64 view: 16 MB to convert
        _quick(small.fit, X, np.zeros(10**6, np.int64), epochs=1)


def test_allocation_failure_is_a_typed_error_not_an_abort() -> None:
    # Under a 2 GiB address-space limit and with the byte budget lifted, the engine's own
    # allocation of 8.2 GB of activations must fail with ResourceLimitError (it used to abort
    # the interpreter with SIGABRT), as must a metric workspace (it used to panic).
    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
        import numpy as np
        import neuroplast as npl
        from neuroplast import _core, metrics
        npl.limits.set_limits(max_bytes=2**50)
        net = npl.Network.init(npl.Spec.mlp(4, [1024], 3), seed=0)
        x = np.zeros((2 * 10**6, 4), np.float32)
        try:
            _core.node_values(net.spec._wire, net._flat_params(), [None] * 3, x, ["dense_0"], False)
        except npl.ResourceLimitError as exc:
            print("activations:", exc)
        try:
            metrics.cosine_redundancy(np.ones((1, 100_000)), 1)
        except npl.ResourceLimitError as exc:
            print("cosine:", exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "activations:" in out.stdout and "cosine:" in out.stdout, out.stdout


# ------------------------------------------------------------------ 2. threads
@pytest.mark.parametrize("n", [10**5, 2**64])
def test_thread_count_is_bounded(n: int) -> None:
    before = npl.get_num_threads()
    exc = _quick(npl.set_num_threads, n)
    assert isinstance(exc, npl.ResourceLimitError) and "max_threads" in str(exc)
    assert npl.get_num_threads() == before


def test_limits_are_validated_and_restored() -> None:
    before = get_limits()
    with pytest.raises(npl.ConfigError):
        set_limits(max_bytes=0)
    with pytest.raises(npl.ConfigError):
        set_limits(nonsense=3)
    with temporary_limits(max_threads=4) as inside:
        assert inside.max_threads == 4 and npl._core.get_limits()[1] == 4
    assert get_limits() == before
    assert Limits(max_bytes=10).file_bytes == 10


# ------------------------------------------------------------------ 3. deep JSON
def test_deep_json_spec_is_a_spec_error() -> None:
    for text in ("[" * 100_000, '{"a":' * 50_000, "[" * 65 + "]" * 65):
        exc = _quick(npl.Spec.from_json, text)
        assert isinstance(exc, npl.SpecError)
    _quick(npl.Spec.from_json, b"\xff\xfe")
    _quick(npl.Spec.from_json, 3)  # type: ignore[arg-type]


# ------------------------------------------------------------------ 7. divergence
@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    ds = npl.data.load("digits", seed=0)
    return ds.X_train, ds.y_train


@pytest.mark.parametrize(
    "opt", [npl.Adam(lr=1e6), npl.SGD(lr=1e6), npl.AdamW(lr=1e4)], ids=["adam", "sgd", "adamw"]
)
def test_huge_learning_rates_are_reported_as_divergence(digits, opt) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = npl.Network.init(npl.Spec.mlp(64, [64], 10), seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(npl.NumericalError, match="diverged"):
        net.fit(X, y, epochs=3, optimizer=opt, seed=0)
    assert all(np.array_equal(before[k], net.params[k]) for k in before)
    assert net.optimizer_state is None


def test_healthy_training_is_not_flagged(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    for opt in (npl.Adam(lr=0.03), npl.SGD(lr=0.5, momentum=0.9)):
        net = npl.Network.init(npl.Spec.mlp(64, [64], 10), seed=0)
        hist = net.fit(X, y, epochs=3, optimizer=opt, seed=0)
        assert len(hist) == 3


def test_evaluate_raises_on_a_non_finite_loss(net: npl.Network) -> None:
    X = np.full((10, 4), 3e38, np.float32)
    with pytest.raises(npl.NumericalError, match="not finite"):
        net.evaluate(X, np.zeros(10, np.int64))


# ------------------------------------------------------------------ 8. report without matplotlib
def test_report_without_matplotlib_is_skipped_with_a_warning(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    folder = RunFolder(tmp_path)
    drawn = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder.write_report(drawn.append)
    assert not drawn and any("matplotlib" in str(w.message) for w in caught)


def test_doctests() -> None:
    import doctest

    from neuroplast import _json, io, limits
    from neuroplast.search import _run

    for module in (limits, _json, io, _run):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
