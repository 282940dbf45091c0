"""neuroplast in the orchestrator process, and the in-process correctness reference."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .environment import blas_limits
from .reference import LOSS_RTOL, check_ok, compare_params, numpy_epoch, param_dict, param_list
from .timing import calibrate, measure


class Local:
    """neuroplast in the orchestrator process."""

    def __init__(
        self, npl: Any, spec: Any, init: dict[str, np.ndarray], x: Any, y: Any, lr: float
    ) -> None:
        self.npl, self.spec, self.init, self.x, self.y, self.lr = npl, spec, init, x, y, lr
        self.fit_overhead_s: dict[int, float] = {}

    def _setup(self) -> tuple[Any, Any]:
        return self.npl.Network(self.spec, self.init), self.npl.SGD(lr=self.lr)

    def _body(self, batch: int) -> Callable[[tuple[Any, Any]], float]:
        def body(st: tuple[Any, Any]) -> float:
            net, opt = st
            hist = net.fit(
                self.x, self.y, epochs=1, batch_size=batch, optimizer=opt, seed=0, shuffle=False
            )
            return float(hist.loss[0])

        return body

    def calibrate(self, batch: int, sample_s: float) -> int:
        inner = calibrate(self._setup, self._body(batch), sample_s)
        overhead = []  # fixed cost of one fit() call: argument checks, copies, engine set-up
        for _ in range(5):
            net, opt = self._setup()
            t0 = time.perf_counter()
            net.fit(self.x, self.y, epochs=0, batch_size=batch, optimizer=opt, shuffle=False)
            overhead.append(time.perf_counter() - t0)
        self.fit_overhead_s[batch] = statistics.median(overhead)
        return inner

    def sample(self, batch: int, inner: int) -> dict[str, Any]:
        return measure(self._setup, self._body(batch), inner)


def neuroplast_epoch(
    npl: Any, spec: Any, init: dict[str, np.ndarray], x: Any, y: Any, batch: int, lr: float
) -> tuple[Any, float]:
    net = npl.Network(spec, init)
    hist = net.fit(
        x, y, epochs=1, batch_size=batch, optimizer=npl.SGD(lr=lr), seed=0, shuffle=False
    )
    return net, hist.loss[0]


def correctness_reference(
    npl: Any,
    spec: Any,
    init: dict[str, np.ndarray],
    xc: np.ndarray,
    yc: np.ndarray,
    batches: list[int],
    lr: float,
    n_layers: int,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """neuroplast params after one epoch on the check subset, asserted against NumPy."""
    refs: dict[str, np.ndarray] = {}
    report: dict[str, Any] = {}
    for b in batches:
        net, loss = neuroplast_epoch(npl, spec, init, xc, yc, b, lr)
        got = {k: np.array(v) for k, v in net.params.items()}
        layers = param_list(init, n_layers)
        with blas_limits(1):
            np_loss = numpy_epoch(layers, xc, yc, b, lr)
        err = compare_params(param_dict(layers), got, init)
        err["loss_neuroplast"], err["loss_numpy"] = loss, np_loss
        assert check_ok(err), f"NumPy reference disagrees with neuroplast at batch {b}: {err}"
        assert abs(loss - np_loss) <= LOSS_RTOL * abs(np_loss), (loss, np_loss)
        report[str(b)] = err
        refs |= {f"ref{b}:{k}": v for k, v in got.items()}
    return refs, report
