"""Startup checks against the live PBX: is it the Asterisk the runtime needs?

Run by ``hotline check --live`` and at ``run``.  Each problem is ONE line that
says what is missing and the dialplan/config snippet that fixes it (snippet
lines joined with `` | ``), so an admin can act on the message alone.

How each thing is checked on Asterisk 18-22:

* version: ``CoreSettings`` ``AsteriskVersion`` (``core show version`` if that
  is empty);
* modules: ``ModuleCheck`` (Asterisk ignores a ``.so`` suffix; a missing
  module answers ``Response: Error / Message: Module not loaded``).  Local
  channels are not a module since Asterisk 12 (``core_local`` is built into
  the core, so ``ModuleCheck chan_local.so`` says "not loaded" on a healthy
  PBX); they are checked in ``core show channeltypes`` instead;
* dialplan: ``ShowDialPlan`` with ``Context``/``Extension``; a missing one
  answers ``Did not find context X`` / ``Did not find extension E@X``;
* MOH classes: ``moh show classes`` (``Class: name`` lines).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hotline.ami.errors import AmiActionError, AmiTimeout, AmiUnavailable
from hotline.ami.identity import DEFAULT_SERVER_KEY_VARIABLE, read_identity
from hotline.ami.messages import header_value
from hotline.contract import (
    CONFIRM_CONTEXT,
    CONFIRM_ROUTE,
    CONTINUE,
    DEFAULT_AGI_BASE,
    STEP_CONTEXT,
    conf_lines,
    confirm_conf,
    hotline_route,
    hotline_steps,
    step_conf,
)
from hotline.logs import get_logger

if TYPE_CHECKING:
    from hotline.ami.client import AmiClient
    from hotline.ami.messages import AmiResponse

log = get_logger()

#: modules the flow needs, and what for
REQUIRED_MODULES: tuple[tuple[str, str], ...] = (
    ("res_agi.so", "AGI() to reach the hotline runtime"),
    ("app_dial.so", "Dial() to ring the agents"),
    ("app_stack.so", "Gosub/Return for Dial's U() confirm subroutine"),
    ("res_musiconhold.so", "music on hold while the caller waits"),
)

#: manager.conf write classes the runtime's actions need: ModuleCheck (system),
#: Getvar (call/reporting), ShowDialPlan (reporting), Command (command: CLI
#: output for the Entity ID and MOH classes), Originate (originate)
AMI_WRITE_CLASSES = "system,call,reporting,command,originate"


@dataclass(frozen=True)
class HotlineEntry:
    """What the checks need to know about one configured hotline."""

    name: str
    context: str
    extension: str
    moh_class: str | None = None


@dataclass
class StartupReport:
    """Outcome of the startup checks: errors refuse to run, warnings do not."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: str | None = None
    entity_id: str | None = None
    #: a license key: never in a repr, so never in a log line or a traceback
    server_license_key: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``22.10.1`` / ``certified/18.9-cert4`` / ``Asterisk 20.5.2 built by ...`` -> numbers."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def confirm_snippet(context: str, agi_base: str) -> str:
    """The ``[hotline-confirm]`` subroutine (fail-closed), as one line."""
    return " | ".join(confirm_conf(agi_base, context))


def hotline_snippet(entry: HotlineEntry, agi_base: str, *, with_context: bool) -> str:
    lines = conf_lines(entry.extension, hotline_steps(entry.name, agi_base, message=None))
    if with_context:
        lines.insert(0, f"[{entry.context}]")
    return " | ".join(lines)


async def run_startup_checks(
    client: AmiClient,
    *,
    hotlines: Sequence[HotlineEntry],
    confirm_context: str = CONFIRM_CONTEXT,
    min_version: tuple[int, int] = (18, 0),
    tested_majors: Sequence[int] = (20, 21, 22),
    agi_base: str = DEFAULT_AGI_BASE,
    server_key_variable: str | None = DEFAULT_SERVER_KEY_VARIABLE,
    step_hotlines: Sequence[str] = (),
    device_hotlines: Sequence[str] = (),
) -> StartupReport:
    """Check the PBX; every problem becomes one line in ``errors`` or ``warnings``.

    ``step_hotlines`` names the hotlines that ring steps of several targets:
    then ``[hotline-step]`` must be loaded too.  ``device_hotlines`` names those
    with targets whose device state decides skipping: AMI's ``DeviceStateList``
    (res_manager_devicestate) should be there, else nobody is skipped for it.

    Never raises for what it finds (an unreachable PBX is an error line too);
    the caller decides whether ``errors`` stop the runtime.
    """
    report = StartupReport()
    if not client.connected:
        report.errors.append(
            f"Asterisk AMI at {client.host}:{client.port} is not reachable: start Asterisk, "
            "check [general] enabled=yes / port= / bindaddr= in manager.conf and the "
            "runtime's AMI host and port"
        )
        return report
    checks: list[Callable[[], Awaitable[None]]] = [
        lambda: _check_version(client, report, min_version, tuple(tested_majors)),
        lambda: _check_modules(client, report),
        lambda: _check_local_channels(client, report),
        lambda: _check_confirm_context(client, report, confirm_context, agi_base),
        lambda: _check_step_context(client, report, step_hotlines),
        lambda: _check_device_states(client, report, device_hotlines),
        lambda: _check_hotlines(client, report, hotlines, agi_base),
        lambda: _check_moh(client, report, hotlines),
        lambda: _read_identity(client, report, server_key_variable),
    ]
    for check in checks:
        try:
            await check()
        except AmiActionError as exc:
            if "permission denied" in exc.message.lower():
                report.errors.append(
                    f"AMI user '{client.username}' may not run {exc.action} (Permission "
                    f"denied): in manager.conf give [{client.username}] "
                    f"write = {AMI_WRITE_CLASSES}"
                )
            else:
                report.errors.append(f"startup check failed: {exc}")
        except (AmiUnavailable, AmiTimeout) as exc:
            report.errors.append(f"startup checks stopped, Asterisk stopped answering: {exc}")
            break
    log.info(
        "ami_startup_checks",
        errors=len(report.errors),
        warnings=len(report.warnings),
        asterisk_version=report.version,
    )
    return report


