"""The five structural edits of ``neuroplast.morph`` on a trained digits MLP.

Every edit returns a new network and an ``EditRecord`` whose ``contract`` says whether the
function is preserved (``exact``) or changed (``approximate``, with the measured distortion
when calibration data is given).

Run: python examples/structural_edits.py
"""

import numpy as np

import neuroplast as npl
from neuroplast.morph import EditLog, deepen, factorize, narrow, shallow, widen

ds = npl.data.load("digits", seed=0)
net = npl.Network.init(npl.Spec.mlp(64, [100], 10), seed=0)
net.fit(ds.X_train, ds.y_train, epochs=30, seed=0)
X = ds.X_test
before = net.forward(X)


def report(name: str, edited: npl.Network, record: object) -> None:
    """Prints an edit's contract, the new widths and the largest change of the outputs."""
    gap = float(np.max(np.abs(edited.forward(X) - before)))
    hidden = [n for n in edited.spec.widths if n not in ("input", edited.spec.output)]
    widths = [edited.spec.widths[n] for n in hidden]
    print(f"{name:10s} {record.contract:12s} widths={widths} max|Δoutput|={gap:.2e}")


# widen: 20 more units, Net2Wider split (copies share the outgoing weights): exact.
wide, rec = widen(net, "dense_0", 20, "net2wider", seed=0)
report("widen", wide, rec)
assert rec.contract == "exact"

# narrow: keep 50 of the 100 units, picked by cosine redundancy, consumer refit by least
# squares on calibration data: approximate, with the measured distortion in the record.
small, rec = narrow(
    net,
    "dense_0",
    keep=50,
    method="select",
    select="cosine",
    compensate="lstsq",
    calibration=(ds.X_train, ds.y_train),
)
report("narrow", small, rec)
print(f"           distortion on the calibration data: {rec.distortion}")

# deepen: a residual branch whose output weights start at zero: exact.
deep, rec = deepen(net, after="dense_0", kind="residual", seed=0)
report("deepen", deep, rec)
assert rec.contract == "exact"

# shallow: remove that branch again: exact.
back, rec = shallow(deep, "dense_0_res_out")
report("shallow", back, rec)
assert rec.contract == "exact"

# factorize: a rank-32 split of the hidden layer (truncated SVD); the record keeps the
# discarded singular values as the bound of the change.
low, rec = factorize(net, "dense_0", 32)
report("factorize", low, rec)

# An edit log replays a sequence of edits bit-for-bit.
log = EditLog()
step1, r1 = widen(net, "dense_0", 8, "zero_fanout", seed=1)
step2, r2 = deepen(step1, after="dense_0", kind="residual", seed=2)
replayed = log.append(r1).append(r2).replay(net)
assert np.array_equal(replayed.forward(X), step2.forward(X))
print("edit log replayed: identical network")
