"""Edit records (what an edit did and what it promises) and replayable edit logs.

Example:
    >>> from neuroplast import Network, Spec
    >>> from neuroplast.morph import EditLog, widen
    >>> net = Network.init(Spec.mlp(4, [6], 3), seed=0)
    >>> wide, rec = widen(net, "dense_0", 2, seed=1)
    >>> rec.contract, wide.spec.widths["dense_0"]
    ('exact', 8)
    >>> again = EditLog((rec,)).replay(net)
    >>> all((again.params[k] == wide.params[k]).all() for k in wide.params)
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, InvalidMorphismError

if TYPE_CHECKING:
    from neuroplast.network import Network

__all__ = [
    "Calibration",
    "Contract",
    "Distortion",
    "EditLog",
    "EditRecord",
    "measure",
    "split_calibration",
]

#: ``"exact"``: the function is preserved for every input (under the stated conditions, which
#: the edit checked on this network); ``"approximate"``: it may change.
Contract = Literal["exact", "approximate"]
#: Calibration data: inputs ``X`` alone, or a tuple ``(X, y)`` whose labels ``y`` may be
#: ``None``. Without labels no accuracy is reported. A tuple is always read as ``(X, y)``, so
#: pass ``X`` itself as an array (or a list), not as a tuple of samples.
Calibration = npt.ArrayLike | tuple[npt.ArrayLike, npt.ArrayLike | None]


def split_calibration(calibration: Calibration) -> tuple[npt.ArrayLike, npt.ArrayLike | None]:
    """``(X, y)`` of calibration data given as ``X`` or ``(X, y)``; ``y`` is ``None`` for ``X``.

    Raises:
        ConfigError: ``calibration`` is a tuple of other than two items.

    Example:
        >>> import numpy as np
        >>> X = np.zeros((2, 3))
        >>> split_calibration(X)[1] is None, split_calibration((X, [0, 1]))[1]
        (True, [0, 1])
    """
    if not isinstance(calibration, tuple):
        return calibration, None
    if len(calibration) != 2:
        raise ConfigError(
            f"calibration must be X or a tuple (X, y), got a tuple of {len(calibration)} items"
        )
    return calibration[0], calibration[1]


@dataclass(frozen=True)
class Distortion:
    """Measured effect of an edit on a calibration batch.

    Attributes:
        max_abs_output: ``max |f(x) − f'(x)|`` over the batch's raw outputs.
        accuracy_before: Accuracy of the unedited network (classification with labels only).
        accuracy_after: Accuracy of the edited network.
    """

    max_abs_output: float
    accuracy_before: float | None = None
    accuracy_after: float | None = None


def check_bound(bound: Sequence[float] | None, discarded: list[float]) -> None:
    """Raises when a recorded ``bound`` (an edit being replayed) is not the recomputed one.

    Raises:
        InvalidMorphismError: ``bound`` is given and differs from ``discarded``.
    """
    if bound is not None and list(bound) != discarded:
        raise InvalidMorphismError(
            f"recorded bound {list(bound)} differs from the recomputed {discarded}"
        )


def measure(before: Network, after: Network, calibration: Calibration) -> Distortion:
    """Distortion of ``after`` relative to ``before`` on ``calibration`` (``X`` or ``(X, y)``).

    Accuracies are reported only with labels and a classification loss, else ``None``.
    """
    X, y = split_calibration(calibration)
    a = before.forward(X).astype(np.float64)
    b = after.forward(X).astype(np.float64)
    gap = float(np.max(np.abs(a - b), initial=0.0))
    if y is None or before.spec.loss != "cross_entropy":
        return Distortion(gap)
    acc = (before.evaluate(X, y)["accuracy"], after.evaluate(X, y)["accuracy"])
    return Distortion(gap, float(acc[0]), float(acc[1]))


@dataclass(frozen=True)
class EditRecord:
    """One applied edit: its name and arguments, its contract and measured distortion.

    Attributes:
        name: The edit (``"widen"``, ``"narrow"``, ``"deepen"``).
        args: JSON-compatible keyword arguments that reproduce the edit bit-for-bit
            (seeds included, calibration data excluded).
        contract: ``"exact"`` or ``"approximate"``.
        conditions: Why the contract holds (activation conditions) or why it may not.
        distortion: Measured effect when calibration data was passed, else ``None``.
    """

    name: str
    args: Mapping[str, Any]
    contract: Contract
    conditions: str
    distortion: Distortion | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (see :meth:`from_dict`)."""
        d = None if self.distortion is None else self.distortion.__dict__.copy()
        return {
            "name": self.name,
            "args": dict(self.args),
            "contract": self.contract,
            "conditions": self.conditions,
            "distortion": d,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EditRecord:
        """Inverse of :meth:`to_dict`."""
        try:
            dist = d.get("distortion")
            return cls(
                d["name"],
                dict(d["args"]),
                d["contract"],
                d["conditions"],
                None if dist is None else Distortion(**dist),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"malformed edit record {d!r}: {exc}") from exc


@dataclass(frozen=True)
class EditLog:
    """An ordered sequence of edit records that replays from the initial network.

    Every edit is deterministic given its arguments, so :meth:`replay` reproduces the final
    network (parameters and optimizer state) bit-for-bit.
    """

    records: tuple[EditRecord, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))

    def append(self, record: EditRecord) -> EditLog:
        """A new log with ``record`` at the end."""
        return EditLog((*self.records, record))

    def __len__(self) -> int:
        return len(self.records)

    def replay(self, net: Network) -> Network:
        """Applies every recorded edit, in order, to ``net``."""
        from neuroplast.morph import EDITS

        for rec in self.records:
            if rec.name not in EDITS:
                raise InvalidMorphismError(f"unknown edit {rec.name!r} in the log")
            net, _ = EDITS[rec.name](net, **rec.args)
        return net

    def to_json(self) -> str:
        """JSON text of the log (see :meth:`from_json`)."""
        return json.dumps([r.to_dict() for r in self.records], sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EditLog:
        """Inverse of :meth:`to_json`."""
        try:
            items: Sequence[Mapping[str, Any]] = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfigError(f"edit log is not valid JSON: {exc}") from exc
        return cls(tuple(EditRecord.from_dict(d) for d in items))
