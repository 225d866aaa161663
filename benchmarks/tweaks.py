"""Variants of the runtime, tried in the benchmark process only (``--tweak``).

Each tweak changes the runtime the way a proposed change would, without
editing ``hotline/``, so it can be measured side by side with the runtime as
it is (``--servers hotline,hotline+gc-default``).  Nothing here is used unless
a tweak is named.

* ``gc-default`` — the interpreter's own garbage collection instead of
  ``hotline run``'s :class:`hotline.gcguard.GcGuard` (what the runtime did
  before it: the side-by-side baseline for the guard).
* ``gc-count-young`` — the guard without its young freeze (which freezes what
  calls made when CPython starts a young collection, or collects it young on a
  timer where calls leave cycles): CPython's own young collections, walking,
  when its net allocation count says so (the side-by-side baseline for the
  freeze).
* ``young-timer`` — what calls made frozen every
  :data:`hotline.gcguard.YOUNG_INTERVAL` seconds on a timer (the guard before
  issue 19's session 17) instead of in CPython's young collections: what the
  timer's wake-ups cost.
* ``gc-off`` — not a fix: no collection at all while serving (neither CPython's
  own young ones nor the guard's timer; the guard's idle and growth collections
  stay): what collecting costs per call, and whether the loop's long blocks are
  collections.
* ``log-off`` — log at WARNING instead of INFO: not a fix (production logs at
  INFO), but it shows what logging costs per call.
* ``journal-metrics`` — not a fix either: the call journal (``[journal]``, an
  SQLite file beside the log) and the Prometheus endpoint (``[metrics]``, a
  free port) switched on, to show what they cost per call.  The server waits
  for the journal to have written every call before it reports its CPU, so
  the writer's work is counted.
* ``page`` — not a fix: the live page switched on (``[http] page``, a free
  port) with nobody looking at it: what having it on costs per call.
* ``page-5`` — the live page with 5 pages open (server-sent-event streams read
  by :mod:`benchmarks.pages` in its own process, so only the runtime's side is
  measured).
* ``trace-blocks`` — not a fix: every task step, collection and log write
  timed and attributed to the heartbeat's late windows
  (:mod:`benchmarks.blocks`); costs CPU itself, for finding out.
* ``handler-inline`` — a route's handler awaited in the connection's own
  coroutine, as before issue 19's session 19, instead of in a task of its own
  (``FastAgiServer.handler_task``): what the shorter chain of coroutines a
  command resumes through saves, against the task per connection it costs.
* ``heap-pymalloc`` — the runtime's objects in CPython's own allocator on 4 KiB
  pages, as before issue 19's session 19, instead of on transparent huge pages
  as ``hotline run`` starts itself where it can (:mod:`hotline.heap`).
* ``hostile`` — not a fix: the leak check's runtime, with deadlines short
  enough (:data:`benchmarks.scenario.HOSTILE_AGI`, 20 ms prompts) that the
  hostile peers of its ``errors`` mix end in fractions of a second.
"""

from __future__ import annotations

TWEAKS = frozenset(
    {
        "gc-default",
        "gc-count-young",
        "log-off",
        "journal-metrics",
        "hostile",
        "page",
        "page-5",
        "trace-blocks",
        "gc-off",
        "young-timer",
        "handler-inline",
        "heap-pymalloc",
    }
)
