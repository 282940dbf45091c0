"""LP pruning of perceptron networks (seed 004): two-phase and multi-level.

The two-phase step prunes hidden units of a two-layer network; the multi-level (DAG) step
starts from its result and lets every node read all earlier nodes.

Both work from a network that already realizes the task (a "feasible solution") and re-solve
the one-layer LP of :mod:`neuroplast.lp.perceptron` with the current node values as inputs and
targets, so the error-free solution the network provides stays feasible and the LP can only
lower the L1 cost; links it leaves at zero, and units left without outgoing links, are removed.
Neither step is guaranteed to find the globally simplest network (the seed's own remark).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from neuroplast.errors import ConfigError, ShapeError, SpecError
from neuroplast.layers import Dense
from neuroplast.lp._checks import as_matrix, as_targets, check_limits, labels_to_targets
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.lp.perceptron import DEFAULT_BIG_M, LPActivation, optimize_perceptron
from neuroplast.network import Network
from neuroplast.spec import Spec

__all__ = ["LPPruneResult", "PruneReport", "optimize_multilevel", "prune_hidden_lp"]

F64 = npt.NDArray[np.float64]
HiddenActivation = Literal["saturation", "real"]
#: Outputs within this distance of a limit (or of an inside-range target) count as a hit.
HIT_TOL = 1e-6


@dataclass(frozen=True)
class PruneReport:
    """Size and accuracy of a network before and after LP optimization.

    Accuracy is the share of samples classified correctly (argmax of the outputs) when class
    labels were given, otherwise the share of samples whose outputs all meet their targets
    (at or beyond the limit for limit targets, within ``HIT_TOL`` otherwise). Both accuracies
    read the networks with the same hidden nonlinearity, named by ``hidden_activation``:
    ``"saturation"`` (the perceptron reading) or the network's own activation (``"tanh"``,
    ``"relu"``, ...) for ``prune_hidden_lp(..., hidden_activation="real")``.
    """

    links_before: int
    links_after: int
    units_before: int
    units_after: int
    accuracy_before: float
    accuracy_after: float
    lp_error: float
    nit: int
    kept_units: tuple[int, ...]
    unused_inputs: tuple[int, ...]
    hidden_activation: str = "saturation"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict of the report."""
        d = asdict(self)
        d["kept_units"], d["unused_inputs"] = list(self.kept_units), list(self.unused_inputs)
        return d


@dataclass(frozen=True, eq=False)
class LPPruneResult:
    """An optimized network and its :class:`PruneReport`.

    ``network`` is a :class:`~neuroplast.Network` (same activations as the input network)
    after ``prune_hidden_lp(..., hidden_activation="real")``, else a perceptron network.
    """

    network: PerceptronNetwork | PerceptronDAG | Network
    report: PruneReport


def _goal(Y: Any, n_outputs: int, T: int, limits: tuple[float, float]) -> tuple[F64, Any]:
    """``(targets, labels or None)``: 1-D integer ``Y`` with several outputs means labels."""
    arr = np.asarray(Y)
    if arr.ndim == 1 and np.issubdtype(arr.dtype, np.integer) and n_outputs > 1:
        if arr.shape[0] != T:
            raise ShapeError(f"Y has {arr.shape[0]} labels for {T} samples")
        return labels_to_targets(arr, n_outputs, limits), arr
    targets = as_targets(Y, T)
    if targets.shape[1] != n_outputs:
        raise ShapeError(f"Y has {targets.shape[1]} columns; the network has {n_outputs} outputs")
    return targets, None


def accuracy(
    outputs: F64, targets: F64, labels: Any = None, limits: tuple[float, float] = (-1.0, 1.0)
) -> float:
    """Accuracy as defined in :class:`PruneReport`."""
    if labels is not None:
        return float(np.mean(np.argmax(outputs, axis=1) == labels))
    lo, hi = limits
    hit = np.where(
        targets >= hi,
        outputs >= hi - HIT_TOL,
        np.where(targets <= lo, outputs <= lo + HIT_TOL, np.abs(outputs - targets) <= HIT_TOL),
    )
    return float(np.mean(hit.all(axis=1)))


