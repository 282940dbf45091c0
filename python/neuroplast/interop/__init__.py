"""Bring your own model: convert between neuroplast, PyTorch and ONNX.

* :func:`from_torch` / :func:`to_torch`: an ``nn.Sequential`` or ``torch.fx``-traceable module
  ↔ a :class:`~neuroplast.Network` (needs ``pip install 'neuroplast[torch]'``).
* :func:`from_onnx` / :func:`to_onnx`: ONNX files, without PyTorch
  (``pip install 'neuroplast[onnx]'``).
* :func:`load_model` / :func:`export`: by file suffix (``.npl``, ``.onnx``), for the CLI.

Conversions are exact or refused: every supported operator has a neuroplast node computing
the same function (PyTorch semantics, NCHW, same weight layouts and parameter names), and
anything else raises an :class:`UnsupportedOpError` naming the module or operator. Importing
this package imports neither torch nor onnx; each function imports what it needs.

Example:
    >>> import os, tempfile
    >>> from neuroplast import Network, Spec, interop
    >>> net = Network.init(Spec.mlp(4, [8], 3), seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npl")
    >>> interop.export(net, path)
    >>> interop.load_model(path).spec == net.spec
    True
"""

from __future__ import annotations

import os
from typing import Any

from neuroplast.errors import InteropError
from neuroplast.interop._errors import (
    MissingDependencyError,
    ModelFileError,
    OpsetError,
    UnsupportedOpError,
    require,
)
from neuroplast.interop._files import SUFFIXES, export, load_model
from neuroplast.network import Network

__all__ = [
    "SUFFIXES",
    "InteropError",
    "MissingDependencyError",
    "ModelFileError",
    "OpsetError",
    "UnsupportedOpError",
    "export",
    "from_onnx",
    "from_torch",
    "load_model",
    "to_onnx",
    "to_torch",
]


def from_torch(module: Any, example_input: Any, *, loss: str = "cross_entropy") -> Network:
    """Converts a PyTorch module into a neuroplast network with the same predictions.

    The module is traced with ``torch.fx`` (an ``nn.Sequential`` always traces) and run once
    on ``example_input`` in eval mode to learn shapes; its training flags are restored after.
    Supported: ``Linear``, ``Conv2d`` (stride, padding incl. ``"same"``, dilation, groups),
    ``BatchNorm1d/2d`` (running statistics, ``eps`` and ``momentum`` carried over; no
    ``affine`` means γ = 1, β = 0), ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``,
    ``Hardtanh(-1, 1)``, ``Identity``, ``Dropout`` (identity at inference), ``MaxPool2d``,
    ``AvgPool2d``, ``AdaptiveAvgPool2d(1)``, ``Flatten``, ``+``, ``torch.cat`` on dim 1, their
    functional forms (``F.relu``, ``torch.flatten(x, 1)``, ``x.view(x.size(0), -1)``,
    ``x.mean((2, 3))``), and a final ``Softmax`` (dropped: the network returns logits).
    Activations are fused into the layer before them. Node names are the module paths, so
    ``net.params`` keys equal the module's ``state_dict`` keys (without
    ``num_batches_tracked``). A module called twice becomes two nodes with copies of its
    weights (same function; the weights are no longer shared when training).

    Args:
        module: The model; its parameters are copied (float32), not referenced.
        example_input: A batch ``(N, F)`` or ``(N, C, H, W)`` (other ranks only if the model
            flattens its input first).
        loss: The neuroplast training loss, ``"cross_entropy"`` or ``"mse"``.

    Returns:
        A network with the module's weights and batch-norm statistics.

    Raises:
        UnsupportedOpError: A module, function or argument without an exact neuroplast form.
        InteropError: The module cannot be traced or run, or its shapes are unsupported.
        MissingDependencyError: torch is not installed.

    Example:
        >>> import torch
        >>> from neuroplast import interop
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
        ...                             torch.nn.Linear(8, 3)).eval()
        >>> net = interop.from_torch(model, torch.zeros(1, 4))
        >>> [(n.name, n.activation) for n in net.spec.nodes]
        [('0', 'relu'), ('2', 'identity')]
    """
    require("torch")
    from neuroplast.interop._torch_in import from_torch as convert

    return convert(module, example_input, loss=loss)


