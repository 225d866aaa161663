"""Secrets read from files (Docker and systemd secrets), so that they need not sit in the TOML."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def secret_from_file(data: Any, field: str) -> Any:
    """Fill ``field`` from ``<field>_file`` if that is given (Docker/systemd secrets)."""
    if not isinstance(data, dict):
        return data
    file_key = f"{field}_file"
    path = data.get(file_key)
    if path in (None, ""):
        return data
    if data.get(field) not in (None, ""):
        raise ValueError(f"both {field} and {file_key} are set; keep only one of them")
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ValueError(f"{file_key}: cannot read {path}: {reason}") from None
    if not text:
        raise ValueError(f"{file_key}: {path} is empty")
    return {**data, field: text}
