"""Thread-count control and reproducibility per thread count, including concurrent callers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import neuroplast
from neuroplast import ConfigError, Network, Spec, data
from neuroplast.testing import assert_bitwise_equal, assert_close


def _train(threads: int) -> tuple[Network, list[float]]:
    neuroplast.set_num_threads(threads)
    ds = data.load("digits", seed=0)
    net = Network.init(Spec.mlp(64, [128, 64], 10), seed=0)
    # Batches of 256 rows make the GEMMs big enough to run multi-threaded.
    hist = net.fit(ds.X_train, ds.y_train, epochs=2, batch_size=256, seed=0)
    return net, hist.loss


@pytest.mark.usefixtures("restore_threads")
def test_set_and_get_num_threads() -> None:
    neuroplast.set_num_threads(3)
    assert neuroplast.get_num_threads() == 3
    neuroplast.set_num_threads(1)
    assert neuroplast.get_num_threads() == 1


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_bad_thread_counts_raise_config_error(bad: object) -> None:
    before = neuroplast.get_num_threads()
    with pytest.raises(ConfigError):
        neuroplast.set_num_threads(bad)  # type: ignore[arg-type]
    assert neuroplast.get_num_threads() == before


def test_default_thread_count_and_simd_level() -> None:
    assert neuroplast.get_num_threads() >= 1
    assert neuroplast.simd_level() in {"avx512", "avx2", "scalar"}


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize("threads", [1, 2])
def test_reproducible_for_a_thread_count(threads: int) -> None:
    a, la = _train(threads)
    b, lb = _train(threads)
    assert_bitwise_equal(a.params, b.params)
    assert la == lb


@pytest.mark.usefixtures("restore_threads")
def test_thread_counts_agree_numerically() -> None:
    one, l1 = _train(1)
    two, l2 = _train(2)
    assert_close(l1, l2, rtol=1e-3)
    ds = data.load("digits", seed=0)
    assert_close(one.forward(ds.X_test), two.forward(ds.X_test), rtol=1e-2, atol=1e-2)


def test_concurrent_fits_from_python_threads_are_independent() -> None:
    # fit releases the GIL; concurrent calls must not interfere with each other.
    spec = Spec.mlp(64, [32], 10)
    ds = data.load("digits", seed=0)
    expected = Network.init(spec, seed=0)
    expected.fit(ds.X_train, ds.y_train, epochs=2, batch_size=64, seed=1)
    nets = [Network.init(spec, seed=0) for _ in range(4)]
    errors: list[BaseException] = []

    def work(net: Network) -> None:
        try:
            net.fit(ds.X_train, ds.y_train, epochs=2, batch_size=64, seed=1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in nets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for net in nets:
        assert_bitwise_equal(net.params, expected.params)
        np.testing.assert_array_equal(net.predict(ds.X_test), expected.predict(ds.X_test))
