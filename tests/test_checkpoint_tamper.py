"""Checkpoint tampering (issue 19): every manifest field edited, files swapped, random byte flips.

Each tampering must end in a typed error that names the file, or in a resume that provably
starts from the same checkpoint (same generation, bitwise same network and state), hence ends
with the same result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.search import Compress, CompressConfig, RunFolder, Splits


def _net(seed: int) -> npl.Network:
    net = npl.Network.init(npl.Spec.mlp(3, [5], 2), seed=seed)
    net.fit(np.ones((8, 3), np.float32), np.arange(8) % 2, epochs=1, seed=seed)
    return net


@pytest.fixture
def run(tmp_path: Path) -> RunFolder:
    folder = RunFolder(tmp_path / "run")
    folder.claim("test", {"a": 1}, 0, {"n": 8})
    for g in (1, 2, 3):
        folder.save_checkpoint(g, _net(g), {"generation": g, "accuracy": 0.5 + g / 10})
    return folder


def _snapshot(folder: RunFolder) -> tuple[int, dict[str, bytes], Any]:
    found = folder.latest_checkpoint()
    assert found is not None
    gen, net, state = found
    return gen, {k: v.tobytes() for k, v in net.params.items()}, state


def _rewrite(folder: RunFolder, edit: Any, rehash: bool) -> None:
    doc = json.loads(folder.manifest_path.read_text())
    edit(doc)
    if rehash:  # a consistent-looking manifest: the content checks must still catch it
        body = {k: v for k, v in doc.items() if k != "sha256"}
        canon = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        doc["sha256"] = hashlib.sha256(canon).hexdigest()
    folder.manifest_path.write_text(json.dumps(doc))


EDITS = {
    "format": lambda d: d.update(format="other"),
    "version": lambda d: d.update(version=2),
    "config_sha256": lambda d: d.update(config_sha256="0" * 64),
    "config_sha256 null": lambda d: d.update(config_sha256=None),
    "generation": lambda d: d.update(generation=2),
    "generation type": lambda d: d.update(generation="3"),
    "entry generation": lambda d: d["checkpoints"][-1].update(generation=4),
    "entry digest": lambda d: d["checkpoints"][-1]["files"].update({"gen_0003.npl": "a" * 64}),
    "entry file name": lambda d: d["checkpoints"][-1].update(
        files={"../config.json": "a" * 64, "gen_0003.json": "b" * 64}
    ),
    "entry missing": lambda d: d["checkpoints"].pop(),
    "extra key": lambda d: d.update(extra=1),
    "missing key": lambda d: d.pop("checkpoints"),
    "sha256": lambda d: d.update(sha256="f" * 64),
}


@pytest.mark.parametrize("rehash", [False, True], ids=["raw", "rehashed"])
@pytest.mark.parametrize("field", sorted(EDITS))
def test_every_manifest_field_edited(run: RunFolder, field: str, rehash: bool) -> None:
    before = _snapshot(run)
    _rewrite(run, EDITS[field], rehash)
    try:
        after = _snapshot(run)
    except npl.SerializationError as exc:
        assert "manifest" in str(exc) or "config.json" in str(exc) or "gen_0003" in str(exc)
        return
    # Not an error: then the manifest is the one that was written (the re-hashed checksum
    # edit is a no-op), and the resume starts from the very same checkpoint.
    assert after == before and field == "sha256" and rehash


@pytest.mark.parametrize("doc", [b"\xff\xfe\x00", b"[1, 2]", b"{}", b"", b"{" * 100], ids=repr)
def test_unreadable_manifests(run: RunFolder, doc: bytes) -> None:
    run.manifest_path.write_bytes(doc)
    with pytest.raises(npl.SerializationError, match="manifest"):
        run.latest_checkpoint()


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: {**s, "accuracy": 0.99},
        lambda s: {**s, "generation": 7},
        lambda s: {k: v for k, v in s.items() if k != "accuracy"},
        lambda s: [s],
    ],
    ids=["accuracy", "generation", "missing key", "a list"],
)
def test_state_fields_edited(run: RunFolder, edit: Any) -> None:
    path = run.checkpoint_paths(3)[1]
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(npl.SerializationError, match=r"gen_0003\.json"):
        run.latest_checkpoint()


def test_non_utf8_state(run: RunFolder) -> None:
    run.checkpoint_paths(3)[1].write_bytes(b"\xff\xfe")
    with pytest.raises(npl.SerializationError, match=r"gen_0003\.json"):
        run.latest_checkpoint()


@pytest.mark.parametrize("kind", ["npl", "json"])
def test_swapped_or_older_files(run: RunFolder, kind: str) -> None:
    index = 0 if kind == "npl" else 1
    shutil.copyfile(run.checkpoint_paths(1)[index], run.checkpoint_paths(3)[index])
    with pytest.raises(npl.SerializationError, match=f"gen_0003.{kind}"):
        run.latest_checkpoint()


def test_missing_file_and_edited_config(run: RunFolder) -> None:
    run.config_path.write_text(run.config_path.read_text().replace('"a": 1', '"a": 1 '))
    with pytest.raises(npl.SerializationError, match=r"config\.json"):
        run.latest_checkpoint()
    run.checkpoint_paths(3)[0].unlink()
    with pytest.raises(npl.SerializationError):
        run.latest_checkpoint()


def test_an_older_complete_manifest_resumes_from_its_own_checkpoint(run: RunFolder) -> None:
    older = run.manifest_path.read_bytes()
    run.save_checkpoint(4, _net(4), {"generation": 4})
    run.manifest_path.write_bytes(older)
    gen, params, state = _snapshot(run)
    assert gen == 3 and state["generation"] == 3
    assert params == {k: v.tobytes() for k, v in run.load_checkpoint(3)[0].params.items()}


def test_random_byte_flips_are_errors_or_identical(run: RunFolder) -> None:
    reference = _snapshot(run)
    files = sorted(p for p in run.path.rglob("*") if p.is_file() and p.name != ".lock")
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "identical": 0}
    for _ in range(60):
        path = files[rng.integers(len(files))]
        original = path.read_bytes()
        flipped = bytearray(original)
        flipped[rng.integers(len(flipped))] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        try:
            got = _snapshot(run)
        except npl.SerializationError:
            outcomes["error"] += 1
        else:
            assert got == reference, f"a flip in {path.name} changed the resumed checkpoint"
            outcomes["identical"] += 1
        path.write_bytes(original)
    assert outcomes["error"] > 0


def test_a_tampered_controller_run_refuses_to_resume(tmp_path: Path) -> None:
    ds = npl.data.load("digits", seed=0)
    splits = Splits.from_dataset(ds, seed=0)
    net = npl.Network.init(npl.Spec.mlp(64, [24], 10), seed=0)
    net.fit(splits.X_train, splits.y_train, epochs=5, seed=0)
    cfg = CompressConfig.fast(max_rounds=2, tune_epochs=1, final_epochs=1, patience=1)
    a, b = tmp_path / "a", tmp_path / "b"
    Compress(cfg).run(net, splits, seed=1, run_dir=a, progress=False)
    shutil.copytree(a, b)
    # Untouched: the resumed run ends with the same files.
    Compress(cfg).run(net, splits, seed=1, run_dir=b, resume=True, progress=False)
    assert (a / "final.npl").read_bytes() == (b / "final.npl").read_bytes()
    # A checkpoint's state edited: a typed error naming the file.
    state = sorted((b / "checkpoints").glob("gen_*.json"))[-1]
    doc = json.loads(state.read_text())
    doc["tampered"] = True
    state.write_text(json.dumps(doc))
    with pytest.raises(npl.SerializationError, match=state.name):
        Compress(cfg).run(net, splits, seed=1, run_dir=b, resume=True, progress=False)
