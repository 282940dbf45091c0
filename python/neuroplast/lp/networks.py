"""Saturated perceptron networks: layered (:class:`PerceptronNetwork`) and multi-level DAGs.

The engine has no saturation or sign activation, so these networks are evaluated in NumPy
(float64). They are the results of the LP optimizers in :mod:`neuroplast.lp`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, DataError, ShapeError, SpecError
from neuroplast.layers import Dense
from neuroplast.lp._checks import as_matrix, check_limits
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = ["PERCEPTRON_ACTIVATIONS", "PerceptronDAG", "PerceptronNetwork", "saturate"]

F64 = npt.NDArray[np.float64]

#: Node nonlinearities: ``clip(z, lo, hi)``, a hard threshold at the middle of the limits
#: (``hi`` where ``z ≥ (lo + hi) / 2``, else ``lo``), or none.
PERCEPTRON_ACTIVATIONS: tuple[str, ...] = ("saturation", "sign", "linear")


def saturate(z: F64, activation: str, limits: tuple[float, float]) -> F64:
    """Applies a perceptron nonlinearity of :data:`PERCEPTRON_ACTIVATIONS` elementwise."""
    lo, hi = limits
    if activation == "saturation":
        return np.clip(z, lo, hi)
    if activation == "sign":
        return np.where(z >= 0.5 * (lo + hi), hi, lo)
    return z


def _frozen(a: Any, what: str, shape: tuple[int, ...]) -> F64:
    arr = np.array(a, dtype=np.float64)
    if arr.shape != shape:
        raise ShapeError(f"{what} has shape {arr.shape}; expected {shape}")
    if not np.isfinite(arr).all():
        raise DataError(f"{what} contains non-finite values")
    arr.setflags(write=False)
    return arr


def _check_activation(activation: object) -> str:
    if activation not in PERCEPTRON_ACTIVATIONS:
        raise ConfigError(f"activation must be one of {PERCEPTRON_ACTIVATIONS}, got {activation!r}")
    return str(activation)


@dataclass(frozen=True, eq=False)
class PerceptronNetwork:
    """A layered perceptron network ``y = f(W_L f(… f(W_1 x + u_1) …) + u_L)``.

    Every layer, the output layer included, applies the same nonlinearity ``f``.

    Args:
        weights: One ``(units, fan_in)`` matrix per layer; each ``fan_in`` is the previous
            layer's ``units``.
        biases: One ``(units,)`` vector per layer.
        activation: ``"saturation"``, ``"sign"`` or ``"linear"``.
        limits: ``(lo, hi)`` of the nonlinearity.

    Example:
        >>> import numpy as np
        >>> net = PerceptronNetwork([np.array([[1.0, 1.0]])], [np.array([-1.0])])
        >>> net.predict(np.array([[1, 1], [1, -1]])).ravel().tolist()
        [1.0, -1.0]
    """

    weights: tuple[F64, ...]
    biases: tuple[F64, ...]
    activation: str = "saturation"
    limits: tuple[float, float] = (-1.0, 1.0)

    def __post_init__(self) -> None:
        if len(self.weights) == 0 or len(self.weights) != len(self.biases):
            raise ShapeError("a perceptron network needs one bias vector per weight matrix")
        ws: list[F64] = []
        bs: list[F64] = []
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            shape = np.shape(w)
            if len(shape) != 2 or 0 in shape:
                raise ShapeError(f"weights[{k}] must be a non-empty 2-D array, got {shape}")
            if ws and shape[1] != ws[-1].shape[0]:
                raise ShapeError(
                    f"weights[{k}] has fan-in {shape[1]}; layer {k - 1} has {ws[-1].shape[0]}"
                )
            ws.append(_frozen(w, f"weights[{k}]", shape))
            bs.append(_frozen(b, f"biases[{k}]", (shape[0],)))
        object.__setattr__(self, "weights", tuple(ws))
        object.__setattr__(self, "biases", tuple(bs))
        object.__setattr__(self, "activation", _check_activation(self.activation))
        object.__setattr__(self, "limits", check_limits(self.limits))

    @property
    def n_inputs(self) -> int:
        """Number of inputs."""
        return int(self.weights[0].shape[1])

    @property
    def n_outputs(self) -> int:
        """Number of output units."""
        return int(self.weights[-1].shape[0])

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Units per layer, hidden layers first."""
        return tuple(int(w.shape[0]) for w in self.weights)

    @property
    def n_units(self) -> int:
        """Number of perceptrons (hidden and output)."""
        return sum(self.layer_sizes)

    @property
    def n_links(self) -> int:
        """Number of nonzero weights (links between nodes; biases not counted)."""
        return sum(int(np.count_nonzero(w)) for w in self.weights)

    def layer_values(self, X: npt.ArrayLike) -> list[F64]:
        """Outputs of every layer after the nonlinearity, each ``(T, units)``."""
        h = as_matrix(X, "X", self.n_inputs)
        values = []
        for w, b in zip(self.weights, self.biases, strict=True):
            h = saturate(h @ w.T + b, self.activation, self.limits)
            values.append(h)
        return values

    def predict(self, X: npt.ArrayLike) -> F64:
        """Network outputs, shape ``(T, n_outputs)``."""
        return self.layer_values(X)[-1]

    @classmethod
    def from_network(
        cls,
        network: Network,
        activation: str = "saturation",
        limits: tuple[float, float] = (-1.0, 1.0),
    ) -> PerceptronNetwork:
        """The weights of a chain of dense layers read as a perceptron network.

        The network's own activations are replaced by ``activation`` (for ``tanh`` hidden
        units saturation is the piecewise-linear stand-in); its outputs, logits included,
        become perceptron outputs.

        Raises:
            SpecError: The network is not a chain of biased dense layers from the input.
        """
        layers, prev = [], "input"
        for node in network.spec.nodes:
            if not isinstance(node, Dense) or node.input != prev or not node.bias:
                raise SpecError("only chains of biased dense layers can become perceptron nets")
            layers.append(node.name)
            prev = node.name
        if prev != network.spec.output:
            raise SpecError("the output must be the last dense layer of the chain")
        p = network.params
        return cls(
            tuple(p[f"{n}.weight"].astype(np.float64) for n in layers),
            tuple(p[f"{n}.bias"].astype(np.float64) for n in layers),
            activation,
            limits,
        )

    def to_network(self, loss: str = "mse") -> Network:
        """The same network as a neuroplast :class:`~neuroplast.Network`.

        With the limits ``(-1, 1)`` every layer uses the engine's ``"saturation"`` or
        ``"sign"`` activation (or ``"identity"`` for linear networks), so ``predict`` of both
        agree exactly. With other limits only linear networks and one-layer networks convert:
        the layers are ``"identity"`` and, for a one-layer saturated network, ``forward``
        returns the pre-activation ``z`` for the caller to pass through :func:`saturate`.

        Raises:
            ConfigError: Hidden saturation/sign layers with limits other than ``(-1, 1)``.
        """
        native = self.activation != "linear" and tuple(self.limits) == (-1.0, 1.0)
        if self.activation != "linear" and not native and len(self.weights) > 1:
            raise ConfigError(
                f"hidden {self.activation} layers with limits {self.limits} have no engine "
                "activation (the engine's saturation and sign use the limits (-1, 1)); "
                "use PerceptronNetwork.predict"
            )
        act = self.activation if native else "identity"
        names = [f"dense_{k}" for k in range(len(self.weights) - 1)] + ["output"]
        nodes = tuple(
            Dense(name, prev, int(w.shape[0]), act)
            for name, prev, w in zip(names, ["input", *names[:-1]], self.weights, strict=True)
        )
        params: dict[str, F64] = {}
        for name, w, b in zip(names, self.weights, self.biases, strict=True):
            params[f"{name}.weight"], params[f"{name}.bias"] = w, b
        return Network(Spec((self.n_inputs,), nodes, "output", loss), params)


