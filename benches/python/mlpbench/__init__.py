"""Modules of the MLP training benchmark; ``benches/python/bench_mlp.py`` is the entry point.

* ``reference``: the plain float32 NumPy MLP, parameter comparison, tolerances, FLOP count;
* ``timing``: timed samples, contention checks from /proc/stat, round-robin interleaving;
* ``environment``: BLAS thread pools and the recorded environment (CPU, builds, versions);
* ``worker``: the NumPy / PyTorch worker subprocess (JSON lines on stdin / stdout);
* ``remote``: the orchestrator's handle on a worker and the workers' environments;
* ``local``: neuroplast in the orchestrator, and the in-process correctness reference;
* ``cases``: the benchmark cases A and B, run end to end;
* ``report``: the Markdown table, the targets and the printed / JSON report.
"""
