"""Variants of the runtime, tried in the benchmark process only (``--tweak``).

Each tweak changes the runtime the way a proposed change would, without
editing ``hotline/``, so it can be measured side by side with the runtime as
it is (``--servers hotline,hotline+gc-default``).  Nothing here is used unless
a tweak is named.

* ``gc-default`` — the interpreter's own garbage collection instead of
  ``hotline run``'s :class:`hotline.gcguard.GcGuard` (what the runtime did
  before it: the side-by-side baseline for the guard).
* ``log-off`` — log at WARNING instead of INFO: not a fix (production logs at
  INFO), but it shows what logging costs per call.
"""

from __future__ import annotations

TWEAKS = frozenset({"gc-default", "log-off"})
