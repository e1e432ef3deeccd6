"""ferry's benchmark suite: ferry against ``skopeo sync`` over an emulated WAN link.

Not part of the test suite: ``python benchmarks/run.py`` seeds a source registry, syncs it with each
tool into a fresh destination behind :mod:`benchmarks.linkemu`, checks every copy and writes
``docs/benchmarks.md`` plus raw JSON under ``benchmarks/results/``.
"""
