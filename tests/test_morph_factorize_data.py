"""morph.factorize(basis="data"): the pre-activations' principal subspace on calibration data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Conv2d, Dense, Flatten, Network, Spec
from neuroplast.errors import ConfigError, DataError
from neuroplast.morph import EditLog, EditRecord, factorize
from neuroplast.testing import assert_bitwise_equal
from neuroplast.testing.morph import assert_function_preserved
from neuroplast.testing.strategies import params_for, seeds

SETTINGS = settings(max_examples=40, deadline=None)


def _linear(n: int, m: int, seed: int, bias: bool = True) -> Network:
    """One identity dense layer: the network's output is the layer's pre-activation."""
    spec = Spec((m,), (Dense("a", "input", n, "identity", bias=bias),), "a", "mse")
    return Network(spec, params_for(spec, seed))


def _inputs(samples: int, m: int, seed: int) -> np.ndarray:
    """Correlated, off-centre inputs: where the data basis differs from the weights basis."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((m, m)) * rng.uniform(0.05, 2.0, m)
    return (rng.standard_normal((samples, m)) @ mix + rng.normal(size=m)).astype(np.float32)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6), st.booleans(), st.data(), seeds())
def test_error_is_the_discarded_principal_components_and_beats_the_weights_basis(
    n: int, m: int, bias: bool, data: st.DataObject, seed: int
) -> None:
    net = _linear(n, m, seed, bias)
    k = data.draw(st.integers(1, min(n, m)))
    X = _inputs(data.draw(st.integers(k, 40)), m, seed)
    after, rec = factorize(net, "a", k, basis="data", calibration=X)
    err = (net.forward(X) - after.forward(X)).astype(np.float64)
    mse = float(np.mean(np.sum(err**2, axis=1)))
    # The recorded bound: the discarded singular values of the (centred) pre-activations / √n.
    z = X.astype(np.float64) @ np.asarray(net.params["a.weight"], np.float64).T
    z = z - z.mean(axis=0) if bias else z
    s = np.linalg.svd(z / np.sqrt(len(X)), compute_uv=False)
    scale = 1e-4 * (1 + float(np.sum(s**2)))
    assert mse == pytest.approx(float(np.sum(s[k:] ** 2)), abs=scale)
    if bias:  # the bias absorbed the mean error
        np.testing.assert_allclose(err.mean(axis=0), 0, atol=1e-4 * (1 + s[0]))
    # Eckart–Young on the data: no worse than the truncated SVD of the weights.
    plain, _ = factorize(net, "a", k)
    base = (net.forward(X) - plain.forward(X)).astype(np.float64)
    assert mse <= float(np.mean(np.sum(base**2, axis=1))) + scale
    assert after.n_params == net.n_params - n * m + k * (n + m)
    assert rec.contract == "approximate" and rec.args["basis"] == "data"


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6), seeds())
def test_full_rank_with_spanning_calibration_preserves_the_network(n: int, m: int, seed: int):  # type: ignore[no-untyped-def]
    spec = Spec.mlp(m, [n, 3], 2)
    net = Network(spec, params_for(spec, seed))
    X = _inputs(m + 8, m, seed)
    after, _ = factorize(net, "dense_0", min(n, m), basis="data", calibration=X)
    assert_function_preserved(net, after, _inputs(16, m, seed + 1), rtol=1e-4, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(seeds())
def test_a_hidden_layer_is_fit_to_its_own_inputs_and_the_log_replays_without_data(seed: int):  # type: ignore[no-untyped-def]
    spec = Spec.mlp(5, [7, 6], 3)
    net = Network(spec, params_for(spec, seed))
    X = _inputs(30, 5, seed)
    after, rec = factorize(net, "dense_1", 3, basis="data", calibration=X)
    restored = EditRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    again = EditLog((restored,)).replay(net)
    assert_bitwise_equal(again.params, after.params)
    assert [x.name for x in after.spec.nodes] == ["dense_0", "dense_1_svd", "dense_1", "output"]


def test_invalid_data_factorizations() -> None:
    net = _linear(4, 5, 0)
    X = _inputs(10, 5, 0)
    with pytest.raises(ConfigError, match="calibration"):
        factorize(net, "a", 2, basis="data")
    with pytest.raises(ConfigError, match="basis"):
        factorize(net, "a", 2, basis="columns", calibration=X)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least rank=3"):
        factorize(net, "a", 3, basis="data", calibration=X[:2])
    with pytest.raises(ConfigError, match="recorded projection"):
        factorize(net, "a", 2, basis="data", projection=[[1.0] * 4], shift=[0.0] * 4)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="finite"):
        factorize(net, "a", 2, basis="data", calibration=bad)
    conv = Spec((1, 4, 4), (Conv2d("c", "input", 3, 3), Flatten("f", "c")), "f", "mse")
    with pytest.raises(ConfigError, match="dense"):
        factorize(Network.init(conv, seed=0), "c", 1, basis="data", calibration=X)
