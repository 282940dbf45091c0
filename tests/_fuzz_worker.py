"""Fuzz worker (run by ``tests/test_fuzz.py`` in a subprocess; not collected by pytest).

Usage: ``python tests/_fuzz_worker.py BATCH EXAMPLES AS_LIMIT_BYTES PER_CALL_SECONDS``.

Sets an address-space limit (``RLIMIT_AS``), then draws ``EXAMPLES`` random calls across the
public API with hypothesis (seeded by ``BATCH``). Before each call it prints a ``start`` line
and arms a watchdog (``faulthandler.dump_traceback_later(..., exit=True)``) that ends the
process on a hang; after the call it prints a JSON line with the outcome: ``ok`` (returned),
``typed`` (raised a ``NeuroplastError``) or ``other`` (any other exception, a failure). A
crash (abort, segfault) ends the process, which the parent reports with the last ``start``.
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _limit(as_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))


BATCH, EXAMPLES, AS_LIMIT, PER_CALL = (
    int(sys.argv[1]),
    int(sys.argv[2]),
    int(sys.argv[3]),
    float(sys.argv[4]),
)
_limit(AS_LIMIT)

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import neuroplast as npl  # noqa: E402
from neuroplast import metrics, morph  # noqa: E402

TMP = Path(tempfile.mkdtemp(prefix="npl-fuzz-"))
Thunk = Callable[[], Any]

# ------------------------------------------------------------------ value strategies
WEIRD = st.sampled_from(
    [
        None,
        "x",
        1.5,
        float("nan"),
        float("inf"),
        True,
        -1,
        0,
        2**31,
        2**63,
        2**64,
        10**30,
        -(2**63),
        [1],
        (),
        {},
    ]
)
SMALL = st.integers(-2, 12)
SIZE = st.one_of(SMALL, st.sampled_from([2**16, 2**24 + 1, 2**31, 2**40, 2**62]), WEIRD)
REAL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-3, 1e6, 1e30, 1e38, -1.0]),
    WEIRD,
)
DTYPES = ["float32", "float64", "int64", "int8", "uint64", "bool", "complex64", "object", "U3"]
SPECIAL = [np.nan, np.inf, -np.inf, 1e38, 3e38, 1e30, -0.0, 0.0]


@st.composite
def arrays(draw: Any, lead: int | None = None, width: int | None = None) -> Any:
    """Arrays of random dtype and shape, with special values; sometimes huge broadcast views."""
    kind = draw(st.sampled_from(["dense", "dense", "dense", "broadcast", "list", "scalar"]))
    if kind == "scalar":
        return draw(st.one_of(REAL, WEIRD))
    n = lead if lead is not None and draw(st.booleans()) else draw(st.integers(0, 12))
    w = width if width is not None and draw(st.booleans()) else draw(st.integers(0, 9))
    extra = draw(st.lists(st.integers(0, 4), max_size=2))
    shape = (n, w, *extra)
    if kind == "broadcast":
        # Small enough to finish at once, or far too large to be allowed (in between are
        # legitimate requests that just take long).
        rows = 10 ** draw(st.sampled_from([3, 5, 11, 13]))
        base = np.zeros((1, *shape[1:]), draw(st.sampled_from(["float32", "float64"])))
        return np.broadcast_to(base, (rows, *shape[1:]))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.normal(size=shape) * 10.0 ** draw(st.integers(-3, 3))
    if values.size and draw(st.booleans()):
        values.flat[draw(st.integers(0, values.size - 1))] = draw(st.sampled_from(SPECIAL))
    if dtype == "object":
        out = values.astype(object)
        if out.size:
            out.flat[0] = None
        return out.tolist() if kind == "list" else out
    with np.errstate(all="ignore"):
        out = values.astype(dtype)
    if draw(st.booleans()) and out.ndim >= 2:
        out = np.asfortranarray(out)
    return out.tolist() if kind == "list" else out


NETS = {
    "mlp": npl.Network.init(npl.Spec.mlp(4, [8, 6], 3), seed=0),
    "mse": npl.Network.init(npl.Spec.mlp(4, [6], 2, loss="mse"), seed=1),
    "cnn": npl.Network.init(npl.Spec.cnn((1, 6, 6), [3], 3, hidden=[5], batch_norm=True), seed=2),
}
LAYERS = st.sampled_from(["dense_0", "dense_1", "conv_0", "output", "input", "pool_0", "nope", ""])
NETS_ST = st.sampled_from(sorted(NETS))


def _data(draw: Any, net: npl.Network) -> tuple[Any, Any]:
    """Mostly valid data (so that calls get deep), sometimes anything."""
    n = draw(st.integers(1, 20))
    rng = np.random.default_rng(n)
    valid = draw(st.sampled_from([True, True, False]))
    if valid:
        shape = (n, *net.spec.input_shape) if draw(st.booleans()) else (n, net.spec.n_inputs)
        X = rng.normal(size=shape).astype(np.float32) * 10.0 ** draw(st.integers(-2, 2))
    else:
        X = draw(arrays(lead=n, width=net.spec.n_inputs))
    if net.spec.loss == "mse":
        good = rng.normal(size=(n, net.spec.n_outputs)).astype(np.float32)
    else:
        good = rng.integers(0, net.spec.n_outputs, size=n)
    if draw(st.sampled_from([True, True, False])):
        return X, good
    return X, draw(st.one_of(arrays(lead=n, width=net.spec.n_outputs), WEIRD))


# ------------------------------------------------------------------ calls
def c_spec_mlp(draw: Any) -> tuple[str, Thunk]:
    args = (draw(SIZE), draw(st.lists(SIZE, max_size=3)), draw(SIZE))
    kw = {
        "activation": draw(st.sampled_from(["relu", "tanh", "bogus", 3])),
        "loss": draw(st.sampled_from(["cross_entropy", "mse", "hinge", None])),
    }
    return f"Spec.mlp{args} {kw}", lambda: npl.Spec.mlp(*args, **kw)


def c_spec_cnn(draw: Any) -> tuple[str, Thunk]:
    shape = tuple(draw(st.lists(SIZE, min_size=0, max_size=4)))
    chans = draw(st.lists(SIZE, max_size=2))
    kw = {
        "kernel_size": draw(SIZE),
        "pool": draw(st.sampled_from(["max", "avg", None, "x"])),
        "batch_norm": draw(st.booleans()),
    }
    return f"Spec.cnn({shape}, {chans}) {kw}", lambda: npl.Spec.cnn(shape, chans, 3, **kw)


def c_spec_json(draw: Any) -> tuple[str, Any]:
    good = NETS[draw(NETS_ST)].spec.to_json()
    kind = draw(st.sampled_from(["text", "mutate", "nest", "bytes"]))
    if kind == "text":
        text: Any = draw(st.text(max_size=40))
    elif kind == "nest":
        d = draw(st.integers(1, 5000))
        text = draw(st.sampled_from(["[" * d, '{"a":' * d + "1" + "}" * d, "[" * d + "]" * d]))
    elif kind == "bytes":
        text = draw(st.binary(max_size=40))
    else:
        i = draw(st.integers(0, len(good) - 1))
        text = (
            good[:i]
            + draw(st.sampled_from(["9" * 30, "-1", '"x"', "[[[]]]", "null", ""]))
            + good[i + 1 :]
        )
    return f"Spec.from_json({str(text)[:80]!r})", lambda: npl.Spec.from_json(text)


def c_spec_dict(draw: Any) -> tuple[str, Thunk]:
    good = NETS[draw(NETS_ST)].spec.to_dict()
    key = draw(st.sampled_from(sorted(good)))
    value = draw(
        st.one_of(
            WEIRD,
            st.lists(WEIRD, max_size=3),
            st.dictionaries(st.text(max_size=3), WEIRD, max_size=2),
        )
    )
    bad = {**good, key: value}
    if draw(st.booleans()) and good["nodes"]:
        node = dict(good["nodes"][0])
        node[draw(st.sampled_from(sorted(node)))] = value
        bad = {**good, "nodes": [node, *good["nodes"][1:]]}
    return f"Spec.from_dict({str(bad)[:100]})", lambda: npl.Spec.from_dict(bad)


def c_init(draw: Any) -> tuple[str, Thunk]:
    spec = NETS[draw(NETS_ST)].spec
    s = draw(st.one_of(st.integers(0, 5), WEIRD))
    return f"Network.init({spec}, {s!r})", lambda: npl.Network.init(spec, s)


def c_fit(draw: Any) -> tuple[str, Thunk]:
    net = NETS[draw(NETS_ST)].copy()
    X, y = _data(draw, net)
    opt = draw(st.sampled_from(["adam", "sgd", "adamw", "adam", "sgd", "none", "bad"]))
    lr = draw(st.one_of(st.sampled_from([1e-3, 1e-2, 0.1, 1.0, 1e3, 1e6, 1e30]), REAL))
    ok = draw(st.sampled_from([True, True, False]))
    kw: dict[str, Any] = {
        "epochs": draw(st.integers(0, 3) if ok else st.one_of(SIZE, WEIRD)),
        "batch_size": draw(st.integers(1, 8) if ok else st.one_of(SIZE, WEIRD)),
        "seed": draw(st.integers(0, 3) if ok else st.one_of(SIZE, WEIRD)),
    }
    if draw(st.booleans()):
        kw["validation_data"] = draw(st.one_of(st.just((X, y)), WEIRD))
        kw["patience"] = draw(st.one_of(st.integers(1, 2), WEIRD))
    if draw(st.booleans()):
        kw["masks"] = {draw(LAYERS): draw(arrays())}
    if draw(st.booleans()):
        kw["teacher"] = draw(st.one_of(arrays(), st.just(net), WEIRD))

    def run() -> Any:
        make = {"adam": npl.Adam, "sgd": npl.SGD, "adamw": npl.AdamW}
        optimizer = make[opt](lr=lr) if opt in make else (None if opt == "none" else "bad")
        return net.fit(X, y, optimizer=optimizer, **kw)

    return f"fit({opt}, lr={lr!r}, {kw!s:.200})", run


def c_infer(draw: Any) -> tuple[str, Thunk]:
    net = NETS[draw(NETS_ST)]
    X, y = _data(draw, net)
    how = draw(st.sampled_from(["forward", "predict", "predict_proba", "evaluate", "gradients"]))
    if how in ("evaluate", "gradients"):
        return f"{how}", lambda: getattr(net, how)(X, y)
    return f"{how}", lambda: getattr(net, how)(X)


def c_activations(draw: Any) -> tuple[str, Thunk]:
    net = NETS[draw(NETS_ST)]
    X, y = _data(draw, net)
    nodes = draw(st.one_of(st.lists(LAYERS, max_size=3), WEIRD))
    if draw(st.booleans()):
        pre = draw(st.booleans())
        return f"activations({nodes}, pre={pre})", lambda: net.activations(X, nodes, pre=pre)
    return f"node_gradients({nodes})", lambda: net.node_gradients(X, y, nodes)


def c_files(draw: Any) -> tuple[str, Thunk]:
    net = NETS[draw(NETS_ST)]
    good = TMP / "good.npl"
    if not good.exists():
        net.save(good)
    kind = draw(st.sampled_from(["save", "flip", "truncate", "random", "header"]))
    if kind == "save":
        target = draw(
            st.sampled_from(
                [
                    TMP / "x.npl",
                    TMP,
                    TMP / "no" / "x.npl",
                    TMP / "good.npl" / "x",
                    "",
                    "a\0b",
                    TMP / ("n" * 300),
                    3,
                    None,
                ]
            )
        )
        return f"save({str(target)[:60]!r})", lambda: net.save(target)  # type: ignore[arg-type]
    blob = bytearray(good.read_bytes())
    if kind == "flip":
        blob[draw(st.integers(0, len(blob) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        blob = blob[: draw(st.integers(0, len(blob)))]
    elif kind == "random":
        blob = bytearray(draw(st.binary(max_size=64)))
    else:
        text = draw(st.sampled_from([b"[" * 10_000, b'{"__metadata__": 1}', b"[]", b"\xff" * 9]))
        blob = bytearray(len(text).to_bytes(8, "little") + text)
    path = TMP / "fuzzed.npl"
    path.write_bytes(bytes(blob))
    return f"load({kind})", lambda: npl.Network.load(path)


METRICS = {
    "singular_values": lambda a, k: metrics.singular_values(a),
    "numerical_rank": lambda a, k: metrics.numerical_rank(a, k),
    "effective_dimension": lambda a, k: metrics.effective_dimension(a, eps=k),
    "effective_dimension_w": lambda a, k: metrics.effective_dimension(a, "weights", eps=k),
    "orthogonality_gap": lambda a, k: metrics.orthogonality_gap(a),
    "removable_units": lambda a, k: metrics.removable_units(a, k),
    "unit_statistics": lambda a, k: metrics.unit_statistics(a),
    "cosine_redundancy": lambda a, k: metrics.cosine_redundancy(a, k),
    "auxiliary_gradient": lambda a, k: metrics.auxiliary_gradient(a, a, k),
}


def c_metrics(draw: Any) -> tuple[str, Thunk]:
    name = draw(st.sampled_from(sorted(METRICS)))
    a = draw(st.one_of(arrays(), st.just(np.ones((1, draw(st.sampled_from([10, 100_000])))))))
    k = draw(st.one_of(st.integers(0, 4), REAL))
    return f"metrics.{name}(shape={getattr(a, 'shape', type(a))}, {k!r})", lambda: METRICS[name](
        a, k
    )


def c_morph(draw: Any) -> tuple[str, Thunk]:
    net = NETS[draw(NETS_ST)]
    layer = draw(LAYERS)
    edit = draw(
        st.sampled_from(["widen", "narrow", "narrow_fraction", "deepen", "shallow", "factorize"])
    )
    amount = draw(st.one_of(st.integers(-1, 6), SIZE))
    if edit == "widen":
        method = draw(st.sampled_from([*morph.WIDEN_METHODS, "bogus"]))
        return f"widen({layer}, {amount!r}, {method})", lambda: morph.widen(
            net, layer, amount, method
        )
    if edit == "narrow":
        keep = draw(st.one_of(st.lists(st.integers(-2, 10), max_size=6), WEIRD))
        return f"narrow({layer}, keep={keep!r})", lambda: morph.narrow(net, layer, keep=keep)
    if edit == "narrow_fraction":
        frac = draw(REAL)
        return f"narrow({layer}, fraction={frac!r})", lambda: morph.narrow(
            net, layer, fraction=frac
        )
    if edit == "deepen":
        return f"deepen({layer})", lambda: morph.deepen(net, layer)
    if edit == "shallow":
        return f"shallow({layer})", lambda: morph.shallow(net, layer)
    return f"factorize({layer}, {amount!r})", lambda: morph.factorize(net, layer, amount)


def c_threads_limits(draw: Any) -> tuple[str, Thunk]:
    n = draw(st.one_of(st.integers(-1, 4), SIZE))
    field = draw(
        st.sampled_from(
            ["max_bytes", "max_units", "max_threads", "max_json_depth", "chunk_bytes", "bogus"]
        )
    )
    value = draw(st.one_of(st.integers(-1, 2**20), WEIRD))

    def run() -> None:
        try:
            npl.set_num_threads(n)
        finally:
            npl.set_num_threads(2)
        old = npl.limits.get_limits()
        try:
            npl.limits.set_limits(**{field: value})
        finally:
            npl.limits.set_limits(old)

    return f"set_num_threads({n!r}); set_limits({field}={value!r})", run


def c_linprog(draw: Any) -> tuple[str, Thunk]:
    from neuroplast.lp import linprog

    n = draw(st.integers(0, 6))
    m = draw(st.integers(0, 5))
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        # Well-formed arrays (the solvers run; statuses vary), sometimes with special values.
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        c: Any = rng.normal(size=n)
        kw["A_ub"], kw["b_ub"] = rng.normal(size=(m, n)), rng.normal(size=m)
        if m and draw(st.booleans()):
            kw["b_ub"][draw(st.integers(0, m - 1))] = draw(st.sampled_from(SPECIAL))
    else:
        c = draw(st.one_of(arrays(lead=n), WEIRD))
        if draw(st.booleans()):
            kw["A_ub"] = draw(st.one_of(arrays(lead=m, width=n), WEIRD))
            kw["b_ub"] = draw(st.one_of(arrays(lead=m), WEIRD))
        if draw(st.booleans()):
            kw["A_eq"] = draw(st.one_of(arrays(lead=m, width=n), WEIRD))
            kw["b_eq"] = draw(st.one_of(arrays(lead=m), WEIRD))
    if draw(st.booleans()):
        pair = st.tuples(st.one_of(REAL, st.none()), st.one_of(REAL, st.none()))
        kw["bounds"] = draw(st.one_of(pair, st.lists(pair, max_size=7), WEIRD))
    if draw(st.booleans()):
        kw["method"] = draw(st.one_of(st.sampled_from(["auto", "simplex", "ipm"]), WEIRD))
    if draw(st.booleans()):
        maxiter = st.one_of(st.integers(-2, 50), SIZE)
        other = st.dictionaries(st.sampled_from(["tol", "disp", 1, None]), REAL, max_size=2)
        kw["options"] = draw(st.one_of(st.fixed_dictionaries({"maxiter": maxiter}), other, WEIRD))
    return f"linprog(n={n}, m={m}, {sorted(kw)})", lambda: linprog(c, **kw)


CALLS = {
    f.__name__[2:]: f
    for f in (
        c_spec_mlp,
        c_spec_cnn,
        c_spec_json,
        c_spec_dict,
        c_init,
        c_fit,
        c_infer,
        c_activations,
        c_files,
        c_metrics,
        c_morph,
        c_threads_limits,
        c_linprog,
    )
}


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


@settings(
    max_examples=EXAMPLES,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@seed(BATCH)
@given(st.data())
def fuzz(data: Any) -> None:
    name = data.draw(st.sampled_from(sorted(CALLS)))
    desc, thunk = CALLS[name](data.draw)
    emit({"start": name, "call": desc[:300]})
    faulthandler.dump_traceback_later(PER_CALL, exit=True)
    start = time.perf_counter()
    try:
        thunk()
        outcome, error = "ok", ""
    except npl.NeuroplastError as exc:
        outcome, error = "typed", type(exc).__name__
    except BaseException as exc:  # anything else (PanicException too) is a bug
        if isinstance(exc, KeyboardInterrupt):
            raise
        outcome, error = "other", f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        faulthandler.cancel_dump_traceback_later()
    emit(
        {
            "done": name,
            "outcome": outcome,
            "error": error,
            "call": desc[:300],
            "seconds": round(time.perf_counter() - start, 3),
        }
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    fuzz()
    emit({"finished": True})
