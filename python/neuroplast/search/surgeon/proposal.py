"""One modification candidate of the Surgeon (seed 001, Sec. 3.2), before it is built.

Its own module so that the recommendation module (which proposes candidates and builds them to
count their parameters) and the modification module (which builds them) both depend on it
without depending on each other in a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroplast.search.surgeon.config import Operation

__all__ = ["Proposal"]


@dataclass(frozen=True)
class Proposal:
    """One modification candidate of a branch, before it is built.

    Attributes:
        op: The operation.
        layer: The layer it changes (``None`` for the identity).
        amount: Units added or removed, the factorization's rank, else 0.
        rating: The recommendation module's rating in ``[0, 1]`` (1 for the identity).
        n_params: Parameters of the modified network.
        parent_params: Parameters of the branch it modifies.
        branch: Id of the branch it modifies.
        seed: Seed of the edit's random choices (Net2Wider's copied units).

    Example:
        >>> Proposal("add_neurons", "dense_0", 2, 0.8, 120, 100, 0).label
        'add 2 neurons to dense_0'
    """

    op: Operation
    layer: str | None
    amount: int
    rating: float
    n_params: int
    parent_params: int
    branch: int
    seed: int = 0

    @property
    def param_fraction(self) -> float:
        """``n_params / parent_params`` (the score's ``Δf``)."""
        return self.n_params / self.parent_params

    @property
    def label(self) -> str:
        """A short human-readable description, e.g. ``"add 2 neurons to dense_0"``."""
        where = f" {self.layer}" if self.layer else ""
        return {
            "identity": "identity",
            "add_neurons": f"add {self.amount} neurons to{where}",
            "add_layer": f"add layer after{where}",
            "remove_neurons": f"remove {self.amount} neurons from{where}",
            "remove_layer": f"remove layer{where}",
            "factorize": f"factorize{where} (rank {self.amount})",
        }[self.op]

    def sort_key(self) -> tuple[float, int, str, str, int]:
        """Best first: highest rating, then fewer parameters, then a stable order."""
        return (-self.rating, self.n_params, self.op, self.layer or "", self.amount)
