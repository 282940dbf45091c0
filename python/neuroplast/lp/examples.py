"""The seed's XOR example: a working but oversized two-layer perceptron network to prune."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from neuroplast._arrays import check_int
from neuroplast.errors import DataError
from neuroplast.lp.networks import PerceptronNetwork

__all__ = ["xor_example"]

F64 = npt.NDArray[np.float64]
_MAX_DRAWS = 1000


def xor_example(seed: int = 0, n_hidden: int = 10) -> tuple[F64, F64, PerceptronNetwork]:
    """XOR and its negation on inputs in ``{-1, 1}``, realized by random sign hidden units.

    The hidden layer has ``n_hidden`` units with random Gaussian weights and biases and the
    ``"sign"`` nonlinearity; draws are repeated until the hidden values make both targets
    linearly separable. The output layer is the minimum-norm least-squares fit of ``3·Y`` from
    the hidden values, so every hidden unit is used and the network is correct but dense:
    the "non-optimal network created by some traditional technique" of the seed.

    Args:
        seed: Random seed of the hidden layer.
        n_hidden: Number of hidden units (at least 4, so the least-squares fit is exact).

    Returns:
        ``(X, Y, network)`` with ``X`` of shape ``(4, 2)`` and ``Y`` of shape ``(4, 2)``.

    Example:
        >>> X, Y, net = xor_example(seed=0)
        >>> bool((net.predict(X) == Y).all()), net.layer_sizes
        (True, (10, 2))
    """
    seed = check_int(seed, "seed", 0)
    n_hidden = check_int(n_hidden, "n_hidden", 4, 10_000)
    X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    Y = np.array([[-1.0, 1.0], [1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    rng = np.random.default_rng(seed)
    for _ in range(_MAX_DRAWS):
        W1, b1 = rng.normal(size=(n_hidden, 2)), rng.normal(size=n_hidden)
        H = np.where(X @ W1.T + b1 >= 0.0, 1.0, -1.0)
        Hb = np.hstack([H, np.ones((4, 1))])
        coef = np.linalg.lstsq(Hb, 3.0 * Y, rcond=None)[0]
        net = PerceptronNetwork((W1, coef[:-1].T), (b1, coef[-1]), "sign")
        if np.array_equal(net.predict(X), Y):
            return X, Y, net
    raise DataError(f"no separable hidden layer in {_MAX_DRAWS} draws")  # pragma: no cover
