"""Load, latency, cost and startup benchmarks for the hotline runtime.

Run them with ``python -m benchmarks.load`` (see ``RESULTS.md`` for the latest
numbers and the exact command).  The runtime under test, the bare asyncio
responder and panoramisk's ``fast_agi.Application`` each run in their own
process (:mod:`benchmarks.server`) so their CPU and memory are measured apart
from the PBX simulator that drives them (``python -m hotline.sim``).
"""
