"""Saving and loading networks in the safetensors layout (no code execution, no pickle).

A file is ``u64 little-endian header length | JSON header | raw little-endian tensor bytes``,
exactly the safetensors format, so other tools can read the tensors. The header's
``__metadata__`` holds the format tag and version, the spec JSON, the optimizer kind and step,
and a CRC-32 of the canonical header (without the CRC itself) followed by the tensor bytes,
so corruption anywhere is detected instead of loaded silently.
Tensors are named ``param/<name>`` and ``optim/<slot>/<name>``.

**Saving** writes a unique temporary file in the target's folder, ``fsync``s it and replaces
the target atomically (:mod:`neuroplast._files`): readers see the old or the new file, never a
torn one; concurrent saves to one path all succeed (the last one wins); a failed save leaves
no temporary file. A symbolic link is *followed*: the file it points to is replaced and the
link kept. Every operating-system failure is a :class:`~neuroplast.SerializationError`.

**Loading** checks, before reading the data: the file size against ``max_file_bytes``, the
header length against the file size, the header's JSON depth against ``max_json_depth``
(:mod:`neuroplast.limits`), and that the declared tensors tile exactly the rest of the file.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from neuroplast._files import atomic_write, checked_path
from neuroplast._json import loads as _loads
from neuroplast.errors import NeuroplastError, ResourceLimitError, SerializationError
from neuroplast.limits import check_bytes, get_limits, human_bytes
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec

if TYPE_CHECKING:
    from neuroplast.network import Network

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "save"]

FORMAT = "neuroplast.network"
FORMAT_VERSION = 1
_MAX_HEADER = 64 * 1024 * 1024


def save(net: Network, path: str | os.PathLike[str]) -> None:
    """Writes ``net`` to ``path`` atomically (see the module docstring).

    Raises:
        SerializationError: The file cannot be written (a folder at ``path``, a missing
            parent folder, an invalid name, permissions, a full disk, ...); ``path`` is then
            unchanged and no temporary file is left.

    Example:
        >>> import tempfile, os
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(3, [4], 2), seed=0)
        >>> p = os.path.join(tempfile.mkdtemp(), "net.npl")
        >>> net.save(p); Network.load(p).spec == net.spec
        True
    """
    atomic_write(checked_path(path), encode(net))


def encode(net: Network) -> list[bytes]:
    """The bytes :func:`save` writes for ``net``, as a list of pieces to concatenate."""
    params, state = net._state  # one consistent snapshot, even during a concurrent fit
    tensors: list[tuple[str, np.ndarray[Any, Any]]] = [(f"param/{n}", a) for n, a in params.items()]
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
    header["__metadata__"] = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "spec": net.spec.to_json(),
        "optimizer": "" if state is None else json.dumps({"kind": state.kind, "step": state.step}),
    }
    header["__metadata__"]["crc32"] = str(_checksum(header, chunks))
    raw = json.dumps(header, sort_keys=True).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads the header to 8-byte alignment
    return [struct.pack("<Q", len(raw)), raw, *chunks]


def _checksum(header: dict[str, Any], body: list[bytes] | bytes) -> int:
    meta = {k: v for k, v in header["__metadata__"].items() if k != "crc32"}
    canonical = json.dumps({**header, "__metadata__": meta}, sort_keys=True).encode()
    crc = zlib.crc32(canonical)
    for piece in [body] if isinstance(body, bytes) else body:
        crc = zlib.crc32(piece, crc)
    return crc


def _fail(path: Path, why: str) -> SerializationError:
    return SerializationError(f"{path}: not a valid neuroplast network file ({why})")


def _read_exactly(fh: IO[bytes], n: int, path: Path) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise _fail(path, "file is shorter than its header declares (truncated)")
    return data


def _open(path: Path) -> tuple[IO[bytes], int]:
    """The open file and its size, after the size checks of the resource policy."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except (OSError, ValueError) as exc:
        raise SerializationError(f"cannot read {path}: {exc}") from exc
    try:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SerializationError(f"cannot read {path}: not a regular file")
        limit = get_limits().file_bytes
        if info.st_size > limit:
            raise ResourceLimitError(
                f"{path} is {human_bytes(info.st_size)}, more than the max_file_bytes limit of "
                f"{human_bytes(limit)} (see neuroplast.limits)"
            )
    except BaseException:
        fh.close()
        raise
    return fh, info.st_size