@dataclass(frozen=True, eq=False)
class PerceptronDAG:
    """A multi-level perceptron structure: every node may read the inputs and earlier nodes.

    Node ``k`` computes ``v_k = f(Σ_i W[k, i] x_i + Σ_{l<k} V[l, k] v_l + u_k)``. ``V`` is
    strictly upper triangular (no self-links, no cycles), so nodes are evaluated in order.

    Args:
        input_weights: ``(N, n)`` weights ``W`` from the inputs to the nodes.
        links: ``(N, N)`` strictly upper triangular ``V``; ``V[l, k]`` links node ``l`` to ``k``.
        biases: ``(N,)`` biases ``u``.
        outputs: Indices of the output nodes, in output order.
        activation: ``"saturation"``, ``"sign"`` or ``"linear"``.
        limits: ``(lo, hi)`` of the nonlinearity.
    """

    input_weights: F64
    links: F64
    biases: F64
    outputs: tuple[int, ...]
    activation: str = "saturation"
    limits: tuple[float, float] = (-1.0, 1.0)

    def __post_init__(self) -> None:
        shape = np.shape(self.input_weights)
        if len(shape) != 2 or 0 in shape:
            raise ShapeError(f"input_weights must be a non-empty 2-D array, got {shape}")
        N = shape[0]
        object.__setattr__(self, "input_weights", _frozen(self.input_weights, "W", shape))
        links = _frozen(self.links, "links", (N, N))
        if np.any(np.tril(links) != 0):
            raise ShapeError("links must be strictly upper triangular (no loops, no self-links)")
        object.__setattr__(self, "links", links)
        object.__setattr__(self, "biases", _frozen(self.biases, "biases", (N,)))
        outs = tuple(int(k) for k in self.outputs)
        if not outs or any(not 0 <= k < N for k in outs):
            raise ShapeError(f"outputs must be node indices in [0, {N}), got {self.outputs!r}")
        object.__setattr__(self, "outputs", outs)
        object.__setattr__(self, "activation", _check_activation(self.activation))
        object.__setattr__(self, "limits", check_limits(self.limits))

    @property
    def n_inputs(self) -> int:
        """Number of inputs."""
        return int(self.input_weights.shape[1])

    @property
    def n_units(self) -> int:
        """Number of nodes (hidden and output)."""
        return int(self.input_weights.shape[0])

    @property
    def n_links(self) -> int:
        """Number of nonzero weights, from inputs and between nodes."""
        return int(np.count_nonzero(self.input_weights) + np.count_nonzero(self.links))

    def node_values(self, X: npt.ArrayLike) -> F64:
        """Values of all nodes after the nonlinearity, shape ``(T, N)``."""
        Xa = as_matrix(X, "X", self.n_inputs)
        v = np.zeros((Xa.shape[0], self.n_units))
        base = Xa @ self.input_weights.T + self.biases
        for k in range(self.n_units):
            z = base[:, k] + v[:, :k] @ self.links[:k, k]
            v[:, k] = saturate(z, self.activation, self.limits)
        return v

    def predict(self, X: npt.ArrayLike) -> F64:
        """Output node values, shape ``(T, len(outputs))``."""
        return self.node_values(X)[:, list(self.outputs)]

    @classmethod
    def from_layers(cls, net: PerceptronNetwork) -> PerceptronDAG:
        """The DAG form of a layered network (nodes numbered layer by layer)."""
        sizes = net.layer_sizes
        N, starts = sum(sizes), np.cumsum((0, *sizes))
        W, V, u = np.zeros((N, net.n_inputs)), np.zeros((N, N)), np.concatenate(net.biases)
        W[: sizes[0]] = net.weights[0]
        for k in range(1, len(sizes)):
            V[starts[k - 1] : starts[k], starts[k] : starts[k + 1]] = net.weights[k].T
        outputs: Sequence[int] = range(int(starts[-2]), N)
        return cls(W, V, u, tuple(outputs), net.activation, net.limits)
