"""Startup validation: every prompt a hotline will play exists, in the format Asterisk expects.

Run at ``hotline check`` and before serving, so a missing or broken file is
one line naming the hotline, the slot and the path, not silence on a live
call.  Files are read with the stdlib ``wave`` module only (no ffmpeg, no
pydub): this is cheap enough to run at startup.

The 8 kHz ``.wav`` of every prompt must exist (every channel can play it);
the 16 kHz ``.wav16`` is optional, and checked when present, because
Asterisk would pick it for wideband channels.
"""

from __future__ import annotations

import wave
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hotline.prompts.catalogue import FORMATS, LANGUAGES, SLOT_NAMES, WAV8, AudioFormat
from hotline.prompts.store import default_prompt_base, strip_format_extension, with_format


@dataclass(frozen=True)
class HotlinePrompts:
    """What one hotline will play: its language and its own recordings."""

    name: str
    language: str
    #: slot name -> the hotline's own recording, as the runtime sees it
    #: (a path without extension, or the ``.wav`` file itself)
    overrides: Mapping[str, Path] = field(default_factory=dict)
    #: the slots the flows will play for this hotline (e.g. without the PIN slots when it
    #: has no PIN, without ``fallback`` when that is off); None means every slot
    slots: Collection[str] | None = None


@dataclass(frozen=True)
class PromptPlan:
    """Everything :func:`check_prompts` needs, built by the config."""

    #: the default prompt tree (``<lang>/<slot>.wav``) as the runtime sees it
    defaults_dir: Path
    hotlines: Sequence[HotlinePrompts]


def check_prompts(plan: PromptPlan) -> list[str]:
    """One line per problem; an empty list means every prompt is in place."""
    if not plan.defaults_dir.is_dir():
        return [
            f"default prompts directory {plan.defaults_dir} does not exist; "
            "install the defaults there (hotline prompts install-defaults)"
        ]
    problems: list[str] = []
    for hotline in plan.hotlines:
        problems.extend(_check_hotline(hotline, plan.defaults_dir))
    return problems


def _check_hotline(hotline: HotlinePrompts, defaults_dir: Path) -> list[str]:
    where = f"hotline {hotline.name}"
    problems: list[str] = []
    if hotline.language not in LANGUAGES:
        problems.append(
            f"{where}: language {hotline.language!r} has no prompts; use one of "
            + ", ".join(LANGUAGES)
        )
    unknown = [s for s in (*hotline.overrides, *(hotline.slots or ())) if s not in SLOT_NAMES]
    for name in dict.fromkeys(unknown):
        problems.append(
            f"{where}: {name!r} is not a prompt slot; valid slots: {', '.join(SLOT_NAMES)}"
        )
    wanted = SLOT_NAMES if hotline.slots is None else hotline.slots
    for name in (s for s in SLOT_NAMES if s in wanted):
        override = hotline.overrides.get(name)
        if override is not None:
            problem = _check_files(Path(strip_format_extension(override)), custom=True)
            hint = f"convert a recording: hotline prompts convert FILE --hotline {hotline.name}"
            hint += f" --slot {name}"
        elif hotline.language in LANGUAGES:
            problem = _check_files(default_prompt_base(defaults_dir, hotline.language, name))
            hint = "reinstall the default prompts (hotline prompts install-defaults)"
        else:
            continue
        if problem is not None:
            problems.append(f"{where}, prompt {name}: {problem}; {hint}")
    return problems


def _check_files(base: Path, *, custom: bool = False) -> str | None:
    """What is wrong with the files of one prompt, or None."""
    kind = "custom prompt" if custom else "default prompt"
    required = with_format(base, WAV8)
    if not required.is_file():
        what = "is not a regular file" if required.exists() else "is missing"
        return f"{kind} {required} {what}"
    for fmt in FORMATS:
        path = with_format(base, fmt)
        if fmt is WAV8 or path.is_file():
            problem = _check_format(path, fmt)
            if problem is not None:
                return f"{kind} {path} {problem}"
    return None


def _check_format(path: Path, fmt: AudioFormat) -> str | None:
    try:
        with wave.open(str(path), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            frames = wav.getnframes()
    except (wave.Error, EOFError) as exc:
        return f"is not a PCM WAV file ({exc})"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if (rate, channels, width) != (fmt.rate, fmt.channels, fmt.sample_width):
        return (
            f"is {_describe(rate, channels, width)}, "
            f"expected {_describe(fmt.rate, fmt.channels, fmt.sample_width)}"
        )
    if frames == 0:
        return "has no audio"
    return None


def prompt_seconds(base: Path) -> float | None:
    """How long a prompt plays (its 8 kHz ``.wav``), or None when this host cannot read it."""
    try:
        with wave.open(str(with_format(base, WAV8)), "rb") as wav:
            rate, frames = wav.getframerate(), wav.getnframes()
    except (wave.Error, EOFError, OSError):
        return None
    return frames / rate if rate > 0 else None


def _describe(rate: int, channels: int, width: int) -> str:
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}-channel")
    return f"{rate} Hz {layout} {8 * width}-bit"
