"""Issue 19 reproducers for model files: typed, atomic, leftover-free saves; careful loads."""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.limits import temporary_limits


@pytest.fixture(scope="module")
def net() -> npl.Network:
    n = npl.Network.init(npl.Spec.mlp(3, [4], 2), seed=0)
    X = np.ones((8, 3), np.float32)
    n.fit(X, np.arange(8) % 2, epochs=1, seed=0)
    return n


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    "where",
    ["folder", "missing parent", "parent is a file", "empty", "nul", "too long", "not a path"],
)
def test_every_bad_target_is_a_serialization_error(net, tmp_path: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "afile").write_text("x")
    target = {
        "folder": tmp_path,
        "missing parent": tmp_path / "nope" / "x.npl",
        "parent is a file": tmp_path / "afile" / "x.npl",
        "empty": "",
        "nul": str(tmp_path / "a\0b"),
        "too long": tmp_path / ("n" * 300),
        "not a path": 3.5,
    }[where]
    with pytest.raises(npl.SerializationError):
        net.save(target)
    assert _names(tmp_path) == ["afile"]  # nothing left behind


def test_stale_tmp_folder_does_not_block_saves(net, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x.npl.tmp").mkdir()
    net.save(tmp_path / "x.npl")
    net.save(tmp_path / "x.npl")
    assert _names(tmp_path) == ["x.npl", "x.npl.tmp"]


def test_symlinks_are_followed(net, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    real = tmp_path / "real.npl"
    real.write_bytes(b"old")
    link = tmp_path / "link.npl"
    link.symlink_to(real)
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert npl.Network.load(real).spec == net.spec
    # A dangling link: the file it names is created.
    dangling = tmp_path / "dangling.npl"
    dangling.symlink_to(tmp_path / "target.npl")
    net.save(dangling)
    assert (tmp_path / "target.npl").is_file() and dangling.is_symlink()


def test_permissions_are_kept_and_failure_leaves_no_temporary(net, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.npl"
    net.save(path)
    os.chmod(path, 0o640)
    net.save(path)
    assert path.stat().st_mode & 0o777 == 0o640
    if os.geteuid() != 0:  # root ignores permissions
        os.chmod(tmp_path, 0o500)
        try:
            with pytest.raises(npl.SerializationError):
                net.save(path)
        finally:
            os.chmod(tmp_path, 0o700)
    assert _names(tmp_path) == ["x.npl"]


def _header_file(path: Path, header: bytes, total: int) -> None:
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(header)) + header)
        fh.truncate(total)  # sparse: costs no disk space


def test_load_checks_sizes_before_reading(tmp_path: Path) -> None:
    # A 6 GB (sparse) file whose header does not declare 6 GB of tensors is refused from its
    # header alone; it used to be read completely first.
    path = tmp_path / "big.npl"
    header = json.dumps(
        {"__metadata__": {}, "t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    )
    _header_file(path, header.encode(), 6 * 2**30)
    start = time.perf_counter()
    with pytest.raises(npl.SerializationError, match="trailing or missing"):
        npl.Network.load(path)
    assert time.perf_counter() - start < 2.0
    with temporary_limits(max_file_bytes=2**30), pytest.raises(npl.ResourceLimitError):
        npl.Network.load(path)
    # A header length beyond the file.
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(npl.SerializationError, match="header length"):
        npl.Network.load(path)


def test_deep_json_header_is_a_serialization_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.npl"
    _header_file(path, b"[" * 200_000, 8 + 200_000)
    with pytest.raises(npl.SerializationError, match="max_json_depth"):
        npl.Network.load(path)


def test_load_of_folders_and_missing_files(tmp_path: Path) -> None:
    for target in (tmp_path, tmp_path / "missing.npl", "", str(tmp_path / "a\0")):
        with pytest.raises(npl.SerializationError):
            npl.Network.load(target)
