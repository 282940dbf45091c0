"""neuroplast ↔ ONNX without torch: onnxruntime agrees, the round trip keeps predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec, interop
from neuroplast.layers import ACTIVATIONS, BatchNorm, Dense, GlobalAvgPool
from neuroplast.testing.strategies import inputs_for, params_for, seeds, specs
from neuroplast.testing.strategies_conv import conv_specs

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
helper, numpy_helper, TensorProto = onnx.helper, onnx.numpy_helper, onnx.TensorProto

TOL = 1e-5
ACTS = tuple(a for a in ACTIVATIONS if a != "sign")  # sign: no exact ONNX operator
CASES = settings(max_examples=25, deadline=None)


def max_diff(a: Any, b: Any) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def run_ort(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out: np.ndarray = session.run(["output"], {"input": x})[0]
    return out


@CASES
@given(
    st.one_of(specs(hidden_activations=ACTS), conv_specs(hidden_activations=ACTS)),
    seeds(),
    st.integers(13, 17),
)
def test_onnx_round_trip_and_onnxruntime_agree(
    tmp_path_factory: pytest.TempPathFactory, spec: Spec, seed: int, opset: int
) -> None:
    path = tmp_path_factory.mktemp("onnx") / "net.onnx"
    net = Network(spec, params_for(spec, seed))
    x = inputs_for(spec, 3, seed + 1)
    model = interop.to_onnx(net, path, opset=opset)
    assert model.opset_import[0].version == opset
    assert max_diff(run_ort(path, x), net.forward(x)) <= TOL
    back = interop.from_onnx(path)
    assert max_diff(back.forward(x), net.forward(x)) <= TOL
    assert back.spec.loss == spec.loss
    assert back.params.keys() <= net.params.keys()  # nodes the output never reads are dropped


def test_round_trip_keeps_the_spec_of_builder_networks(tmp_path: Path) -> None:
    for spec in (
        Spec.mlp(5, [7, 6], 3, activation="tanh"),
        Spec.cnn((2, 9, 9), [4, 6], 3, hidden=[5], batch_norm=True, pool="avg"),
        Spec.resnet((3, 8, 8), 4, stages=[(4, 1), (8, 1)]),
        Spec.cnn((1, 8, 8), [3], 2, global_pool=True, activation="leaky_relu"),
    ):
        net = Network(spec, params_for(spec, 0))
        interop.to_onnx(net, tmp_path / "m.onnx")
        back = interop.from_onnx(tmp_path / "m.onnx")
        assert back.spec == spec
        for name, value in net.params.items():
            np.testing.assert_array_equal(back.params[name], value)


def test_dynamic_batch_and_softmax_output(tmp_path: Path) -> None:
    spec = Spec.cnn((1, 8, 8), [4], 3, batch_norm=True)
    net = Network(spec, params_for(spec, 3))
    model = interop.to_onnx(net, tmp_path / "p.onnx", softmax=True)
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch"
    for n in (1, 7):
        x = inputs_for(spec, n, n)
        assert max_diff(run_ort(tmp_path / "p.onnx", x), net.predict_proba(x)) <= TOL
    back = interop.from_onnx(tmp_path / "p.onnx")  # the final Softmax is dropped: logits
    assert max_diff(back.forward(x), net.forward(x)) <= TOL


def test_mse_loss_is_recorded_and_can_be_overridden(tmp_path: Path) -> None:
    net = Network.init(Spec.mlp(3, [4], 2, loss="mse"), seed=0)
    interop.to_onnx(net, tmp_path / "r.onnx")
    assert interop.from_onnx(tmp_path / "r.onnx").spec.loss == "mse"
    assert interop.from_onnx(tmp_path / "r.onnx", loss="cross_entropy").spec.loss != "mse"


# ------------------------------------------------------------- graphs written by other tools
def _model(
    nodes: list[Any], inits: dict[str, np.ndarray], shape: list[Any], opset: int = 13
) -> Any:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", *shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "k"])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()],
    )
    ids = [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=ids, ir_version=7)


def _check(model: Any, tmp_path: Path, x: np.ndarray) -> Network:
    path = tmp_path / "other.onnx"
    onnx.save_model(model, str(path))
    net = interop.from_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert max_diff(session.run(None, {"x": x})[0], net.forward(x)) <= TOL
    return net


def test_matmul_add_and_gemm_variants(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    inits = {
        "W1": rng.normal(size=(4, 5)),
        "b1": rng.normal(size=5),
        "W2": rng.normal(size=(5, 3)),
        "c2": rng.normal(size=(1, 3)),
        "lo": np.array(0.0),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["m"]),
        helper.make_node("Add", ["m", "b1"], ["h"]),
        helper.make_node("Clip", ["h", "lo", ""], ["r"]),
        helper.make_node("Dropout", ["r"], ["d"]),
        helper.make_node("Identity", ["d"], ["i"]),
        helper.make_node("Gemm", ["i", "W2", "c2"], ["y"], alpha=0.5, beta=2.0),
    ]
    net = _check(_model(nodes, inits, [4]), tmp_path, rng.normal(size=(6, 4)).astype(np.float32))
    assert [n.activation for n in net.spec.nodes if isinstance(n, Dense)] == ["relu", "identity"]


def test_conv_same_padding_sum_reshape_and_old_softmax(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    inits = {
        "W": rng.normal(size=(3, 2, 3, 3)),
        "V": rng.normal(size=(3, 2, 1, 1)),
        "G": rng.normal(size=(2, 27)),
        "s": np.array([0, -1], np.int64),
    }
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["a"], auto_pad="SAME_UPPER"),
        helper.make_node("Conv", ["x", "V"], ["b"]),
        helper.make_node("Sum", ["a", "b", "a"], ["c"]),
        helper.make_node("Tanh", ["c"], ["t"]),
        helper.make_node("MaxPool", ["t"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p", "s"], ["f"]),
        helper.make_node("Gemm", ["f", "G"], ["z"], transB=1),
        helper.make_node("Softmax", ["z"], ["y"], axis=1),
    ]
    model = _model(nodes, {k: v for k, v in inits.items() if k != "s"}, [2, 6, 6], opset=11)
    model.graph.initializer.append(numpy_helper.from_array(inits["s"], "s"))
    path = tmp_path / "old.onnx"
    onnx.save_model(model, str(path))
    net = interop.from_onnx(path)
    x = rng.normal(size=(2, 2, 6, 6)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert max_diff(session.run(None, {"x": x})[0], net.predict_proba(x)) <= TOL


def test_global_pool_without_flatten_becomes_whole_image_average(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    inits = {"W": rng.normal(size=(3, 1, 1, 1)), "scale": rng.uniform(0.5, 1.5, 3)}
    inits |= {"B": rng.normal(size=3), "mean": rng.normal(size=3), "var": rng.uniform(0.5, 2, 3)}
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["g"]),
        helper.make_node("BatchNormalization", ["g", "scale", "B", "mean", "var"], ["n"]),
        helper.make_node("Conv", ["n", "W"], ["c"], group=3),
        helper.make_node("Flatten", ["c"], ["y"], axis=1),
    ]
    x = rng.normal(size=(4, 3, 5, 5)).astype(np.float32)
    net = _check(_model(nodes, inits, [3, 5, 5]), tmp_path, x)
    assert not any(isinstance(n, GlobalAvgPool) for n in net.spec.nodes)
    assert any(isinstance(n, BatchNorm) for n in net.spec.nodes)
