"""``Network = (Spec, params[, optimizer state])``: initialization, training and inference."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast import _core, _infer
from neuroplast._arrays import (
    as_features,
    as_labels,
    as_mask,
    as_ndim,
    as_targets,
    check_int,
    to_float32,
)
from neuroplast._init import init_params
from neuroplast._lock import FitLock
from neuroplast._params import adopt as _adopt
from neuroplast._params import as_param, checked_state
from neuroplast.errors import ConfigError, ShapeError, SpecError
from neuroplast.history import EpochCallback, History, ProgressCallback
from neuroplast.limits import check_bytes
from neuroplast.optim import Adam, Optimizer, OptimizerState
from neuroplast.spec import Spec

__all__ = ["Network"]

F32 = npt.NDArray[np.float32]


_U64_MAX = 2**64 - 1
_MONITORS = ("val_loss", "val_accuracy")
#: Memory of one epoch's history record (engine record, Python dict and list entry), rounded up.
_RECORD_BYTES = 512


class Network:
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

    # ----------------------------------------------------------------- engine plumbing
    def _flat_params(self) -> list[F32]:
        params = self._state[0]  # one snapshot: a concurrent fit swaps the whole tuple
        return [params[n].reshape(-1) for n in self._spec.param_shapes]

    def _masks(self, masks: Mapping[str, npt.ArrayLike] | None) -> list[F32 | None]:
        slots: list[F32 | None] = [None] * (len(self._spec.nodes) + 1)
        for name, m in (masks or {}).items():
            index = self._spec.node_index(name)
            slots[index] = as_mask(m, self._spec.widths[name], f"mask for {name!r}")
        return slots

    def _targets(self, y: Any, n: int, what: str) -> tuple[Any, Any]:
        if self._spec.loss == "cross_entropy":
            return as_labels(y, n, what), None
        return None, as_targets(y, n, self._spec.n_outputs, what)

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

        Returns:
            The :class:`History` of this call; with early stopping, ``best_epoch`` is the index
            (as in ``History.epoch``) of the best epoch, and ``stopped_early`` tells whether
            fewer than ``epochs`` epochs ran.

        Raises:
            ShapeError, DTypeError, DataError: Invalid data (wrong shapes, NaN/Inf, labels
                out of range, empty), teacher logits not ``(n, n_classes)`` or not finite.
            ConfigError: Invalid hyperparameters; early stopping without validation data;
                a teacher for a regression network.
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
            epochs = check_int(epochs, "epochs", 0, 2**63 - 1)
            batch_size = check_int(batch_size, "batch_size", 1, 2**63 - 1)
            seed = check_int(seed, "seed", 0, _U64_MAX)
            initial_epoch = check_int(initial_epoch, "initial_epoch", 0, _U64_MAX - epochs)
            opt = Adam() if optimizer is None else optimizer
            if not hasattr(opt, "slot_names"):
                raise ConfigError(f"optimizer must be SGD, Adam or AdamW, got {opt!r}")
            if monitor not in _MONITORS:
                raise ConfigError(f"monitor must be 'val_loss' or 'val_accuracy', got {monitor!r}")
            rate = _real(dropout, "dropout")
            if not 0.0 <= rate < 1.0:
                raise ConfigError(f"dropout must be in [0, 1), got {dropout!r}")
            early = None
            if patience is None and callback is None:
                # One history record per epoch, and nothing that could stop the loop early.
                check_bytes(_RECORD_BYTES * epochs, f"the history of {epochs} epochs")
            if patience is not None:
                patience = check_int(patience, "patience", 1, 2**64 - 1)
                early = (monitor, patience, _real(min_delta, "min_delta"), _flag(restore_best))
            xs = as_features(X, self._spec)
            yc, yv = self._targets(y, xs.shape[0], "y")
            distill = None
            if teacher is not None:
                logits = self._teacher_logits(teacher, xs)
                distill = (logits, _real(temperature, "temperature"), _real(alpha, "alpha"))
            val = None
            if validation_data is not None:
                if not isinstance(validation_data, tuple) or len(validation_data) != 2:
                    raise ConfigError("validation_data must be a tuple (X_val, y_val)")
                vx = as_features(validation_data[0], self._spec, "X_val")
                val = (vx, *self._targets(validation_data[1], vx.shape[0], "y_val"))
            names = list(self._spec.param_shapes)
            state = self._state[1]
            if state is not None and not state.compatible_with(opt, self._spec.param_shapes):
                state = None
            slots = (
                []
                if state is None
                else [[state.slots[n][k].reshape(-1) for k in opt.slot_names] for n in names]
            )
            user = None if callback is None else self._fit_lock.guard(callback)
            cb = ProgressCallback(epochs, user, progress) if progress or callback else None
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
                    opt.to_dict(),
                    epochs,
                    batch_size,
                    seed,
                    shuffle,
                    initial_epoch,
                    cb,
                    early,
                    distill,
                    rate,
                )
            finally:
                if cb is not None:
                    cb.close()
            shapes = self._spec.param_shapes
            # Fresh arrays from the engine, already checked finite there: adopt them as they are.
            new_state = OptimizerState(
                opt.kind,
                int(step),
                {
                    n: {k: _adopt(s, shapes[n]) for k, s in zip(opt.slot_names, sl, strict=True)}
                    for n, sl in zip(names, new_slots, strict=True)
                },
            )
            new_params = {n: _adopt(p, shapes[n]) for n, p in zip(names, params, strict=True)}
            self._state = (new_params, new_state)
            history = History()
            for record in records:
                history.append(record)
            history.stopped_early = bool(stopped_early)
            history.best_epoch = None if best_epoch is None else int(best_epoch)
            return history

    def _teacher_logits(self, teacher: Network | npt.ArrayLike, xs: F32) -> F32:
        """Teacher logits ``(n, n_classes)`` float32 for the flat features ``xs``."""
        if self._spec.loss != "cross_entropy":
            raise ConfigError(
                f"distillation (a teacher) needs a cross-entropy classifier; "
                f"this network's loss is {self._spec.loss!r}"
            )
        if isinstance(teacher, Network):
            if teacher.spec.loss != "cross_entropy":
                raise ConfigError("the teacher network must be a cross-entropy classifier")
            logits: npt.NDArray[Any] = teacher.forward(xs)
        else:
            logits = as_ndim(teacher, "teacher logits", (2,))
        want = (xs.shape[0], self._spec.n_outputs)
        if logits.shape != want:
            raise ShapeError(
                f"teacher logits have shape {logits.shape}; expected {want} "
                "(one row per sample, one column per class)"
            )
        return to_float32(logits)

    # ----------------------------------------------------------------- inference
    def forward(self, X: npt.ArrayLike, *, masks: Mapping[str, npt.ArrayLike] | None = None) -> F32:
        """Raw network outputs (logits for cross-entropy), shape ``(n, n_outputs)``.

        Inputs that need converting (another dtype, a strided or broadcast view) are converted
        in bounded chunks; the outputs are checked against ``max_bytes`` before allocating
        (see :mod:`neuroplast.limits`).
        """
        return _infer.forward(self._spec, self._flat_params(), self._masks(masks), X)

    def predict_proba(self, X: npt.ArrayLike) -> F32:
        """Softmax class probabilities, shape ``(n, n_classes)`` (cross-entropy networks)."""
        if self._spec.loss != "cross_entropy":
            raise ConfigError("predict_proba needs a cross_entropy network; use forward()")
        z = self.forward(X).astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return p.astype(np.float32)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """Class indices ``(n,)`` for cross-entropy networks, outputs for regression."""
        out = self.forward(X)
        if self._spec.loss == "cross_entropy":
            labels: npt.NDArray[np.int64] = out.argmax(axis=1).astype(np.int64)
            return labels
        return out

    def evaluate(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        masks: Mapping[str, npt.ArrayLike] | None = None,
    ) -> dict[str, float]:
        """Mean ``loss`` and, for classification, ``accuracy`` on ``(X, y)``.

        Raises:
            NumericalError: The loss is not finite (the outputs overflow on these inputs).
        """
        params, slots = self._flat_params(), self._masks(masks)
        return _infer.evaluate(
            self._spec, params, slots, X, y, lambda t, n: self._targets(t, n, "y")
        )

    def gradients(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        masks: Mapping[str, npt.ArrayLike] | None = None,
        teacher: Network | npt.ArrayLike | None = None,
        temperature: float = 4.0,
        alpha: float = 0.5,
    ) -> tuple[float, dict[str, F32]]:
        """Mean loss on ``(X, y)`` and its gradient for every parameter (one full batch).

        The same forward/backward the engine uses in ``fit``; useful for gradient checks and
        gradient-based unit scoring. With ``teacher``, ``temperature`` and ``alpha``, the
        distillation loss of :meth:`fit`.

        Example:
            >>> import numpy as np
            >>> net = Network.init(Spec.mlp(3, [4], 2), seed=0)
            >>> X, y = np.ones((5, 3), np.float32), np.zeros(5, np.int64)
            >>> loss, grads = net.gradients(X, y, teacher=np.zeros((5, 2)), alpha=0.0)
            >>> loss == net.gradients(X, y)[0], grads["output.weight"].shape
            (True, (2, 4))
        """
        xs = as_features(X, self._spec)
        yc, yv = self._targets(y, xs.shape[0], "y")
        distill = None
        if teacher is not None:
            logits = self._teacher_logits(teacher, xs)
            distill = (logits, _real(temperature, "temperature"), _real(alpha, "alpha"))
        loss, grads = _core.gradients(
            self._spec._wire, self._flat_params(), self._masks(masks), xs, yc, yv, distill
        )
        shapes = self._spec.param_shapes
        return float(loss), {n: g.reshape(shapes[n]) for n, g in zip(shapes, grads, strict=True)}

    def activations(
        self,
        X: npt.ArrayLike,
        nodes: Sequence[str],
        *,
        pre: bool = False,
        masks: Mapping[str, npt.ArrayLike] | None = None,
    ) -> dict[str, F32]:
        """Outputs of several nodes in one inference pass, each ``(n, *node_shape)``.

        With ``pre=True``, the pre-activations (before the activation and the mask) instead.
        ``"input"`` names the input. Batch normalization uses its running statistics.

        Raises:
            ConfigError: An unknown node name.
        """
        names = _node_names(nodes)
        params, slots = self._flat_params(), self._masks(masks)
        return _infer.node_values(self._spec, params, slots, X, names, bool(pre))

    def node_gradients(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        nodes: Sequence[str],
        *,
        masks: Mapping[str, npt.ArrayLike] | None = None,
    ) -> tuple[float, dict[str, F32]]:
        """Mean loss on ``(X, y)`` and the per-sample gradient of each node's pre-activation.

        ``L`` is the mean loss over the batch (what a training step descends, batch
        normalization in training mode), so row ``i`` is ``(1/n)·∂ℓ_i/∂z_i``; nodes that do
        not reach the output get zeros. Shapes ``(n, *node_shape)``.

        Raises:
            ConfigError: An unknown node name.
        """
        xs = as_features(X, self._spec)
        yc, yv = self._targets(y, xs.shape[0], "y")
        names = _node_names(nodes)
        loss, grads = _core.node_gradients(
            self._spec._wire, self._flat_params(), self._masks(masks), xs, yc, yv, names
        )
        shapes = [self._node_shape(n) for n in names]
        shaped = {
            n: g.reshape(xs.shape[0], *sh) for n, g, sh in zip(names, grads, shapes, strict=True)
        }
        return float(loss), shaped

    def _node_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._spec.input_shape if name == "input" else self._spec.shapes[name])

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes spec, parameters and optimizer state to ``path`` (see :mod:`neuroplast.io`)."""
        from neuroplast.io import save

        save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Network:
        """Reads a network written by :meth:`save`."""
        from neuroplast.io import load

        return load(path)


def _real(value: object, name: str) -> float:
    """``value`` as a Python float (its range is checked by the engine), else ConfigError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ConfigError(f"{name} must be a real number, got {value!r}")
    return float(value)


def _flag(value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"restore_best must be True or False, got {value!r}")
    return bool(value)


def _node_names(nodes: Sequence[str]) -> list[str]:
    if (
        isinstance(nodes, str)
        or not isinstance(nodes, (Sequence, set, frozenset))
        or not all(isinstance(n, str) for n in nodes)
    ):
        raise ConfigError(f"nodes must be a sequence of node names, got {nodes!r}")
    return list(nodes)
