"""``hotline prompts …``: convert admins' recordings, list the slots, install the defaults.

These are offline commands (no event loop, no calls being served), so the
blocking conversion runs right here.  The CLI wires :func:`add_prompts_parser`
into its sub-commands; every handler returns an exit code or raises a
:class:`PromptError` (one line) or :class:`ConvertFailed` (one line per file),
which the CLI prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from hotline.prompts.catalogue import LANGUAGES, SLOT_NAMES, SLOTS, slot
from hotline.prompts.errors import ConvertFailed, PromptError
from hotline.prompts.store import (
    check_hotline_name,
    custom_prompt_base,
    install_default_prompts,
    shipped_prompts_dir,
)

#: where prompts go when neither ``--sounds-dir`` nor the CLI's configured value says otherwise
DEFAULT_SOUNDS_DIR = Path("/var/lib/hotline/sounds")

Handler = Callable[[argparse.Namespace], int]


def add_prompts_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    default_sounds_dir: Path | None = None,
) -> argparse.ArgumentParser:
    """Add ``prompts convert|list|install-defaults``; each sets ``func`` (args -> exit code)."""
    sounds_default = default_sounds_dir if default_sounds_dir is not None else DEFAULT_SOUNDS_DIR
    prompts = subparsers.add_parser(
        "prompts",
        help="convert your own recordings, list the prompt slots, install the defaults",
        description="Voice prompts: the slots the call flows play and the files behind them.",
    )
    commands = prompts.add_subparsers(dest="prompts_command", required=True)

    convert = commands.add_parser(
        "convert",
        help="convert recordings into a hotline's own prompts",
        description=(
            "Convert WAV/MP3/OGG/FLAC/M4A recordings to 8 kHz (.wav) and 16 kHz (.wav16) "
            "mono prompts, levelled and trimmed, installed as "
            "<sounds-dir>/custom/<hotline>/<slot>.wav|.wav16."
        ),
        epilog=(
            "One file: `convert welcome.mp3 --hotline support --slot intro`. "
            "Several: name each slot, `convert intro=welcome.mp3 please_hold=hold.ogg "
            "--hotline support`, or name the files after the slots, `convert intro.mp3 "
            "please_hold.ogg --hotline support`."
        ),
    )
    convert.add_argument("inputs", nargs="+", metavar="INPUT", help="FILE, or SLOT=FILE")
    convert.add_argument("--hotline", required=True, help="the hotline these prompts belong to")
    convert.add_argument("--slot", help="the slot a single INPUT replaces (see `prompts list`)")
    convert.add_argument(
        "--sounds-dir",
        type=Path,
        default=sounds_default,
        help=f"the sounds directory as this host sees it (default: {sounds_default})",
    )
    convert.set_defaults(func=run_convert)

    listing = commands.add_parser(
        "list",
        help="list the prompt slots and their texts",
        description="List every prompt slot the call flows play, with its default texts.",
    )
    listing.add_argument("--language", choices=LANGUAGES, help="show only this language's texts")
    listing.set_defaults(func=run_list)

    install = commands.add_parser(
        "install-defaults",
        help="copy the shipped default prompts into the sounds directory",
        description="Copy the default prompts (every slot, de and en) to <sounds-dir>/<lang>/.",
    )
    install.add_argument(
        "--sounds-dir",
        type=Path,
        default=sounds_default,
        help=f"the sounds directory as this host sees it (default: {sounds_default})",
    )
    install.set_defaults(func=run_install_defaults)
    return prompts


@dataclass(frozen=True)
class _Job:
    slot: str
    source: Path


def _jobs(inputs: Sequence[str], slot_name: str | None) -> list[_Job]:
    """Pair each input with its slot; every mistake is found before anything is converted."""
    if slot_name is not None:
        if len(inputs) != 1:
            raise PromptError(
                f"--slot names the slot of one INPUT, but {len(inputs)} were given; "
                "use SLOT=FILE for several"
            )
        return [_Job(slot(slot_name).name, Path(inputs[0]))]
    jobs: list[_Job] = []
    for item in inputs:
        name, sep, file = item.partition("=")
        if sep and name in SLOT_NAMES:
            jobs.append(_Job(name, Path(file)))
            continue
        stem = Path(item).stem
        if stem not in SLOT_NAMES:
            raise PromptError(
                f"cannot tell which slot {item} is for; pass --slot, write SLOT={item}, "
                f"or name the file after a slot ({', '.join(SLOT_NAMES)})"
            )
        jobs.append(_Job(stem, Path(item)))
    seen: set[str] = set()
    for job in jobs:
        if job.slot in seen:
            raise PromptError(f"slot {job.slot} is given more than once; give one file per slot")
        seen.add(job.slot)
    return jobs


def _check_sounds_dir(sounds_dir: Path) -> None:
    """A typo in --sounds-dir must not quietly create a directory Asterisk never looks in."""
    if not sounds_dir.is_dir():
        raise PromptError(
            f"sounds directory {sounds_dir} does not exist; check --sounds-dir, or create it "
            "with: hotline prompts install-defaults --sounds-dir DIR"
        )


def run_convert(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Convert each input into the hotline's custom prompt; a bad file does not stop the rest."""
    out = out or sys.stdout
    sounds_dir: Path = args.sounds_dir
    hotline = check_hotline_name(args.hotline)
    jobs = _jobs(args.inputs, args.slot)
    _check_sounds_dir(sounds_dir)

    # imported here: pydub is only needed by this command, not by `list` or the runtime
    from hotline.prompts.convert import convert_prompt

    total, failures = len(jobs), []
    for number, job in enumerate(jobs, start=1):
        step = f"[{number}/{total}] " if total > 1 else ""
        if total > 1:
            print(f"{step}{job.slot}: converting {job.source} ...", file=out, flush=True)
        try:
            base = custom_prompt_base(sounds_dir, hotline, job.slot)
            report = convert_prompt(job.source, base)
        except PromptError as exc:
            failures.append(str(exc))
            continue
        print(
            f"{step}{job.slot}: {report.duration_s:.1f} s, gain {report.gain_db:+.1f} dB, "
            f"trimmed {report.trimmed_leading_s:.2f} s + {report.trimmed_trailing_s:.2f} s "
            f"-> {', '.join(str(p) for p in report.outputs)}",
            file=out,
            flush=True,
        )
        for note in report.warnings:
            print(f"warning: {note}", file=sys.stderr, flush=True)
    done = total - len(failures)
    if done:
        print(f"to use them, add to hotline {hotline} in the config:", file=out)
        print("[hotlines.prompts]", file=out)
        for job in jobs:
            base = custom_prompt_base(sounds_dir, hotline, job.slot)
            if (base.parent / f"{base.name}.wav").is_file():
                print(f'{job.slot} = "{base}"', file=out)
    if failures:
        raise ConvertFailed(
            [*failures, f"{len(failures)} of {total} recordings were not converted"]
        )
    return 0


def run_list(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Print the catalogue: slot, who hears it, when, and the default words."""
    out = out or sys.stdout
    languages = [args.language] if getattr(args, "language", None) else list(LANGUAGES)
    for entry in SLOTS:
        print(f"{entry.name} ({entry.leg}): {entry.description}", file=out)
        for lang in languages:
            print(f"    {lang}: {entry.text(lang)}", file=out)
    return 0


def run_install_defaults(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Copy the shipped default prompts into the sounds directory."""
    out = out or sys.stdout
    written = install_default_prompts(args.sounds_dir, source=shipped_prompts_dir())
    print(f"installed {len(written)} default prompt files under {args.sounds_dir}", file=out)
    return 0
