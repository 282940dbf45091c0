"""One ONNX operator → ``(kind, attrs, tensors)`` of the neutral graph (see ``_graph``).

Imports onnx at module level: import it only through :mod:`neuroplast.interop`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from onnx import helper

from neuroplast.interop._errors import UnsupportedOpError

__all__ = ["SINGLE_INPUT", "Translated", "attributes", "translate"]

F32 = npt.NDArray[np.float32]
Translated = tuple[str, dict[str, Any], dict[str, F32]]
Consts = Mapping[str, npt.NDArray[Any]]


def attributes(node: Any) -> dict[str, Any]:
    """The node's attributes as Python values (bytes decoded)."""
    out: dict[str, Any] = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _short(value: float) -> float:
    """The shortest decimal that rounds to the same float32 as ``value``.

    ONNX stores float attributes as float32: ``1e-5`` comes back as ``9.99999974e-06``.
    """
    return float(str(np.float32(value)))


def _f32(a: npt.ArrayLike) -> F32:
    return np.ascontiguousarray(a, dtype=np.float32)


def _const(node: Any, consts: Consts, i: int, what: str, where: str) -> npt.NDArray[Any]:
    if len(node.input) <= i or node.input[i] not in consts:
        raise UnsupportedOpError(node.op_type, where, f"{what} must be a constant (initializer)")
    return consts[node.input[i]]


def _symmetric(pads: list[int], where: str, op: str) -> tuple[int, int]:
    if not pads:
        return (0, 0)
    if len(pads) != 4 or pads[:2] != pads[2:]:
        raise UnsupportedOpError(op, where, f"only 2-D symmetric pads, got {pads}")
    return (int(pads[0]), int(pads[1]))


def _auto_pad(a: dict[str, Any], kernel: list[int], where: str, op: str) -> tuple[int, int]:
    mode = a.get("auto_pad", "NOTSET")
    if mode == "NOTSET":
        return _symmetric(list(a.get("pads", [])), where, op)
    if mode == "VALID":
        return (0, 0)
    dil = list(a.get("dilations", [1, 1]))
    spans = [d * (k - 1) for k, d in zip(kernel, dil, strict=True)]
    if list(a.get("strides", [1, 1])) != [1, 1] or any(s % 2 for s in spans):
        raise UnsupportedOpError(op, where, f"auto_pad={mode} with asymmetric padding")
    return (spans[0] // 2, spans[1] // 2)


def _gemm(node: Any, consts: Consts, where: str) -> Translated:
    a = attributes(node)
    if a.get("transA", 0):
        raise UnsupportedOpError("Gemm", where, "transA=1")
    b = _const(node, consts, 1, "B", where).astype(np.float64)
    weight = (b if a.get("transB", 0) else b.T) * a.get("alpha", 1.0)
    tensors = {"weight": _f32(weight)}
    if len(node.input) > 2 and node.input[2]:
        c = _const(node, consts, 2, "C", where).astype(np.float64) * a.get("beta", 1.0)
        if c.size not in (1, weight.shape[0]):
            raise UnsupportedOpError("Gemm", where, f"C of shape {c.shape} is not a bias")
        tensors["bias"] = _f32(np.broadcast_to(c.reshape(-1), (weight.shape[0],)))
    attrs = {"units": int(weight.shape[0]), "bias": "bias" in tensors}
    return "dense", attrs, tensors


def _matmul(node: Any, consts: Consts, where: str) -> Translated:
    b = _const(node, consts, 1, "the second input", where)
    if b.ndim != 2:
        raise UnsupportedOpError("MatMul", where, "only (N, K) × constant (K, M)")
    return "dense", {"units": int(b.shape[1]), "bias": False}, {"weight": _f32(b.T)}


def _conv(node: Any, consts: Consts, where: str) -> Translated:
    w = _const(node, consts, 1, "W", where)
    if w.ndim != 4:
        raise UnsupportedOpError("Conv", where, f"only 2-D convolutions, got weights {w.shape}")
    a = attributes(node)
    kernel = list(a.get("kernel_shape", w.shape[2:]))
    tensors = {"weight": _f32(w)}
    if len(node.input) > 2 and node.input[2]:
        tensors["bias"] = _f32(_const(node, consts, 2, "B", where))
    attrs = {
        "channels": int(w.shape[0]),
        "kernel_size": tuple(kernel),
        "stride": tuple(a.get("strides", [1, 1])),
        "padding": _auto_pad(a, kernel, where, "Conv"),
        "dilation": tuple(a.get("dilations", [1, 1])),
        "groups": int(a.get("group", 1)),
        "bias": "bias" in tensors,
    }
    return "conv2d", attrs, tensors


def _batch_norm(node: Any, consts: Consts, where: str) -> Translated:
    a = attributes(node)
    if a.get("training_mode", 0):
        raise UnsupportedOpError("BatchNormalization", where, "training_mode=1")
    keys = ("weight", "bias", "running_mean", "running_var")
    tensors = {k: _f32(_const(node, consts, i + 1, k, where)) for i, k in enumerate(keys)}
    momentum = _short(1.0 - _short(a.get("momentum", 0.9)))
    attrs = {"eps": _short(a.get("epsilon", 1e-5)), "momentum": momentum}
    return "batch_norm", attrs, tensors


def _pool(node: Any, consts: Consts, where: str) -> Translated:
    a, op = attributes(node), node.op_type
    kernel = list(a["kernel_shape"])
    if len(kernel) != 2 or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [])):
        raise UnsupportedOpError(op, where, "only 2-D windows, ceil_mode=0, no dilation")
    if a.get("storage_order", 0) or (op == "MaxPool" and len(node.output) > 1 and node.output[1]):
        raise UnsupportedOpError(op, where, "indices output / storage_order")
    padding = _auto_pad(a, kernel, where, op)
    if op == "AveragePool" and padding != (0, 0) and not a.get("count_include_pad", 0):
        raise UnsupportedOpError(op, where, "count_include_pad=0 with padding")
    attrs = {
        "kernel_size": tuple(kernel),
        "stride": tuple(a.get("strides", [1, 1])),
        "padding": padding,
    }
    return ("max_pool2d" if op == "MaxPool" else "avg_pool2d"), attrs, {}


