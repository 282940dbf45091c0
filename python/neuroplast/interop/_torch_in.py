"""PyTorch → neuroplast: trace with ``torch.fx``, translate each call into the neutral graph.

Imports torch at module level: import it only through :mod:`neuroplast.interop`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata
from torch.nn import functional

from neuroplast.errors import InteropError
from neuroplast.interop._errors import UnsupportedOpError
from neuroplast.interop._graph import Graph, Op, lower
from neuroplast.interop._torch_out import HardSign
from neuroplast.network import Network

__all__ = ["from_torch", "graph_from_torch"]

F32 = npt.NDArray[np.float32]
_INPUT = "<input>"
_ACTS: dict[type, str] = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", HardSign: "sign"}
_ALIASES = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d)
_FUNC_ACTS: dict[Any, str] = {
    functional.relu: "relu",
    torch.relu: "relu",
    torch.relu_: "relu",
    torch.sigmoid: "sigmoid",
    functional.sigmoid: "sigmoid",
    torch.tanh: "tanh",
    functional.tanh: "tanh",
}
_METHOD_ACTS = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}
_ADDS = (operator.add, operator.iadd, torch.add)
_CATS = (torch.cat, torch.concat, torch.concatenate)
_SOFTMAX = (functional.softmax, torch.softmax)


def _array(t: Any) -> F32:
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float32)


def _shape(node: fx.Node) -> tuple[int, ...]:
    meta = node.meta.get("tensor_meta")
    return tuple(int(d) for d in meta.shape[1:]) if meta is not None else ()


class _Tracer(fx.Tracer):
    """``torch.fx``'s tracer, also keeping :class:`HardSign` whole (it is one activation)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        """Standard leaves plus :class:`HardSign`."""
        return isinstance(m, HardSign) or bool(super().is_leaf_module(m, module_qualified_name))


def _trace(module: nn.Module) -> fx.GraphModule:
    graph = _Tracer().trace(module)
    return fx.GraphModule(module, graph, type(module).__name__)


class _Reader:
    """Turns the nodes of one traced module into :class:`Op` values."""

    def __init__(self, gm: fx.GraphModule) -> None:
        self.gm = gm
        self.names: dict[fx.Node, str] = {}
        self.ops: list[Op] = []
        self.output: str | None = None
        self.input: fx.Node | None = None
        self.taken = {_INPUT}

    # ------------------------------------------------------------------ helpers
    def ref(self, arg: Any, where: str) -> str:
        if not isinstance(arg, fx.Node) or arg not in self.names:
            raise UnsupportedOpError(
                f"non-tensor argument {arg!r}", where, "only tensors flow between layers"
            )
        return self.names[arg]

    def emit(self, node: fx.Node, name: str, kind: str, inputs: tuple[str, ...], **kw: Any) -> None:
        base, i = name, 1
        while name in self.taken:
            name, i = f"{base}_{i}", i + 1
        self.taken.add(name)
        self.ops.append(Op(name, kind, inputs, where=kw.pop("where"), **kw))
        self.names[node] = name

    # ------------------------------------------------------------------ nodes
    def read(self, node: fx.Node) -> None:
        if node.op == "placeholder":
            if self.input is not None:
                raise UnsupportedOpError("second input", f"placeholder {node.name!r}")
            self.input, self.names[node] = node, _INPUT
        elif node.op == "output":
            (out,) = node.args
            self.output = self.ref(out, "the module's output (one tensor expected)")
        elif node.op == "call_module":
            self.module(node, self.gm.get_submodule(str(node.target)))
        elif node.op in ("call_function", "call_method"):
            self.function(node)
        else:
            raise UnsupportedOpError(node.op, f"{node.op} {node.target!r}", "use modules")

    def module(self, node: fx.Node, mod: Any) -> None:
        name, where = str(node.target), f"module {str(node.target)!r} ({type(mod).__name__})"
        args = [*node.args, *node.kwargs.values()]
        if len(args) != 1:
            raise UnsupportedOpError(type(mod).__name__, where, "called with several arguments")
        src = (self.ref(args[0], where),)
        kind, attrs, tensors = _module_op(mod, where)
        self.emit(node, name, kind, src, attrs=attrs, tensors=tensors, where=where)

    def function(self, node: fx.Node) -> None:
        target, where = node.target, f"call {node.name!r} ({_callee(node)})"
        meta = node.meta.get("tensor_meta")
        if meta is None:  # sizes and shapes: only read by reshapes, which check shapes
            return
        if not isinstance(meta, TensorMetadata):
            raise UnsupportedOpError(_callee(node), where, "returns several tensors")
        if (node.op == "call_function" and target in _ADDS) or target in ("add", "add_"):
            self.add(node, where)
        elif target in _CATS:
            self.concat(node, where)
        else:
            kind, attrs = _function_op(node, where)
            first = node.args[0] if node.args else node.kwargs.get("input")
            src = self.ref(first, where)
            if kind == "mean":
                self.emit(node, node.name, "global_avg_pool", (src,), where=where)
                if not attrs["keepdim"]:
                    pooled = self.names[node]
                    self.emit(node, f"{pooled}_flatten", "flatten", (pooled,), where=where)
                return
            self.emit(node, node.name, kind, (src,), attrs=attrs, where=where)

    def concat(self, node: fx.Node, where: str) -> None:
        tensors = _arg(node, 0, "tensors", None)
        dim = node.kwargs.get("axis", _arg(node, 1, "dim", 0))
        rank = len(_shape(node)) + 1
        if not isinstance(tensors, (list, tuple)) or not isinstance(dim, int) or dim % rank != 1:
            raise UnsupportedOpError("cat", where, "only along dim 1 (channels/features)")
        inputs = tuple(self.ref(t, where) for t in tensors)
        self.emit(node, node.name, "concat", inputs, where=where)

    def add(self, node: fx.Node, where: str) -> None:
        if node.kwargs.get("alpha", 1) != 1 or len(node.args) != 2:
            raise UnsupportedOpError("add", where, "only x + y of two tensors")
        inputs = tuple(self.ref(a, where) for a in node.args)
        self.emit(node, node.name, "add", inputs, where=where)


