"""panoramisk's pieces, adapted: its logger, its protocol and its Manager.

Why each is changed is told in hotline/ami/client.py, which uses them.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Callable
from typing import Any

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager

from hotline.logs import get_logger

log = get_logger()


class PanoramiskLog:
    """panoramisk logs through a stdlib-style logger; route it to ours.

    Two of its messages quote a whole AMI action, whose headers can hold a
    secret (Login's ``Secret:``, a test call's ``Variable: PIN=...``): those
    are logged with the action's name only (panoramisk 1.4,
    ``ami_protocol.py``: "Fail to send %r", "Adding action %s to awaiting
    list: %s").  Its debug lines are per-message parse traces and are dropped.
    """

    def _emit(self, level: str, msg: object, args: tuple[object, ...]) -> None:
        template = str(msg)
        if template.startswith("Fail to send"):
            text = "Fail to send an AMI action"
        elif template.startswith("Adding action") and args:
            text = f"Adding action {args[0]!s} to awaiting list"
        else:
            try:
                text = template % args if args else template
            except (TypeError, ValueError):
                text = f"{template} {args!r}"
        getattr(log, level)("panoramisk_log", detail=text)

    def debug(self, msg: object, *args: object, **_kw: object) -> None:
        return None

    def info(self, msg: object, *args: object, **_kw: object) -> None:
        self._emit("info", msg, args)

    def warning(self, msg: object, *args: object, **_kw: object) -> None:
        self._emit("warning", msg, args)

    def error(self, msg: object, *args: object, **_kw: object) -> None:
        self._emit("error", msg, args)

    def exception(self, msg: object, *args: object, **_kw: object) -> None:
        self._emit("error", msg, args)


class Utf8Protocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol, fed whole UTF-8 characters only."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def data_received(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        if text:
            super().data_received(text.encode("utf-8"))


class QuietManager(Manager):  # type: ignore[misc]
    """panoramisk's Manager without its own ping, re-send and reconnect."""

    def __init__(self, on_lost: Callable[[Any, object], None], **config: Any) -> None:
        super().__init__(**config)
        self._on_lost = on_lost

    def ping(self) -> None:
        """Keepalive is AmiClient's: it waits for the answer."""

    async def send_awaiting_actions(self, *_: object) -> None:
        """Never re-send an action after a reconnect (a second Originate is a second call)."""
        self.awaiting_actions.clear()

    def connection_lost(self, exc: object) -> None:
        self._connected = False
        self.stop_pinger()
        self._on_lost(self.protocol, exc)

    def stop_pinger(self) -> None:
        """Cancel the timer panoramisk arms on every connection (its ping is a no-op here)."""
        pinger = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
        setattr(self, "pinger", None)  # noqa: B010 - the attribute is untyped upstream
