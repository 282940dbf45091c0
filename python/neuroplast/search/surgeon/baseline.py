"""The paper's baseline: the starting network trained for the Surgeon's epochs without surgery."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neuroplast import get_num_threads
from neuroplast.errors import NumericalError
from neuroplast.morph import EditRecord
from neuroplast.network import Network
from neuroplast.search._evaluate import shared_data
from neuroplast.search.surgeon._train import Trainer, TrainJob
from neuroplast.search.surgeon.config import SurgeonConfig

__all__ = ["baseline"]


def baseline(
    net: Network,
    X_train: npt.ArrayLike,
    y_train: npt.ArrayLike,
    X_val: npt.ArrayLike,
    y_val: npt.ArrayLike,
    config: SurgeonConfig | None = None,
    *,
    seed: int = 0,
    threads: int | None = None,
) -> tuple[Network, tuple[tuple[float, float], ...], EditRecord | None]:
    """The baseline of the paper: ``net`` trained for ``total_epochs`` with the same settings.

    Same SGD, batch size and batch stream as a Surgeon run with this ``seed``, so the baseline
    and the Surgeon's identity lineage see the same batches.

    Returns:
        ``(trained network, (epoch, validation accuracy) per epoch, None)``.
    """
    cfg = config or SurgeonConfig.paper()
    Xt = np.asarray(X_train)
    with shared_data(Xt, np.asarray(y_train), np.asarray(X_val), np.asarray(y_val)) as data:
        trainer = Trainer(
            data,
            len(Xt),
            cfg,
            seed=seed,
            threads=threads or get_num_threads(),
        )
        (out,) = trainer([TrainJob(net, 0, cfg.total_epochs * trainer.batches_per_epoch, True)])
    if out.net is None:
        raise NumericalError(f"baseline training diverged: {out.error}")
    return out.net, out.curve, None
