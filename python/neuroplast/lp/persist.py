"""Saving and loading perceptron networks and DAGs as ``.npz`` files (no pickle).

The file holds the arrays plus a ``kind`` tag, the activation and the limits, so a structure
read back predicts exactly like the one written.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from neuroplast.errors import NeuroplastError, SerializationError
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork

__all__ = ["load_perceptron", "save_perceptron"]

_FORMAT = "neuroplast.perceptron.v1"


def save_perceptron(net: PerceptronNetwork | PerceptronDAG, path: str | os.PathLike[str]) -> None:
    """Writes a perceptron network or DAG to ``path`` (NumPy ``.npz``, uncompressed).

    Example:
        >>> import numpy as np, tempfile, os
        >>> net = PerceptronNetwork([np.ones((1, 2))], [np.array([-1.0])])
        >>> path = os.path.join(tempfile.mkdtemp(), "and.npz")
        >>> save_perceptron(net, path)
        >>> load_perceptron(path).biases[0].tolist()
        [-1.0]
    """
    meta: dict[str, Any] = {
        "format": np.array(_FORMAT),
        "activation": np.array(net.activation),
        "limits": np.array(net.limits, dtype=np.float64),
    }
    if isinstance(net, PerceptronNetwork):
        arrays: dict[str, Any] = {f"weight_{k}": w for k, w in enumerate(net.weights)}
        arrays |= {f"bias_{k}": b for k, b in enumerate(net.biases)}
        meta["kind"] = np.array("layers")
    else:
        arrays = {"input_weights": net.input_weights, "links": net.links, "biases": net.biases}
        arrays["outputs"] = np.array(net.outputs, dtype=np.int64)
        meta["kind"] = np.array("dag")
    with open(path, "wb") as fh:
        np.savez(fh, **{**meta, **arrays})


def load_perceptron(path: str | os.PathLike[str]) -> PerceptronNetwork | PerceptronDAG:
    """Reads a file written by :func:`save_perceptron`.

    Raises:
        SerializationError: The file is missing, not an ``.npz`` of this format, or corrupt.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            if "format" not in f or str(f["format"]) != _FORMAT:
                raise SerializationError(f"{os.fspath(path)!r} is not a perceptron file")
            act, limits = str(f["activation"]), tuple(float(v) for v in f["limits"])
            lims = (limits[0], limits[1])
            if str(f["kind"]) == "dag":
                outs = tuple(int(k) for k in f["outputs"])
                return PerceptronDAG(f["input_weights"], f["links"], f["biases"], outs, act, lims)
            n = sum(1 for k in f.files if k.startswith("weight_"))
            ws = tuple(f[f"weight_{k}"] for k in range(n))
            return PerceptronNetwork(ws, tuple(f[f"bias_{k}"] for k in range(n)), act, lims)
    except SerializationError:
        raise
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, NeuroplastError) as exc:
        raise SerializationError(f"cannot read perceptron file {os.fspath(path)!r}: {exc}") from exc
