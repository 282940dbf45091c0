"""compress: the smallest network within a validation accuracy budget of a trained one.

Run: python examples/compress.py
"""

import neuroplast as npl
from neuroplast.search import Splits

ds = npl.data.load("digits", seed=0)
data = Splits.from_dataset(ds, val_fraction=0.15, seed=0)
net = npl.Network.init(npl.Spec.mlp(64, [128, 128], 10), seed=0)
net.fit(
    data.X_train,
    data.y_train,
    epochs=60,
    seed=0,
    validation_data=(data.X_val, data.y_val),
    patience=10,  # early stopping, best weights restored
)

# At most 0.02 validation accuracy below the start; a short run (a few edits).
res = npl.compress(net, data, max_drop=0.02, max_rounds=4, final_epochs=10, seed=0)
print(res.summary())
print("widths:", net.spec.widths, "->", res.network.spec.widths)
for record in res.history:
    print(record)
