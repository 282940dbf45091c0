"""load_model/export by suffix, lazy imports, and the error for a missing optional dependency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuroplast import Network, Spec, interop
from neuroplast.interop import InteropError, MissingDependencyError
from neuroplast.testing.strategies import inputs_for, params_for


def test_importing_neuroplast_imports_neither_torch_nor_onnx() -> None:
    code = (
        "import sys, neuroplast, neuroplast.interop, neuroplast.cli\n"
        "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "call"),
    [
        ("torch", lambda net: interop.to_torch(net)),
        ("torch", lambda net: interop.from_torch(object(), None)),
        ("onnx", lambda net: interop.to_onnx(net, None)),
        ("onnx", lambda net: interop.from_onnx("m.onnx")),
    ],
)
def test_missing_dependency_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str, call: object
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    net = Network.init(Spec.mlp(2, [3], 2), seed=0)
    with pytest.raises(MissingDependencyError, match=rf"pip install 'neuroplast\[{module}\]'"):
        call(net)  # type: ignore[operator]
    assert issubclass(MissingDependencyError, ImportError)


def test_npl_round_trip_by_suffix(tmp_path: Path) -> None:
    spec = Spec.cnn((1, 8, 8), [4], 3, batch_norm=True)
    net = Network(spec, params_for(spec, 0))
    interop.export(net, tmp_path / "a.npl")
    back = interop.load_model(tmp_path / "a.npl")
    assert back.spec == spec
    with pytest.raises(InteropError, match="no export options"):
        interop.export(net, tmp_path / "b.npl", opset=17)
    with pytest.raises(InteropError, match="own loss"):
        interop.load_model(tmp_path / "a.npl", loss="mse")


def test_onnx_by_suffix(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    spec = Spec.mlp(4, [6], 3)
    net = Network(spec, params_for(spec, 1))
    interop.export(net, tmp_path / "a.ONNX", opset=15)
    back = interop.load_model(tmp_path / "a.ONNX")
    x = inputs_for(spec, 5, 2)
    assert float(np.abs(back.forward(x) - net.forward(x)).max()) <= 1e-5
    with pytest.raises(InteropError, match="unknown ONNX export options"):
        interop.export(net, tmp_path / "b.onnx", opset_version=17)
    assert not (tmp_path / "b.onnx").exists()


@pytest.mark.parametrize("name", ["model.pt", "model", "model.npl.bak"])
def test_unknown_suffix_is_refused(tmp_path: Path, name: str) -> None:
    net = Network.init(Spec.mlp(2, [3], 2), seed=0)
    with pytest.raises(InteropError, match=r"\.npl, \.onnx"):
        interop.export(net, tmp_path / name)
    with pytest.raises(InteropError, match="suffix"):
        interop.load_model(tmp_path / name)
    assert interop.SUFFIXES == (".npl", ".onnx")
