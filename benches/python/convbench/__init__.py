"""Modules of the convolution benchmark; ``benches/python/bench_conv.py`` is the entry point.

* ``layers``: the benchmarked layers, their data, networks and FLOP counts;
* ``reference``: the NumPy im2col convolution (forward and backward) and its training step;
* ``impls``: neuroplast, NumPy and PyTorch training steps behind one sampler interface, and
  the correctness checks run before timing;
* ``child``: everything measured at one thread count, in its own process (so the BLAS and
  OpenMP thread variables are set before NumPy and PyTorch are imported);
* ``report``: the Markdown table and the targets.
"""
