"""Why a benchmark could not be run (one line, no traceback)."""

from __future__ import annotations

from hotline.errors import HotlineError


class BenchmarkError(HotlineError):
    """A benchmark process failed, timed out or produced something unreadable."""
