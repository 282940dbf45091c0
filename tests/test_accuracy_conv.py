"""End-to-end accuracy of small CNNs: digits as 1×8×8 images and Fashion-MNIST."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuroplast import Adam, Network, Spec, data

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def test_digits_cnn_reaches_97_percent() -> None:
    ds = data.load("digits", seed=0)
    spec = Spec.cnn((1, 8, 8), [16, 32], 10, hidden=[64])
    net = Network.init(spec, seed=0)
    hist = net.fit(
        ds.X_train_images,
        ds.y_train,
        epochs=20,
        batch_size=32,
        optimizer=Adam(lr=1e-3),
        seed=0,
        validation_data=(ds.X_test_images, ds.y_test),
    )
    test = net.evaluate(ds.X_test_images, ds.y_test)
    assert test["accuracy"] >= 0.97, hist.val_accuracy
    # Flat rows and N×C×H×W images are the same input.
    assert net.evaluate(ds.X_test, ds.y_test) == test


@pytest.mark.skipif(not FASHION.is_file(), reason="Fashion-MNIST is not installed")
def test_fashion_mnist_cnn_reaches_90_percent() -> None:
    ds = data.load("fashion-mnist", seed=0)
    spec = Spec.cnn((1, 28, 28), [16, 32], 10, hidden=[128], batch_norm=True)
    net = Network.init(spec, seed=0)
    net.fit(ds.X_train, ds.y_train, epochs=4, batch_size=128, optimizer=Adam(lr=2e-3), seed=0)
    test = net.evaluate(ds.X_test, ds.y_test)
    assert test["accuracy"] >= 0.90
    # The folded inference network scores the same.
    folded = net.fold_batchnorm().evaluate(ds.X_test, ds.y_test)
    assert abs(folded["accuracy"] - test["accuracy"]) <= 2e-4
