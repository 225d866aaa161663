"""The event loop ``hotline run`` serves on: uvloop when installed, else asyncio's own.

uvloop (the ``fast`` extra; the docker image installs it) measured 0.83x the
CPU per AGI command of asyncio's loop, and its connections leave no reference
cycle on any CPython (``hotline/gcguard.py``).  Which loop runs is reported in
the ``serving`` log line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when uvloop is importable, else None (asyncio's default)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the best loop available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
