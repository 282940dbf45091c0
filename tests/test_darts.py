"""The DARTS controller and the engine's search loop: schedules, regularizers, pruning, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuroplast import Network, Spec, data
from neuroplast.errors import ConfigError
from neuroplast.nas import activate, project
from neuroplast.search import DARTS, VARIANTS, DARTSConfig, Splits
from neuroplast.search._run import RunFolder
from neuroplast.search.darts._engine import search_epochs


@pytest.fixture(scope="module")
def splits() -> Splits:
    return Splits.from_dataset(data.load("digits", seed=0), seed=0)


def _tiny(**kw: Any) -> DARTSConfig:
    base: dict[str, Any] = dict(
        cells=3,
        channels=2,
        states=2,
        search_epochs=2,
        batch_size=32,
        eval_cells=3,
        eval_channels=2,
        eval_epochs=1,
        subset=240,
    )
    return DARTSConfig.fast(**{**base, **kw})


def _toy(weighting: str = "softmax", n: int = 16) -> tuple[Network, tuple[Any, Any]]:
    spec = Spec.darts_search((1, 4, 4), 3, cells=3, channels=1, states=1, weighting=weighting)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 16)).astype(np.float32)
    return Network.init(spec, seed=0), (X, np.arange(n) % 3)


def test_fimt_with_a_constant_trace_fires_on_one_in_r_plus_one() -> None:
    # Full-batch steps with vanishing learning rates keep the Fisher trace constant.
    net, d = _toy()
    cfg = DARTSConfig(
        schedule="fimt",
        batch_size=16,
        w_lr=1e-12,
        w_lr_min=1e-12,
        alpha_lr=1e-12,
        grad_clip=0.0,
        search_epochs=2200,
    )
    _, recs, _ = search_epochs(net, d, d, cfg.engine_json(0), None, 2200)
    fisher = np.array([r["fisher"][0] for r in recs])
    assert np.ptp(fisher) < 1e-3 * fisher.mean()
    share = sum(r["alpha_steps"] for r in recs) / len(recs)
    assert abs(share - 1 / 11) < 0.005
    cs = DARTSConfig(schedule="constant", batch_size=4, search_epochs=1)
    _, recs, _ = search_epochs(net, d, d, cs.engine_json(0), None, 1)
    assert recs[0]["w_steps"] == 4 and recs[0]["alpha_at"] == []  # 4 < 10 w steps
    _, recs, _ = search_epochs(net, d, d, _tiny().engine_json(0), None, 1)
    assert recs[0]["alpha_steps"] == recs[0]["w_steps"]  # alternating


def _penalty_after_one_step(cfg: DARTSConfig) -> tuple[float, Network, str]:
    net, d = _toy()
    _, recs, state = search_epochs(net, d, d, cfg.engine_json(0), None, 1)
    return recs[0]["penalty"], net, state


def test_proximity_term_is_eq_20() -> None:
    cfg = DARTSConfig(proximity=True, rho_p=0.3, search_epochs=1, batch_size=16)
    penalty, net, _ = _penalty_after_one_step(cfg)
    diff = [
        activate(net.params[k]) - project(net.params[k]) for k in ("alpha_normal", "alpha_reduce")
    ]
    norm = np.sqrt(sum(float((x.astype(np.float64) ** 2).sum()) for x in diff))
    assert penalty == pytest.approx(1.0 * 0.3 / 2 * norm, rel=1e-5)  # c = 1 after the one epoch


def test_admm_term_and_updates_are_eqs_21_to_25() -> None:
    cfg = DARTSConfig(
        admm=True, rho_a=0.4, admm_every=1, admm_lambda_u=0.8, search_epochs=3, batch_size=16
    )
    net, d = _toy()
    keys = ("alpha_normal", "alpha_reduce")
    a0 = [activate(net.params[k]).astype(np.float64) for k in keys]
    net1, recs, s1 = search_epochs(net, d, d, cfg.engine_json(0), None, 1)
    expected = (
        0.4
        / 2
        * sum(
            float(((a - project(net.params[k])) ** 2).sum()) for a, k in zip(a0, keys, strict=True)
        )
    )
    assert recs[0]["penalty"] == pytest.approx(expected, rel=1e-5)
    st1 = json.loads(s1)
    a1 = [activate(net1.params[k]) for k in keys]
    for k, a in enumerate(a1):  # z1 = Π(a1 + 0), u1 = 0.8·0 + a1 − z1
        assert np.array_equal(st1["z"][k], project(a).ravel())
        assert np.allclose(st1["u"][k], (a - project(a)).ravel(), atol=1e-6)
    net2, _, s2 = search_epochs(net1, d, d, cfg.engine_json(0), s1, 1)
    st2 = json.loads(s2)
    for k, key in enumerate(keys):
        a2 = activate(net2.params[key]).ravel()
        u1 = np.asarray(st1["u"][k], np.float32)
        z2 = project((a2 + u1).reshape(net2.params[key].shape)).ravel()
        assert np.array_equal(st2["z"][k], z2)
        assert np.allclose(st2["u"][k], 0.8 * u1 + a2 - z2, atol=1e-6)


def test_crb_prunes_for_good() -> None:
    net, d = _toy("crb")
    alpha = np.asarray(net.params["alpha_normal"]).copy()
    alpha[0, :3] = [-0.2, 0.0, -1.0]
    net = Network(net.spec, {**net.params, "alpha_normal": alpha})
    cfg = DARTSConfig(weighting="crb", alpha_lr=0.05, search_epochs=6, batch_size=4)
    seen: dict[tuple[str, int, int], float] = {}
    state = None
    for _ in range(6):
        net, recs, state = search_epochs(net, d, d, cfg.engine_json(0), state, 1)
        pruned = json.loads(state)["pruned"]
        for t, key in enumerate(("alpha_normal", "alpha_reduce")):
            a = net.params[key]
            for (r, c), v in np.ndenumerate(a):
                if (key, r, c) in seen:  # once pruned, frozen and still pruned
                    assert v == seen[(key, r, c)] and pruned[t][r * a.shape[1] + c]
                elif v <= 0:
                    assert pruned[t][r * a.shape[1] + c]
                    seen[(key, r, c)] = float(v)
    assert ("alpha_normal", 0, 0) in seen and seen[("alpha_normal", 0, 2)] == -1.0
    assert recs[-1]["pruned"] == len(seen) >= 3


def test_same_seed_same_search(splits: Splits) -> None:
    start = Network.init(Spec.mlp(64, [], 10), seed=0)
    a = DARTS(_tiny()).run(start, splits, seed=5, progress=False)
    b = DARTS(_tiny()).run(start, splits, seed=5, progress=False)
    c = DARTS(_tiny()).run(start, splits, seed=6, progress=False)
    assert a.alphas == b.alphas and a.genotype == b.genotype
    assert all(np.array_equal(v, b.network.params[k]) for k, v in a.network.params.items())
    assert a.alphas[-1] != c.alphas[-1]
    assert len(a.alphas) == 3 and len(a.search) == 2  # initial α + one per epoch


def test_resume_ends_where_an_uninterrupted_run_ends(
    splits: Splits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = Network.init(Spec.mlp(64, [], 10), seed=0)
    cfg = _tiny(schedule="fimt", proximity=True, admm=True, eval_epochs=2)
    full = DARTS(cfg).run(start, splits, seed=2, run_dir=tmp_path / "a", progress=False)
    real = RunFolder.save_checkpoint
    for cut in (1, 3):  # in the search, in the retraining

        def interrupted(self: RunFolder, generation: int, *args: Any, _cut: int = cut) -> Any:
            if generation > _cut:  # the run is stopped before this checkpoint is written
                raise KeyboardInterrupt
            return real(self, generation, *args)

        run = tmp_path / f"b{cut}"
        monkeypatch.setattr(RunFolder, "save_checkpoint", interrupted)
        with pytest.raises(KeyboardInterrupt):
            DARTS(cfg).run(start, splits, seed=2, run_dir=run, progress=False)
        monkeypatch.setattr(RunFolder, "save_checkpoint", real)
        res = DARTS(cfg).run(start, splits, seed=2, run_dir=run, resume=True, progress=False)
        assert res.genotype == full.genotype and res.alphas == full.alphas
        assert (run / "final.npl").read_bytes() == (tmp_path / "a/final.npl").read_bytes()


def test_config_variants_and_splits() -> None:
    assert DARTSConfig().arch_share() == 0.5
    assert DARTSConfig(schedule="fimt").arch_share() == pytest.approx(1 / 11)
    assert set(VARIANTS) >= {"DARTS", "+CS10", "+FIMT", "+PR", "DARTS-PRIME", "+CRB"}
    prime = DARTS.prime(DARTSConfig.fast())
    assert prime.config.schedule == "fimt" and prime.config.proximity
    crb = json.loads(DARTSConfig(weighting="crb").engine_json(0))
    assert crb["alpha_weight_decay"] == 0.0 and crb["alpha_cosine"] is False
    for bad in (
        dict(cells=2),
        dict(schedule="random"),
        dict(ops=("conv",)),
        dict(arch_fraction=1.0),
    ):
        with pytest.raises(ConfigError):
            DARTSConfig(**bad)  # type: ignore[arg-type]
    for cfg in (DARTSConfig.paper(), DARTSConfig.fast(), DARTSConfig.variant("+ADMM+FIMT+CRB")):
        assert DARTSConfig.from_dict(cfg.to_dict()) == cfg


def test_a_search_network_is_searched_as_given(splits: Splits) -> None:
    spec = Spec.darts_search((1, 8, 8), 10, cells=3, channels=2, states=2, weighting="crb")
    net = Network.init(spec, seed=1)
    res = DARTS(_tiny(weighting="crb", search_epochs=1)).run(net, splits, progress=False)
    assert np.array_equal(
        res.alphas[0]["alpha_normal"], np.asarray(net.params["alpha_normal"], np.float64).round(6)
    )
    with pytest.raises(ConfigError, match="weighting"):
        DARTS(_tiny()).run(net, splits, progress=False)
    with pytest.raises(ConfigError, match="square"):
        DARTS(_tiny()).run(Network.init(Spec.mlp(63, [], 10)), splits, progress=False)


def test_cli_runs_darts_prime(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from neuroplast import cli

    args = [
        "--search-epochs",
        "1",
        "--eval-epochs",
        "1",
        "--cells",
        "3",
        "--channels",
        "2",
        "--states",
        "2",
        "--eval-cells",
        "3",
        "--eval-channels",
        "2",
        "--subset",
        "200",
    ]
    code = cli.main(
        [
            "optimize",
            "darts-prime",
            "--dataset",
            "digits",
            "--preset",
            "fast",
            "--weighting",
            "crb",
            *args,
            "--run-dir",
            str(tmp_path / "r"),
            "--no-progress",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["controller"] == "darts-prime" and 0 <= out["skip_share_normal"] <= 1
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())["config"]
    assert cfg["schedule"] == "fimt" and cfg["proximity"] and cfg["weighting"] == "crb"
