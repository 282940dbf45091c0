"""Train a 64-128-10 MLP on the digits data, save it, load it back and check it.

Run: python examples/train_and_save.py
"""

import tempfile
from pathlib import Path

import numpy as np

import neuroplast as npl

ds = npl.data.load("digits", seed=0)  # 1437 training and 360 test images, 8×8, 10 classes
spec = npl.Spec.mlp(ds.n_features, [128], ds.n_classes, activation="relu")
net = npl.Network.init(spec, seed=0)
history = net.fit(
    ds.X_train,
    ds.y_train,
    epochs=30,
    batch_size=32,
    optimizer=npl.Adam(lr=1e-3),
    seed=0,
    validation_data=(ds.X_test, ds.y_test),
)
metrics = net.evaluate(ds.X_test, ds.y_test)
print(f"test accuracy {metrics['accuracy']:.4f}, {net.n_params} parameters, {net.flops} FLOPs")

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "digits.npl"
    net.save(path)  # safetensors layout: no pickle, spec and CRC-32 in the metadata
    same = npl.Network.load(path)

assert same.spec == net.spec
assert np.array_equal(same.forward(ds.X_test), net.forward(ds.X_test))
assert metrics["accuracy"] > 0.9
print("saved and loaded: identical outputs")
