"""The PBX's identity for licensing: Asterisk's Entity ID and an optional server key.

The Entity ID is the PBX's hardware identity (the first NIC's MAC unless
``entityid`` is set in asterisk.conf).  AMI has no action that returns it, but
the ``core show settings`` CLI command shows an ``Entity ID:`` line (finding
22), run here through the ``Command`` action.  A server license key can be kept
on the PBX as a global dialplan variable and is read with ``Getvar`` without a
channel; an unset variable comes back as ``Value: `` (docs/asterisk/facts.md, fact 21).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hotline.ami.client import AmiClient

DEFAULT_SERVER_KEY_VARIABLE = "HOTLINE_SERVER_KEY"


@dataclass(frozen=True)
class PbxIdentity:
    """Who this PBX is, as far as licensing cares."""

    entity_id: str | None
    #: a license key: never in a repr, so never in a log line or a traceback
    server_license_key: str | None = field(default=None, repr=False)
    pbx_uuid: str | None = None
    version: str | None = None


def parse_core_settings(lines: Iterable[str]) -> dict[str, str]:
    """``core show settings`` lines (``  Entity ID:   02:fc:...``) as a dict by label."""
    settings: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.strip().partition(":")
        if sep and key and key not in settings:
            settings[key.strip()] = value.strip().lstrip(":").strip()
    return settings


def normalise_entity_id(value: str) -> str | None:
    """Lower-case ``xx:xx:xx:xx:xx:xx``; None for anything else (e.g. unset)."""
    parts = value.strip().lower().replace("-", ":").split(":")
    if len(parts) != 6 or not all(
        len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts
    ):
        return None
    return ":".join(parts)


async def read_identity(
    client: AmiClient, *, server_key_variable: str | None = DEFAULT_SERVER_KEY_VARIABLE
) -> PbxIdentity:
    """Read the Entity ID (and the server key, if a variable name is given).

    AMI errors propagate (:class:`~hotline.ami.errors.AmiError`); a PBX that
    simply has no key set gives ``server_license_key=None``.
    """
    settings = parse_core_settings(await client.command("core show settings"))
    key: str | None = None
    if server_key_variable:
        key = (await client.getvar(server_key_variable)).strip() or None
    return PbxIdentity(
        entity_id=normalise_entity_id(settings.get("Entity ID", "")),
        server_license_key=key,
        pbx_uuid=settings.get("PBX UUID") or None,
        version=settings.get("Version") or None,
    )
