"""Saving and loading networks in the safetensors layout (no code execution, no pickle).

A file is ``u64 little-endian header length | JSON header | raw little-endian tensor bytes``,
exactly the safetensors format, so other tools can read the tensors. The header's
``__metadata__`` holds the format tag and version, the spec JSON, the optimizer kind and step,
and a CRC-32 of the canonical header (without the CRC itself) followed by the tensor bytes,
so corruption anywhere is detected instead of loaded silently.
Tensors are named ``param/<name>`` and ``optim/<slot>/<name>``.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuroplast.errors import NeuroplastError, SerializationError
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec

if TYPE_CHECKING:
    from neuroplast.network import Network

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "save"]

FORMAT = "neuroplast.network"
FORMAT_VERSION = 1
_MAX_HEADER = 64 * 1024 * 1024


def save(net: Network, path: str | os.PathLike[str]) -> None:
    """Writes ``net`` to ``path`` atomically (write to a temporary file, then rename).

    Example:
        >>> import tempfile, os
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(3, [4], 2), seed=0)
        >>> p = os.path.join(tempfile.mkdtemp(), "net.npl")
        >>> net.save(p); Network.load(p).spec == net.spec
        True
    """
    tensors: list[tuple[str, np.ndarray[Any, Any]]] = [
        (f"param/{n}", a) for n, a in net.params.items()
    ]
    state = net.optimizer_state
    if state is not None:
        for n, slots in state.slots.items():
            tensors += [(f"optim/{k}/{n}", a) for k, a in slots.items()]
    header: dict[str, Any] = {}
    chunks: list[bytes] = []
    offset = 0
    for name, arr in tensors:
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    body = b"".join(chunks)
    header["__metadata__"] = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "spec": net.spec.to_json(),
        "optimizer": "" if state is None else json.dumps({"kind": state.kind, "step": state.step}),
    }
    header["__metadata__"]["crc32"] = str(_checksum(header, body))
    raw = json.dumps(header, sort_keys=True).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads the header to 8-byte alignment
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + body)
    os.replace(tmp, path)


def _checksum(header: dict[str, Any], body: bytes) -> int:
    meta = {k: v for k, v in header["__metadata__"].items() if k != "crc32"}
    canonical = json.dumps({**header, "__metadata__": meta}, sort_keys=True).encode()
    return zlib.crc32(body, zlib.crc32(canonical))


def _fail(path: Path, why: str) -> SerializationError:
    return SerializationError(f"{path}: not a valid neuroplast network file ({why})")


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise SerializationError(f"cannot read {path}: {exc}") from exc
    if len(blob) < 8:
        raise _fail(path, "file too short")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > min(_MAX_HEADER, len(blob) - 8):
        raise _fail(path, "header length exceeds the file size")
    try:
        header = json.loads(blob[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"header is not JSON: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__"), dict):
        raise _fail(path, "missing metadata")
    return header, blob[8 + n :]


def _entry(path: Path, name: str, info: object) -> tuple[tuple[int, ...], int, int]:
    """Shape and byte range of one header entry, validated."""
    try:
        assert isinstance(info, dict) and info["dtype"] == "F32"
        shape = tuple(info["shape"])
        a, b = info["data_offsets"]
        assert all(type(v) is int and v >= 0 for v in (*shape, a, b))
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        raise _fail(
            path, f"bad header entry (dtype, shape or offsets) for tensor {name!r}"
        ) from exc
    return shape, a, b


def _tensors(path: Path, header: dict[str, Any], body: bytes) -> dict[str, np.ndarray[Any, Any]]:
    entries = [(k, *_entry(path, k, v)) for k, v in header.items() if k != "__metadata__"]
    out: dict[str, np.ndarray[Any, Any]] = {}
    end = 0
    # Tensors must tile the data section exactly, in offset order, with no gaps or overlaps.
    for name, shape, a, b in sorted(entries, key=lambda e: e[2]):
        if a != end or b - a != 4 * math.prod(shape) or b > len(body):
            raise _fail(path, f"inconsistent layout of tensor {name!r}")
        out[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(shape).astype(np.float32)
        end = b
    if end != len(body):
        raise _fail(path, "trailing or missing tensor bytes")
    return out


def load(path: str | os.PathLike[str]) -> Network:
    """Reads a network written by :func:`save`.

    Raises:
        SerializationError: The file is corrupt, truncated, of another format or version, or
            inconsistent with its spec.
    """
    from neuroplast.network import Network

    path = Path(path)
    header, body = _read(path)
    meta = header["__metadata__"]
    if meta.get("format") != FORMAT:
        raise _fail(path, f"format tag is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise _fail(path, f"unsupported format version {meta.get('format_version')!r}")
    if meta.get("crc32") != str(_checksum(header, body)):
        raise _fail(path, "checksum mismatch: the header or tensor data are corrupt")
    tensors = _tensors(path, header, body)
    try:
        spec = Spec.from_json(meta["spec"])
        params = {k[len("param/") :]: v for k, v in tensors.items() if k.startswith("param/")}
        state = None
        if meta.get("optimizer"):
            opt = json.loads(meta["optimizer"])
            slots: dict[str, dict[str, np.ndarray[Any, Any]]] = {n: {} for n in params}
            for k, v in tensors.items():
                if k.startswith("optim/"):
                    _, slot, pname = k.split("/", 2)
                    slots[pname][slot] = v
            state = OptimizerState(str(opt["kind"]), int(opt["step"]), slots)
        return Network(spec, params, state)
    except (NeuroplastError, KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, SerializationError):
            raise
        raise _fail(path, f"content does not match its spec: {exc}") from exc
