"""The phases of an :class:`~neuroplast.lp.LPPrune` run: their steps, names and saved state.

A run's history has one record per finished phase: step 0 the start network, then the
hidden-layer LP, the multi-level LP (``multilevel=True``) and the final fine-tune
(``final_epochs > 0``), numbered in that order. Every phase's network is checkpointed, so a
resumed run reads the networks of the phases it does not repeat from the run folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuroplast.errors import SerializationError
from neuroplast.layers import Dense
from neuroplast.lp._convert import structure_from_state, structure_state
from neuroplast.lp.networks import PerceptronDAG, PerceptronNetwork
from neuroplast.network import Network

__all__ = ["START", "HIDDEN", "MULTILEVEL", "State", "links_and_units", "phase_names"]

START, HIDDEN, MULTILEVEL = 0, 1, 2

#: History ``edit`` labels and kinds of the phase that follows a record, by phase.
LABELS = {
    "hidden": ("hidden-layer LP", "remove_neurons"),
    "multilevel": ("multi-level LP", "multilevel"),
    "finetune": ("fine-tune", "finetune"),
}
NAMES = {
    "start": "the start network",
    "hidden": "the hidden-layer LP",
    "multilevel": "the multi-level LP",
    "finetune": "the fine-tuned network",
}


def phase_names(multilevel: bool, finetune: bool) -> tuple[str, ...]:
    """The phase of each history step of a run with these settings (``start`` is step 0)."""
    return ("start", "hidden") + ("multilevel",) * multilevel + ("finetune",) * finetune


def links_and_units(net: Network) -> tuple[int, int]:
    """Nonzero dense weights and dense units of ``net``.

    For a network read from or written as perceptrons (:func:`~neuroplast.lp._convert`) these
    are the perceptron structure's links and units: a multi-level node holds a zero weight for
    every input it does not read, and each perceptron is one dense unit.
    """
    dense = [n for n in net.spec.nodes if isinstance(n, Dense)]
    links = sum(int(np.count_nonzero(net.params[f"{n.name}.weight"])) for n in dense)
    return links, sum(n.units for n in dense)


@dataclass
class State:
    """Everything a resumed run needs: the last finished step, the history, the structures.

    ``networks`` (not saved in the state: each is its step's checkpoint network) holds the
    network of every finished step after the start; ``phases`` (:func:`phase_names`, set by
    the run) names every step of the run.
    """

    step: int
    history: list[dict[str, Any]]
    perceptron: PerceptronNetwork | None = None
    dag: PerceptronDAG | None = None
    networks: dict[int, Network] = field(default_factory=dict)
    phases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "history": self.history}
        for key in ("perceptron", "dag"):
            value = getattr(self, key)
            out[key] = None if value is None else structure_state(value)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], networks: Mapping[int, Network]) -> State:
        p, g = d.get("perceptron"), d.get("dag")
        perceptron = None if p is None else structure_from_state(p)
        dag = None if g is None else structure_from_state(g)
        if not isinstance(perceptron, PerceptronNetwork | None) or not isinstance(
            dag, PerceptronDAG | None
        ):
            raise SerializationError("the checkpoint's perceptron structures are of the wrong kind")
        step = int(d["step"])
        missing = sorted(set(range(1, step + 1)) - set(networks))
        if missing:
            raise SerializationError(f"the run folder has no checkpoint of steps {missing}")
        return cls(step, list(d["history"]), perceptron, dag, dict(networks))
