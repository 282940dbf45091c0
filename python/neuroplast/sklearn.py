"""A scikit-learn compatible classifier backed by a neuroplast MLP."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from neuroplast.errors import ConfigError, DataError, DTypeError, ShapeError
from neuroplast.network import Network
from neuroplast.optim import SGD, Adam, AdamW, Optimizer
from neuroplast.spec import Spec

__all__ = ["NeuroplastClassifier"]


class NeuroplastClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Multilayer-perceptron classifier with the scikit-learn estimator API.

    Labels may be any hashable values; they are encoded with ``np.unique`` (``classes_``).
    Input is validated with scikit-learn's own ``validate_data`` (same messages and
    conventions, so ``check_estimator`` passes), and its errors are re-raised as the matching
    :class:`~neuroplast.errors.NeuroplastError` subclasses (which are still ``ValueError`` /
    ``TypeError``).

    Args:
        hidden: Widths of the hidden layers.
        activation: Hidden activation (see :data:`neuroplast.layers.ACTIVATIONS`).
        epochs: Training epochs.
        batch_size: Minibatch size.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        lr: Learning rate.
        weight_decay: Weight decay (L2 for adam/sgd, decoupled for adamw).
        momentum: SGD momentum.
        seed: Seed for initialization, shuffling and the validation split.
        early_stopping: As scikit-learn's ``MLPClassifier``: hold out a stratified
            ``validation_fraction`` of the training data, stop when the validation accuracy
            has not improved by ``tol`` for ``n_iter_no_change`` epochs, and keep the best
            epoch's weights (:meth:`Network.fit <neuroplast.Network.fit>`'s ``patience``,
            ``monitor="val_accuracy"``, ``restore_best``). ``validation_scores_`` then holds
            the per-epoch validation accuracy and ``best_validation_score_`` the best.
        validation_fraction: Share of the training data held out, in ``(0, 1)``.
        n_iter_no_change: Epochs without improvement before stopping (``>= 1``).
        tol: Smallest improvement of the validation accuracy that counts (``>= 0``).

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
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
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
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol

    def _make_optimizer(self) -> Optimizer:
        if self.optimizer == "adam":
            return Adam(lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer == "adamw":
            return AdamW(lr=self.lr, weight_decay=self.weight_decay)
        if self.optimizer == "sgd":
            return SGD(lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        raise ConfigError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {self.optimizer!r}")

    def _validated(self, X: Any, *y: Any, reset: bool) -> Any:
        """Runs ``validate_data`` on ``X`` (and ``y`` when given, even ``None``)."""
        try:
            if not y:
                return validate_data(self, X, reset=reset, dtype=np.float32)
            X, y_arr = validate_data(self, X, y[0], reset=reset, dtype=np.float32)
            check_classification_targets(y_arr)
            return X, y_arr
        except TypeError as exc:
            raise DTypeError(str(exc)) from exc
        except ValueError as exc:
            shape_words = ("inconsistent numbers of samples", "Expected 2D array", "features, but")
            cls = ShapeError if any(w in str(exc) for w in shape_words) else DataError
            raise cls(str(exc)) from exc

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike | None = None) -> NeuroplastClassifier:
        """Encodes labels, builds the MLP and trains it."""
        x, y_arr = self._validated(X, y, reset=True)
        self.classes_, encoded = np.unique(y_arr, return_inverse=True)
        if len(self.classes_) < 2:
            raise DataError(
                f"need samples of at least two classes to fit a classifier; got 1 class "
                f"({self.classes_[0]!r})"
            )
        spec = Spec.mlp(x.shape[1], list(self.hidden), len(self.classes_), self.activation)
        self.network_ = Network.init(spec, seed=self.seed)
        labels = encoded.astype(np.int64)
        stop: dict[str, Any] = {}
        if self.early_stopping:
            x, labels, x_val, y_val = self._split(x, labels)
            stop = {
                "validation_data": (x_val, y_val),
                "patience": self.n_iter_no_change,
                "monitor": "val_accuracy",
                "min_delta": self.tol,
            }
        self.history_ = self.network_.fit(
            x,
            labels,
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=self._make_optimizer(),
            seed=self.seed,
            **stop,
        )
        if self.early_stopping:
            self.validation_scores_ = [float(a or 0.0) for a in self.history_.val_accuracy]
            self.best_validation_score_ = max(self.validation_scores_)
        return self

    def _split(self, x: Any, y: Any) -> tuple[Any, Any, Any, Any]:
        """The stratified early-stopping split ``(X_train, y_train, X_val, y_val)``."""
        from sklearn.model_selection import train_test_split

        if not 0 < self.validation_fraction < 1:
            raise ConfigError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            )
        try:
            x_tr, x_val, y_tr, y_val = train_test_split(
                x, y, test_size=self.validation_fraction, random_state=self.seed, stratify=y
            )
        except ValueError as exc:
            raise DataError(f"cannot hold out a stratified validation split: {exc}") from exc
        return x_tr, y_tr, x_val, y_val

    def predict_proba(self, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Class probabilities, columns ordered as ``classes_``."""
        check_is_fitted(self, "network_")
        return self.network_.predict_proba(self._validated(X, reset=False))

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """Predicted labels (original label values)."""
        check_is_fitted(self, "network_")
        out: npt.NDArray[Any] = self.classes_[
            self.network_.predict(self._validated(X, reset=False))
        ]
        return out
