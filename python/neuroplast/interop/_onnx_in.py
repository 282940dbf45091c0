"""ONNX → neuroplast: load and check the file, read its graph into the neutral graph, lower it.

Imports onnx at module level: import it only through :mod:`neuroplast.interop`.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import helper, numpy_helper

from neuroplast.errors import InteropError
from neuroplast.interop._errors import ModelFileError, UnsupportedOpError
from neuroplast.interop._graph import Graph, Op, lower
from neuroplast.interop._onnx_ops import attributes, translate
from neuroplast.interop._onnx_out import check_opset
from neuroplast.network import Network

__all__ = ["MIN_READ_OPSET", "from_onnx", "graph_from_onnx", "load_checked"]

#: Oldest opset read (Clip takes its bounds as inputs from 11 on).
MIN_READ_OPSET = 11
_DEFAULT_DOMAINS = ("", "ai.onnx")


def load_checked(path: str | os.PathLike[str]) -> Any:
    """The ``onnx.ModelProto`` at ``path`` after the opset and ``onnx.checker`` checks."""
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"no ONNX model at {os.fspath(path)!r}")
    try:
        model = onnx.load_model(str(p))
    except Exception as exc:  # protobuf's DecodeError, truncated files, bad external data
        raise ModelFileError(f"{os.fspath(path)!r} is not a readable ONNX model: {exc}") from exc
    opsets = [o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS]
    if not opsets:
        raise ModelFileError(f"{os.fspath(path)!r} imports no ONNX opset (not an ONNX model?)")
    check_opset(int(opsets[0]), MIN_READ_OPSET)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{os.fspath(path)!r} fails onnx.checker: {exc}") from exc
    return model


def _constants(graph: Any) -> dict[str, npt.NDArray[Any]]:
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in _DEFAULT_DOMAINS:
            (a,) = node.attribute
            value = helper.get_attribute_value(a)
            array = numpy_helper.to_array(value) if a.name == "value" else np.asarray(value)
            consts[node.output[0]] = array
    return consts


def _input(graph: Any, consts: dict[str, Any]) -> tuple[str, tuple[int, ...]]:
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise InteropError(
            f"expected one input and one output, got inputs {[i.name for i in inputs]} and "
            f"outputs {[o.name for o in graph.output]}"
        )
    (inp,) = inputs
    tensor = inp.type.tensor_type
    if tensor.elem_type != onnx.TensorProto.FLOAT:
        raise UnsupportedOpError(
            f"input type {onnx.TensorProto.DataType.Name(tensor.elem_type)}",
            f"graph input {inp.name!r}",
            "only float32 inputs",
        )
    dims = list(tensor.shape.dim)[1:]
    if not dims or not all(d.HasField("dim_value") and d.dim_value > 0 for d in dims):
        raise InteropError(
            f"graph input {inp.name!r}: every dimension but the batch must be static, got "
            f"{[d.dim_value or d.dim_param for d in tensor.shape.dim]}"
        )
    return inp.name, tuple(int(d.dim_value) for d in dims)


class _Reader:
    """Turns ONNX nodes into :class:`Op` values, fusing MatMul + Add into one dense op."""

    def __init__(self, graph: Any, consts: dict[str, npt.NDArray[Any]], input_name: str) -> None:
        self.consts = consts
        self.names: dict[str, str] = {input_name: input_name}
        self.ops: list[Op] = []
        self.taken = {input_name}
        self.readers = Counter(i for n in graph.node for i in n.input)
        self.readers.update(o.name for o in graph.output)

    def ref(self, value: str, where: str) -> str:
        if value not in self.names:
            raise UnsupportedOpError("constant operand", where, f"{value!r} is not a layer output")
        return self.names[value]

    def emit(self, node: Any, kind: str, inputs: tuple[str, ...], **kw: Any) -> None:
        name = base = node.name or node.output[0]
        i = 1
        while name in self.taken:
            name, i = f"{base}_{i}", i + 1
        self.taken.add(name)
        self.ops.append(Op(name, kind, inputs, **kw))
        self.names[node.output[0]] = name

    def read(self, node: Any) -> None:
        where = f"ONNX node {node.name or node.output[0]!r} ({node.op_type})"
        if node.op_type == "Constant" and node.domain in _DEFAULT_DOMAINS:
            return
        extra = [o for o in node.output[1:] if o and self.readers[o]]
        if extra:
            raise UnsupportedOpError(node.op_type, where, f"its extra outputs {extra} are read")
        if node.op_type in ("Add", "Sum") and node.domain in _DEFAULT_DOMAINS:
            self.add(node, where)
        elif node.op_type == "Concat" and node.domain in _DEFAULT_DOMAINS:
            if attributes(node).get("axis") != 1:
                raise UnsupportedOpError("Concat", where, "only along axis 1 (channels/features)")
            inputs = tuple(self.ref(i, where) for i in node.input)
            self.emit(node, "concat", inputs, where=where)
        else:
            kind, attrs, tensors = translate(node, self.consts, where)
            src = (self.ref(node.input[0], where),)
            self.emit(node, kind, src, attrs=attrs, tensors=tensors, where=where)

    def add(self, node: Any, where: str) -> None:
        constant = [i for i in node.input if i in self.consts]
        if not constant:
            inputs = tuple(self.ref(i, where) for i in node.input)
            self.emit(node, "add", inputs, where=where)
            return
        (value,) = [i for i in node.input if i not in self.consts] or [""]
        target = self.names.get(value)
        op = next((o for o in self.ops if o.name == target), None)
        bias = self.consts[constant[0]].astype(np.float32).reshape(-1)
        if (
            node.op_type != "Add"
            or op is None
            or op.kind != "dense"
            or "bias" in op.tensors
            or self.readers[value] != 1
            or bias.size != op.attrs["units"]
        ):
            raise UnsupportedOpError("Add", where, "a constant is only accepted as a MatMul bias")
        fused = dataclasses.replace(
            op, attrs={**op.attrs, "bias": True}, tensors={**op.tensors, "bias": bias}
        )
        self.ops[self.ops.index(op)] = fused
        self.names[node.output[0]] = op.name


def graph_from_onnx(model: Any) -> Graph:
    """The neutral graph of a checked ``onnx.ModelProto``."""
    graph = model.graph
    consts = _constants(graph)
    input_name, input_shape = _input(graph, consts)
    reader = _Reader(graph, consts, input_name)
    for node in graph.node:
        reader.read(node)
    output = reader.ref(graph.output[0].name, "the graph output")
    return Graph(input_shape, input_name, reader.ops, output)


def from_onnx(path: str | os.PathLike[str], *, loss: str | None = None) -> Network:
    """See :func:`neuroplast.interop.from_onnx`."""
    model = load_checked(path)
    props = {p.key: p.value for p in model.metadata_props}
    return lower(graph_from_onnx(model), loss or props.get("neuroplast.loss", "cross_entropy"))
