"""Benchmarks: the app against bare llama-cpp-python and against its targets, side by side in one run.

Each measurement returns a plain dict (JSON-friendly) so a run can be saved and parts of it reused; the
report (:mod:`.report`) puts every figure next to its target. Where the app and a reference are compared,
they run in the same process, alternating A, B, A, B, so that load from other processes on a shared machine
hits both alike: read the ratios, not the absolute figures.

One benchmark per module: ``overhead`` (1), ``document`` (2, 3), ``prompts`` (3b), ``gui`` (4), ``downloads``
(5), on what ``common`` shares; ``run`` runs the chosen ones, ``report`` writes docs/benchmarks.md.
"""
