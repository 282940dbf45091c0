"""End-to-end accuracy on the digits data set."""

from __future__ import annotations

from typing import Any

from neuroplast import Adam, Network, Spec, data


def test_digits_mlp_reaches_96_percent() -> None:
    ds = data.load("digits", seed=0)
    net = Network.init(Spec.mlp(64, [128], 10, activation="relu"), seed=0)

    def stop_when_good(record: dict[str, Any]) -> bool:
        # Stop once the held-out accuracy is comfortably reached (at most 30 epochs).
        return not (record["epoch"] >= 14 and record["val_accuracy"] >= 0.965)

    hist = net.fit(
        ds.X_train,
        ds.y_train,
        epochs=30,
        batch_size=32,
        optimizer=Adam(lr=1e-3),
        seed=0,
        validation_data=(ds.X_test, ds.y_test),
        callback=stop_when_good,
    )
    assert len(hist) <= 30
    test = net.evaluate(ds.X_test, ds.y_test)
    assert test["accuracy"] >= 0.96, hist.val_accuracy
    assert test["accuracy"] == hist.val_accuracy[-1]
    assert net.evaluate(ds.X_train, ds.y_train)["accuracy"] >= 0.98
    assert hist.loss[-1] < 0.25 * hist.loss[0]
