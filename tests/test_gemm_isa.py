"""The packed GEMM's micro-kernel choice: AVX-512 by default where the CPU has it, AVX2 on
request, and the same bits from both (so the choice never changes a result)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import neuroplast

# Trains a network whose products are large enough for the packed kernel (batch 256, widths
# of several hundred) and writes its predictions and final parameters to a file.
_SCRIPT = """
import sys
import numpy as np
import neuroplast
from neuroplast import Network, Spec
rng = np.random.default_rng(0)
X = rng.normal(size=(512, 300)).astype(np.float32)
y = rng.integers(0, 10, size=512)
net = Network.init(Spec.mlp(300, [512, 384], 10), seed=0)
net.fit(X, y, epochs=2, batch_size=256, seed=0)
np.savez(sys.argv[1], *net.params, isa=neuroplast.gemm_isa(), pred=net.forward(X))
"""


def _run(tmp_path: object, env_value: str | None) -> dict[str, np.ndarray]:
    out = os.path.join(str(tmp_path), f"run-{env_value}.npz")
    env = dict(os.environ)
    env.pop("NEUROPLAST_GEMM_AVX512", None)
    if env_value is not None:
        env["NEUROPLAST_GEMM_AVX512"] = env_value
    subprocess.run([sys.executable, "-c", _SCRIPT, out], check=True, env=env, timeout=300)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def test_gemm_isa_names_a_kernel() -> None:
    isa = neuroplast.gemm_isa()
    assert isa in {"avx512", "avx2", "faer"}
    if neuroplast.simd_level() == "avx512" and os.environ.get("NEUROPLAST_GEMM_AVX512") != "0":
        assert isa == "avx512"


def test_avx512_default_and_avx2_override_give_identical_bits(tmp_path: object) -> None:
    if neuroplast.simd_level() != "avx512":
        pytest.skip("this CPU has no AVX-512: only one packed kernel can run")
    default, forced = _run(tmp_path, None), _run(tmp_path, "0")
    assert str(default["isa"]) == "avx512"
    assert str(forced["isa"]) == "avx2"
    keys = [k for k in default if k != "isa"]
    assert keys == [k for k in forced if k != "isa"]
    for k in keys:
        assert default[k].dtype == forced[k].dtype and default[k].shape == forced[k].shape
        assert default[k].tobytes() == forced[k].tobytes(), f"{k} differs between kernels"
