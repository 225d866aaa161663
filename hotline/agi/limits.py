"""The process's open-files limit against the FastAGI connection cap.

Every FastAGI connection is one file descriptor.  A cap above what the limit
leaves free would end in ``EMFILE`` at ``accept()`` (and everywhere else the
process opens a file or socket), so at start the soft limit is raised to the
hard limit, and a cap that still does not fit is lowered to what does.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

#: connections open at once unless told otherwise (a call is two: caller and agent legs)
DEFAULT_MAX_CONNECTIONS = 4096
#: descriptors kept free for what is not a FastAGI connection: listening
#: sockets, the AMI connection and its reconnects, the log file, DNS, imports
SPARE_FDS = 64


@dataclass(frozen=True)
class FdBudget:
    """What :func:`fit_connection_cap` found and decided."""

    #: the connection cap asked for, and the one that fits
    wanted: int
    cap: int
    #: the soft limit now, and what it was before (equal when not raised)
    limit: int
    was: int
    #: descriptors open when the cap was fitted
    open_now: int

    @property
    def lowered(self) -> bool:
        return self.cap < self.wanted


def open_fds() -> int:
    """Descriptors open in this process now (Linux ``/proc``; an estimate elsewhere)."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1  # the listing's own descriptor
    except OSError:
        return SPARE_FDS


def fit_connection_cap(wanted: int) -> FdBudget:
    """Raise the soft open-files limit to the hard one; the cap that fits under it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    was = soft
    target = hard
    if hard == resource.RLIM_INFINITY:
        # an unlimited hard limit still has a kernel ceiling (fs.nr_open); ask only for enough
        target = max(soft, wanted + SPARE_FDS + open_fds())
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # keep the soft limit we have; the cap is fitted to it below
    busy = open_fds()
    room = wanted if soft == resource.RLIM_INFINITY else soft - busy - SPARE_FDS
    return FdBudget(
        wanted=wanted, cap=max(1, min(wanted, room)), limit=soft, was=was, open_now=busy
    )
