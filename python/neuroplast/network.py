"""``Network = (Spec, params[, optimizer state])``: initialization, training and inference."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast import _core
from neuroplast._arrays import (
    as_features,
    as_labels,
    as_mask,
    as_targets,
    check_int,
)
from neuroplast._init import init_params
from neuroplast._params import adopt as _adopt
from neuroplast._params import as_param, checked_state
from neuroplast.errors import ConfigError, ShapeError, SpecError
from neuroplast.history import EpochCallback, History, ProgressCallback
from neuroplast.optim import Adam, Optimizer, OptimizerState
from neuroplast.spec import Spec

__all__ = ["Network"]

F32 = npt.NDArray[np.float32]


_U64_MAX = 2**64 - 1


class Network:
    """A network: an immutable :class:`Spec`, float32 parameters and optional optimizer state.

    ``fit`` replaces the parameters (training in place); the arrays exposed by ``params`` are
    read-only so a network can only change through its methods or a structural edit.

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

    __slots__ = ("_optimizer_state", "_params", "_spec")

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
        self._spec = spec
        self._params = {n: as_param(params[n], shapes[n], f"parameter {n!r}") for n in shapes}
        self._optimizer_state = (
            None if optimizer_state is None else checked_state(optimizer_state, shapes)
        )

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
        return cls(spec, init_params(spec, np.random.default_rng(seed)))

    def fold_batchnorm(self) -> Network:
        """An equivalent network without batch-norm layers (see :func:`~neuroplast.fold`)."""
        from neuroplast.fold import fold_batchnorm

        return fold_batchnorm(self)

    def copy(self) -> Network:
        """An independent copy (parameters and optimizer state)."""
        state = self._optimizer_state.copy() if self._optimizer_state else None
        return Network(self._spec, self._params, state)

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
        return self._optimizer_state

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
        return [self._params[n].reshape(-1) for n in self._spec.param_shapes]

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
    ) -> History:
        """Trains in place for ``epochs`` epochs in one engine call (GIL released).

        Args:
            X: ``(n, n_inputs)`` or ``(n, *input_shape)`` features.
            y: Integer labels ``(n,)`` for cross-entropy, float targets for MSE.
            epochs: Number of passes over the data.
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

        Returns:
            The :class:`History` of this call.

        Raises:
            ShapeError, DTypeError, DataError: Invalid data (wrong shapes, NaN/Inf, labels
                out of range, empty).
            ConfigError: Invalid hyperparameters.
            NumericalError: Training diverged; the network is left unchanged.
        """
        epochs = check_int(epochs, "epochs", 0, 2**63 - 1)
        batch_size = check_int(batch_size, "batch_size", 1, 2**63 - 1)
        seed = check_int(seed, "seed", 0, _U64_MAX)
        initial_epoch = check_int(initial_epoch, "initial_epoch", 0, _U64_MAX - epochs)
        opt = Adam() if optimizer is None else optimizer
        if not hasattr(opt, "slot_names"):
            raise ConfigError(f"optimizer must be SGD, Adam or AdamW, got {opt!r}")
        xs = as_features(X, self._spec)
        yc, yv = self._targets(y, xs.shape[0], "y")
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple) or len(validation_data) != 2:
                raise ConfigError("validation_data must be a tuple (X_val, y_val)")
            vx = as_features(validation_data[0], self._spec, "X_val")
            val = (vx, *self._targets(validation_data[1], vx.shape[0], "y_val"))
        names = list(self._spec.param_shapes)
        state = self._optimizer_state
        if state is not None and not state.compatible_with(opt, self._spec.param_shapes):
            state = None
        slots = (
            []
            if state is None
            else [[state.slots[n][k].reshape(-1) for k in opt.slot_names] for n in names]
        )
        cb = ProgressCallback(epochs, callback, progress) if progress or callback else None
        try:
            params, new_slots, step, records = _core.fit(
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
            )
        finally:
            if cb is not None:
                cb.close()
        shapes = self._spec.param_shapes
        # Fresh arrays from the engine, already checked finite there: adopt them as they are.
        self._params = {n: _adopt(p, shapes[n]) for n, p in zip(names, params, strict=True)}
        self._optimizer_state = OptimizerState(
            opt.kind,
            int(step),
            {
                n: {k: _adopt(s, shapes[n]) for k, s in zip(opt.slot_names, sl, strict=True)}
                for n, sl in zip(names, new_slots, strict=True)
            },
        )
        history = History()
        for record in records:
            history.append(record)
        history.stopped_early = len(history) < epochs
        return history

    # ----------------------------------------------------------------- inference
    def forward(self, X: npt.ArrayLike, *, masks: Mapping[str, npt.ArrayLike] | None = None) -> F32:
        """Raw network outputs (logits for cross-entropy), shape ``(n, n_outputs)``."""
        xs = as_features(X, self._spec)
        out = _core.predict(self._spec._wire, self._flat_params(), self._masks(masks), xs)
        return out.reshape(xs.shape[0], self._spec.n_outputs)

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
        """Mean ``loss`` and, for classification, ``accuracy`` on ``(X, y)``."""
        xs = as_features(X, self._spec)
        yc, yv = self._targets(y, xs.shape[0], "y")
        res: dict[str, float] = _core.evaluate(
            self._spec._wire, self._flat_params(), self._masks(masks), xs, yc, yv
        )
        return res

    def gradients(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        masks: Mapping[str, npt.ArrayLike] | None = None,
    ) -> tuple[float, dict[str, F32]]:
        """Mean loss on ``(X, y)`` and its gradient for every parameter (one full batch).

        The same forward/backward the engine uses in ``fit``; useful for gradient checks and
        gradient-based unit scoring.
        """
        xs = as_features(X, self._spec)
        yc, yv = self._targets(y, xs.shape[0], "y")
        loss, grads = _core.gradients(
            self._spec._wire, self._flat_params(), self._masks(masks), xs, yc, yv
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
        xs = as_features(X, self._spec)
        names = _node_names(nodes)
        values = _core.node_values(
            self._spec._wire, self._flat_params(), self._masks(masks), xs, names, bool(pre)
        )
        shapes = [self._node_shape(n) for n in names]
        return {
            n: v.reshape(xs.shape[0], *sh) for n, v, sh in zip(names, values, shapes, strict=True)
        }

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


def _node_names(nodes: Sequence[str]) -> list[str]:
    if isinstance(nodes, str) or not all(isinstance(n, str) for n in nodes):
        raise ConfigError(f"nodes must be a sequence of node names, got {nodes!r}")
    return list(nodes)
