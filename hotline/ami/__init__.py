"""AMI: the runtime's view of the PBX as a whole.

* :mod:`hotline.ami.client` - :class:`AmiClient`, a resilient wrapper over panoramisk's Manager;
* :mod:`hotline.ami.checks` - startup checks (version, modules, dialplan, MOH);
* :mod:`hotline.ami.identity` - Entity ID and server license key for licensing;
* :mod:`hotline.ami.events` - typed events and the call event log;
* :mod:`hotline.ami.wire` - the wire format (for the simulator and replay tests).
"""

from hotline.ami.backoff import Backoff
from hotline.ami.calllog import CallEventLog, DialLeg
from hotline.ami.checks import HotlineEntry, StartupReport, run_startup_checks
from hotline.ami.client import AmiClient
from hotline.ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiError,
    AmiOriginateError,
    AmiTimeout,
    AmiUnavailable,
)
from hotline.ami.identity import PbxIdentity, read_identity
from hotline.ami.messages import AmiResponse, OriginateResult

__all__ = [
    "AmiActionError",
    "AmiAuthError",
    "AmiClient",
    "AmiError",
    "AmiOriginateError",
    "AmiResponse",
    "AmiTimeout",
    "AmiUnavailable",
    "Backoff",
    "CallEventLog",
    "DialLeg",
    "HotlineEntry",
    "OriginateResult",
    "PbxIdentity",
    "StartupReport",
    "read_identity",
    "run_startup_checks",
]
