"""The paper's baseline: the starting network trained for the Surgeon's epochs without surgery."""

from __future__ import annotations

from typing import Any

from neuroplast import get_num_threads
from neuroplast.errors import NumericalError
from neuroplast.network import Network
from neuroplast.search._evaluate import shared_data
from neuroplast.search._splits import Splits
from neuroplast.search.surgeon._train import Trainer, TrainJob
from neuroplast.search.surgeon.config import SurgeonConfig

__all__ = ["baseline", "train_baseline"]

Curve = tuple[tuple[float, float], ...]


def train_baseline(trainer: Trainer, net: Network, epochs: int) -> tuple[Network, Curve]:
    """``net`` trained for ``epochs`` on ``trainer``'s batch stream, and its validation curve.

    Raises:
        NumericalError: Training diverged.
    """
    (out,) = trainer([TrainJob(net, 0, epochs * trainer.batches_per_epoch, curve=True)])
    if out.net is None:
        raise NumericalError(f"baseline training diverged: {out.error}")
    return out.net, out.curve


def baseline(
    net: Network,
    data: Any,
    config: SurgeonConfig | None = None,
    *,
    seed: int = 0,
    threads: int | None = None,
) -> tuple[Network, Curve]:
    """The baseline of the paper: ``net`` trained for ``total_epochs`` with the same settings.

    Same SGD, batch size and batch stream as a Surgeon run with this ``seed``, so the baseline
    and the Surgeon's identity lineage see the same batches (a Surgeon run with
    ``config.baseline`` trains it too, as :attr:`SurgeonResult.baseline_curve`).

    Args:
        net: The start network (not modified).
        data: Anything :meth:`Splits.coerce <neuroplast.search.Splits.coerce>` accepts; the
            curve is measured on its validation split.
        config: The Surgeon's settings (default: the paper's).
        seed: The Surgeon run's seed.
        threads: Engine threads (default: ``config.threads``, else the current count).

    Returns:
        ``(trained network, (epoch, validation accuracy) per epoch)``.

    Example:
        >>> from neuroplast import Network, Spec, data
        >>> ds = data.load("digits", seed=0)
        >>> net = Network.init(Spec.mlp(64, [10], 10), seed=0)
        >>> trained, curve = baseline(net, ds, SurgeonConfig.fast(total_epochs=2, initial_epochs=1))
        >>> [epoch for epoch, _ in curve]
        [1.0, 2.0]
    """
    cfg = config or SurgeonConfig.paper()
    splits = Splits.coerce(data, seed=seed)
    n_threads = threads or cfg.threads or get_num_threads()
    with shared_data(splits.X_train, splits.y_train, splits.X_val, splits.y_val) as ref:
        trainer = Trainer(ref, len(splits.X_train), cfg, seed=seed, threads=n_threads)
        return train_baseline(trainer, net, cfg.total_epochs)