async def _check_version(
    client: AmiClient,
    report: StartupReport,
    min_version: tuple[int, int],
    tested_majors: tuple[int, ...],
) -> None:
    version = (await client.action("CoreSettings")).get("AsteriskVersion").strip()
    if not version:
        lines = await client.command("core show version")
        version = lines[0].strip() if lines else ""
        match = re.match(r"Asterisk\s+(\S+)", version)
        version = match.group(1) if match else version
    report.version = version or None
    tested = ", ".join(str(m) for m in tested_majors)
    parsed = parse_version(version)
    if parsed is None:
        report.warnings.append(
            f"cannot tell which Asterisk version '{version}' is; hotline is tested on "
            f"Asterisk {tested}"
        )
        return
    if parsed[:2] < min_version:
        report.errors.append(
            f"Asterisk {version} is too old: hotline needs Asterisk "
            f"{min_version[0]}.{min_version[1]} or newer (tested on {tested}); upgrade Asterisk"
        )
    elif parsed[0] not in tested_majors:
        report.warnings.append(
            f"Asterisk {version} is a version hotline was not tested on (tested: {tested}); "
            "it should work, but report any problem"
        )


async def _check_modules(client: AmiClient, report: StartupReport) -> None:
    for module, purpose in REQUIRED_MODULES:
        try:
            await client.action("ModuleCheck", {"Module": module})
        except AmiActionError as exc:
            if "not loaded" not in exc.message.lower():
                raise
            report.errors.append(
                f"Asterisk module {module} is not loaded (needed for {purpose}): add "
                f"'load => {module}' to modules.conf (and remove any 'noload => {module}'), "
                "then restart Asterisk"
            )


async def _check_device_states(
    client: AmiClient, report: StartupReport, hotlines: Sequence[str]
) -> None:
    if not hotlines:
        return
    module = "res_manager_devicestate.so"
    try:
        await client.action("ModuleCheck", {"Module": module})
    except AmiActionError as exc:
        if "not loaded" not in exc.message.lower():
            raise
        report.warnings.append(
            f"Asterisk module {module} is not loaded, so AMI cannot list device states: "
            f"hotline(s) {', '.join(hotlines)} will skip nobody for a busy or unregistered "
            f"phone; add 'load => {module}' to modules.conf and restart Asterisk"
        )


async def _check_local_channels(client: AmiClient, report: StartupReport) -> None:
    lines = await client.command("core show channeltypes")
    if not any(line.split()[:1] == ["Local"] for line in lines):
        report.errors.append(
            "Asterisk has no Local channel driver (built into the core since Asterisk 12, "
            "'core show channeltypes' must list Local): use a standard Asterisk build"
        )


async def _show_dialplan(
    client: AmiClient, context: str, extension: str
) -> tuple[AmiResponse | None, str | None]:
    """(response, None) if found; (None, "context"|"extension") if missing."""
    try:
        response = await client.action("ShowDialPlan", {"Context": context, "Extension": extension})
    except AmiActionError as exc:
        text = exc.message.lower()
        if text.startswith("did not find context"):
            return None, "context"
        if text.startswith("did not find extension"):
            return None, "extension"
        raise
    return response, None


def _steps(response: AmiResponse) -> list[tuple[str, str]]:
    """(Application, AppData) of every ListDialplan item."""
    return [
        (header_value(item, "Application"), header_value(item, "AppData"))
        for item in response.events
        if header_value(item, "Event").lower() == "listdialplan"
    ]


