"""Bring your own model: a PyTorch CNN → neuroplast → narrowed → back to PyTorch and ONNX.

Needs the optional extras (``pip install 'neuroplast[torch,onnx]'``); without them it says so
and exits cleanly.

Run: python examples/interop_torch_onnx.py
"""

import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

import neuroplast as npl
from neuroplast import interop
from neuroplast.morph import narrow

if importlib.util.find_spec("torch") is None:
    print("PyTorch is not installed: pip install 'neuroplast[torch]' to run this example")
    sys.exit(0)

import torch
from torch import nn

ds = npl.data.load("digits", seed=0)
X_train = ds.X_train.reshape(-1, 1, 8, 8)
X_test = ds.X_test.reshape(-1, 1, 8, 8)

# 1. Train a small PyTorch model (or load yours).
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1),
    nn.BatchNorm2d(16),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(16 * 4 * 4, 64),
    nn.ReLU(),
    nn.Linear(64, 10),
)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
xs, ys = torch.from_numpy(X_train), torch.from_numpy(ds.y_train)
for _ in range(8):
    for i in range(0, len(xs), 64):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xs[i : i + 64]), ys[i : i + 64]).backward()
        opt.step()
model.eval()

# 2. Convert: same predictions, parameter names = the model's state_dict keys.
net = interop.from_torch(model, xs[:1])
with torch.no_grad():
    gap = np.abs(model(torch.from_numpy(X_test)).numpy() - net.forward(X_test)).max()
print(net.spec)
print(f"max |torch - neuroplast| on the test set: {gap:.1e}")
assert gap <= 1e-4
acc = float((net.predict(X_test) == ds.y_test).mean())

# 3. Edit it with neuroplast: keep half the conv channels and half the hidden units.
small, _ = narrow(net, "0", fraction=0.5, compensate="lstsq", calibration=(X_train, ds.y_train))
small, _ = narrow(small, "5", fraction=0.5, compensate="lstsq", calibration=(X_train, ds.y_train))
small.fit(X_train, ds.y_train, epochs=5, seed=0, optimizer=npl.Adam(lr=1e-3))
small_acc = float((small.predict(X_test) == ds.y_test).mean())
print(f"parameters {net.n_params} -> {small.n_params}, accuracy {acc:.3f} -> {small_acc:.3f}")

# 4. Back to PyTorch (an nn.Sequential here: the graph is a chain) and to ONNX.
back = interop.to_torch(small)
with torch.no_grad():
    assert np.abs(back(torch.from_numpy(X_test)).numpy() - small.forward(X_test)).max() <= 1e-4
print(back)
if importlib.util.find_spec("onnx") is not None:
    path = Path(tempfile.mkdtemp()) / "small.onnx"
    interop.export(small, path)
    again = interop.load_model(path)
    assert np.abs(again.forward(X_test) - small.forward(X_test)).max() <= 1e-4
    print(f"wrote {path} ({path.stat().st_size} bytes)")
