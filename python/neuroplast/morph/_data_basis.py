"""The data-aware basis of :func:`neuroplast.morph.factorize` (``basis="data"``).

For a dense layer ``z = W·x + b`` the rank-``k`` map that best reproduces the layer's
pre-activations on calibration inputs is not the truncated SVD of ``W`` (that is optimal for
inputs spread evenly in every direction) but the projection of ``W`` onto the top-``k``
principal directions of the pre-activations themselves. With ``μ`` the mean calibration input
and ``U_k`` the top-``k`` right singular vectors of the centred pre-activations
``Z = (X − μ)·Wᵀ``, the factorized layer computes ``U_k·(U_kᵀ·W)·x + b'`` with
``b' = b + (I − U_k·U_kᵀ)·W·μ``: the error ``(I − U_k·U_kᵀ)·W·(x − μ)`` is zero on average and
its mean square over the calibration samples is the smallest any rank-``k`` layer with a free
bias achieves (Eckart–Young on ``Z``); its singular values are the discarded ones of
``Z / √n``. Without a bias there is nothing to absorb the mean, so ``Z`` is not centred.
This is the PCA-of-activations compression of Zhang et al. (2016), "Accelerating very deep
convolutional networks for classification and detection", for dense layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from neuroplast import _linalg
from neuroplast.errors import ConfigError, DataError

__all__ = ["DataBasis", "data_basis"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class DataBasis:
    """A data basis: ``projection`` ``U_kᵀ`` ``(k, n)`` and the bias change ``shift`` ``(n,)``.

    ``bound`` holds the discarded singular values of ``Z / √n_samples``.
    """

    projection: F64
    shift: F64
    bound: list[float]


def data_basis(w: F64, x: F64, rank: int, centred: bool) -> DataBasis:
    """The data basis of weights ``w`` ``(n, m)`` for layer inputs ``x`` ``(samples, m)``."""
    if x.shape[0] < rank:
        raise ConfigError(
            f"basis='data' needs at least rank={rank} calibration samples, got {x.shape[0]}"
        )
    if not np.all(np.isfinite(x)):
        raise DataError("the layer's calibration inputs are not finite")
    mu = x.mean(axis=0) if centred else np.zeros(x.shape[1])
    z = (x - mu) @ w.T / np.sqrt(x.shape[0])
    _, s, vt = _linalg.svd(z, full_matrices=False)
    proj = vt[:rank]
    shift = (w @ mu) - proj.T @ (proj @ (w @ mu))
    bound = [float(v) for v in s[rank:]]
    return DataBasis(proj, shift, bound)
