"""How the runtime and the CLI use AMI, from the configuration.

One place turns :class:`~hotline.config.Settings` into an AMI client, the
startup checks' arguments, the installation identity for licensing and the
``dial_details`` hook that puts AMI's view of each dial leg into the call log.
``hotline run`` (:mod:`hotline.runtime`), ``hotline check --live``
(:mod:`hotline.check`) and ``hotline call`` (:mod:`hotline.calltest`) all go
through here, so they agree on what is checked and how.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hotline.agents.plan import device_for
from hotline.ami.backoff import Backoff
from hotline.ami.calllog import CallEventLog
from hotline.ami.checks import HotlineEntry, StartupReport, run_startup_checks
from hotline.ami.client import AmiClient
from hotline.ami.errors import StartupCheckError
from hotline.ami.identity import PbxIdentity
from hotline.config import AsteriskConfig, Settings
from hotline.contract import CONFIRM_CONTEXT, hotline_route
from hotline.errors import ConfigError
from hotline.licensing.model import InstallationIdentity
from hotline.logs import get_logger

log = get_logger()

#: how long a target outcome waits for AMI's DialEnd/Hangup of its leg.  In the
#: recordings they arrive before the AGI reply to Dial; this only covers a
#: slower AMI socket.  With AMI down the wait ends at once.
DIAL_DETAILS_TIMEOUT = 1.0

DialDetails = Callable[[str, str], Awaitable[Mapping[str, Any]]]


def client_from_settings(cfg: AsteriskConfig, *, backoff: Backoff | None = None) -> AmiClient:
    """An AMI client for ``[asterisk]``; a missing secret is a one-line config error."""
    if cfg.secret is None:
        raise ConfigError(
            [
                "asterisk.secret: is not set: set asterisk.secret_file (or "
                "HOTLINE_ASTERISK__SECRET) to the AMI user's secret from manager.conf, "
                "or asterisk.enabled = false to run without AMI"
            ]
        )
    return AmiClient(
        host=cfg.host,
        port=cfg.port,
        username=cfg.username,
        secret=cfg.secret.get_secret_value(),
        action_timeout=cfg.action_timeout,
        connect_timeout=cfg.connect_timeout,
        login_timeout=cfg.action_timeout,
        backoff=backoff,
    )


def agi_base(settings: Settings) -> str:
    """``agi://host:port`` for the dialplan snippets in startup-check messages."""
    host = settings.agi.bind
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    return f"agi://{host}:{settings.agi.port}"


def hotline_entries(settings: Settings) -> tuple[list[HotlineEntry], list[str]]:
    """The dialplan entries to check, and a warning for each hotline without an extension."""
    entries: list[HotlineEntry] = []
    unchecked: list[str] = []
    for index, hotline in enumerate(settings.hotlines):
        if hotline.extension is None:
            unchecked.append(
                f"hotline '{hotline.name}': no extension configured, so its dialplan entry is "
                f"not checked and `hotline call` cannot reach it: set hotlines[{index}].extension "
                f"to the number in [{hotline.context}] that runs "
                f"AGI({agi_base(settings)}/{hotline_route(hotline.name)})"
            )
            continue
        entries.append(
            HotlineEntry(
                name=hotline.name,
                context=hotline.context,
                extension=hotline.extension,
                moh_class=hotline.moh_class,
            )
        )
    return entries, unchecked


async def check_pbx(client: AmiClient, settings: Settings) -> StartupReport:
    """Run the startup checks for this configuration (never raises for what it finds).

    The PBX's server key variable is read only when no ``license.server_key``
    is configured: the configured one wins.
    """
    entries, unchecked = hotline_entries(settings)
    variable = None if settings.license.server_key else settings.license.server_key_variable
    report = await run_startup_checks(
        client,
        hotlines=entries,
        confirm_context=CONFIRM_CONTEXT,
        agi_base=agi_base(settings),
        server_key_variable=variable,
        step_hotlines=[
            h.name for h in settings.hotlines if any(len(s.targets) > 1 for s in h.hunt.steps)
        ],
        device_hotlines=[
            h.name for h in settings.hotlines if any(device_for(h, t) for t in h.targets)
        ],
    )
    report.warnings.extend(unchecked)
    return report


def pbx_identity(report: StartupReport) -> PbxIdentity:
    return PbxIdentity(
        entity_id=report.entity_id,
        server_license_key=report.server_license_key,
        version=report.version,
    )


def installation_identity(
    settings: Settings, pbx: PbxIdentity | None = None
) -> InstallationIdentity:
    """This installation for licensing.

    The server key is ``license.server_key`` if configured, else the one kept
    on the PBX (global variable); the hardware id is the PBX's Entity ID when
    AMI told us.
    """
    configured = settings.license.server_key
    if configured is not None:
        server_key: str | None = configured.get_secret_value()
    else:
        server_key = pbx.server_license_key if pbx is not None else None
    hardware_id = pbx.entity_id if pbx is not None else None
    return InstallationIdentity.of(server_key=server_key, hardware_id=hardware_id)


async def connect_pbx(
    settings: Settings, client: AmiClient | None = None
) -> tuple[AmiClient, CallEventLog, StartupReport]:
    """Log in, run the startup checks, and start correlating call events.

    Raises :class:`~hotline.ami.errors.AmiAuthError` for wrong credentials
    and :class:`StartupCheckError` (every error line) when the PBX is
    unreachable or lacks something; warnings are logged.  On success the
    client stays connected and reconnects by itself.
    """
    client = client if client is not None else client_from_settings(settings.asterisk)
    events = CallEventLog()
    events.attach(client)
    try:
        # An unreachable PBX is not raised here: the checks turn it into their own line.
        await client.start(require=False)
        report = await check_pbx(client, settings)
    except BaseException:
        await client.close()
        raise
    for line in report.warnings:
        log.warning("startup_check_warning", problem=line)
    if report.errors:
        for line in report.errors:
            log.error("startup_check_failed", problem=line)
        await client.close()
        raise StartupCheckError(report.errors)
    log.info(
        "pbx_checked",
        asterisk_version=report.version,
        entity_id=report.entity_id,
        server_key_on_pbx=report.server_license_key is not None,
        warnings=len(report.warnings),
    )
    return client, events, report


def dial_details(events: CallEventLog, *, timeout: float = DIAL_DETAILS_TIMEOUT) -> DialDetails:
    """``FlowDeps.dial_details``: what AMI saw of a call's leg to a dial string.

    Returns at once with what is known when AMI is down, ``{}`` when nothing
    is; never raises into the call (a bug here is logged, not fatal).
    """

    async def details(call_id: str, dial_string: str) -> Mapping[str, Any]:
        try:
            leg = await events.wait_leg(call_id, dial_string, timeout=timeout)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ami_dial_details_failed", dial_string=dial_string)
            return {}
        if leg is None:
            return {}
        return leg.log_fields()

    return details
