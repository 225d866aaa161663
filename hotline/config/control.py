"""``[control]``: the running runtime's control socket, through which ``hotline reload`` asks it."""

from __future__ import annotations

import os
from pathlib import Path

from hotline.config.fields import ConfigModel


class ControlConfig(ConfigModel):
    """A Unix socket only the runtime's own user may use (mode 0600)."""

    #: default: ``$XDG_RUNTIME_DIR/hotline-<agi port>.sock``,
    #: else ``/tmp/hotline-<uid>-<agi port>.sock``
    socket: Path | None = None


def control_socket(control: ControlConfig, agi_port: int) -> Path:
    """Where ``hotline run`` listens and ``hotline reload`` connects, for this config."""
    if control.socket is not None:
        return control.socket
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        return Path(runtime_dir) / f"hotline-{agi_port}.sock"
    return Path("/tmp") / f"hotline-{os.getuid()}-{agi_port}.sock"  # noqa: S108 - per uid and port; mode 0600
