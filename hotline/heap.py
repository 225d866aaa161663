"""Where ``hotline run`` keeps its objects: on transparent huge pages when the machine has them.

With 1,000 calls up the runtime touches ~12 MB of objects between two commands of
one call (benchmarks/RESULTS.md, issue 19): over 3,000 pages of 4 KiB, more than a
core's TLB holds, so a command's memory accesses become page walks, and in a
virtual machine each walk is a nested one.  On 2 MiB pages the same objects need
six.  CPython's own allocator (pymalloc) takes 1 MiB arenas that it never advises
for huge pages (3.11-3.13); glibc's ``malloc`` advises its heap for them when told
to (``glibc.malloc.hugetlb=1``, glibc 2.35 and later), and ``PYTHONMALLOC=malloc``
gives it every object.  Measured at N = 1,000 (paced, CPython 3.13, uvloop, the
same rounds): the runtime's CPU per AGI command 8 % lower by the medians (107.5 ->
99.1 µs; -1 to -25 % by round), its longest loop block 5.0-9.6 ms against 5.6-50.0
ms (benchmarks/RESULTS.md, issue 19, session 19; the benchmarks' tweak
``heap-pymalloc`` runs it as before, side by side).

Both settings are read when the interpreter starts, so ``hotline run`` starts itself
once more with them (``exec``: the same process, the same pid) unless
``PYTHONMALLOC`` is set already: an admin who sets it (``PYTHONMALLOC=pymalloc``
keeps CPython's allocator) decides.  Where the kernel's transparent huge pages are
off (``never``), glibc is older or absent (musl), or this is not Linux, nothing
changes.  The ``serving`` log line says which heap the runtime runs on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

#: the kernel's transparent huge page mode: "[always] madvise never" with the mode in brackets
THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
#: what glibc reads at start-up: its heap advised for (transparent) huge pages
HUGETLB_TUNABLE = "glibc.malloc.hugetlb=1"
#: the first glibc with that tunable
GLIBC_WITH_HUGETLB = (2, 35)


def thp_mode(path: Path = THP_MODE) -> str | None:
    """The kernel's transparent huge page mode (``always``, ``madvise``, ``never``), or None
    when it cannot be read (not Linux, a kernel without them)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else None


def glibc_version() -> tuple[int, int] | None:
    """The C library's version when it is glibc ("glibc 2.36"), else None (musl, macOS)."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not text or not text.startswith("glibc "):
        return None
    try:
        major, minor = text.removeprefix("glibc ").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def huge_pages_env(
    environ: Mapping[str, str], mode: str | None, glibc: tuple[int, int] | None
) -> dict[str, str] | None:
    """The environment to start again with, its objects on huge pages; None: as it is
    (the admin chose an allocator, or the machine cannot give them)."""
    if "PYTHONMALLOC" in environ or mode not in ("always", "madvise"):
        return None
    if glibc is None or glibc < GLIBC_WITH_HUGETLB:
        return None
    tunables = environ.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.hugetlb=" not in tunables:
        tunables = f"{tunables}:{HUGETLB_TUNABLE}" if tunables else HUGETLB_TUNABLE
    return {**environ, "PYTHONMALLOC": "malloc", "GLIBC_TUNABLES": tunables}


def restart_on_huge_pages() -> None:
    """Start this process again (``exec``) with its objects on huge pages, when it can and
    nobody chose otherwise; returns only when nothing is to be done."""
    env = huge_pages_env(os.environ, thp_mode(), glibc_version())
    if env is None or not sys.orig_argv:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, sys.orig_argv, env)  # noqa: S606 - this interpreter, its argv
    except OSError as exc:  # the interpreter's file is gone or not executable: run on as is
        print(f"hotline: not started again on huge pages ({exc.strerror or exc})", file=sys.stderr)


def heap_name(environ: Mapping[str, str] = os.environ) -> str:
    """What the ``serving`` line says of the heap."""
    allocator = environ.get("PYTHONMALLOC", "pymalloc")
    if allocator == "malloc" and HUGETLB_TUNABLE in environ.get("GLIBC_TUNABLES", ""):
        return f"malloc on huge pages ({thp_mode() or 'unknown'})"
    return allocator
