"""Files the configuration reads: the config itself and secrets (Docker and systemd secrets),
both read with :func:`hotline.smallfile.read_small_file` and these limits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hotline.smallfile import FileRefused, read_small_file

#: a config file larger than this is refused (the example is about 5 KiB)
CONFIG_FILE_LIMIT = 1024 * 1024
#: a secret file larger than this is refused (keys and secrets are a line long)
SECRET_FILE_LIMIT = 64 * 1024


def _shown(path: str | os.PathLike[str]) -> str:
    """``path`` for a one-line message: quoted when it holds a control character."""
    text = os.fspath(path)
    return text if text.isprintable() else repr(text)


def secret_from_file(data: Any, field: str) -> Any:
    """Fill ``field`` from ``<field>_file`` if that is given (Docker/systemd secrets)."""
    if not isinstance(data, dict):
        return data
    file_key = f"{field}_file"
    path = data.get(file_key)
    if path in (None, "") or not isinstance(path, str | os.PathLike):
        return data  # field validation names a value that is not a path
    if data.get(field) not in (None, ""):
        raise ValueError(f"both {field} and {file_key} are set; keep only one of them")
    try:
        text = read_small_file(Path(path), SECRET_FILE_LIMIT).decode("utf-8").strip()
    except FileRefused as exc:
        raise ValueError(f"{file_key}: cannot read {_shown(path)}: {exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{file_key}: {path} is not UTF-8 text; save the secret as text") from None
    if not text:
        raise ValueError(f"{file_key}: {path} is empty")
    return {**data, field: text}
