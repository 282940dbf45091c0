"""``Network = (Spec, params[, optimizer state])``: initialization, training and inference."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import as_features, check_int

# Re-exported names (``_MONITORS`` ... ``_real``) were defined here before the split.
from neuroplast._fit_args import _MONITORS as _MONITORS
from neuroplast._fit_args import _RECORD_BYTES as _RECORD_BYTES
from neuroplast._fit_args import _U64_MAX as _U64_MAX
from neuroplast._fit_args import _flag as _flag
from neuroplast._fit_args import _node_names as _node_names
from neuroplast._fit_args import _real as _real
from neuroplast._fit_args import (
    distillation,
    fit_history,
    fit_options,
    optimizer_slots,
    trained_state,
)
from neuroplast._init import init_params
from neuroplast._lock import FitLock
from neuroplast._network_ops import NetworkOps
from neuroplast._params import as_param, checked_state
from neuroplast.errors import ConfigError, ShapeError, SpecError
from neuroplast.history import EpochCallback, History, ProgressCallback
from neuroplast.limits import check_bytes
from neuroplast.optim import Optimizer, OptimizerState
from neuroplast.spec import Spec

__all__ = ["Network"]

F32 = npt.NDArray[np.float32]


class Network(NetworkOps):
    """A network: an immutable :class:`Spec`, float32 parameters and optional optimizer state.

    ``fit`` replaces the parameters (training in place); the arrays exposed by ``params`` are
    read-only so a network can only change through its methods or a structural edit.

    Thread safety: concurrent ``fit`` calls on one network are serialized (the second trains
    from the first one's result; none is lost), and inference during ``fit`` (``forward``,
    ``predict``, ``evaluate``, ``activations``, ...) sees either the parameters from before
    or those from after that ``fit``, never a mix: parameters and optimizer state are
    replaced together, once, when training ends.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> net = Network.init(Spec.mlp(4, [8], 3), seed=0)
        >>> X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
        >>> y = (X[:, 0] > 0).astype(np.int64)
        >>> hist = net.fit(X, y, epochs=3, batch_size=8, seed=0)
        >>> len(hist), net.predict(X).shape
        (3, (30,))
    """

    __slots__ = ("_fit_lock", "_spec", "_state")

    def __init__(
        self,
        spec: Spec,
        params: Mapping[str, npt.ArrayLike],
        optimizer_state: OptimizerState | None = None,
    ) -> None:
        if not isinstance(spec, Spec):
            raise SpecError(f"spec must be a neuroplast.Spec, got {type(spec).__name__}")
        shapes = spec.param_shapes
        missing, extra = set(shapes) - set(params), set(params) - set(shapes)
        if missing or extra:
            raise ShapeError(
                f"parameters do not match the spec: missing {sorted(missing)}, "
                f"unexpected {sorted(extra)}"
            )
        check_bytes(4 * sum(math.prod(s) for s in shapes.values()), "the parameters")
        self._spec = spec
        own = {n: as_param(params[n], shapes[n], f"parameter {n!r}") for n in shapes}
        state = None if optimizer_state is None else checked_state(optimizer_state, shapes)
        # Parameters and optimizer state live in one tuple, replaced in one assignment.
        self._state: tuple[dict[str, F32], OptimizerState | None] = (own, state)
        self._fit_lock = FitLock()

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild through the constructor (validated, with a fresh lock; locks do not pickle).
        params, state = self._state
        return (type(self), (self._spec, dict(params), state))

    @property
    def _params(self) -> dict[str, F32]:
        return self._state[0]

    # ----------------------------------------------------------------- construction
    @classmethod
    def init(cls, spec: Spec, seed: int = 0) -> Network:
        """Randomly initialized network.

        Dense and conv weights use He-uniform initialization (bound √(6/fan_in)) before
        ReLU-family activations and Glorot-uniform (bound √(6/(fan_in+fan_out))) otherwise;
        biases are 0; batch norm starts as the identity (see :func:`neuroplast._init.init_params`).

        Example:
            >>> Network.init(Spec.mlp(64, [100], 10), seed=1).n_params
            7510
        """
        seed = check_int(seed, "seed", 0, _U64_MAX)
        if not isinstance(spec, Spec):
            raise SpecError(f"spec must be a neuroplast.Spec, got {type(spec).__name__}")
        # float64 draws, their float32 copies and the network's own copies.
        values = sum(math.prod(s) for s in spec.param_shapes.values())
        check_bytes(16 * values, "initializing the parameters")
        return cls(spec, init_params(spec, np.random.default_rng(seed)))

    def fold_batchnorm(self) -> Network:
        """An equivalent network without batch-norm layers (see :func:`~neuroplast.fold`)."""
        from neuroplast.fold import fold_batchnorm

        return fold_batchnorm(self)

    def copy(self) -> Network:
        """An independent copy (parameters and optimizer state)."""
        params, state = self._state
        return Network(self._spec, params, state.copy() if state else None)

    # ----------------------------------------------------------------- properties
    @property
    def spec(self) -> Spec:
        """The network's immutable specification."""
        return self._spec

    @property
    def params(self) -> Mapping[str, F32]:
        """Read-only mapping of parameter name to read-only float32 array."""
        return MappingProxyType(self._params)

    @property
    def optimizer_state(self) -> OptimizerState | None:
        """Optimizer buffers from the last ``fit`` (``None`` before training)."""
        return self._state[1]

    @property
    def n_params(self) -> int:
        """Number of trainable parameters (see :attr:`Spec.n_params`)."""
        return self._spec.n_params

    @property
    def flops(self) -> int:
        """Forward FLOPs per sample (see :attr:`Spec.flops`)."""
        return self._spec.flops

    def __repr__(self) -> str:
        return f"Network({self._spec!r}, n_params={self.n_params})"

    # ----------------------------------------------------------------- training
    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer: Optimizer | None = None,
        seed: int = 0,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        shuffle: bool = True,
        initial_epoch: int = 0,
        masks: Mapping[str, npt.ArrayLike] | None = None,
        callback: EpochCallback | None = None,
        progress: bool = False,
        patience: int | None = None,
        monitor: Literal["val_loss", "val_accuracy"] = "val_loss",
        min_delta: float = 0.0,
        restore_best: bool = True,
        teacher: Network | npt.ArrayLike | None = None,
        temperature: float = 4.0,
        alpha: float = 0.5,
        dropout: float = 0.0,
        weight_masks: Mapping[str, npt.ArrayLike] | None = None,
    ) -> History:
        """Trains in place for ``epochs`` epochs in one engine call (GIL released).

        **Early stopping** (``patience`` set): an epoch *improves* when ``monitor`` is better
        than the best value so far by more than ``min_delta`` (loss lower, accuracy higher);
        training stops after ``patience`` consecutive epochs without improvement. With
        ``restore_best`` the network ends with the parameters *and* optimizer state of the best
        epoch, bitwise those of a run of exactly that many epochs with the same seed. The rule
        and the best-epoch snapshot run inside the engine's epoch loop: no Python call per epoch
        and one copy of the parameters and optimizer buffers per improving epoch.

        **Distillation** (``teacher`` set, Hinton et al. 2015): the training loss per sample is
        ``(1 − α)·CE(y, softmax(z)) + α·T²·KL(softmax(t/T) ‖ softmax(z/T))`` for student logits
        ``z`` and teacher logits ``t`` (computed once up front, aligned with ``X`` and gathered
        with each minibatch). ``T²`` keeps the soft gradient ``α·T·(softmax(z/T) − softmax(t/T))``
        on the scale of the hard one. ``History.loss`` reports this loss; validation metrics stay
        plain cross-entropy and accuracy on ``validation_data``. ``alpha=0`` trains bitwise like
        plain ``fit``.

        **Dropout** (``dropout > 0``, Srivastava et al. 2014): during training every hidden
        dense layer's output is multiplied, per sample and unit, by ``0`` with probability
        ``dropout`` and by ``1 / (1 − dropout)`` otherwise (inverted dropout: inference needs
        no rescaling and is unaffected). The draws depend on ``seed`` and the optimizer step
        only, so a run is reproducible whatever the thread count.

        **Weight masks** (``weight_masks``, as ``torch.nn.utils.prune`` applies them): training
        on a fixed support, e.g. fine-tuning a pruned sparse network. Entries whose mask is 0
        are set to zero before the first step and stay zero: their gradients are dropped
        before every update (optimizer buffers that start at zero stay zero) and the parameter is
        multiplied by the mask after it. Entries whose mask is 1 train bitwise as without
        masks.

        Args:
            X: ``(n, n_inputs)`` or ``(n, *input_shape)`` features.
            y: Integer labels ``(n,)`` for cross-entropy, float targets for MSE.
            epochs: Number of passes over the data (at most; see ``patience``).
            batch_size: Minibatch size (the last batch of an epoch may be smaller).
            optimizer: Update rule; default ``Adam(lr=1e-3)``. Its state is kept on the
                network and continued by later ``fit`` calls with the same kind of optimizer.
            seed: Shuffling seed; epoch ``e`` uses stream ``initial_epoch + e``.
            validation_data: Optional ``(X_val, y_val)`` evaluated after every epoch.
            shuffle: Whether to shuffle samples every epoch.
            initial_epoch: Global index of the first epoch, so that split training runs
                reproduce one long run.
            masks: Per-unit multiplicative masks ``{hidden_node: (units,)}``.
            callback: Called after every epoch with its metrics; return ``False`` to stop.
            progress: Show a progress bar (``tqdm``) over epochs.
            patience: Early stopping: epochs without improvement before stopping (``>= 1``);
                ``None`` turns early stopping off. Needs ``validation_data``.
            monitor: The validation metric early stopping watches: ``"val_loss"`` or
                ``"val_accuracy"`` (classification only).
            min_delta: Smallest change of ``monitor`` that counts as an improvement (``>= 0``).
            restore_best: With early stopping, end with the best epoch's parameters and
                optimizer state (also when all ``epochs`` ran) instead of the last epoch's.
            teacher: Distillation teacher: a cross-entropy :class:`Network` with the same number
                of classes (its logits are ``teacher.forward(X)``) or precomputed logits
                ``(n, n_classes)``. Only for cross-entropy networks.
            temperature: Distillation temperature ``T > 0``.
            alpha: Weight of the soft-target term, in ``[0, 1]``.
            dropout: Dropout rate of the hidden dense layers, in ``[0, 1)``; ``0`` turns it off.
            weight_masks: ``{parameter name: 0/1 array of its shape}`` (e.g.
                ``{"dense_0.weight": W != 0}``); parameters not named train freely.

        Returns:
            The :class:`History` of this call; with early stopping, ``best_epoch`` is the index
            (as in ``History.epoch``) of the best epoch, and ``stopped_early`` tells whether
            fewer than ``epochs`` epochs ran.

        Raises:
            ShapeError, DTypeError, DataError: Invalid data (wrong shapes, NaN/Inf, labels
                out of range, empty), teacher logits not ``(n, n_classes)`` or not finite.
            ConfigError: Invalid hyperparameters; early stopping without validation data;
                a teacher for a regression network; weight masks naming no trainable
                parameter or holding values other than 0 and 1.
            NumericalError: Training diverged; the network is left unchanged.

        Example:
            >>> import numpy as np
            >>> from neuroplast import Network, Spec
            >>> rng = np.random.default_rng(0)
            >>> X = rng.normal(size=(60, 4)).astype(np.float32)
            >>> y = (X[:, 0] > 0).astype(np.int64)
            >>> teacher = Network.init(Spec.mlp(4, [16], 2), seed=0)
            >>> _ = teacher.fit(X, y, epochs=5, seed=0)
            >>> student = Network.init(Spec.mlp(4, [4], 2), seed=0)
            >>> hist = student.fit(X[:40], y[:40], epochs=50, teacher=teacher.forward(X[:40]),
            ...                    validation_data=(X[40:], y[40:]), patience=3, seed=0)
            >>> hist.best_epoch is not None and len(hist) <= 50
            True
        """
        with self._fit_lock:
            o = fit_options(
                epochs=epochs,
                batch_size=batch_size,
                seed=seed,
                initial_epoch=initial_epoch,
                optimizer=optimizer,
                monitor=monitor,
                dropout=dropout,
                patience=patience,
                min_delta=min_delta,
                restore_best=restore_best,
                callback=callback,
            )
            xs = as_features(X, self._spec)
            yc, yv = self._targets(y, xs.shape[0], "y")
            distill = distillation(self._spec, teacher, xs, temperature, alpha)
            val = None
            if validation_data is not None:
                if not isinstance(validation_data, tuple) or len(validation_data) != 2:
                    raise ConfigError("validation_data must be a tuple (X_val, y_val)")
                vx = as_features(validation_data[0], self._spec, "X_val")
                val = (vx, *self._targets(validation_data[1], vx.shape[0], "y_val"))
            shapes = self._spec.param_shapes
            state, slots = optimizer_slots(self._state[1], o.optimizer, shapes)
            user = None if callback is None else self._fit_lock.guard(callback)
            cb = ProgressCallback(o.epochs, user, progress) if progress or callback else None
            try:
                params, new_slots, step, records, best_epoch, stopped_early = _core.fit(
                    self._spec._wire,
                    self._flat_params(),
                    slots,
                    0 if state is None else state.step,
                    xs,
                    yc,
                    yv,
                    val,
                    self._masks(masks),
                    o.optimizer.to_dict(),
                    o.epochs,
                    o.batch_size,
                    o.seed,
                    shuffle,
                    o.initial_epoch,
                    cb,
                    o.early,
                    distill,
                    o.dropout,
                    self._weight_masks(weight_masks),
                )
            finally:
                if cb is not None:
                    cb.close()
            self._state = trained_state(o.optimizer, shapes, params, new_slots, step)
            return fit_history(records, best_epoch, stopped_early)
