"""The neuroplast exception hierarchy.

Every error neuroplast raises on bad input is a :class:`NeuroplastError`. The subclasses also
derive from the matching built-in exception (``ValueError``, ``TypeError``, ...) so code that
already catches those keeps working. The Rust core maps its single error enum onto these
classes in one place (``rust/neuroplast-py/src/errors.rs``).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DTypeError",
    "DataError",
    "InteropError",
    "InvalidMorphismError",
    "NeuroplastError",
    "NumericalError",
    "ResourceLimitError",
    "SerializationError",
    "ShapeError",
    "SpecError",
]


class NeuroplastError(Exception):
    """Base class of every error raised by neuroplast."""


class ShapeError(NeuroplastError, ValueError):
    """An array has the wrong number of dimensions or the wrong size along one of them."""


class DataError(NeuroplastError, ValueError):
    """Data are invalid: empty, non-finite (NaN/Inf), labels out of range, or unavailable."""


class DTypeError(DataError, TypeError):
    """An array has a dtype that cannot be converted safely (e.g. complex, object, float labels)."""


class SpecError(NeuroplastError, ValueError):
    """A network specification is inconsistent (unknown inputs, width mismatch, cycles, ...)."""


class ConfigError(NeuroplastError, ValueError):
    """A hyperparameter or argument is out of range (e.g. ``lr <= 0``, ``batch_size < 1``)."""


class InvalidMorphismError(NeuroplastError, ValueError):
    """A structural edit cannot be applied (e.g. removing the output layer or too many units)."""


class ResourceLimitError(ConfigError, MemoryError):
    """A request needs more memory, parameters, units, threads or file bytes than allowed.

    Raised before anything is allocated, with how much the request would need and the limit
    it exceeds (see :mod:`neuroplast.limits`), and also when an allocation fails. Also a
    :class:`ConfigError` (the request is out of range) and a :class:`MemoryError`.
    """


class NumericalError(NeuroplastError, ArithmeticError):
    """A computation produced non-finite values (e.g. training diverged) or failed to converge."""


class SerializationError(NeuroplastError, OSError):
    """A saved model file is corrupt, truncated, of an unknown format version or mismatched."""


class InteropError(NeuroplastError, ValueError):
    """A model cannot be converted to or from another framework (PyTorch, ONNX).

    Raised for an unsupported module or operator, a corrupt or unreadable model file, an
    unsupported ONNX opset, or a missing optional dependency; the subclasses in
    :mod:`neuroplast.interop` tell these apart.
    """
