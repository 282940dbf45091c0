"""neuroplast → ONNX with the ``onnx`` package's helpers (no PyTorch involved).

Imports onnx at module level: import it only through :mod:`neuroplast.interop`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from neuroplast import _core
from neuroplast.interop._errors import OpsetError
from neuroplast.interop._plan import (
    activation_of,
    flattens_input,
    needs_flatten,
    unsupported_activation,
)
from neuroplast.layers import (
    Add,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    Flatten,
    GlobalAvgPool,
    MaxPool2d,
    Node,
)
from neuroplast.network import Network

__all__ = ["MIN_WRITE_OPSET", "to_onnx"]

#: Oldest opset written (Softmax, Clip and the others have today's semantics from 13 on).
MIN_WRITE_OPSET = 13
_SIMPLE = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


class _Builder:
    """Collects nodes and initializers; hands out unique intermediate value names."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.nodes: list[Any] = []
        self.inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in params.items()]
        self.constants: set[str] = set()

    def op(self, op_type: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=name, **attrs))
        return output

    def constant(self, value: float) -> str:
        name = f"neuroplast.const/{value:g}"
        if name not in self.constants:
            self.constants.add(name)
            self.inits.append(numpy_helper.from_array(np.array(value, np.float32), name))
        return name


def _pads(p: Any) -> list[int]:
    return [int(p[0]), int(p[1]), int(p[0]), int(p[1])]


def _pool(b: _Builder, node: MaxPool2d | AvgPool2d, x: str, out: str) -> str:
    extra = {"count_include_pad": 1} if isinstance(node, AvgPool2d) else {}
    return b.op(
        "MaxPool" if isinstance(node, MaxPool2d) else "AveragePool",
        [x],
        out,
        node.name,
        kernel_shape=list(node.kernel_size),  # type: ignore[arg-type]
        strides=list(node.stride),  # type: ignore[arg-type]
        pads=_pads(node.padding),
        **extra,
    )


def _layer(b: _Builder, node: Node, x: str, out: str, flat_input: bool) -> str:
    """Emits ``node`` before its activation, reading ``x``; returns its value name."""
    n = node.name
    if isinstance(node, Dense):
        if flat_input:
            x = b.op("Flatten", [x], f"{n}:flat", f"{n}:flatten", axis=1)
        ins = [x, f"{n}.weight", *([f"{n}.bias"] if node.bias else [])]
        return b.op("Gemm", ins, out, n, transB=1)
    if isinstance(node, Conv2d):
        ins = [x, f"{n}.weight", *([f"{n}.bias"] if node.bias else [])]
        return b.op(
            "Conv",
            ins,
            out,
            n,
            kernel_shape=list(node.kernel_size),  # type: ignore[arg-type]
            strides=list(node.stride),  # type: ignore[arg-type]
            pads=_pads(node.padding),
            dilations=list(node.dilation),  # type: ignore[arg-type]
            group=node.groups,
        )
    if isinstance(node, BatchNorm):
        ins = [x, *(f"{n}.{k}" for k in ("weight", "bias", "running_mean", "running_var"))]
        return b.op(
            "BatchNormalization", ins, out, n, epsilon=node.eps, momentum=1.0 - node.momentum
        )
    if isinstance(node, (MaxPool2d, AvgPool2d)):
        return _pool(b, node, x, out)
    if isinstance(node, GlobalAvgPool):
        pooled = b.op("GlobalAveragePool", [x], f"{n}:pooled", n)
        return b.op("Flatten", [pooled], out, f"{n}:flatten", axis=1)
    if isinstance(node, Flatten):
        return b.op("Flatten", [x], out, n, axis=1)
    raise AssertionError(f"not a single-input node: {node!r}")  # pragma: no cover


def _merge(b: _Builder, node: Add | Concat, ins: list[str], out: str) -> str:
    if isinstance(node, Concat):
        return b.op("Concat", ins, out, node.name, axis=1)
    if len(ins) == 2:
        return b.op("Add", ins, out, node.name)
    return b.op("Sum", ins, out, node.name)


def _activation(b: _Builder, node: Node, x: str, out: str) -> str:
    activation, slope = activation_of(node)
    name = f"{node.name}:act"
    if activation in _SIMPLE:
        return b.op(_SIMPLE[activation], [x], out, name)
    if activation == "leaky_relu":
        return b.op("LeakyRelu", [x], out, name, alpha=slope)
    if activation == "saturation":
        return b.op("Clip", [x, b.constant(-1.0), b.constant(1.0)], out, name)
    raise unsupported_activation(activation, node.name, "ONNX")


def _graph(net: Network, softmax: bool) -> Any:
    spec = net.spec
    b = _Builder(net.params)
    values: dict[str, str] = {"input": "input"}
    if flattens_input(spec):
        values["input"] = b.op("Flatten", ["input"], "input:flat", "input:flatten", axis=1)
    for node in spec.nodes:
        final = "output" if node.name == spec.output and not softmax else f"{node.name}:out"
        has_act = activation_of(node)[0] != "identity"
        pre = f"{node.name}:pre" if has_act else final
        ins = [values[i] for i in node.inputs]
        if isinstance(node, (Add, Concat)):
            value = _merge(b, node, ins, pre)
        else:
            value = _layer(b, node, ins[0], pre, needs_flatten(spec, node))
        values[node.name] = _activation(b, node, value, final) if has_act else value
    if softmax:
        b.op("Softmax", [values[spec.output]], "output", "output:softmax", axis=1)
    batch = "batch"
    return helper.make_graph(
        b.nodes,
        "neuroplast",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, *spec.input_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, spec.n_outputs])],
        initializer=b.inits,
    )


def check_opset(opset: object, low: int) -> int:
    """``opset`` if it is an int in ``[low, newest known to onnx]``, else :class:`OpsetError`."""
    newest = int(onnx.defs.onnx_opset_version())
    if isinstance(opset, bool) or not isinstance(opset, int) or not low <= opset <= newest:
        raise OpsetError(
            f"ONNX opset {opset!r} is not supported: neuroplast uses opsets {low} to {newest} "
            f"(the newest the installed onnx {onnx.__version__} knows)"
        )
    return opset


def to_onnx(
    net: Network, path: str | os.PathLike[str] | None, *, opset: int = 17, softmax: bool = False
) -> Any:
    """See :func:`neuroplast.interop.to_onnx`."""
    opset = check_opset(opset, MIN_WRITE_OPSET)
    ids = [helper.make_opsetid("", opset)]
    model = helper.make_model(
        _graph(net, bool(softmax)),
        opset_imports=ids,
        producer_name="neuroplast",
        producer_version=_core.__version__,
        ir_version=helper.find_min_ir_version_for(ids),
    )
    helper.set_model_props(model, {"neuroplast.loss": net.spec.loss})
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        onnx.save_model(model, str(tmp))
        os.replace(tmp, target)
    return model
