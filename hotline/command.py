"""The ``hotline`` command as the shell starts it (``[project.scripts]``, ``python -m hotline``).

``hotline run`` starts itself once more with its objects on huge pages
(:mod:`hotline.heap`).  Done here, before the command's own imports, that second
start costs the interpreter's start and little more: ``hotline run`` to
``serving`` 1.80 s against 1.82 s with ``PYTHONMALLOC`` set (no second start).
Done after them, it paid them twice (importing ``hotline.cli`` alone, pydantic
and the config models, takes 0.65 s here): 3.83 s against 2.20 s, on a busier
host (medians of 10, benchmarks/startup.py; benchmarks/RESULTS.md, session 20).
"""

from __future__ import annotations

import sys

from hotline.heap import restart_on_huge_pages

#: the subcommand that serves calls.  The top-level parser takes no option with a value
#: (:func:`hotline.cli.build_parser`), so a subcommand is the first argument when given.
RUN = "run"


def main() -> int:
    """``hotline …``: ``run`` starts again on huge pages first where it can, then the CLI."""
    if sys.argv[1:2] == [RUN]:
        restart_on_huge_pages()
    from hotline.cli import main as cli_main

    return cli_main()
