"""Spec and layer nodes: builders, queries, hashing, JSON round trips and validation."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroplast import Add, Concat, Dense, Spec, SpecError
from neuroplast.layers import ACTIVATIONS, node_from_dict
from neuroplast.spec import LOSSES, SPEC_FORMAT_VERSION
from neuroplast.testing import reference
from neuroplast.testing.strategies import mlp_specs, specs

SETTINGS = settings(max_examples=60, deadline=None)


def _residual() -> Spec:
    return Spec(
        (2, 3),
        (
            Dense("a", "input", 4, "relu"),
            Dense("b", "a", 4, "tanh", bias=False),
            Add("s", ("a", "b")),
            Concat("c", ("s", "input"), "leaky_relu", 0.2),
            Dense("out", "c", 3, "identity"),
        ),
        "out",
    )


# ------------------------------------------------------------------------------ builders
def test_mlp_builder() -> None:
    spec = Spec.mlp(64, [128, 32], 10, activation="tanh", output_activation="sigmoid", loss="mse")
    assert [n.name for n in spec.nodes] == ["dense_0", "dense_1", "output"]
    assert spec.nodes[0] == Dense("dense_0", "input", 128, "tanh")
    assert spec.nodes[2] == Dense("output", "dense_1", 10, "sigmoid")
    assert spec.input_shape == (64,) and spec.output == "output" and spec.loss == "mse"
    assert dict(spec.widths) == {"input": 64, "dense_0": 128, "dense_1": 32, "output": 10}
    assert list(spec.param_shapes.items()) == [
        ("dense_0.weight", (128, 64)),
        ("dense_0.bias", (128,)),
        ("dense_1.weight", (32, 128)),
        ("dense_1.bias", (32,)),
        ("output.weight", (10, 32)),
        ("output.bias", (10,)),
    ]
    assert spec.n_inputs == 64 and spec.n_outputs == 10
    no_bias = Spec.mlp(3, [], 2, bias=False)
    assert list(no_bias.param_shapes) == ["output.weight"]
    assert no_bias.nodes == (Dense("output", "input", 2, "identity", bias=False),)


def test_documented_counts() -> None:
    spec = Spec.mlp(64, [128], 10)
    assert spec.n_params == 9610
    # 2·64·128 + 128 (bias) + 128 (relu) + 2·128·10 + 10 (bias); identity output is free.
    assert spec.flops == 16384 + 128 + 128 + 2560 + 10
    res = _residual()
    assert res.n_params == (4 * 6 + 4) + 4 * 4 + 3 * (4 + 6 + 1)
    assert res.flops == (2 * 6 * 4 + 4 + 4) + (2 * 4 * 4 + 4) + 4 + 10 + (2 * 10 * 3 + 3)


@SETTINGS
@given(specs())
def test_structure_matches_reference(spec: Spec) -> None:
    assert dict(spec.widths) == reference.node_widths(spec)
    assert list(spec.param_shapes.items()) == list(reference.param_shapes(spec).items())
    assert spec.n_params == reference.n_params(spec)
    assert spec.flops == reference.flops(spec)
    assert spec.n_inputs == math.prod(spec.input_shape)
    assert spec.n_outputs == spec.widths[spec.output]


def test_queries() -> None:
    spec = _residual()
    assert spec.node("s") == Add("s", ("a", "b"))
    assert spec.node_index("input") == 0
    assert [spec.node_index(n.name) for n in spec.nodes] == [1, 2, 3, 4, 5]
    with pytest.raises(SpecError):
        spec.node("nope")
    with pytest.raises(SpecError):
        spec.node_index("nope")
    assert spec.widths["c"] == 10 and spec.n_inputs == 6
    r = repr(spec)
    assert "c:concat(10,leaky_relu)" in r and "output='out'" in r
    assert Dense("d", "x", 1).inputs == ("x",)
    assert Concat("c", ["a", "b"]).inputs == ("a", "b")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ equality
def test_equality_and_hashing() -> None:
    a, b = _residual(), _residual()
    assert a == b and hash(a) == hash(b) and a is not b
    assert {a: 1}[b] == 1
    assert Spec.mlp(3, [4], 2) != Spec.mlp(3, [4], 2, loss="mse")
    assert Spec.mlp(3, [4], 2) != Spec.mlp(3, [4], 2, activation="tanh")
    assert Spec.mlp(3, [4], 2) != Spec.mlp(3, [4], 2, bias=False)
    assert Spec.mlp(3, [4], 2) != Spec.mlp(3, [5], 2)
    assert Spec.mlp(3, [4], 2, "leaky_relu") != Spec(
        (3,),
        (
            Dense("dense_0", "input", 4, "leaky_relu", 0.2),
            Dense("output", "dense_0", 2, "identity"),
        ),
        "output",
    )
    assert Spec((6,), a.nodes, "out") != a  # same flat width, different input shape
    assert Add("s", ("a", "b")) != Concat("s", ("a", "b"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.loss = "mse"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.nodes[0].units = 3  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        a.widths["a"] = 3  # type: ignore[index]


# ------------------------------------------------------------------------------ JSON
@settings(max_examples=100, deadline=None)
@given(st.one_of(specs(), mlp_specs()))
def test_json_round_trip(spec: Spec) -> None:
    text = spec.to_json()
    back = Spec.from_json(text)
    assert back == spec and hash(back) == hash(spec)
    assert back.to_json() == text
    assert dict(back.widths) == dict(spec.widths)
    assert Spec.from_dict(spec.to_dict()) == spec
    d = json.loads(text)
    assert d["format"] == "neuroplast.spec" and d["version"] == SPEC_FORMAT_VERSION
    assert text == json.dumps(d, sort_keys=True)
    for node in spec.nodes:
        assert node_from_dict(node.to_dict()) == node


def test_json_defaults() -> None:
    d = Spec.mlp(3, [4], 2).to_dict()
    del d["loss"]
    for node in d["nodes"]:
        for key in ("activation", "negative_slope", "bias"):
            node.pop(key)
    spec = Spec.from_dict(d)
    assert spec.loss == "cross_entropy"
    assert all(n.activation == "identity" and n.bias for n in spec.nodes)  # type: ignore[union-attr]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=4)
    | st.sampled_from(["input", "h0", "out", "relu", "dense", "add", "concat", "mse"]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(max_nodes=3), st.data())
def test_mutated_json_raises_only_spec_error(spec: Spec, data: st.DataObject) -> None:
    d: Any = spec.to_dict()
    targets = ["top"] + [f"node{i}" for i in range(len(spec.nodes))]
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(targets))
        try:
            obj = d if target == "top" else d["nodes"][int(target[4:])]
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(obj, dict):
            continue
        key = data.draw(st.sampled_from([*sorted(obj), "extra"]))
        if key in obj and data.draw(st.booleans()):
            del obj[key]
        else:
            obj[key] = data.draw(json_values)
    try:
        parsed = Spec.from_dict(d)
    except SpecError:
        return
    assert Spec.from_json(parsed.to_json()) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "{",
        "",
        "[]",
        "null",
        "42",
        '{"format": "neuroplast.spec"}',
        '{"format": "other", "version": 1}',
    ],
)
def test_bad_json_raises_spec_error(text: str) -> None:
    with pytest.raises(SpecError):
        Spec.from_json(text)


@pytest.mark.parametrize("version", [0, 2, "1", None, 1.5])
def test_wrong_version_raises_spec_error(version: object) -> None:
    d = Spec.mlp(3, [4], 2).to_dict()
    d["version"] = version
    with pytest.raises(SpecError, match="version"):
        Spec.from_dict(d)


def test_non_mapping_and_missing_tag() -> None:
    with pytest.raises(SpecError):
        Spec.from_dict([1, 2])  # type: ignore[arg-type]
    d = Spec.mlp(3, [4], 2).to_dict()
    del d["format"]
    with pytest.raises(SpecError, match="format"):
        Spec.from_dict(d)
    with pytest.raises(SpecError):
        Spec.from_json(None)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ invalid specs
D = Dense
INVALID: dict[str, Any] = {
    "unknown input": lambda: Spec((3,), (D("a", "zz", 2),), "a"),
    "later input (cycle)": lambda: Spec((3,), (D("a", "b", 2), D("b", "a", 2)), "b"),
    "self input": lambda: Spec((3,), (D("a", "a", 2),), "a"),
    "duplicate names": lambda: Spec((3,), (D("a", "input", 2), D("a", "input", 2)), "a"),
    "add width mismatch": lambda: Spec(
        (3,), (D("a", "input", 2), D("b", "input", 3), Add("s", ("a", "b"))), "s"
    ),
    "add one input": lambda: Spec((3,), (D("a", "input", 2), Add("s", ("a",))), "s"),
    "add no input": lambda: Spec((3,), (D("a", "input", 2), Add("s", ())), "s"),
    "concat no input": lambda: Spec((3,), (D("a", "input", 2), Concat("s", ())), "s"),
    "concat unknown input": lambda: Spec((3,), (D("a", "input", 2), Concat("s", ("a", "q"))), "s"),
    "bad dense activation": lambda: D("a", "input", 2, "swish"),
    "bad merge activation": lambda: Add("s", ("a", "b"), "gelu"),
    "activation alias": lambda: D("a", "input", 2, "linear"),
    "zero units": lambda: D("a", "input", 0),
    "negative units": lambda: D("a", "input", -3),
    "float units": lambda: D("a", "input", 2.0),
    "bool units": lambda: D("a", "input", True),
    "name 'input'": lambda: D("input", "input", 2),
    "empty name": lambda: D("", "input", 2),
    "non-string name": lambda: D(7, "input", 2),
    "merge named input": lambda: Concat("input", ("a", "b")),
    "empty input_shape": lambda: Spec((), (D("a", "input", 2),), "a"),
    "zero in input_shape": lambda: Spec((3, 0), (D("a", "input", 2),), "a"),
    "negative input_shape": lambda: Spec((-1,), (D("a", "input", 2),), "a"),
    "float input_shape": lambda: Spec((2.0,), (D("a", "input", 2),), "a"),
    "bool input_shape": lambda: Spec((True,), (D("a", "input", 2),), "a"),
    "int input_shape": lambda: Spec(3, (D("a", "input", 2),), "a"),
    "None input_shape": lambda: Spec(None, (D("a", "input", 2),), "a"),
    "output is input": lambda: Spec((3,), (D("a", "input", 2),), "input"),
    "unknown output": lambda: Spec((3,), (D("a", "input", 2),), "b"),
    "no nodes": lambda: Spec((3,), (), "input"),
    "unknown loss": lambda: Spec((3,), (D("a", "input", 2),), "a", "hinge"),
    "non-node": lambda: Spec((3,), ("dense",), "a"),
    "nan slope": lambda: Spec((3,), (D("a", "input", 2, "leaky_relu", math.nan),), "a"),
    "inf slope": lambda: Spec((3,), (D("a", "input", 2, "leaky_relu", math.inf),), "a"),
    "string slope": lambda: Spec((3,), (D("a", "input", 2, "leaky_relu", "x"),), "a"),
    "non-string input": lambda: Spec((3,), (D("a", 5, 2),), "a"),
    "huge units": lambda: Spec((3,), (D("a", "input", 2**70),), "a"),
    "unknown op": lambda: Spec.from_dict(
        {
            **Spec.mlp(3, [], 2).to_dict(),
            "nodes": [{"name": "a", "op": "conv", "inputs": ["input"]}],
        }
    ),
    "dense with two inputs": lambda: node_from_dict(
        {"name": "a", "op": "dense", "inputs": ["input", "input"], "units": 2}
    ),
    "node without op": lambda: node_from_dict({"name": "a", "inputs": ["input"], "units": 2}),
    "node not a dict": lambda: node_from_dict(5),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("make", list(INVALID.values()), ids=list(INVALID))
def test_invalid_specs_raise_spec_error(make: Any) -> None:
    with pytest.raises(SpecError):
        make()


def test_valid_corner_cases() -> None:
    # An add may take the raw input and repeat an operand; nodes may follow the output.
    spec = Spec(
        (3,),
        (
            D("a", "input", 3),
            Add("s", ("a", "input", "a")),
            D("out", "s", 2, "identity"),
            D("after", "out", 4),
        ),
        "out",
    )
    assert spec.n_outputs == 2 and spec.widths["after"] == 4
    # A concat of one input is the identity (a merge whose other connections were removed).
    one = Spec((3,), (D("a", "input", 2), Concat("s", ("a",)), D("out", "s", 2)), "out")
    assert one.widths["s"] == 2
    assert set(LOSSES) == {"cross_entropy", "mse"}
    assert set(ACTIVATIONS) == {
        "identity",
        "relu",
        "modified_relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "saturation",
        "sign",
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda: Spec((2**32, 2**32 + 1), (D("a", "input", 2),), "a"),
        lambda: Spec(
            (3,),
            (D("a", "input", 2**63), D("b", "input", 2**63), Concat("c", ("a", "b"))),
            "c",
        ),
    ],
    ids=["input_shape product", "concat width sum"],
)
def test_overflowing_widths_raise_spec_error(make: Any) -> None:
    with pytest.raises(SpecError):
        make()


def test_non_boolean_bias_in_json_raises_spec_error() -> None:
    d = Spec.mlp(3, [4], 2).to_dict()
    d["nodes"][0]["bias"] = "false"
    with pytest.raises(SpecError):
        Spec.from_dict(d)


def test_spec_pickles() -> None:
    import copy
    import pickle

    spec = _residual()
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert copy.deepcopy(spec) == spec
