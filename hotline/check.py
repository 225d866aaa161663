"""``hotline check``: what an admin runs before ``run``.

Prints a short summary of each hotline so a typo in a target list is seen,
then the problems, one line each.  Exit 0 when everything is usable, 2 otherwise.
With ``--live`` it also logs in to the PBX over AMI and runs the same startup
checks as ``run`` (version, modules, dialplan, MOH classes), prints the PBX's
version and Entity ID, and checks the license against the PBX's identity.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import TextIO

from hotline.ami.checks import StartupReport
from hotline.ami.client import AmiClient
from hotline.ami.errors import AmiAuthError
from hotline.ami.identity import PbxIdentity
from hotline.ami_wiring import check_pbx, client_from_settings, pbx_identity
from hotline.config import HotlineConfig, Settings
from hotline.contract import played_slots as contract_slots
from hotline.errors import ConfigError, ProblemsError
from hotline.licensing.errors import LicenseError, MissingKeyError, NoInstallationIdentityError
from hotline.licensing.verify import LicenseVerifier, describe
from hotline.prompts.check import HotlinePrompts, PromptPlan, check_prompts
from hotline.prompts.errors import PromptError
from hotline.prompts.store import local_defaults_dir
from hotline.schedule.engine import Schedules
from hotline.schedule.report import status_line


class CheckFailed(ProblemsError):
    """``hotline check`` found problems (prompts, license, the PBX); one line each."""


def _quoted(label: str | None) -> str:
    return f' "{label}"' if label else ""


def describe_hotline(hotline: HotlineConfig) -> str:
    """One line: how the hotline behaves, without its PIN."""
    pin = "no PIN"
    if hotline.pin is not None:
        pin = f"PIN, {hotline.pin_attempts} attempts"
    targets = ", ".join(
        f"{t.number}{_quoted(t.label)} {hotline.ring_time_for(t)}s"
        + (f" after {t.delay}s" if t.delay else "")
        for t in hotline.targets
    )
    extra = [f"rounds {hotline.rounds}", hotline.hunt.describe()]
    if hotline.max_wait is not None:
        extra.append(f"max wait {hotline.max_wait}s")
    if hotline.fallback is not None:
        fb = hotline.fallback
        extra.append(f"fallback {fb.context},{fb.extension},{fb.priority}")
    custom = sorted(hotline.prompts)
    if custom:
        extra.append(f"custom prompts: {', '.join(custom)}")
    return (
        f"  {hotline.name} [{hotline.language}] {pin}; "
        f"{len(hotline.targets)} targets: {targets}; {'; '.join(extra)}"
    )


def played_slots(hotline: HotlineConfig) -> list[str]:
    """The prompt slots the flows will play for this hotline (hotline/contract.py)."""
    schedule = hotline.schedule
    return contract_slots(
        pin=hotline.pin is not None,
        announce_caller=hotline.confirm.announce_caller,
        announce_fallback=hotline.fallback is not None and hotline.fallback.announce,
        parallel=any(len(step.targets) > 1 for step in hotline.hunt.steps),
        announce_closed=schedule is not None
        and (schedule.closed is None or schedule.closed.announce),
    )


def prompt_problems(settings: Settings) -> tuple[list[str], str]:
    """Problems with the prompts every hotline plays, and where the defaults were checked.

    The defaults are checked in Asterisk's sounds directory when this host sees
    it, else in the set shipped with hotline (what ``prompts install-defaults``
    copies there).
    """
    try:
        defaults = local_defaults_dir(settings.asterisk.sounds_dir)
    except PromptError as exc:
        return [str(exc)], "nowhere"
    plan = PromptPlan(
        defaults_dir=defaults,
        hotlines=[
            HotlinePrompts(
                name=h.name,
                language=h.language,
                overrides={slot: Path(path) for slot, path in h.prompts.items()},
                slots=played_slots(h),
            )
            for h in settings.hotlines
        ],
    )
    return check_prompts(plan), str(defaults)


def license_status(
    settings: Settings,
    *,
    pbx: PbxIdentity | None = None,
    verifier: LicenseVerifier | None = None,
) -> tuple[str | None, str]:
    """(problem or None, one line of status) for the configured module key.

    Checked offline against ``license.server_key``, or against the PBX's
    identity when ``pbx`` (read over AMI) is given.
    """
    from hotline.runtime import license_guard

    try:
        guard = license_guard(settings, verifier=verifier, pbx=pbx)
    except MissingKeyError as exc:
        return None, f"license: {exc}"
    except NoInstallationIdentityError as exc:
        if pbx is not None:
            return f"license: {exc}", "license: INVALID"
        return None, (
            "license: not checked offline: no license.server_key configured; "
            "`hotline check --live` reads the PBX's identity"
        )
    except LicenseError as exc:
        return f"license: {exc}", "license: INVALID"
    return None, f"license: {describe(guard.license)}"


def _server_key_line(settings: Settings, report: StartupReport) -> str:
    if settings.license.server_key is not None:
        return "asterisk: server license key: configured (license.server_key), not read"
    variable = settings.license.server_key_variable
    if report.server_license_key:
        return f"asterisk: server license key: set on the PBX (global variable {variable})"
    return f"asterisk: server license key: not set on the PBX (global variable {variable})"


async def live_check(
    settings: Settings, *, out: TextIO, client: AmiClient | None = None
) -> tuple[list[str], PbxIdentity | None]:
    """Log in to AMI, run the startup checks and print what the PBX is.

    Returns the problems (one line each) and the PBX's identity (None when
    AMI could not be reached).  Warnings are printed, they are not problems.
    """
    cfg = settings.asterisk
    try:
        client = client if client is not None else client_from_settings(cfg)
    except ConfigError as exc:
        return list(exc.problems), None
    try:
        try:
            await client.start(require=False)
        except AmiAuthError as exc:
            return [f"asterisk: {exc}"], None
        reachable = client.connected
        report = await check_pbx(client, settings)
    finally:
        await client.close()
    if not reachable:
        return [f"asterisk: {line}" for line in report.errors], None
    print(
        f"asterisk: Asterisk {report.version or '(version unknown)'} at {cfg.host}:{cfg.port}",
        file=out,
    )
    print(f"asterisk: Entity ID {report.entity_id or '(not readable)'}", file=out)
    print(_server_key_line(settings, report), file=out)
    for line in report.warnings:
        print(f"warning: {line}", file=out)
    if not report.errors:
        print("asterisk: startup checks passed", file=out)
    return [f"asterisk: {line}" for line in report.errors], pbx_identity(report)


def observability_lines(settings: Settings) -> list[str]:
    """Where the journal is kept and where Prometheus scrapes the metrics."""
    journal, metrics = settings.journal, settings.metrics
    return [
        f"journal: {journal.where()} (callers {journal.caller}, kept {journal.keep_days} days)"
        if journal.enabled
        else "journal: off ([journal] enabled = false)",
        f"metrics: {settings.http.url(path='/metrics')}"
        if metrics.enabled
        else "metrics: off ([metrics] enabled = false)",
        f"live page: {settings.http.url()}"
        if settings.http.page
        else "live page: off ([http] page = false)",
    ]


def run_check(
    path: Path,
    settings: Settings,
    *,
    live: bool,
    out: TextIO,
    verifier: LicenseVerifier | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Validate what can be validated and print the summary; raise :class:`CheckFailed`
    with every problem found, or return 0.

    ``verifier`` replaces the embedded vendor key, ``now`` the wall clock (tests).
    """
    count = len(settings.hotlines)
    print(f"{path}: configuration OK, {count} hotline{'s' if count != 1 else ''}", file=out)
    for hotline in settings.hotlines:
        print(describe_hotline(hotline), file=out)
    now = now or dt.datetime.now(dt.UTC)
    print(f"schedule, as of {now.astimezone():%Y-%m-%d %H:%M %Z}:", file=out)
    for schedule in Schedules.from_settings(settings):
        print(status_line(schedule, now), file=out)
    problems, defaults = prompt_problems(settings)
    if not problems:
        print(f"prompts: every slot in place (defaults checked in {defaults})", file=out)
    for line in observability_lines(settings):
        print(line, file=out)
    pbx: PbxIdentity | None = None
    if live:
        live_problems, pbx = asyncio.run(live_check(settings, out=out))
        problems += live_problems
    license_problem, status = license_status(settings, pbx=pbx, verifier=verifier)
    print(status, file=out)
    if license_problem:
        problems.append(license_problem)
    if problems:
        raise CheckFailed(problems)
    return 0