def _report(
    before: tuple[PerceptronNetwork | PerceptronDAG, F64],
    after: PerceptronNetwork | PerceptronDAG,
    data: tuple[F64, F64, Any],
    lp_error: float,
    nit: int,
    kept: Any,
    input_weights: F64,
) -> PruneReport:
    """The report of one optimization; ``before`` pairs the start with its outputs."""
    start, out_before = before
    X, targets, labels = data
    return PruneReport(
        links_before=start.n_links,
        links_after=after.n_links,
        units_before=start.n_units,
        units_after=after.n_units,
        accuracy_before=accuracy(out_before, targets, labels, start.limits),
        accuracy_after=accuracy(after.predict(X), targets, labels, start.limits),
        lp_error=lp_error,
        nit=nit,
        kept_units=tuple(int(k) for k in kept),
        unused_inputs=tuple(int(i) for i in np.flatnonzero(~np.any(input_weights != 0, axis=0))),
    )


def _as_two_layer(network: object, limits: tuple[float, float]) -> PerceptronNetwork:
    if isinstance(network, Network):
        net = PerceptronNetwork.from_network(network, "saturation", limits)
    elif isinstance(network, PerceptronNetwork):
        net = network
    else:
        raise ConfigError(
            f"network must be a Network or PerceptronNetwork, got {type(network).__name__}"
        )
    if len(net.weights) != 2:
        raise ShapeError(f"need exactly one hidden layer, the network has {len(net.weights) - 1}")
    return net


def _check_hidden_activation(value: object) -> HiddenActivation:
    if value == "saturation":
        return "saturation"
    if value == "real":
        return "real"
    raise ConfigError(f"hidden_activation must be 'saturation' or 'real', got {value!r}")


def _chain(network: Network) -> tuple[Dense, Dense]:
    """The hidden and output layer of a two-layer chain of biased dense layers."""
    nodes = network.spec.nodes
    if len(nodes) == 2:
        hidden, out = nodes
        if (
            isinstance(hidden, Dense)
            and isinstance(out, Dense)
            and hidden.bias
            and out.bias
            and hidden.input == "input"
            and out.input == hidden.name
            and network.spec.output == out.name
        ):
            return hidden, out
    raise SpecError("hidden_activation='real' needs a chain of two biased dense layers")


def _prune_real(
    network: Network, X: Any, Y: Any, limits: tuple[float, float], kw: dict[str, Any]
) -> LPPruneResult:
    """The output LP on the network's own hidden values; the first layer is kept as it is."""
    hidden, out_node = _chain(network)
    p = network.params
    W1, b1 = p[f"{hidden.name}.weight"], p[f"{hidden.name}.bias"]
    Xa = as_matrix(X, "X", int(W1.shape[1]))
    targets, labels = _goal(Y, out_node.units, Xa.shape[0], limits)
    H = network.activations(Xa, [hidden.name])[hidden.name].astype(np.float64)
    res = optimize_perceptron(H, targets, activation="saturation", limits=limits, **kw)
    used = np.flatnonzero(np.any(res.weights != 0, axis=0))
    kept = used if used.size else np.array([0])
    spec = Spec(
        network.spec.input_shape,
        (replace(hidden, units=int(kept.size)), out_node),
        network.spec.output,
        network.spec.loss,
    )
    params = {
        f"{hidden.name}.weight": W1[kept],
        f"{hidden.name}.bias": b1[kept],
        f"{out_node.name}.weight": res.weights[:, kept].astype(np.float32),
        f"{out_node.name}.bias": res.biases.astype(np.float32),
    }
    pruned = Network(spec, params)
    W2 = params[f"{out_node.name}.weight"]
    report = PruneReport(
        links_before=int(np.count_nonzero(W1) + np.count_nonzero(p[f"{out_node.name}.weight"])),
        links_after=int(np.count_nonzero(W1[kept]) + np.count_nonzero(W2)),
        units_before=hidden.units + out_node.units,
        units_after=int(kept.size) + out_node.units,
        accuracy_before=accuracy(network.forward(Xa).astype(np.float64), targets, labels, limits),
        accuracy_after=accuracy(pruned.forward(Xa).astype(np.float64), targets, labels, limits),
        lp_error=res.error,
        nit=res.nit,
        kept_units=tuple(int(k) for k in kept),
        unused_inputs=tuple(int(i) for i in np.flatnonzero(~np.any(W1[kept] != 0, axis=0))),
        hidden_activation=hidden.activation,
    )
    return LPPruneResult(pruned, report)


