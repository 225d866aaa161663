"""Errors of the PBX simulator.

Only mistakes in how the simulator is driven raise (a bad ``--agents`` spec, a
caller script that names an unknown step, a runtime that does not answer at
all); whatever the runtime does on the wire is simulated, never raised.
"""

from __future__ import annotations

from hotline.errors import HotlineError


class SimError(HotlineError):
    """The simulator cannot do what it was asked; the message says what to change."""

    exit_code = 2