def _callee(node: fx.Node) -> str:
    t = node.target
    return f".{t}()" if isinstance(t, str) else getattr(t, "__name__", repr(t))


def _conv_padding(mod: Any, where: str) -> tuple[int, int]:
    if mod.padding_mode != "zeros":
        raise UnsupportedOpError(f"Conv2d(padding_mode={mod.padding_mode!r})", where)
    if mod.padding == "valid":
        return (0, 0)
    if mod.padding == "same":
        spans = [d * (k - 1) for k, d in zip(mod.kernel_size, mod.dilation, strict=True)]
        if any(s % 2 for s in spans):
            raise UnsupportedOpError("Conv2d(padding='same')", where, "asymmetric padding")
        return (spans[0] // 2, spans[1] // 2)
    return (int(mod.padding[0]), int(mod.padding[1]))


def _conv(mod: Any, where: str) -> tuple[str, dict[str, Any], dict[str, F32]]:
    attrs = {
        "channels": int(mod.out_channels),
        "kernel_size": tuple(mod.kernel_size),
        "stride": tuple(mod.stride),
        "padding": _conv_padding(mod, where),
        "dilation": tuple(mod.dilation),
        "groups": int(mod.groups),
        "bias": mod.bias is not None,
    }
    tensors = {"weight": _array(mod.weight)}
    if mod.bias is not None:
        tensors["bias"] = _array(mod.bias)
    return "conv2d", attrs, tensors


def _batch_norm(mod: Any, where: str) -> tuple[str, dict[str, Any], dict[str, F32]]:
    if not mod.track_running_stats or mod.running_mean is None:
        raise UnsupportedOpError(type(mod).__name__, where, "track_running_stats=False")
    if mod.momentum is None:
        raise UnsupportedOpError(type(mod).__name__, where, "momentum=None (cumulative average)")
    n = int(mod.num_features)
    tensors = {
        "weight": _array(mod.weight) if mod.affine else np.ones(n, np.float32),
        "bias": _array(mod.bias) if mod.affine else np.zeros(n, np.float32),
        "running_mean": _array(mod.running_mean),
        "running_var": _array(mod.running_var),
    }
    return "batch_norm", {"eps": float(mod.eps), "momentum": float(mod.momentum)}, tensors


def _pool(mod: Any, where: str) -> tuple[str, dict[str, Any], dict[str, F32]]:
    name = type(mod).__name__
    if mod.ceil_mode:
        raise UnsupportedOpError(f"{name}(ceil_mode=True)", where)
    if isinstance(mod, nn.MaxPool2d) and (mod.dilation not in (1, (1, 1)) or mod.return_indices):
        raise UnsupportedOpError(f"{name}(dilation/return_indices)", where)
    if isinstance(mod, nn.AvgPool2d) and (
        (not mod.count_include_pad and mod.padding not in (0, (0, 0))) or mod.divisor_override
    ):
        raise UnsupportedOpError(f"{name}(count_include_pad=False/divisor_override)", where)
    kind = "max_pool2d" if isinstance(mod, nn.MaxPool2d) else "avg_pool2d"
    stride = mod.stride if mod.stride is not None else mod.kernel_size
    return kind, {"kernel_size": mod.kernel_size, "stride": stride, "padding": mod.padding}, {}


def _linear(mod: Any, where: str) -> tuple[str, dict[str, Any], dict[str, F32]]:
    tensors = {"weight": _array(mod.weight)}
    if mod.bias is not None:
        tensors["bias"] = _array(mod.bias)
    return "dense", {"units": int(mod.out_features), "bias": mod.bias is not None}, tensors


_LAYERS: dict[type, Callable[[Any, str], tuple[str, dict[str, Any], dict[str, F32]]]] = {
    nn.Linear: _linear,
    nn.Conv2d: _conv,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.MaxPool2d: _pool,
    nn.AvgPool2d: _pool,
}


def _module_op(mod: Any, where: str) -> tuple[str, dict[str, Any], dict[str, F32]]:
    """``(kind, attrs, tensors)`` of one leaf module, or :class:`UnsupportedOpError`."""
    kind = type(mod)
    if kind in _LAYERS:
        return _LAYERS[kind](mod, where)
    if kind in _ACTS:
        return "act", {"activation": _ACTS[kind]}, {}
    if kind is nn.LeakyReLU:
        return "act", {"activation": "leaky_relu", "negative_slope": mod.negative_slope}, {}
    if kind is nn.Hardtanh and (mod.min_val, mod.max_val) == (-1.0, 1.0):
        return "act", {"activation": "saturation"}, {}
    if isinstance(mod, _ALIASES):
        return "alias", {}, {}
    if kind is nn.AdaptiveAvgPool2d and mod.output_size in (1, (1, 1)):
        return "global_avg_pool", {}, {}
    if kind is nn.Flatten and mod.start_dim == 1 and mod.end_dim == -1:
        return "flatten", {}, {}
    if kind is nn.Softmax and mod.dim in (1, -1):
        return "softmax", {}, {}
    raise UnsupportedOpError(kind.__name__, where)


def _arg(node: fx.Node, i: int, key: str, default: Any) -> Any:
    return node.args[i] if len(node.args) > i else node.kwargs.get(key, default)


def _flattens(src: fx.Node, node: fx.Node) -> bool:
    """Whether ``node`` reshapes ``src`` of shape ``(N, ...)`` to ``(N, prod(...))``."""
    before, after = src.meta.get("tensor_meta"), node.meta.get("tensor_meta")
    if not isinstance(before, TensorMetadata) or not isinstance(after, TensorMetadata):
        return False
    n = before.shape[0]
    return tuple(after.shape) == (n, math.prod(before.shape[1:]))


def _function_op(node: fx.Node, where: str) -> tuple[str, dict[str, Any]]:
    """``(kind, attrs)`` of a single-input function or method call."""
    t, method = node.target, node.op == "call_method"
    acts: Mapping[Any, str] = _METHOD_ACTS if method else _FUNC_ACTS
    if t in acts:
        return "act", {"activation": acts[t]}
    if t is functional.leaky_relu:
        slope = _arg(node, 1, "negative_slope", 0.01)
        return "act", {"activation": "leaky_relu", "negative_slope": slope}
    if t is functional.dropout or t in ("contiguous",):
        return "alias", {}
    if (t in _SOFTMAX or t == "softmax") and _arg(node, 1, "dim", None) in (1, -1):
        return "softmax", {}
    flat = (_arg(node, 1, "start_dim", 0), _arg(node, 2, "end_dim", -1)) == (1, -1)
    if (t is torch.flatten or t == "flatten") and flat:
        return "flatten", {}
    if t in ("view", "reshape") or t is torch.reshape:
        src = node.args[0]
        if isinstance(src, fx.Node) and _flattens(src, node):
            return "flatten", {}
    if t is functional.adaptive_avg_pool2d and _arg(node, 1, "output_size", None) in (1, (1, 1)):
        return "global_avg_pool", {}
    if t == "mean" or t is torch.mean:
        dims = _arg(node, 1, "dim", None)
        if isinstance(dims, (list, tuple)) and sorted(int(d) % 4 for d in dims) == [2, 3]:
            return "mean", {"keepdim": bool(_arg(node, 2, "keepdim", False))}
    raise UnsupportedOpError(_callee(node), where)


def graph_from_torch(module: Any, example_input: Any) -> Graph:
    """The neutral graph of ``module`` traced with ``torch.fx`` on ``example_input``."""
    if not isinstance(module, nn.Module):
        raise InteropError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(example_input, torch.Tensor) or example_input.ndim < 2:
        raise InteropError("example_input must be a batched tensor (N, ...), e.g. (1, 3, 32, 32)")
    try:
        gm = _trace(module)
    except Exception as exc:
        raise InteropError(
            f"torch.fx cannot trace {type(module).__name__}: {exc} (control flow on tensor "
            "values is not traceable; make such parts leaf modules or rewrite them)"
        ) from exc
    for node in gm.graph.nodes:  # refuse unsupported modules before running anything
        if node.op == "call_module":
            mod = gm.get_submodule(str(node.target))
            _module_op(mod, f"module {str(node.target)!r} ({type(mod).__name__})")
    flags = {m: m.training for m in module.modules()}
    try:
        module.eval()
        with torch.no_grad():
            ShapeProp(gm).propagate(example_input)
    except Exception as exc:
        name = type(module).__name__
        raise InteropError(f"running {name} on example_input failed: {exc}") from exc
    finally:
        for m, flag in flags.items():
            m.training = flag
    reader = _Reader(gm)
    for node in gm.graph.nodes:
        reader.read(node)
    if reader.output is None:  # pragma: no cover - fx graphs always have an output
        raise InteropError("the traced module has no output")
    return Graph(tuple(example_input.shape[1:]), _INPUT, reader.ops, reader.output)


def from_torch(module: Any, example_input: Any, *, loss: str = "cross_entropy") -> Network:
    """See :func:`neuroplast.interop.from_torch`."""
    return lower(graph_from_torch(module, example_input), loss)