def prune_hidden_lp(
    network: Network | PerceptronNetwork,
    X: npt.ArrayLike,
    Y: npt.ArrayLike,
    *,
    big_m: float = DEFAULT_BIG_M,
    method: str = "auto",
    limits: tuple[float, float] | None = None,
    tol: float = 1e-7,
    options: Mapping[str, Any] | None = None,
    hidden_activation: HiddenActivation = "saturation",
    executor: Executor | None = None,
) -> LPPruneResult:
    """Two-phase LP pruning of the hidden layer of a two-layer perceptron network.

    Phase 1 takes the saturated hidden values ``z(t)`` as inputs and solves the one-layer LP
    from ``z`` to the targets; hidden units whose outgoing weights are all zero are removed.
    Phase 2 solves the LP again for the first layer, from ``x`` to the saturated values of the
    surviving hidden units (a saturated value is a limit target, an inner one an equality), so
    the original first layer is a zero-error solution and the hidden values are kept.

    A neuroplast :class:`~neuroplast.Network` (two biased dense layers) is read, by default
    (``hidden_activation="saturation"``), as a perceptron network with saturation in place of
    its activations (see :meth:`PerceptronNetwork.from_network`). Both accuracies of the
    report then read the networks that way; until this version ``accuracy_before`` used the
    network's own activations (tanh, ReLU) while ``accuracy_after`` used saturation, so the
    two were not comparable.

    ``hidden_activation="real"`` prunes a trained tanh/ReLU (any activation)
    :class:`~neuroplast.Network` on its own terms: the output-layer LP takes the hidden
    values the network really computes as its inputs, the first layer's rows of the kept
    units stay as they are (no phase 2, which assumes saturation), and the result is a
    :class:`~neuroplast.Network` with the same activations whose output layer is the LP's.
    With class labels the output LP asks each target logit to be ``>= hi`` and the others
    ``<= lo``, so every LP sample without an artificial is classified as before and
    training accuracy is kept; both accuracies use the network's own activation. For a
    :class:`PerceptronNetwork` its own nonlinearity is the real one and both settings agree.

    Args:
        network: A trained two-layer network.
        X: ``(T, n)`` inputs.
        Y: ``(T, m)`` targets, or ``(T,)`` integer class labels (one-versus-rest targets at
            the limits, accuracy by argmax).
        big_m: Weight of the artificial variables.
        method: Solver method (``"auto"``, ``"simplex"``, ``"ipm"``).
        limits: Saturation limits; default ``(-1, 1)``, or the perceptron network's own.
        tol: Magnitude below which weights count as zero.
        options: Solver options.
        hidden_activation: ``"saturation"`` (the seed's perceptron reading) or ``"real"``
            (the network's own hidden activation; a :class:`~neuroplast.Network` only).
        executor: Where each layer's per-output LPs run (see
            :func:`~neuroplast.lp.optimize_perceptron`); ``None``: in this process. The
            result is the same.

    Returns:
        The pruned network (:class:`PerceptronNetwork`, or :class:`~neuroplast.Network` for
        ``"real"``) and its :class:`PruneReport` (``kept_units`` are the surviving hidden
        units' original indices).

    Raises:
        ShapeError, DataError: Inconsistent or invalid data.
        ConfigError: Invalid options or network type.
        SpecError: ``"real"`` with a network that is not two biased dense layers.
        NumericalError: An LP was not solved.

    Example:
        >>> import numpy as np
        >>> from neuroplast import Network, Spec
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(40, 3))
        >>> y = (X[:, 0] > 0).astype(np.int64)
        >>> net = Network.init(Spec.mlp(3, [6], 2, "tanh"), seed=0)
        >>> res = prune_hidden_lp(net, X, y, hidden_activation="real")
        >>> res.report.hidden_activation, res.report.units_after <= res.report.units_before
        ('tanh', True)
    """
    mode = _check_hidden_activation(hidden_activation)
    if limits is None:
        limits = network.limits if isinstance(network, PerceptronNetwork) else (-1.0, 1.0)
    if mode == "real" and isinstance(network, Network):
        kw_real: dict[str, Any] = dict(
            big_m=big_m, method=method, tol=tol, options=options, executor=executor
        )
        return _prune_real(network, X, Y, check_limits(limits), kw_real)
    net = _as_two_layer(network, limits)
    Xa = as_matrix(X, "X", net.n_inputs)
    targets, labels = _goal(Y, net.n_outputs, Xa.shape[0], net.limits)
    lp_act: LPActivation = "linear" if net.activation == "linear" else "saturation"
    kw: dict[str, Any] = dict(
        big_m=big_m, method=method, limits=net.limits, tol=tol, executor=executor
    )
    H = net.layer_values(Xa)[0]
    out = optimize_perceptron(H, targets, activation=lp_act, options=options, **kw)
    used = np.flatnonzero(np.any(out.weights != 0, axis=0))
    # A layer cannot be empty: with no hidden unit used, keep one with zero outgoing weights.
    kept = used if used.size else np.array([0])
    first = optimize_perceptron(Xa, H[:, kept], activation=lp_act, options=options, **kw)
    pruned = PerceptronNetwork(
        (first.weights, out.weights[:, kept]),
        (first.biases, out.biases),
        net.activation,
        net.limits,
    )
    report = _report(
        (net, net.predict(Xa)),
        pruned,
        (Xa, targets, labels),
        out.error + first.error,
        out.nit + first.nit,
        kept,
        first.weights,
    )
    return LPPruneResult(pruned, replace(report, hidden_activation=net.activation))


