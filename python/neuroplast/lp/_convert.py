"""Between neuroplast networks and the LP's perceptron structures, and their checkpoint form.

The LP controller (:mod:`neuroplast.lp.controller`) reads a trained
:class:`~neuroplast.Network` as a :class:`PerceptronNetwork`, and must hand back a
:class:`~neuroplast.Network` whatever the LP produced: the layered network converts with
:meth:`PerceptronNetwork.to_network`; a multi-level :class:`PerceptronDAG` converts here, one
single-unit dense node per perceptron reading the concatenation of its sources.

Checkpoints keep the float64 perceptron structures as JSON lists (Python writes floats with
the shortest repr that reads back to the same double), so a resumed LP sees bit-for-bit the
inputs an uninterrupted one sees.

Example:
    >>> import numpy as np
    >>> from neuroplast.lp import optimize_multilevel, prune_hidden_lp, xor_example
    >>> X, Y, net = xor_example(seed=354)
    >>> dag = optimize_multilevel(prune_hidden_lp(net, X, Y).network, X, Y).network
    >>> bool((dag_network(dag).forward(X) == dag.predict(X)).all())
    True
    >>> structure_from_state(structure_state(dag)).links.tolist() == dag.links.tolist()
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, SerializationError
from neuroplast.layers import Concat, Dense
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = [
    "dag_network",
    "perceptron_activation",
    "read_perceptron",
    "structure_from_state",
    "structure_state",
]

F64 = npt.NDArray[np.float64]
#: The limits of the engine's ``saturation`` and ``sign`` activations.
ENGINE_LIMITS = (-1.0, 1.0)


def perceptron_activation(net: Network) -> str:
    """The perceptron nonlinearity that stands for ``net``'s dense activations.

    ``sign`` everywhere reads as ``"sign"``, ``identity`` everywhere as ``"linear"``, anything
    else as ``"saturation"`` (the piecewise-linear stand-in for ``tanh``, as in the seed).
    """
    acts = {node.activation for node in net.spec.nodes if isinstance(node, Dense)}
    if acts == {"sign"}:
        return "sign"
    if acts == {"identity"}:
        return "linear"
    return "saturation"


def read_perceptron(net: Network) -> PerceptronNetwork:
    """``net`` (a chain of biased dense layers) as a perceptron network with limits (-1, 1).

    Raises:
        SpecError: ``net`` is not a chain of biased dense layers.
    """
    return PerceptronNetwork.from_network(net, perceptron_activation(net), ENGINE_LIMITS)


def _engine_activation(activation: str, limits: tuple[float, float]) -> str:
    if activation == "linear":
        return "identity"
    if tuple(limits) != ENGINE_LIMITS:
        raise ConfigError(
            f"{activation} perceptrons with limits {limits} have no engine activation "
            "(the engine's saturation and sign use the limits (-1, 1))"
        )
    return activation


def dag_network(dag: PerceptronDAG, loss: str = "cross_entropy") -> Network:
    """A multi-level perceptron DAG as a :class:`~neuroplast.Network` with the same outputs.

    Node ``k`` becomes the one-unit dense node ``node_k`` reading ``input`` (when it has an
    input weight, or nothing else to read) and the earlier nodes it links to, joined by the
    concat node ``cat_k`` when there are several; several outputs are joined by the concat
    node ``output``. Weights become float32, as in every network.

    Args:
        dag: The DAG (limits (-1, 1) unless it is linear).
        loss: The loss of the network's spec.

    Raises:
        ConfigError: Saturated or sign perceptrons with limits other than (-1, 1).
    """
    act = _engine_activation(dag.activation, dag.limits)
    nodes: list[Dense | Concat] = []
    params: dict[str, F64] = {}
    for k in range(dag.n_units):
        preds = [int(j) for j in np.flatnonzero(dag.links[:k, k])]
        reads_input = bool(np.any(dag.input_weights[k])) or not preds
        sources = (["input"] if reads_input else []) + [f"node_{j}" for j in preds]
        parts = ([dag.input_weights[k]] if reads_input else []) + [dag.links[preds, k]]
        source = sources[0]
        if len(sources) > 1:
            source = f"cat_{k}"
            nodes.append(Concat(source, tuple(sources)))
        nodes.append(Dense(f"node_{k}", source, 1, act))
        params[f"node_{k}.weight"] = np.concatenate(parts)[None, :]
        params[f"node_{k}.bias"] = dag.biases[k : k + 1]
    outputs = tuple(f"node_{k}" for k in dag.outputs)
    out = outputs[0]
    if len(outputs) > 1:
        out = "output"
        nodes.append(Concat(out, outputs))
    return Network(Spec((dag.n_inputs,), tuple(nodes), out, loss), params)


def structure_state(net: PerceptronNetwork | PerceptronDAG) -> dict[str, Any]:
    """JSON-compatible, exact form of a perceptron network or DAG.

    Read it back with :func:`structure_from_state`.
    """
    common = {"activation": net.activation, "limits": list(net.limits)}
    if isinstance(net, PerceptronNetwork):
        return {
            "kind": "layers",
            "weights": [w.tolist() for w in net.weights],
            "biases": [b.tolist() for b in net.biases],
            **common,
        }
    return {
        "kind": "dag",
        "input_weights": net.input_weights.tolist(),
        "links": net.links.tolist(),
        "biases": net.biases.tolist(),
        "outputs": list(net.outputs),
        **common,
    }


def structure_from_state(state: Mapping[str, Any]) -> PerceptronNetwork | PerceptronDAG:
    """Inverse of :func:`structure_state`.

    Raises:
        SerializationError: ``state`` is not the output of :func:`structure_state`.
    """
    try:
        limits = (float(state["limits"][0]), float(state["limits"][1]))
        if state["kind"] == "layers":
            return PerceptronNetwork(
                tuple(np.array(w, dtype=np.float64) for w in state["weights"]),
                tuple(np.array(b, dtype=np.float64) for b in state["biases"]),
                state["activation"],
                limits,
            )
        return PerceptronDAG(
            np.array(state["input_weights"], dtype=np.float64),
            np.array(state["links"], dtype=np.float64),
            np.array(state["biases"], dtype=np.float64),
            tuple(state["outputs"]),
            state["activation"],
            limits,
        )
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise SerializationError(f"malformed perceptron checkpoint state: {exc}") from exc