def _clip(node: Any, consts: Consts, where: str) -> Translated:
    bounds = []
    for i in (1, 2):
        present = len(node.input) > i and node.input[i]
        bounds.append(float(_const(node, consts, i, "a bound", where)) if present else None)
    if bounds == [-1.0, 1.0]:
        return "act", {"activation": "saturation"}, {}
    if bounds == [0.0, None]:
        return "act", {"activation": "relu"}, {}
    raise UnsupportedOpError("Clip", where, f"only Clip(-1, 1) and Clip(0, ∞), got {bounds}")


def _act(activation: str) -> Callable[[Any, Consts, str], Translated]:
    def read(node: Any, consts: Consts, where: str) -> Translated:
        attrs: dict[str, Any] = {"activation": activation}
        if activation == "leaky_relu":
            attrs["negative_slope"] = _short(attributes(node).get("alpha", 0.01))
        return "act", attrs, {}

    return read


def _axis(kind: str, default: int, allowed: tuple[int, ...]) -> Callable[..., Translated]:
    def read(node: Any, consts: Consts, where: str) -> Translated:
        axis = attributes(node).get("axis", default)
        if axis not in allowed:
            raise UnsupportedOpError(node.op_type, where, f"axis={axis}; only {allowed}")
        return kind, {}, {}

    return read


def _reshape(node: Any, consts: Consts, where: str) -> Translated:
    shape = [int(s) for s in _const(node, consts, 1, "the shape", where).reshape(-1)]
    if shape == [0, -1]:
        return "flatten", {}, {}
    if len(shape) == 2 and shape[0] == -1 and shape[1] > 0:
        return "flatten", {"features": shape[1]}, {}
    raise UnsupportedOpError("Reshape", where, f"only to (N, -1), got {shape}")


def _dropout(node: Any, consts: Consts, where: str) -> Translated:
    training = len(node.input) > 2 and node.input[2]
    if training and bool(_const(node, consts, 2, "training_mode", where)):
        raise UnsupportedOpError("Dropout", where, "training_mode=True")
    return "alias", {}, {}


#: Readers of the operators with one tensor input (Add, Sum and Concat are handled apart).
SINGLE_INPUT: dict[str, Callable[[Any, Consts, str], Translated]] = {
    "Gemm": _gemm,
    "MatMul": _matmul,
    "Conv": _conv,
    "BatchNormalization": _batch_norm,
    "MaxPool": _pool,
    "AveragePool": _pool,
    "Relu": _act("relu"),
    "LeakyRelu": _act("leaky_relu"),
    "Sigmoid": _act("sigmoid"),
    "Tanh": _act("tanh"),
    "Clip": _clip,
    "GlobalAveragePool": lambda n, c, w: ("global_avg_pool", {}, {}),
    "Flatten": _axis("flatten", 1, (1,)),
    "Softmax": _axis("softmax", -1, (1, -1)),
    "Reshape": _reshape,
    "Identity": lambda n, c, w: ("alias", {}, {}),
    "Dropout": _dropout,
}


def translate(node: Any, consts: Consts, where: str) -> Translated:
    """``(kind, attrs, tensors)`` of a single-input operator, or :class:`UnsupportedOpError`."""
    reader = SINGLE_INPUT.get(node.op_type)
    if reader is None or node.domain not in ("", "ai.onnx"):
        op = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
        raise UnsupportedOpError(op, where)
    return reader(node, consts, where)