def optimize_multilevel(
    start: PerceptronNetwork | PerceptronDAG,
    X: npt.ArrayLike,
    Y: npt.ArrayLike,
    *,
    big_m: float = DEFAULT_BIG_M,
    method: str = "auto",
    tol: float = 1e-7,
    options: Mapping[str, Any] | None = None,
) -> LPPruneResult:
    """Multi-level LP optimization: every node may read the inputs and all earlier nodes.

    All nodes (hidden and output) form one vector; the links between them form a strictly
    upper triangular matrix ``V``. Starting from a feasible network (for example the result of
    :func:`prune_hidden_lp`), each node is re-solved by the one-layer LP with the inputs and
    the earlier nodes' saturated values as inputs and its own value as target (the true
    targets for output nodes). Nodes are solved from the last to the first, and a hidden node
    that no solved node links to is dropped. Because the start solves every node LP without
    error, node values are preserved and the L1 cost can only fall.

    Args:
        start: A feasible perceptron network or DAG.
        X: ``(T, n)`` inputs.
        Y: ``(T, m)`` targets, or ``(T,)`` integer class labels.
        big_m: Weight of the artificial variables.
        method: Solver method (``"auto"``, ``"simplex"``, ``"ipm"``).
        tol: Magnitude below which weights count as zero.
        options: Solver options.

    Returns:
        The optimized :class:`PerceptronDAG` and its :class:`PruneReport` (``kept_units`` are
        the surviving nodes' indices in the start DAG).

    Raises:
        ShapeError, DataError: Inconsistent or invalid data.
        ConfigError: Invalid options or start type.
        NumericalError: An LP was not solved.
    """
    if isinstance(start, PerceptronNetwork):
        dag = PerceptronDAG.from_layers(start)
    elif isinstance(start, PerceptronDAG):
        dag = start
    else:
        raise ConfigError(
            f"start must be a PerceptronNetwork or PerceptronDAG, got {type(start).__name__}"
        )
    Xa = as_matrix(X, "X", dag.n_inputs)
    T, n, N = Xa.shape[0], dag.n_inputs, dag.n_units
    targets, labels = _goal(Y, len(dag.outputs), T, dag.limits)
    v = dag.node_values(Xa)
    goal = v.copy()
    goal[:, list(dag.outputs)] = targets
    lp_act: LPActivation = "linear" if dag.activation == "linear" else "saturation"
    W, V, u = np.zeros((N, n)), np.zeros((N, N)), np.zeros(N)
    needed = np.zeros(N, dtype=bool)
    needed[list(dag.outputs)] = True
    error, nit = 0.0, 0
    for k in range(N - 1, -1, -1):
        if not needed[k]:
            continue
        res = optimize_perceptron(
            np.hstack([Xa, v[:, :k]]),
            goal[:, k],
            activation=lp_act,
            big_m=big_m,
            method=method,
            limits=dag.limits,
            tol=tol,
            options=options,
        )
        W[k], V[:k, k], u[k] = res.weights[0, :n], res.weights[0, n:], res.biases[0]
        needed[:k] |= V[:k, k] != 0
        error, nit = error + res.error, nit + res.nit
    keep = np.flatnonzero(needed)
    index = {int(old): new for new, old in enumerate(keep)}
    result = PerceptronDAG(
        W[keep],
        V[np.ix_(keep, keep)],
        u[keep],
        tuple(index[k] for k in dag.outputs),
        dag.activation,
        dag.limits,
    )
    report = _report(
        (dag, dag.predict(Xa)), result, (Xa, targets, labels), error, nit, keep, W[keep]
    )
    return LPPruneResult(result, report)
