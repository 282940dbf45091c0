"""A scikit-learn compatible classifier backed by a neuroplast MLP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from neuroplast._arrays import _numeric
from neuroplast.errors import ConfigError, DataError, ShapeError
from neuroplast.network import Network
from neuroplast.optim import SGD, Adam, AdamW, Optimizer
from neuroplast.spec import Spec

__all__ = ["NeuroplastClassifier"]


class NeuroplastClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Multilayer-perceptron classifier with the scikit-learn estimator API.

    Labels may be any hashable values; they are encoded with ``np.unique`` (``classes_``).

    Args:
        hidden: Widths of the hidden layers.
        activation: Hidden activation (see :data:`neuroplast.layers.ACTIVATIONS`).
        epochs: Training epochs.
        batch_size: Minibatch size.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        lr: Learning rate.
        weight_decay: Weight decay (L2 for adam/sgd, decoupled for adamw).
        momentum: SGD momentum.
        seed: Seed for initialization and shuffling.

    Example:
        >>> from sklearn.datasets import load_digits
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = NeuroplastClassifier(hidden=(32,), epochs=5).fit(X / 16, y)
        >>> clf.score(X / 16, y) > 0.8
        True
    """

    def __init__(
        self,
        hidden: Sequence[int] = (100,),
        activation: str = "relu",
        epochs: int = 20,
        batch_size: int = 32,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.seed = seed

    def _make_optimizer(self) -> Optimizer:
        if self.optimizer == "adam":
            return Adam(lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer == "adamw":
            return AdamW(lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer == "sgd":
            return SGD(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        raise ConfigError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {self.optimizer!r}")

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> NeuroplastClassifier:
        """Encodes labels, builds the MLP and trains it."""
        x = _numeric(X, "X")
        if x.ndim != 2:
            raise ShapeError(f"X must be 2-D (n_samples, n_features), got shape {x.shape}")
        y_arr = np.asarray(y)
        if y_arr.ndim != 1 or y_arr.shape[0] != x.shape[0]:
            raise ShapeError(f"y must be 1-D with {x.shape[0]} labels, got shape {y_arr.shape}")
        if x.shape[0] == 0:
            raise DataError("cannot fit on empty data")
        self.classes_, encoded = np.unique(y_arr, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError("need at least two classes to fit a classifier")
        spec = Spec.mlp(x.shape[1], list(self.hidden), len(self.classes_), self.activation)
        self.network_ = Network.init(spec, seed=self.seed)
        self.history_ = self.network_.fit(
            x,
            encoded.astype(np.int64),
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=self._make_optimizer(),
            seed=self.seed,
        )
        self.n_features_in_ = x.shape[1]
        return self

    def predict_proba(self, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Class probabilities, columns ordered as ``classes_``."""
        check_is_fitted(self, "network_")
        return self.network_.predict_proba(X)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """Predicted labels (original label values)."""
        check_is_fitted(self, "network_")
        out: npt.NDArray[Any] = self.classes_[self.network_.predict(X)]
        return out
