"""Saving and loading networks: exact round trips, continued training, corrupt files."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import SGD, Adam, AdamW, Network, SerializationError, Spec
from neuroplast.io import FORMAT, FORMAT_VERSION, load, save
from neuroplast.testing import assert_bitwise_equal
from neuroplast.testing.strategies import inputs_for, problems, specs, targets_for

Header = dict[str, Any]


def _assert_same_network(a: Network, b: Network) -> None:
    assert a.spec == b.spec
    assert_bitwise_equal(a.params, b.params)
    if a.optimizer_state is None or b.optimizer_state is None:
        assert a.optimizer_state is b.optimizer_state is None
        return
    assert a.optimizer_state.kind == b.optimizer_state.kind
    assert a.optimizer_state.step == b.optimizer_state.step
    assert set(a.optimizer_state.slots) == set(b.optimizer_state.slots)
    for p in a.optimizer_state.slots:
        assert_bitwise_equal(a.optimizer_state.slots[p], b.optimizer_state.slots[p])


def _trained(opt: SGD | Adam | None = None) -> tuple[Network, Any, Any]:
    spec = Spec.mlp(4, [6, 5], 3, activation="tanh")
    X, y = inputs_for(spec, 40, 1), targets_for(spec, 40, 2)
    net = Network.init(spec, seed=0)
    net.fit(X, y, epochs=2, batch_size=16, optimizer=opt or Adam(lr=0.01), seed=3)
    return net, X, y


def _split(blob: bytes) -> tuple[Header, bytes]:
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8 : 8 + n]), blob[8 + n :]


def _crc(header: Header, body: bytes) -> int:
    """The documented checksum: CRC-32 of the canonical header without the CRC, then the data."""
    meta = {k: v for k, v in header["__metadata__"].items() if k != "crc32"}
    canonical = json.dumps({**header, "__metadata__": meta}, sort_keys=True).encode()
    return zlib.crc32(body, zlib.crc32(canonical))


def _join(header: Header, body: bytes, *, fix_crc: bool = True) -> bytes:
    if fix_crc and isinstance(header.get("__metadata__"), dict):
        header["__metadata__"]["crc32"] = str(_crc(header, body))
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, bytes]:
    net, _, _ = _trained()
    path = tmp_path / "net.npl"
    net.save(path)
    return path, path.read_bytes()


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize(
    "opt",
    [None, SGD(lr=0.1), SGD(lr=0.1, momentum=0.9, nesterov=True), Adam(lr=0.01), AdamW(lr=0.01)],
    ids=repr,
)
def test_exact_round_trip_and_continued_training(opt: SGD | Adam | None, tmp_path: Path) -> None:
    net, X, y = _trained(opt)
    path = tmp_path / "net.npl"
    net.save(path)
    loaded = Network.load(path)
    _assert_same_network(loaded, net)
    # Continuing training from the file is bitwise identical to never having saved.
    next_opt = opt or Adam(lr=0.01)
    loaded.fit(X, y, epochs=2, batch_size=16, optimizer=next_opt, seed=3, initial_epoch=2)
    net.fit(X, y, epochs=2, batch_size=16, optimizer=next_opt, seed=3, initial_epoch=2)
    _assert_same_network(loaded, net)


def test_untrained_network_round_trip(tmp_path: Path) -> None:
    net = Network.init(Spec.mlp(3, [2], 2, bias=False), seed=5)
    save(net, str(tmp_path / "a"))
    loaded = load(str(tmp_path / "a"))
    _assert_same_network(loaded, net)
    assert loaded.optimizer_state is None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(p=problems(specs()), train=st.booleans())
def test_round_trip_of_random_graphs(p: Any, train: bool, tmp_path: Path) -> None:
    net = p.network()
    if train:
        net.fit(p.X, p.y, epochs=1, batch_size=4, masks=p.masks)
    path = tmp_path / "g.npl"
    net.save(path)
    loaded = Network.load(path)
    _assert_same_network(loaded, net)
    np.testing.assert_array_equal(
        loaded.forward(p.X, masks=p.masks), net.forward(p.X, masks=p.masks)
    )


def test_file_layout_is_safetensors(saved: tuple[Path, bytes]) -> None:
    path, blob = saved
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0
    header, body = _split(blob)
    assert int(header["__metadata__"]["crc32"]) == _crc(header, body)
    meta = header.pop("__metadata__")
    assert meta["format"] == FORMAT and meta["format_version"] == str(FORMAT_VERSION)
    assert all(isinstance(v, str) for v in meta.values())  # safetensors metadata is str -> str
    assert Spec.from_json(meta["spec"]) == Network.load(path).spec
    assert json.loads(meta["optimizer"]) == {"kind": "adam", "step": 6}
    net = Network.load(path)
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        a, b = info["data_offsets"]
        assert info["dtype"] == "F32" and a == end
        arr = np.frombuffer(body[a:b], "<f4").reshape(info["shape"])
        kind, rest = name.split("/", 1)
        if kind == "param":
            np.testing.assert_array_equal(arr, net.params[rest])
        else:
            slot, pname = rest.split("/", 1)
            assert net.optimizer_state is not None
            np.testing.assert_array_equal(arr, net.optimizer_state.slots[pname][slot])
        end = b
    assert end == len(body)
    assert sum(k.startswith("param/") for k in header) == len(net.params)


def test_save_overwrites_atomically(tmp_path: Path) -> None:
    a, _, _ = _trained(SGD(lr=0.1))
    b = Network.init(Spec.mlp(2, [], 2), seed=0)
    path = tmp_path / "x.npl"
    a.save(path)
    b.save(path)
    _assert_same_network(Network.load(path), b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npl"]


# ------------------------------------------------------------------------------ corrupt files
def _expect_serialization_error(path: Path, data: bytes, match: str | None = None) -> None:
    path.write_bytes(data)
    with pytest.raises(SerializationError, match=match):
        Network.load(path)


@pytest.mark.parametrize("keep", [0, 3, 8, 20, -1, -4, -100])
def test_truncated_file(keep: int, saved: tuple[Path, bytes], tmp_path: Path) -> None:
    _, blob = saved
    _expect_serialization_error(tmp_path / "t.npl", blob[:keep])


def test_bit_flip_in_data_fails_checksum(saved: tuple[Path, bytes], tmp_path: Path) -> None:
    _, blob = saved
    _, body = _split(blob)
    for pos in (0, len(body) // 2, len(body) - 1):
        corrupt = bytearray(blob)
        corrupt[len(blob) - len(body) + pos] ^= 0x04
        _expect_serialization_error(tmp_path / "f.npl", bytes(corrupt), "checksum")


def test_every_single_bit_flip_is_detected_or_harmless(
    saved: tuple[Path, bytes], tmp_path: Path
) -> None:
    # Corruption anywhere must raise SerializationError or load the very same network (a flip
    # that leaves the parsed content unchanged); never another exception type, never a panic.
    original_path, blob = saved
    original = Network.load(original_path)
    path = tmp_path / "flip.npl"
    for i in range(0, len(blob), 3):
        corrupt = bytearray(blob)
        corrupt[i] ^= 1 << (i % 8)
        path.write_bytes(bytes(corrupt))
        try:
            loaded = Network.load(path)
        except SerializationError:
            continue
        assert loaded.spec == original.spec, f"flip at byte {i} changed the spec"
        assert_bitwise_equal(loaded.params, original.params)


def test_garbage_and_non_files(tmp_path: Path) -> None:
    _expect_serialization_error(tmp_path / "g1", b"\x00" * 7, "too short")
    _expect_serialization_error(tmp_path / "g2", struct.pack("<Q", 6) + b"\xff\xfe\x00abc", "JSON")
    _expect_serialization_error(tmp_path / "g3", struct.pack("<Q", 2**63) + b"{}", "exceeds")
    _expect_serialization_error(tmp_path / "g4", struct.pack("<Q", 4) + b"[1] ", "metadata")
    _expect_serialization_error(tmp_path / "g5", struct.pack("<Q", 2) + b"{}", "metadata")
    _expect_serialization_error(tmp_path / "g6", b"PK\x03\x04" + b"\x00" * 64)
    with pytest.raises(SerializationError, match="cannot read"):
        Network.load(tmp_path / "missing.npl")
    with pytest.raises(SerializationError, match="cannot read"):
        Network.load(tmp_path)
    assert issubclass(SerializationError, OSError)


Mutation = Callable[[Header], None]


def _drop(name: str) -> Callable[[Header, bytes], tuple[Header, bytes]]:
    def apply(header: Header, body: bytes) -> tuple[Header, bytes]:
        a, b = header.pop(name)["data_offsets"]
        for k, info in header.items():
            if k != "__metadata__" and info["data_offsets"][0] >= b:
                info["data_offsets"] = [x - (b - a) for x in info["data_offsets"]]
        return header, body[:a] + body[b:]

    return apply


def _meta(**changes: Any) -> Mutation:
    return lambda h: h["__metadata__"].update(changes)


def _entry(name: str, **changes: Any) -> Mutation:
    return lambda h: h[name].update(changes)


def _del_meta(key: str) -> Mutation:
    return lambda h: h["__metadata__"].pop(key)


HEADER_CORRUPTIONS: dict[str, tuple[Mutation, str]] = {
    "wrong format tag": (_meta(format="safetensors"), "format tag"),
    "missing format tag": (_del_meta("format"), "format tag"),
    "wrong version": (_meta(format_version="2"), "version"),
    "numeric version": (_meta(format_version=1), "version"),
    "missing version": (_del_meta("format_version"), "version"),
    "missing spec": (_del_meta("spec"), "spec"),
    "spec not JSON": (_meta(spec="{"), "JSON"),
    "spec of another shape": (_meta(spec=Spec.mlp(4, [7, 5], 3).to_json()), "shape"),
    "spec with a bad loss": (
        _meta(spec=Spec.mlp(4, [6, 5], 3).to_json().replace("cross_entropy", "hinge")),
        "loss",
    ),
    "optimizer not JSON": (_meta(optimizer="{"), ""),
    "optimizer without step": (_meta(optimizer='{"kind": "adam"}'), ""),
    "metadata not a dict": (lambda h: h.update({"__metadata__": "x"}), "metadata"),
    "wrong shape": (_entry("param/dense_0.weight", shape=[4, 6]), "shape"),
    "wrong dtype": (_entry("param/dense_0.weight", dtype="F64"), "header entry"),
    "overlapping offsets": (_entry("param/dense_0.bias", data_offsets=[0, 24]), "layout"),
    "offsets past the end": (_entry("param/output.bias", data_offsets=[10**9, 10**9 + 12]), ""),
    "entry not a dict": (lambda h: h.update({"param/dense_0.bias": [1, 2]}), "entry"),
    "entry without shape": (lambda h: h["param/dense_0.bias"].pop("shape"), "entry"),
    "unknown parameter": (
        lambda h: h.update({"param/zzz": h.pop("param/output.bias")}),
        "unexpected|output.bias",
    ),
    "slot for unknown parameter": (
        lambda h: h.update({"optim/exp_avg/zzz": h.pop("optim/exp_avg/output.bias")}),
        "zzz",
    ),
}


@pytest.mark.parametrize(
    ("mutate", "match"), list(HEADER_CORRUPTIONS.values()), ids=list(HEADER_CORRUPTIONS)
)
def test_corrupt_header_raises_serialization_error(
    mutate: Mutation, match: str, saved: tuple[Path, bytes], tmp_path: Path
) -> None:
    _, blob = saved
    header, body = _split(blob)
    mutate(header)
    _expect_serialization_error(tmp_path / "h.npl", _join(header, body), match or None)


@pytest.mark.parametrize("name", ["param/dense_0.weight", "param/output.bias"])
def test_missing_parameter_tensor(name: str, saved: tuple[Path, bytes], tmp_path: Path) -> None:
    _, blob = saved
    header, body = _drop(name)(*_split(blob))
    _expect_serialization_error(tmp_path / "m.npl", _join(header, body), "missing")


def test_trailing_bytes_and_stale_checksum(saved: tuple[Path, bytes], tmp_path: Path) -> None:
    _, blob = saved
    header, body = _split(blob)
    _expect_serialization_error(tmp_path / "a", _join(header, body + b"\0" * 4), "trailing")
    # Checked against the file size before the data are read (the checksum comes later).
    _expect_serialization_error(tmp_path / "b", blob + b"\0" * 4, "trailing")
    _expect_serialization_error(tmp_path / "c", _join(header, body[:-4]))


# ------------------------------------------------------------------------------ known bugs
@pytest.mark.parametrize(
    "mutate",
    [
        _entry("param/dense_0.bias", data_offsets=[]),
        _entry("param/dense_0.bias", data_offsets=5),
        _entry("param/dense_0.bias", data_offsets=["a", "b"]),
        _entry("param/dense_0.bias", shape=[-2, -3]),
    ],
    ids=["empty offsets", "int offsets", "string offsets", "negative shape"],
)
def test_malformed_entries_raise_serialization_error(
    mutate: Mutation, saved: tuple[Path, bytes], tmp_path: Path
) -> None:
    _, blob = saved
    header, body = _split(blob)
    mutate(header)
    _expect_serialization_error(tmp_path / "e.npl", _join(header, body))


@pytest.mark.parametrize(
    "corrupt",
    [
        _drop("optim/exp_avg/output.bias"),
        lambda h, b: (_entry("optim/exp_avg/dense_0.weight", shape=[4, 6])(h), (h, b))[1],
        lambda h, b: (_meta(optimizer='{"kind": "rmsprop", "step": 1}')(h), (h, b))[1],
        lambda h, b: (_meta(optimizer='{"kind": "adam", "step": -1}')(h), (h, b))[1],
    ],
    ids=["missing slot", "slot shape", "unknown kind", "negative step"],
)
def test_inconsistent_optimizer_state_raises_serialization_error(
    corrupt: Callable[[Header, bytes], tuple[Header, bytes]],
    saved: tuple[Path, bytes],
    tmp_path: Path,
) -> None:
    _, blob = saved
    header, body = corrupt(*_split(blob))
    _expect_serialization_error(tmp_path / "o.npl", _join(header, body))


def test_header_bit_flip_in_spec_is_detected(saved: tuple[Path, bytes], tmp_path: Path) -> None:
    _, blob = saved
    i = blob.index(b"activation")
    corrupt = bytearray(blob)
    corrupt[i] ^= 0x01  # 'a' -> '`'
    _expect_serialization_error(tmp_path / "s.npl", bytes(corrupt))