def _read_header(fh: IO[bytes], size: int, path: Path) -> tuple[dict[str, Any], int]:
    """The header and its length, read without touching the tensor data."""
    if size < 8:
        raise _fail(path, "file too short")
    (n,) = struct.unpack("<Q", _read_exactly(fh, 8, path))
    if n > min(_MAX_HEADER, size - 8):
        raise _fail(path, "header length exceeds the file size")
    header = _loads(_read_exactly(fh, n, path), SerializationError, f"the header of {path}")
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__"), dict):
        raise _fail(path, "missing metadata")
    return header, n


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


def _layout(path: Path, header: dict[str, Any], data_bytes: int) -> list[Any]:
    """Header entries sorted by offset, after checking they tile ``data_bytes`` exactly."""
    entries = [(k, *_entry(path, k, v)) for k, v in header.items() if k != "__metadata__"]
    entries.sort(key=lambda e: e[2])
    end = 0
    # Tensors must tile the data section exactly, in offset order, with no gaps or overlaps.
    for name, shape, a, b in entries:
        if a != end or b - a != 4 * math.prod(shape) or b > data_bytes:
            raise _fail(path, f"inconsistent layout of tensor {name!r}")
        end = b
    if end != data_bytes:
        raise _fail(
            path, "trailing or missing tensor bytes: the declared sizes do not match the file size"
        )
    return entries


def _tensors(entries: list[Any], body: bytes) -> dict[str, np.ndarray[Any, Any]]:
    return {
        name: np.frombuffer(body, dtype="<f4", count=(b - a) // 4, offset=a)
        .reshape(shape)
        .astype(np.float32)
        for name, shape, a, b in entries
    }


def load(path: str | os.PathLike[str]) -> Network:
    """Reads a network written by :func:`save`.

    Raises:
        SerializationError: The file cannot be read, or is corrupt, truncated, of another
            format or version, or inconsistent with its spec.
        ResourceLimitError: The file is larger than ``max_file_bytes``, or its tensors need
            more memory than ``max_bytes``.
    """
    from neuroplast.network import Network

    path = checked_path(path)
    fh, size = _open(path)
    with fh:
        header, n = _read_header(fh, size, path)
        entries = _layout(path, header, size - 8 - n)
        check_bytes(3 * (size - 8 - n), f"loading {path}")
        try:
            body = _read_exactly(fh, size - 8 - n, path)
        except OSError as exc:
            raise SerializationError(f"cannot read {path}: {exc}") from exc
    meta = header["__metadata__"]
    if meta.get("format") != FORMAT:
        raise _fail(path, f"format tag is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise _fail(path, f"unsupported format version {meta.get('format_version')!r}")
    if meta.get("crc32") != str(_checksum(header, body)):
        raise _fail(path, "checksum mismatch: the header or tensor data are corrupt")
    tensors = _tensors(entries, body)
    try:
        return _network(Network, meta, tensors, path)
    except (NeuroplastError, KeyError, ValueError, TypeError, AttributeError) as exc:
        if isinstance(exc, (SerializationError, ResourceLimitError)):
            raise
        raise _fail(path, f"content does not match its spec: {exc}") from exc


def _network(
    cls: type[Network], meta: dict[str, Any], tensors: dict[str, Any], path: Path
) -> Network:
    spec = Spec.from_json(meta["spec"])
    params = {k[len("param/") :]: v for k, v in tensors.items() if k.startswith("param/")}
    state = None
    if meta.get("optimizer"):
        opt = _loads(meta["optimizer"], SerializationError, f"the optimizer entry of {path}")
        slots: dict[str, dict[str, np.ndarray[Any, Any]]] = {n: {} for n in params}
        for k, v in tensors.items():
            if k.startswith("optim/"):
                _, slot, pname = k.split("/", 2)
                slots[pname][slot] = v
        state = OptimizerState(str(opt["kind"]), int(opt["step"]), slots)
    return cls(spec, params, state)
