"""Loading and exporting networks by file suffix (what the CLI's ``--model``/``--export`` use)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from neuroplast.errors import InteropError
from neuroplast.network import Network

__all__ = ["SUFFIXES", "export", "load_model"]

#: File suffixes :func:`load_model` reads and :func:`export` writes.
SUFFIXES: tuple[str, ...] = (".npl", ".onnx")


def _suffix(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InteropError(
            f"cannot tell the format of {os.fspath(path)!r} from its suffix; expected one of "
            f"{', '.join(SUFFIXES)} (neuroplast file or ONNX)"
        )
    return suffix


def load_model(path: str | os.PathLike[str], *, loss: str | None = None) -> Network:
    """Reads a network from a neuroplast file (``.npl``) or an ONNX model (``.onnx``).

    Args:
        path: The file; its suffix picks the reader.
        loss: Training loss of an ONNX model (``None``: the one recorded by
            :func:`~neuroplast.interop.to_onnx`, else cross-entropy); ``.npl`` files carry
            their own.

    Raises:
        InteropError: Unknown suffix, or an ONNX model that cannot be converted (see
            :func:`~neuroplast.interop.from_onnx`).
        SerializationError: A corrupt ``.npl`` file.

    Example:
        >>> import os, tempfile
        >>> from neuroplast import Network, Spec
        >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
        >>> export(Network.init(Spec.mlp(4, [8], 3), seed=0), path)
        >>> load_model(path).spec.widths["dense_0"]
        8
    """
    if _suffix(path) == ".npl":
        if loss is not None:
            raise InteropError(".npl files carry their own loss; loss must be None")
        return Network.load(path)
    from neuroplast.interop import from_onnx

    return from_onnx(path, loss=loss)


def export(net: Network, path: str | os.PathLike[str], **options: Any) -> None:
    """Writes ``net`` to ``path`` in the format its suffix names (``.npl`` or ``.onnx``).

    Args:
        net: The network.
        path: The destination; written atomically.
        **options: For ``.onnx``: ``opset`` and ``softmax`` of
            :func:`~neuroplast.interop.to_onnx`; ``.npl`` takes none.

    Raises:
        InteropError: Unknown suffix, options for a format that has none, or a network that
            the format cannot express.

    Example:
        >>> import os, tempfile
        >>> from neuroplast import Network, Spec
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npl")
        >>> export(Network.init(Spec.mlp(4, [8], 3), seed=0), path)
        >>> os.path.exists(path)
        True
    """
    if _suffix(path) == ".npl":
        if options:
            raise InteropError(f".npl files take no export options, got {sorted(options)}")
        net.save(path)
        return
    unknown = set(options) - {"opset", "softmax"}
    if unknown:
        raise InteropError(f"unknown ONNX export options {sorted(unknown)}; use opset, softmax")
    from neuroplast.interop import to_onnx

    to_onnx(net, path, **options)
