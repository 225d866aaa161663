"""``hotline check``: what an admin runs before ``run``.

Prints a short summary of each hotline so a typo in a target list is seen,
then the problems, one line each.  Exit 0 when everything is usable, 2 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from hotline.config import HotlineConfig, Settings
from hotline.licensing.errors import LicenseError, MissingKeyError, NoInstallationIdentityError
from hotline.licensing.verify import describe
from hotline.prompts.check import HotlinePrompts, PromptPlan, check_prompts
from hotline.prompts.errors import PromptError
from hotline.prompts.store import shipped_prompts_dir


def _quoted(label: str | None) -> str:
    return f' "{label}"' if label else ""


def describe_hotline(hotline: HotlineConfig) -> str:
    """One line: how the hotline behaves, without its PIN."""
    pin = "no PIN"
    if hotline.pin is not None:
        pin = f"PIN, {hotline.pin_attempts} attempts"
    targets = ", ".join(
        f"{t.number}{_quoted(t.label)} {hotline.ring_time_for(t)}s" for t in hotline.targets
    )
    extra = [f"rounds {hotline.rounds}"]
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
    """The prompt slots the flows will play for this hotline."""
    slots = ["intro", "please_hold", "nobody_available", "confirm_call", "accepted", "caller_gone"]
    if hotline.pin is not None:
        slots += ["enter_pin", "wrong_pin", "goodbye"]
    if hotline.confirm.announce_caller:
        slots.append("caller_number_is")
    if hotline.fallback is not None and hotline.fallback.announce:
        slots.append("fallback")
    return slots


def prompt_problems(settings: Settings) -> tuple[list[str], str]:
    """Problems with the prompts every hotline plays, and where the defaults were checked.

    The defaults are checked in Asterisk's sounds directory when this host sees
    it, else in the set shipped with hotline (what ``prompts install-defaults``
    copies there).
    """
    sounds_dir = Path(settings.asterisk.sounds_dir)
    try:
        defaults = sounds_dir if sounds_dir.is_dir() else shipped_prompts_dir()
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


def license_status(settings: Settings) -> tuple[str | None, str]:
    """(problem or None, one line of status) for the configured module key, checked offline."""
    from hotline.runtime import license_guard

    try:
        guard = license_guard(settings)
    except MissingKeyError as exc:
        return None, f"license: {exc}"
    except NoInstallationIdentityError:
        return None, (
            "license: not checked offline: no license.server_key configured; "
            "`hotline check --live` reads the PBX's identity"
        )
    except LicenseError as exc:
        return f"license: {exc}", "license: INVALID"
    return None, f"license: {describe(guard.license)}"


def run_check(path: Path, settings: Settings, *, live: bool, out: TextIO, err: TextIO) -> int:
    """Validate what can be validated and print the summary; return the exit code."""
    count = len(settings.hotlines)
    print(f"{path}: configuration OK, {count} hotline{'s' if count != 1 else ''}", file=out)
    for hotline in settings.hotlines:
        print(describe_hotline(hotline), file=out)
    problems, defaults = prompt_problems(settings)
    if not problems:
        print(f"prompts: every slot in place (defaults checked in {defaults})", file=out)
    license_problem, status = license_status(settings)
    print(status, file=out)
    if license_problem:
        problems.append(license_problem)
    for line in problems:
        print(line, file=err)
    return 2 if problems else 0
