"""Candidate fixes for the runtime, tried in the benchmark process only (``--tweak``).

Each tweak changes the runtime the way a proposed fix would, without editing
``hotline/``, so a fix can be measured side by side with the runtime as it is
(``--servers hotline,hotline+session-cycle``).  Nothing here is used unless a
tweak is named.

* ``session-cycle`` — a closed :class:`~hotline.agi.session.AgiSession` drops
  its finished reader task.  The task keeps the ``CancelledError`` it ended
  with; that exception's traceback holds the reader's frames, which hold the
  session, which holds the task: a reference cycle that keeps each
  connection's whole object graph (session, streams, buffers, futures, log
  context) alive until a full garbage collection.
* ``gc-freeze`` — ``gc.freeze()`` once serving: objects from imports and
  startup are never scanned again by the cycle collector.
* ``gc-threshold`` — ``gc.set_threshold(50_000, 20, 100)``: far fewer young
  collections (each promotes the live calls' objects a generation up), and
  full collections only every 2,000 young ones.
* ``log-off`` — log at WARNING instead of INFO: not a fix (production logs at
  INFO), but it shows what logging costs per call.
* ``log-cache`` — structlog's ``cache_logger_on_first_use=True``: a module's
  logger binds its processor chain once instead of at every log call.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable

TWEAKS = frozenset({"session-cycle", "gc-freeze", "gc-threshold", "log-cache", "log-off"})


def _drop_reader_task_on_close() -> None:
    from hotline.agi.session import AgiSession

    original = AgiSession.close

    async def close(self: AgiSession) -> None:
        await original(self)
        # break session -> task -> CancelledError -> traceback -> frame -> session
        self.__dict__.pop("_reader_task", None)

    setattr(AgiSession, "close", close)  # noqa: B010 - replacing a method on purpose


def apply_before_start(tweaks: Iterable[str]) -> None:
    """Tweaks that must be in place before the runtime starts."""
    if "session-cycle" in tweaks:
        _drop_reader_task_on_close()
    if "gc-threshold" in tweaks:
        gc.set_threshold(50_000, 20, 100)


def apply_after_start(tweaks: Iterable[str]) -> None:
    """Tweaks applied once the runtime serves (its logging is configured by then)."""
    if "log-cache" in tweaks:
        import structlog

        structlog.configure(cache_logger_on_first_use=True)
    if "gc-freeze" in tweaks:
        gc.collect()
        gc.freeze()
