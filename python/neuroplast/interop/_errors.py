"""Typed errors of :mod:`neuroplast.interop` and the lazy import of optional dependencies."""

from __future__ import annotations

import importlib
from types import ModuleType

from neuroplast.errors import InteropError, SerializationError

__all__ = [
    "InteropError",
    "MissingDependencyError",
    "ModelFileError",
    "OpsetError",
    "UnsupportedOpError",
    "require",
]


class UnsupportedOpError(InteropError):
    """A module, function or operator has no exact neuroplast equivalent.

    Attributes:
        op: The operator or module type, e.g. ``"GELU"`` or ``"Resize"``.
        where: Where it was found: a module path, a graph node or a neuroplast node name.

    Example:
        >>> err = UnsupportedOpError("GELU", "module 'features.2'")
        >>> err.op, str(err)
        ('GELU', "module 'features.2': unsupported op GELU")
    """

    def __init__(self, op: str, where: str, detail: str = "") -> None:
        self.op = op
        self.where = where
        message = f"{where}: unsupported op {op}"
        super().__init__(f"{message} ({detail})" if detail else message)


class ModelFileError(InteropError, SerializationError):
    """A model file is missing, unreadable, corrupt or fails the format's own checker."""


class OpsetError(InteropError):
    """An ONNX opset outside the range this converter reads or writes."""


class MissingDependencyError(InteropError, ImportError):
    """An optional dependency (``torch``, ``onnx``, ``onnxruntime``) is not installed."""


_EXTRAS = {"torch": "torch", "onnx": "onnx", "onnxruntime": "onnx"}


def require(name: str) -> ModuleType:
    """Imports the optional dependency ``name``, or raises :class:`MissingDependencyError`.

    The message says how to install it (``pip install 'neuroplast[<extra>]'``).

    Example:
        >>> require("json").__name__
        'json'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        extra = _EXTRAS.get(name.split(".")[0], name)
        raise MissingDependencyError(
            f"{name} is needed for this conversion but is not installed; install it with "
            f"`pip install 'neuroplast[{extra}]'` (or `pip install {name.split('.')[0]}`)"
        ) from exc
