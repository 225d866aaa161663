"""Reloading the configuration of a running runtime (``hotline reload``, SIGHUP).

The file and the secret files it names are read again and validated the same
way as at start.  Three answers:

* invalid: nothing changes; every problem is one line (logged, and printed by
  ``hotline reload``);
* valid, but a setting changed that only a restart can apply (the FastAGI
  bind/port, the license, AMI, logging, the control socket): nothing changes,
  and the answer names each such setting — never half a reload;
* valid: new calls use it at once; calls in progress finish with the config
  they started with (their handler holds it), and what outlives configs
  (:class:`~hotline.flow.state.RuntimeState`) is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from hotline.config import Settings, load_settings
from hotline.errors import ConfigError, HotlineError, ProblemsError
from hotline.logs import get_logger

if TYPE_CHECKING:
    from hotline.runtime import Runtime

log = get_logger()

#: sections a reload applies; any other section that changed needs a restart
LIVE_SECTIONS = frozenset({"hotlines", "pin_guard"})
#: the ``[agi]`` settings a reload applies (read per connection); the rest needs a restart
LIVE_AGI = frozenset({"header_timeout", "command_timeout", "drain_timeout"})


class ReloadRefused(ProblemsError):
    """``hotline reload`` was refused (invalid file, restart-only change): one line each."""


@dataclass(frozen=True)
class ReloadResult:
    """What a reload came to; ``lines`` say it for people, one line each."""

    ok: bool
    lines: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "lines": self.lines}


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "(a secret)"
    return repr(str(value)) if isinstance(value, Path) else repr(value)


def _changes(prefix: str, old: Any, new: Any, live: frozenset[str] = frozenset()) -> list[str]:
    """``prefix.field: old -> new`` for every changed field not in ``live`` (secrets unshown)."""
    if old == new:
        return []
    if not (isinstance(old, BaseModel) and isinstance(new, BaseModel)):
        return [f"{prefix}: {_shown(old)} -> {_shown(new)}"]
    out = []
    for name in type(old).model_fields:
        if name in live:
            continue
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            if isinstance(before, SecretStr) or isinstance(after, SecretStr):
                out.append(f"{prefix}.{name}: changed")
            else:
                out.extend(_changes(f"{prefix}.{name}", before, after))
    return out


def needs_restart(old: Settings, new: Settings) -> list[str]:
    """One line per changed setting a reload cannot apply."""
    lines = []
    for name in Settings.model_fields:
        if name in LIVE_SECTIONS:
            continue
        live = LIVE_AGI if name == "agi" else frozenset()
        for change in _changes(name, getattr(old, name), getattr(new, name), live):
            lines.append(f"{change}: needs a restart (hotline run); nothing was reloaded")
    return lines


async def reload_from_file(
    runtime: Runtime, path: Path, environ: Mapping[str, str] | None = None
) -> ReloadResult:
    """Read ``path`` (and the environment) again and apply it to ``runtime`` if it may be.

    Reading, validating and building the new config's prompts and schedules run
    in a thread: calls in progress are not held up by it.
    """
    async with runtime.reload_lock:
        log.info("reload_started", config=str(path))
        try:
            settings = await asyncio.to_thread(load_settings, path, environ)
        except ConfigError as exc:
            for line in exc.problems:
                log.error("reload_invalid", problem=line)  # noqa: TRY400 - one line, no traceback
            return ReloadResult(False, [*exc.problems, "the running configuration stays in use"])
        restart = needs_restart(runtime.settings, settings)
        if restart:
            for line in restart:
                log.warning("reload_needs_restart", problem=line)
            return ReloadResult(False, restart)
        try:
            deps = await asyncio.to_thread(runtime.config_deps, settings)
        except HotlineError as exc:  # e.g. a prompt or holiday table that cannot be read
            log.error("reload_invalid", problem=str(exc))  # noqa: TRY400 - one line
            return ReloadResult(False, [str(exc), "the running configuration stays in use"])
        runtime.apply(settings, deps)
    names = [h.name for h in settings.hotlines]
    log.info("config_reloaded", config=str(path), generation=runtime.generation, hotlines=names)
    return ReloadResult(
        True,
        [
            f"{path}: reloaded (generation {runtime.generation}): {len(names)} hotline"
            f"{'s' if len(names) != 1 else ''} ({', '.join(names)}); calls in progress keep "
            "the config they started with"
        ],
    )
