"""The Surgeon (Schiessler et al. 2021): training fused with a genetic topology search.

Three modules as in the paper: :mod:`~neuroplast.search.surgeon.recommend` (removable units
from singular values, candidate ratings, selection modes), :mod:`~neuroplast.search.surgeon.modify`
(the surgeries through :mod:`neuroplast.morph`, plus the truncated-SVD factorization) and
:mod:`~neuroplast.search.surgeon.algorithm` (Algorithm 1, the score of eq. 16).

The controller follows the one contract of :mod:`neuroplast.search`:
``Surgeon(SurgeonConfig.fast()).run(net, data, seed=0, run_dir=...)`` returns a
:class:`SurgeonResult`; ``neuroplast optimize surgeon`` is its command line.

Example:
    >>> from neuroplast.search.surgeon import SurgeonConfig, score
    >>> SurgeonConfig.paper().decision_every, round(score(0.6016, 0.0268, 1.0), 4)
    (10, 0.9795)
"""

from __future__ import annotations

from neuroplast.search.surgeon._train import Trainer, TrainJob, TrainOutcome
from neuroplast.search.surgeon.algorithm import EvaluateFn, Surgeon, chosen, widths
from neuroplast.search.surgeon.baseline import baseline
from neuroplast.search.surgeon.config import OPERATIONS, Operation, SelectionMode, SurgeonConfig
from neuroplast.search.surgeon.modify import apply
from neuroplast.search.surgeon.proposal import Proposal
from neuroplast.search.surgeon.recommend import (
    LayerInfo,
    hidden_layers,
    layer_info,
    propose,
    ratings,
    select,
)
from neuroplast.search.surgeon.records import (
    Branch,
    CandidateRecord,
    DecisionRecord,
    SurgeonResult,
)
from neuroplast.search.surgeon.score import rank, score

__all__ = [
    "OPERATIONS",
    "Branch",
    "CandidateRecord",
    "DecisionRecord",
    "EvaluateFn",
    "LayerInfo",
    "Operation",
    "Proposal",
    "SelectionMode",
    "Surgeon",
    "SurgeonConfig",
    "SurgeonResult",
    "TrainJob",
    "TrainOutcome",
    "Trainer",
    "apply",
    "baseline",
    "chosen",
    "hidden_layers",
    "layer_info",
    "propose",
    "rank",
    "ratings",
    "score",
    "select",
    "widths",
]