def to_torch(net: Network) -> Any:
    """The PyTorch module computing ``net``, in eval mode, weights and statistics loaded.

    A chain of nodes becomes an ``nn.Sequential`` and any other graph a
    ``torch.fx.GraphModule``. Each node becomes a submodule at its name (dotted names nest,
    as PyTorch's own module paths do), followed by ``<name>_act`` for its activation, so
    ``state_dict()`` keys equal ``net.params`` keys. ``sign`` becomes a small ``HardSign``
    module (1 at 0, unlike ``torch.sign``), ``saturation`` ``Hardtanh(-1, 1)`` and
    ``modified_relu`` ``ReLU`` (same forward). Optimizer state is not carried over.

    Example:
        >>> import torch
        >>> from neuroplast import Network, Spec, interop
        >>> net = Network.init(Spec.mlp(4, [8], 3), seed=0)
        >>> model = interop.to_torch(net)
        >>> list(model.state_dict())
        ['dense_0.weight', 'dense_0.bias', 'output.weight', 'output.bias']
        >>> x = torch.randn(5, 4)
        >>> bool(abs(model(x).detach().numpy() - net.forward(x.numpy())).max() < 1e-5)
        True
    """
    require("torch")
    from neuroplast.interop._torch_out import to_torch as convert

    return convert(net)


def to_onnx(
    net: Network,
    path: str | os.PathLike[str] | None,
    *,
    opset: int = 17,
    softmax: bool = False,
) -> Any:
    """Writes ``net`` as an ONNX model (``onnx.checker``-valid, dynamic batch dimension).

    The graph input is ``"input"`` of shape ``("batch", *input_shape)`` and the output
    ``"output"`` (logits, or probabilities with ``softmax=True``); initializers carry the
    neuroplast parameter names. Operators: Gemm, Conv, BatchNormalization, Relu, LeakyRelu,
    Sigmoid, Tanh, Clip (``saturation``), MaxPool, AveragePool, GlobalAveragePool, Flatten,
    Add, Concat, Softmax. ``sign`` has no exact ONNX operator and is refused.

    Args:
        net: The network.
        path: Where to write the file (atomically); ``None`` only builds the model.
        opset: ONNX opset of the default domain, from 13 to the installed onnx's newest.
        softmax: Append a Softmax so the model outputs class probabilities.

    Returns:
        The ``onnx.ModelProto``.

    Raises:
        OpsetError: ``opset`` outside the supported range.
        UnsupportedOpError: An activation without an exact ONNX operator (``sign``).
        MissingDependencyError: onnx is not installed.

    Example:
        >>> import os, tempfile
        >>> from neuroplast import Network, Spec, interop
        >>> net = Network.init(Spec.cnn((1, 8, 8), [4], 3), seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
        >>> model = interop.to_onnx(net, path)
        >>> [n.op_type for n in model.graph.node][:3]
        ['Conv', 'Relu', 'MaxPool']
    """
    require("onnx")
    from neuroplast.interop._onnx_out import to_onnx as convert

    return convert(net, path, opset=opset, softmax=softmax)


def from_onnx(path: str | os.PathLike[str], *, loss: str | None = None) -> Network:
    """Reads an ONNX model (one input, one output, float32) as a neuroplast network.

    The model is checked with ``onnx.checker`` first. Supported operators: Gemm (``transA =
    0``; ``alpha``/``beta`` folded into the weights), MatMul with a constant matrix (followed
    by an Add of a constant vector: the bias), Conv, BatchNormalization (inference),
    Relu, LeakyRelu, Sigmoid, Tanh, Clip(-1, 1), MaxPool, AveragePool, GlobalAveragePool,
    Flatten (``axis = 1``), Reshape to ``(N, -1)``, Identity, Dropout, Add/Sum, Concat on the
    channel axis, and a final Softmax (dropped: the network returns logits). Opsets 11 to the
    installed onnx's newest are read.

    Args:
        path: The ``.onnx`` file.
        loss: The training loss; ``None`` takes the one :func:`to_onnx` recorded in the file's
            metadata, else ``"cross_entropy"``.

    Raises:
        ModelFileError: The file is missing, not ONNX, corrupt or fails the checker.
        OpsetError: The model's opset is outside the supported range.
        UnsupportedOpError: An operator or attribute without an exact neuroplast form.
        MissingDependencyError: onnx is not installed.

    Example:
        >>> import os, tempfile
        >>> from neuroplast import Network, Spec, interop
        >>> net = Network.init(Spec.mlp(4, [8], 3), seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
        >>> _ = interop.to_onnx(net, path)
        >>> interop.from_onnx(path).spec == net.spec
        True
    """
    require("onnx")
    from neuroplast.interop._onnx_in import from_onnx as convert

    return convert(path, loss=loss)
