"""What a built :class:`~neuroplast.Network` does: inference, gradients and persistence.

``Network`` inherits these methods from :class:`NetworkOps`; none of them changes the network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from neuroplast import _core, _infer
from neuroplast._arrays import as_features, as_labels, as_mask, as_targets, as_weight_mask
from neuroplast._fit_args import _node_names, distillation
from neuroplast.errors import ConfigError
from neuroplast.optim import OptimizerState
from neuroplast.spec import Spec

if TYPE_CHECKING:
    from neuroplast.network import Network

__all__ = ["NetworkOps"]

F32 = npt.NDArray[np.float32]


class NetworkOps:
    """Inference, gradients and persistence of :class:`~neuroplast.Network` (its base class)."""

    __slots__ = ()

    _spec: Spec
    _state: tuple[dict[str, F32], OptimizerState | None]

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

    def _weight_masks(self, masks: Mapping[str, npt.ArrayLike] | None) -> list[F32 | None]:
        """``fit``'s weight masks as engine slots, one per parameter (``[]`` for none)."""
        if not masks:
            return []
        shapes = self._spec.param_shapes
        unknown = sorted(set(masks) - set(shapes))
        if unknown:
            raise ConfigError(f"weight_masks name no parameter of the network: {unknown}")
        slots: list[F32 | None] = [None] * len(shapes)
        for i, (name, shape) in enumerate(shapes.items()):
            if name not in masks:
                continue
            slots[i] = as_weight_mask(masks[name], tuple(shape), f"weight mask for {name!r}")
        return slots

    def _targets(self, y: Any, n: int, what: str) -> tuple[Any, Any]:
        if self._spec.loss == "cross_entropy":
            return as_labels(y, n, what), None
        return None, as_targets(y, n, self._spec.n_outputs, what)

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
            >>> from neuroplast import Network, Spec
            >>> net = Network.init(Spec.mlp(3, [4], 2), seed=0)
            >>> X, y = np.ones((5, 3), np.float32), np.zeros(5, np.int64)
            >>> loss, grads = net.gradients(X, y, teacher=np.zeros((5, 2)), alpha=0.0)
            >>> loss == net.gradients(X, y)[0], grads["output.weight"].shape
            (True, (2, 4))
        """
        xs = as_features(X, self._spec)
        yc, yv = self._targets(y, xs.shape[0], "y")
        distill = distillation(self._spec, teacher, xs, temperature, alpha)
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

        save(cast("Network", self), path)  # NetworkOps is only ever a Network's base

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Network:
        """Reads a network written by :meth:`save`."""
        from neuroplast.io import load

        return load(path)
