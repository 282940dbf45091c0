"""Saving and loading networks in the safetensors layout (no code execution, no pickle).

A file is ``u64 little-endian header length | JSON header | raw little-endian tensor bytes``,
exactly the safetensors format, so other tools can read the tensors. The header's
``__metadata__`` holds the format tag and version, the spec JSON, the optimizer kind and step,
and a CRC-32 of the tensor bytes so corruption is detected instead of loaded silently.
Tensors are named ``param/<name>`` and ``optim/<slot>/<name>``.
"""

from __future__ import annotations

import json
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
        "crc32": str(zlib.crc32(body)),
    }
    raw = json.dumps(header, sort_keys=True).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads the header to 8-byte alignment
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + body)
    os.replace(tmp, path)


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


def _tensors(path: Path, header: dict[str, Any], body: bytes) -> dict[str, np.ndarray[Any, Any]]:
    out: dict[str, np.ndarray[Any, Any]] = {}
    end = 0
    for name, info in sorted(
        ((k, v) for k, v in header.items() if k != "__metadata__"),
        key=lambda kv: kv[1].get("data_offsets", [0])[0] if isinstance(kv[1], dict) else 0,
    ):
        try:
            dtype, shape, (a, b) = (
                info["dtype"],
                tuple(int(d) for d in info["shape"]),
                info["data_offsets"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _fail(path, f"bad entry for tensor {name!r}") from exc
        if dtype != "F32" or a != end or b < a or b > len(body) or b - a != 4 * int(np.prod(shape)):
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
    if meta.get("crc32") != str(zlib.crc32(body)):
        raise _fail(path, "checksum mismatch: the tensor data are corrupt")
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
