"""The control socket of ``hotline run``: ``hotline reload`` asks the running runtime through it.

A Unix socket (mode 0600: only the runtime's own user, or root) with one
request per connection: the client sends ``reload`` and a newline, the runtime
answers one JSON line ``{"ok": bool, "lines": [...]}`` and closes.  Anything
else gets an error answer; a client that sends nothing is dropped after
:data:`REQUEST_TIMEOUT` seconds.  Nothing on it can change the config: a
reload only re-reads the file the admin edited.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotline.config.control import control_socket
from hotline.errors import HotlineError
from hotline.logs import get_logger
from hotline.reload import ReloadResult, reload_from_file

if TYPE_CHECKING:
    from hotline.runtime import Runtime

log = get_logger()

REQUEST_TIMEOUT = 5.0
#: how long ``hotline reload`` waits for the answer (a reload reads files, builds schedules)
ANSWER_TIMEOUT = 60.0
_MAX_REQUEST = 64

Reload = Callable[[], Awaitable[ReloadResult]]


class ControlError(HotlineError):
    """The control socket cannot be opened, or ``hotline reload`` cannot reach the runtime."""

    exit_code = 1


def _in_use(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


class ControlServer:
    """Listens on ``path`` while the runtime serves; removes the socket when closed."""

    def __init__(self, path: Path, reload: Reload) -> None:
        self.path = path
        self._reload = reload
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        path = self.path
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            raise ControlError(f"control socket {path}: {exc.strerror}") from None
        if mode is not None:
            if not stat.S_ISSOCK(mode):
                raise ControlError(
                    f"control socket {path}: a file that is not a socket is in the way; "
                    "remove it or set [control] socket"
                )
            if _in_use(path):
                raise ControlError(
                    f"control socket {path} is in use: another hotline run serves this "
                    "config; stop it, or set [control] socket"
                )
            path.unlink()  # left behind by a runtime that was killed
        old_umask = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(path))
        except OSError as exc:
            raise ControlError(
                f"control socket {path}: {exc.strerror}; set [control] socket to a writable place"
            ) from None
        finally:
            os.umask(old_umask)
        log.info("control_socket_listening", path=str(path))

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        with contextlib.suppress(OSError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                request = await reader.readline()
            word = request[:_MAX_REQUEST].decode("ascii", "replace").strip()
            if word == "reload":
                answer: dict[str, Any] = (await self._reload()).as_json()
            else:
                answer = {"ok": False, "lines": [f"unknown control request {word!r}; use reload"]}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):
            pass  # a client that went away or sent nothing: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def request_reload(path: Path, timeout: float = ANSWER_TIMEOUT) -> ReloadResult:  # noqa: ASYNC109
    """``hotline reload``: ask the runtime listening on ``path``; its answer."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
    except FileNotFoundError:
        raise ControlError(
            f"no runtime to reload: {path} does not exist (is `hotline run` running with "
            "this config?)"
        ) from None
    except OSError as exc:
        raise ControlError(f"cannot reach the runtime at {path}: {exc.strerror}") from None
    try:
        writer.write(b"reload\n")
        await writer.drain()
        async with asyncio.timeout(timeout):
            line = await reader.readline()
    except TimeoutError:
        raise ControlError(f"the runtime at {path} did not answer within {timeout:g} s") from None
    except ConnectionError as exc:
        raise ControlError(f"the runtime at {path} closed the connection: {exc}") from None
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    try:
        answer = json.loads(line)
        return ReloadResult(bool(answer["ok"]), [str(x) for x in answer["lines"]])
    except (ValueError, KeyError, TypeError):
        raise ControlError(f"the runtime at {path} gave no usable answer: {line[:80]!r}") from None


@contextlib.asynccontextmanager
async def reloadable(runtime: Runtime, config_path: Path) -> AsyncIterator[ControlServer]:
    """While serving: reload ``config_path`` on SIGHUP and on ``hotline reload``."""
    settings = runtime.settings
    server = ControlServer(
        control_socket(settings.control, settings.agi.port),
        lambda: reload_from_file(runtime, config_path),
    )
    await server.start()
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[ReloadResult]] = set()

    def on_sighup() -> None:
        task = loop.create_task(reload_from_file(runtime, config_path))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    hup = False
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        loop.add_signal_handler(signal.SIGHUP, on_sighup)
        hup = True
    try:
        yield server
    finally:
        if hup:
            loop.remove_signal_handler(signal.SIGHUP)
        await server.close()
        if tasks:
            await asyncio.wait(tasks)
