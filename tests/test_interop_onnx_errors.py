"""ONNX conversion failures are typed: unsupported ops, corrupt files, opset mismatches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Network, SerializationError, Spec, interop
from neuroplast.interop import InteropError, ModelFileError, OpsetError, UnsupportedOpError

onnx = pytest.importorskip("onnx")
helper, numpy_helper, TensorProto = onnx.helper, onnx.numpy_helper, onnx.TensorProto


def write(tmp_path: Path, nodes: list[Any], inits: dict[str, Any], opset: int = 13) -> Path:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=7)
    path = tmp_path / "m.onnx"
    onnx.save_model(model, str(path))
    return path


W = {"W": np.ones((3, 4))}


@pytest.mark.parametrize(
    ("nodes", "op"),
    [
        (
            [
                helper.make_node("Gemm", ["x", "W"], ["h"], transB=1, name="fc"),
                helper.make_node("Exp", ["h"], ["y"], name="e"),
            ],
            "Exp",
        ),
        (
            [
                helper.make_node("Gemm", ["x", "W"], ["h"], transB=1),
                helper.make_node("HardSigmoid", ["h"], ["y"], name="hs"),
            ],
            "HardSigmoid",
        ),
        ([helper.make_node("Gemm", ["W", "x"], ["y"], transA=1, transB=1, name="g")], "Gemm"),
        (
            [
                helper.make_node("Gemm", ["x", "W"], ["h"], transB=1),
                helper.make_node("Softmax", ["h"], ["s"], name="sm"),
                helper.make_node("Relu", ["s"], ["y"]),
            ],
            "softmax",
        ),
    ],
)
def test_unsupported_ops_raise_with_the_node_name(
    tmp_path: Path, nodes: list[Any], op: str
) -> None:
    with pytest.raises(UnsupportedOpError) as info:
        interop.from_onnx(write(tmp_path, nodes, W))
    assert op in info.value.op
    assert "ONNX node" in info.value.where


def test_constant_add_that_is_not_a_bias_is_refused(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Gemm", ["x", "W", "b"], ["h"], transB=1),
        helper.make_node("Add", ["h", "b"], ["y"], name="shift"),
    ]
    with pytest.raises(UnsupportedOpError, match="shift"):
        interop.from_onnx(write(tmp_path, nodes, {**W, "b": np.ones(3)}))


def test_corrupt_truncated_and_missing_files(tmp_path: Path) -> None:
    net = Network.init(Spec.mlp(4, [5], 3), seed=0)
    good = tmp_path / "good.onnx"
    interop.to_onnx(net, good)
    data = good.read_bytes()
    cases = {
        "garbage.onnx": b"\x08\x07\xff\xff not a protobuf at all \x00" * 3,
        "truncated.onnx": data[: len(data) // 2],
        "empty.onnx": b"",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelFileError) as info:
            interop.from_onnx(tmp_path / name)
        assert isinstance(info.value, InteropError) and isinstance(info.value, SerializationError)
    with pytest.raises(ModelFileError, match="no ONNX model"):
        interop.from_onnx(tmp_path / "absent.onnx")


def test_checker_failures_are_model_file_errors(tmp_path: Path) -> None:
    nodes = [helper.make_node("Gemm", ["x", "missing"], ["y"], transB=1)]
    with pytest.raises(ModelFileError, match="checker"):
        interop.from_onnx(write(tmp_path, nodes, {}))


def test_opset_mismatch_reading_and_writing(tmp_path: Path) -> None:
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y"], transB=1)]
    with pytest.raises(OpsetError, match="opset 9"):
        interop.from_onnx(write(tmp_path, nodes, W, opset=9))
    newest = onnx.defs.onnx_opset_version()
    with pytest.raises(OpsetError):
        interop.from_onnx(write(tmp_path, nodes, W, opset=newest + 1))
    net = Network.init(Spec.mlp(4, [5], 3), seed=0)
    for bad in (12, newest + 1, "17", True):
        with pytest.raises(OpsetError):
            interop.to_onnx(net, None, opset=bad)  # type: ignore[arg-type]


def test_sign_has_no_exact_onnx_operator() -> None:
    net = Network.init(Spec.mlp(4, [5], 3, activation="sign"), seed=0)
    with pytest.raises(UnsupportedOpError, match="sign"):
        interop.to_onnx(net, None)


def test_inputs_must_be_float_with_static_sample_shape(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W"], ["y"], transB=1)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "f"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        [numpy_helper.from_array(np.ones((3, 4), np.float32), "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    onnx.save_model(model, str(tmp_path / "dyn.onnx"))
    with pytest.raises(InteropError, match="static"):
        interop.from_onnx(tmp_path / "dyn.onnx")