async def _check_confirm_context(
    client: AmiClient, report: StartupReport, context: str, agi_base: str
) -> None:
    response, missing = await _show_dialplan(client, context, "s")
    snippet = confirm_snippet(context, agi_base)
    if missing == "context":
        report.errors.append(
            f"dialplan context [{context}] (the agent confirm subroutine) is missing: add to "
            f"extensions.conf, then 'dialplan reload': {snippet}"
        )
        return
    if missing == "extension" or response is None:
        report.errors.append(
            f"dialplan context [{context}] has no 's' extension for the confirm subroutine: "
            f"replace it in extensions.conf, then 'dialplan reload': {snippet}"
        )
        return
    steps = _steps(response)
    if not any(app.lower() == "agi" and f"/{CONFIRM_ROUTE}" in data for app, data in steps):
        report.warnings.append(
            f"dialplan context [{context}] does not run AGI(.../{CONFIRM_ROUTE}): agents would be "
            f"connected unconfirmed or not at all; expected: {snippet}"
        )
    if not any(app.lower() == "set" and f"GOSUB_RESULT={CONTINUE}" in data for app, data in steps):
        report.warnings.append(
            f"dialplan context [{context}] never sets GOSUB_RESULT=CONTINUE, so it is not "
            f"fail-closed (an unconfirmed agent may be bridged); expected: {snippet}"
        )


async def _check_step_context(
    client: AmiClient, report: StartupReport, hotlines: Sequence[str]
) -> None:
    """Parallel steps dial ``Local/<n>@hotline-step``: leg 1 must find its extension."""
    if not hotlines:
        return
    names = ", ".join(hotlines)
    snippet = " | ".join(step_conf())
    response, missing = await _show_dialplan(client, STEP_CONTEXT, "1")
    if missing is not None or response is None:
        where = f"context [{STEP_CONTEXT}]" if missing == "context" else f"1@{STEP_CONTEXT}"
        report.errors.append(
            f"dialplan {where} is missing, and hotline(s) {names} ring steps of several "
            f"targets through it: add to extensions.conf, then 'dialplan reload': {snippet}"
        )
        return
    if not any(
        app.lower() == "dial" and f"U({CONFIRM_CONTEXT}^" in data for app, data in _steps(response)
    ):
        report.warnings.append(
            f"dialplan context [{STEP_CONTEXT}] does not dial the agent with "
            f"U({CONFIRM_CONTEXT}^…): agents of parallel steps would not be asked to "
            f"confirm; expected: {snippet}"
        )


async def _check_hotlines(
    client: AmiClient, report: StartupReport, hotlines: Sequence[HotlineEntry], agi_base: str
) -> None:
    for entry in hotlines:
        response, missing = await _show_dialplan(client, entry.context, entry.extension)
        if missing == "context":
            snippet = hotline_snippet(entry, agi_base, with_context=True)
            report.errors.append(
                f"hotline '{entry.name}': dialplan context [{entry.context}] is missing: add to "
                f"extensions.conf, then 'dialplan reload': {snippet}"
            )
        elif missing == "extension" or response is None:
            snippet = hotline_snippet(entry, agi_base, with_context=False)
            report.errors.append(
                f"hotline '{entry.name}': extension {entry.extension} is missing from "
                f"[{entry.context}]: add to [{entry.context}] in extensions.conf, then "
                f"'dialplan reload': {snippet}"
            )
        elif not any(
            app.lower() == "agi" and f"/{hotline_route(entry.name)}" in data
            for app, data in _steps(response)
        ):
            report.warnings.append(
                f"hotline '{entry.name}': {entry.extension}@{entry.context} does not run "
                f"AGI(.../{hotline_route(entry.name)}); expected: "
                f"{hotline_snippet(entry, agi_base, with_context=False)}"
            )


async def _check_moh(
    client: AmiClient, report: StartupReport, hotlines: Sequence[HotlineEntry]
) -> None:
    wanted: dict[str, list[str]] = {}
    for entry in hotlines:
        if entry.moh_class:
            wanted.setdefault(entry.moh_class, []).append(entry.name)
    if not wanted:
        return
    try:
        lines = await client.command("moh show classes")
    except AmiActionError as exc:
        if "no such command" in exc.message.lower():
            return  # res_musiconhold is not loaded: the module check already said so
        raise
    existing = {line[len("Class:") :].strip() for line in lines if line.startswith("Class:")}
    for moh_class, names in wanted.items():
        if moh_class in existing:
            continue
        users = ", ".join(f"'{n}'" for n in names)
        report.errors.append(
            f"music-on-hold class '{moh_class}' (used by hotline {users}) does not exist: add "
            f"to musiconhold.conf, then 'moh reload': [{moh_class}] | mode=files | "
            f"directory=moh/{moh_class}"
        )


async def _read_identity(
    client: AmiClient, report: StartupReport, server_key_variable: str | None
) -> None:
    identity = await read_identity(client, server_key_variable=server_key_variable)
    report.entity_id = identity.entity_id
    report.server_license_key = identity.server_license_key
    if identity.entity_id is None:
        report.warnings.append(
            "cannot read Asterisk's Entity ID from 'core show settings': licenses bound to "
            "this PBX cannot be checked; set entityid= in asterisk.conf [options]"
        )
