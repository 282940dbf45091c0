"""DARTS search spaces: the projection Π_S (eqs. 13–16), genotypes, search and eval networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroplast import Network, Spec
from neuroplast.errors import ConfigError
from neuroplast.layers import MixedOp
from neuroplast.nas import OPS, Genotype, activate, derive, edge_sources, op_params, project
from neuroplast.nas.cells import reduction_cells


@st.composite
def alphas(draw: st.DrawFn) -> tuple[np.ndarray, bool, str, np.ndarray]:
    states = draw(st.integers(1, 5))
    none = draw(st.booleans())
    cols = draw(st.integers(1, 7)) + int(none)
    weighting = draw(st.sampled_from(("softmax", "crb")))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    alpha = rng.normal(size=(states * (states + 3) // 2, cols)).astype(np.float32)
    if draw(st.booleans()):  # ties
        alpha = np.round(alpha)
    pruned = rng.random(alpha.shape) < draw(st.sampled_from((0.0, 0.3, 0.9)))
    return alpha, none, weighting, pruned


@settings(max_examples=300, deadline=None)
@given(alphas())
def test_projection_satisfies_eqs_14_to_16_and_keeps_the_strongest(
    case: tuple[np.ndarray, bool, str, np.ndarray],
) -> None:
    alpha, none, weighting, pruned = case
    z = project(alpha, none=none, weighting=weighting, pruned=pruned)
    a = activate(alpha, weighting)
    assert z.shape == alpha.shape
    assert set(np.unique(z)) <= {0.0, 1.0}  # eq. 16
    if none:
        assert not z[:, 0].any()  # "none" is never selected
    rows = edge_sources(round((math.sqrt(9 + 8 * alpha.shape[0]) - 3) / 2))
    start = none * 1
    for state in {s for s, _ in rows}:
        idx = [r for r, (s, _) in enumerate(rows) if s == state]
        per_edge = z[idx].sum(axis=1)
        assert per_edge.max() <= 1  # eq. 14: one operation per source
        assert per_edge.sum() == 2  # eq. 15: two inputs per state

        def key(r: int, c: int) -> tuple[bool, float, float]:
            return (not pruned[r, c], float(a[r, c]), float(alpha[r, c]))

        best = {r: max(key(r, c) for c in range(start, alpha.shape[1])) for r in idx}
        chosen = [r for r in idx if z[r].any()]
        for r in chosen:  # the chosen operation is the edge's strongest
            c = int(np.flatnonzero(z[r])[0])
            assert key(r, c) == best[r]
        others = [best[r] for r in idx if r not in chosen]
        assert all(min(best[r] for r in chosen) >= o for o in others)


def test_derive_reads_the_strongest_pairs() -> None:
    alpha = np.zeros((5, 8), np.float32)  # two states, "none" in column 0
    alpha[:, 0] = 10.0  # "none" is never chosen, however strong
    alpha[0, 4] = alpha[1, 3] = 1.0  # state 0: sep_conv_3x3 from 0, skip from 1
    alpha[2, 1] = 0.5
    alpha[4, 7] = 2.0  # state 1: max_pool from 0, dil_conv_5x5 from state 0
    g = derive(alpha, alpha)
    assert g.normal == (
        ("sep_conv_3x3", 0),
        ("skip_connect", 1),
        ("max_pool_3x3", 0),
        ("dil_conv_5x5", 2),
    )
    assert g.skip_share() == 0.25
    assert Genotype.from_dict(g.to_dict()) == g


def test_genotype_validation() -> None:
    with pytest.raises(ConfigError, match="twice"):
        Genotype(
            normal=(("skip_connect", 0), ("max_pool_3x3", 0)),
            reduce=(("skip_connect", 0), ("max_pool_3x3", 1)),
        )
    with pytest.raises(ConfigError, match="source"):
        Genotype(
            normal=(("skip_connect", 0), ("max_pool_3x3", 2)),
            reduce=(("skip_connect", 0), ("max_pool_3x3", 1)),
        )
    with pytest.raises(ConfigError, match="operation"):
        Genotype(
            normal=(("none", 0), ("max_pool_3x3", 1)),
            reduce=(("skip_connect", 0), ("max_pool_3x3", 1)),
        )


@st.composite
def genotypes(draw: st.DrawFn) -> Genotype:
    states = draw(st.integers(1, 4))
    cells = []
    for _ in range(2):
        pairs = []
        for i in range(states):
            a, b = draw(st.lists(st.integers(0, i + 1), min_size=2, max_size=2, unique=True))
            pairs += [(draw(st.sampled_from(OPS)), a), (draw(st.sampled_from(OPS)), b)]
        cells.append(tuple(pairs))
    return Genotype(cells[0], cells[1])


def _hand_count(g: Genotype, n_in: int, n_classes: int, cells: int, c: int, stem: int = 3) -> int:
    """Parameters of the evaluation network counted from the cell description alone."""
    total = n_in * stem * c * 9 + 2 * stem * c  # stem conv + BN
    c_pp = c_p = stem * c
    for k in range(cells):
        red = k in reduction_cells(cells)
        c = 2 * c if red else c
        total += c_pp * c + 2 * c + c_p * c + 2 * c  # two preprocessing ReLU-conv-BN
        for op, src in g.cell("reduce" if red else "normal"):
            total += op_params(op, c, 2 if red and src < 2 else 1)
        c_pp, c_p = c_p, g.states * c
    return total + c_p * n_classes + n_classes


@settings(max_examples=40, deadline=None)
@given(genotypes(), st.integers(3, 6), st.integers(2, 6))
def test_evaluation_network_matches_the_hand_count(g: Genotype, cells: int, c: int) -> None:
    spec = Spec.darts_network(g, (2, 9, 9), 7, cells=cells, channels=c)
    assert spec.n_params == _hand_count(g, 2, 7, cells, c)
    assert spec.shapes["output"] == (7,)
    # Three reductions of a 9×9 grid would be 2×2 (odd sizes round up like DARTS's).
    assert Spec.from_json(spec.to_json()) == spec


def test_search_network_layout() -> None:
    spec = Spec.darts_search((1, 8, 8), 10, cells=5, channels=4, states=3)
    assert spec.param_shapes["alpha_normal"] == (9, 8)
    assert reduction_cells(5) == (1, 3)
    assert spec.shapes["c1_out"] == (24, 4, 4) and spec.shapes["c4_out"] == (48, 2, 2)
    mixed = [n for n in spec.nodes if isinstance(n, MixedOp)]
    assert len(mixed) == 5 * 9 and all(n.n_ops == 8 for n in mixed)
    crb = Spec.darts_search((1, 8, 8), 10, cells=3, channels=4, states=2, weighting="crb")
    assert crb.param_shapes["alpha_reduce"] == (5, 7)  # no "none" column
    assert "c0_s1_bn" in crb.shapes  # the non-affine batch norm after each state
    net = Network.init(crb, seed=0)
    assert np.allclose(net.params["alpha_normal"], 0.5, atol=0.01)
    with pytest.raises(ConfigError):
        Spec.darts_search((1, 8, 8), 10, ops=("conv_7x7",))
