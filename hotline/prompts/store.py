"""Where prompt files live: the one layout the runtime and Asterisk agree on.

Layout of the sounds directory (a directory of its own, not Asterisk's stock
``sounds/`` tree, so nothing can shadow or be shadowed by Asterisk's files)::

    <sounds_dir>/<lang>/<slot>.wav          default prompts, 8 kHz
    <sounds_dir>/<lang>/<slot>.wav16        default prompts, 16 kHz
    <sounds_dir>/custom/<hotline>/<slot>.wav    an admin's own recording for one hotline
    <sounds_dir>/custom/<hotline>/<slot>.wav16

The repository's ``prompts/`` directory has the same ``<lang>/<slot>.*``
shape, so installing the defaults is a plain copy (see
:func:`install_default_prompts`).  When the runtime and Asterisk run on
different hosts, ``<sounds_dir>`` is a shared volume that may be mounted at a
different path on each: the runtime writes and checks files through its own
mount, and :func:`playback_name` builds names with the path *Asterisk* sees.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePath, PurePosixPath

from hotline.prompts.catalogue import (
    FORMATS,
    LANGUAGES,
    SLOTS,
    AudioFormat,
    check_language,
    slot,
)
from hotline.prompts.errors import PromptError

#: sub-directory of the sounds directory that holds per-hotline recordings
CUSTOM_DIR = "custom"

#: file mode of installed prompts: Asterisk runs as its own user and must read them
FILE_MODE = 0o644

_HOTLINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# AGI arguments are split on blanks and quotes; keep playback names free of them
_UNSAFE_FOR_AGI = re.compile(r"[\s\"'\\]")


def check_hotline_name(hotline: str) -> str:
    """``hotline`` if it is safe as one path component, else one clear line saying why."""
    if not _HOTLINE_NAME.fullmatch(hotline) or hotline in {".", ".."}:
        raise PromptError(
            f"hotline name {hotline!r} cannot name a prompt directory; use letters, digits, "
            "'_', '-' and '.' (at most 64, starting with a letter or digit)"
        )
    return hotline


def default_prompt_base(prompts_root: Path, lang: str, slot_name: str) -> Path:
    """A default prompt's path without extension (the form Asterisk plays)."""
    return prompts_root / check_language(lang) / slot(slot_name).name


def default_prompt_path(prompts_root: Path, lang: str, slot_name: str, fmt: AudioFormat) -> Path:
    """The file of a default prompt in one format, under a tree of ``<lang>/<slot>.<ext>``."""
    return with_format(default_prompt_base(prompts_root, lang, slot_name), fmt)


def custom_prompt_base(sounds_dir: Path, hotline: str, slot_name: str) -> Path:
    """A hotline's own recording for a slot, without extension."""
    return sounds_dir / CUSTOM_DIR / check_hotline_name(hotline) / slot(slot_name).name


def custom_prompt_path(sounds_dir: Path, hotline: str, slot_name: str, fmt: AudioFormat) -> Path:
    """The file of a hotline's own recording for a slot in one format."""
    return with_format(custom_prompt_base(sounds_dir, hotline, slot_name), fmt)


def with_format(base: Path, fmt: AudioFormat) -> Path:
    """``base`` (a path without extension) with ``fmt``'s extension appended."""
    return base.with_name(f"{base.name}.{fmt.extension}")


def playback_name(
    sounds_dir: str | PurePosixPath,
    hotline: str,
    lang: str,
    slot_name: str,
    overridden: bool,
) -> str:
    """The name to pass to STREAM FILE / GET DATA for a slot of a hotline.

    ``sounds_dir`` is the sounds directory *as Asterisk sees it* (absolute).
    The result is an absolute path without extension, which Asterisk accepts
    and resolves to the best of ``.wav``/``.wav16`` for the channel.
    """
    root = PurePosixPath(sounds_dir)
    if not root.is_absolute():
        raise PromptError(
            f"sounds directory {str(sounds_dir)!r} must be an absolute path as Asterisk sees it"
        )
    if overridden:
        name = root / CUSTOM_DIR / check_hotline_name(hotline) / slot(slot_name).name
    else:
        name = root / check_language(lang) / slot(slot_name).name
    text = str(name)
    if _UNSAFE_FOR_AGI.search(text):
        raise PromptError(
            f"sounds directory {str(sounds_dir)!r} contains blanks, quotes or backslashes, "
            "which AGI commands cannot carry; choose a path without them"
        )
    return text


def strip_format_extension(path: PurePath) -> PurePath:
    """``path`` without a ``.wav``/``.wav16`` extension: the form STREAM FILE takes."""
    if path.suffix.lstrip(".") in {fmt.extension for fmt in FORMATS}:
        return path.with_suffix("")
    return path


def playback_name_for_file(path: str | PurePath) -> str:
    """The STREAM FILE / GET DATA name for a configured prompt file (absolute, no extension)."""
    base = strip_format_extension(PurePosixPath(path))
    if not base.is_absolute() or _UNSAFE_FOR_AGI.search(str(base)):
        raise PromptError(
            f"prompt path {str(path)!r} must be absolute and free of blanks, quotes and "
            "backslashes, or Asterisk cannot be told to play it"
        )
    return str(base)


def shipped_prompts_dir() -> Path:
    """The default prompt set shipped with hotline (``prompts/<lang>/<slot>.*``).

    Found in a source checkout (the repository's ``prompts/`` beside the
    package) or, for an install that put the set under
    ``<prefix>/share/hotline/prompts``, there.  A plain wheel does not carry
    the audio (it lives outside the package); such installs point the config
    at a copy of ``prompts/`` instead.
    """
    candidates = (
        Path(__file__).resolve().parents[2] / "prompts",
        Path(sys.prefix) / "share" / "hotline" / "prompts",
    )
    for candidate in candidates:
        if all((candidate / lang).is_dir() for lang in LANGUAGES):
            return candidate
    raise PromptError(
        "the default prompts were not found (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); copy the repository's prompts/ directory to the host and configure its path"
    )


def local_defaults_dir(sounds_dir: str) -> Path:
    """Where this host reads the default prompts: Asterisk's sounds directory when this
    host sees it, else the set shipped with hotline (what ``install-defaults`` copies)."""
    root = Path(sounds_dir)
    return root if root.is_dir() else shipped_prompts_dir()


def write_atomically(dst: Path, data: bytes) -> None:
    """Write ``dst`` so that a reader (Asterisk) sees the old file or the new one, never half."""
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    except OSError as exc:
        raise PromptError(
            f"cannot write {dst}: {exc.strerror}; check the directory and its permissions"
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(FILE_MODE)
        tmp.replace(dst)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PromptError(
            f"cannot write {dst}: {exc.strerror}; check the directory, free space and permissions"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def install_default_prompts(
    sounds_dir: Path,
    *,
    source: Path | None = None,
    languages: Iterable[str] = LANGUAGES,
) -> list[Path]:
    """Copy the default prompt set into ``sounds_dir`` (the layout above); returns the files."""
    src_root = source if source is not None else shipped_prompts_dir()
    written: list[Path] = []
    for lang in languages:
        for slot_name in (s.name for s in SLOTS):
            for fmt in FORMATS:
                src = default_prompt_path(src_root, lang, slot_name, fmt)
                dst = default_prompt_path(sounds_dir, lang, slot_name, fmt)
                try:
                    data = src.read_bytes()
                except OSError as exc:
                    raise PromptError(
                        f"default prompt {src} cannot be read ({exc.strerror}); "
                        "restore it from the repository's prompts/ directory"
                    ) from None
                write_atomically(dst, data)
                written.append(dst)
    return written
