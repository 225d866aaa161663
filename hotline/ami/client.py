"""AMI client: panoramisk's ``Manager`` with the lifecycle hotline needs.

panoramisk 1.4 parses the protocol, matches replies to actions (ActionID,
EventList lists, the async ``OriginateResponse``) and dispatches events; that
part is used as it is.  Its lifecycle is not what a hotline can run on, so
:class:`AmiClient` owns it and switches off the parts that get in the way:

* **Login.** panoramisk logs in from ``connection_made`` and only records
  ``authenticated = False`` on a wrong secret; Asterisk then closes the socket
  (docs/asterisk/facts.md, fact 18) and panoramisk reconnects every 2 s forever.  Here the client
  sends ``Login`` itself, with a timeout, and a refusal at startup raises
  :class:`AmiAuthError` (one line, the CLI exits non-zero).
* **Reconnect.** panoramisk retries at a fixed delay; here it is capped
  exponential backoff with jitter (:class:`~hotline.ami.backoff.Backoff`).
* **Re-sent actions.** On a lost connection panoramisk queues every action
  still waiting for its reply and sends it again after the next
  ``FullyBooted``.  For ``Originate`` that places the call twice when the
  first one did reach Asterisk.  Here nothing is ever sent twice: an action
  in flight when the connection drops fails with :class:`AmiUnavailable` and
  the caller decides.
* **Keepalive.** panoramisk pings without looking at the answer, so a
  half-open TCP connection is never noticed.  Here a ``Ping`` must come back
  within ``ping_timeout`` or the connection is dropped and re-made.
* **Timeouts.** panoramisk's action futures wait forever; here every action
  has one (:class:`AmiTimeout`).
* **Decoding.** panoramisk decodes each TCP read on its own with
  ``errors='ignore'``, so a UTF-8 character split across two reads (a caller
  name) is silently lost; the protocol subclass decodes incrementally.
* **Callbacks.** panoramisk calls event callbacks inside ``data_received``;
  one that raises would make asyncio close the connection.  Here callbacks
  are isolated and their errors logged.

A lost AMI connection never raises into call handling: events simply stop
until the client is back, and :attr:`AmiClient.connected` says so.
"""

# Per-call timeouts are the point of this API (they become AmiTimeout).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from panoramisk import actions as pk_actions

from hotline.ami.backoff import Backoff
from hotline.ami.errors import (
    AmiActionError,
    AmiAuthError,
    AmiError,
    AmiOriginateError,
    AmiTimeout,
    AmiUnavailable,
)
from hotline.ami.messages import (
    AmiMessage,
    AmiResponse,
    OriginateResult,
    header_value,
)
from hotline.ami.panoramisk_glue import PanoramiskLog, QuietManager, Utf8Protocol
from hotline.logs import get_logger

log = get_logger()

EventCallback = Callable[[AmiMessage], Awaitable[None] | None]
ConnectionCallback = Callable[[bool], None]

#: what OriginateResponse Reason codes mean (AST_CONTROL_* values; docs/asterisk/facts.md, fact 19)
ORIGINATE_REASONS: dict[int, str] = {
    0: "no such extension or context, or the channel could not be created",
    1: "hung up before answering",
    3: "no answer (timed out while ringing)",
    4: "answered",
    5: "busy",
    8: "congestion",
}

DEFAULT_EVENT_CLASSES = "system,call,dtmf"


@dataclass(eq=False)
class _Session:
    """One TCP connection and what is in flight on it."""

    protocol: Any
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    #: id(action) -> panoramisk Action (Actions are dicts, not hashable)
    inflight: dict[int, Any] = field(default_factory=dict)
    ready: bool = False
    closed: bool = False


class AmiClient:
    """A resilient AMI connection: login, keepalive, reconnect, timeouts, events.

    ``await start()`` connects and logs in (wrong credentials raise
    :class:`AmiAuthError`); from then on a supervisor task keeps the
    connection alive until :meth:`close`.  Register event callbacks with
    :meth:`on_event` (before or after start; they survive reconnects).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        events: str = DEFAULT_EVENT_CLASSES,
        action_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        login_timeout: float = 5.0,
        ping_interval: float = 10.0,
        ping_timeout: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self._events = events
        self.action_timeout = action_timeout
        self._connect_timeout = connect_timeout
        self._login_timeout = login_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._backoff = backoff if backoff is not None else Backoff()
        self._manager: QuietManager | None = None
        self._session: _Session | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._callbacks: dict[str, list[EventCallback]] = {}
        self._connection_callbacks: list[ConnectionCallback] = []
        self._callback_tasks: set[asyncio.Task[Any]] = set()
        self._ready: asyncio.Event | None = None
        self._closing = False
        #: how many times a session was (re)established; 1 after start()
        self.sessions_opened = 0

    # -- state ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while logged in on a live connection."""
        return self._session is not None and self._session.ready and not self._session.closed

    @property
    def banner_version(self) -> str | None:
        """The AMI protocol version from the banner (``11.0.0`` on Asterisk 22)."""
        if self._session is None:
            return None
        version = getattr(self._session.protocol, "version", None)
        return str(version) if version else None

    def _ready_event(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Return once logged in (at once if already); :class:`AmiTimeout` if not in time."""
        event = self._ready_event()
        if self.connected:
            return
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            raise AmiTimeout(
                f"AMI at {self.host}:{self.port} not connected within {timeout:g} s"
            ) from None

    # -- lifecycle -----------------------------------------------------------

    async def start(self, *, require: bool = True) -> None:
        """Connect and log in, then keep the connection up in the background.

        Wrong credentials always raise :class:`AmiAuthError`.  An unreachable
        Asterisk raises :class:`AmiUnavailable` when ``require`` is true;
        otherwise it is logged and the client keeps trying (calls carried by
        FastAGI do not need AMI).
        """
        if self._supervisor is not None:
            raise RuntimeError("AmiClient.start() called twice")
        self._closing = False
        self._ensure_manager()
        try:
            await self._open_session()
        except AmiAuthError:
            raise
        except AmiError as exc:
            if require:
                raise
            log.warning("ami_unavailable_at_start", host=self.host, port=self.port, error=str(exc))
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def close(self) -> None:
        """Log off politely, stop reconnecting, drop the connection."""
        self._closing = True
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        session = self._session
        if session is not None and self.connected:
            with contextlib.suppress(AmiError):
                await self._send(session, "Logoff", {}, timeout=min(1.0, self.action_timeout))
        if session is not None:
            self._drop(session, "closed")
        if self._manager is not None:
            self._manager.stop_pinger()
        for cb_task in list(self._callback_tasks):
            cb_task.cancel()
        if self._callback_tasks:
            await asyncio.wait(list(self._callback_tasks))

    def _ensure_manager(self) -> QuietManager:
        if self._manager is None:
            self._manager = QuietManager(
                self._on_protocol_lost,
                loop=asyncio.get_running_loop(),
                host=self.host,
                port=self.port,
                log=PanoramiskLog(),
                protocol_factory=Utf8Protocol,
                events=self._events,
            )
            self._manager.register_event("*", self._dispatch)
        return self._manager

    async def _open_session(self) -> None:
        manager = self._ensure_manager()
        loop = asyncio.get_running_loop()
        where = f"{self.host}:{self.port}"
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(Utf8Protocol, self.host, self.port), self._connect_timeout
            )
        except TimeoutError:
            raise AmiUnavailable(
                f"AMI at {where} did not accept a connection within {self._connect_timeout:g} s"
            ) from None
        except OSError as exc:
            raise AmiUnavailable(
                f"cannot connect to AMI at {where}: {exc.strerror or exc}"
            ) from None
        made: asyncio.Future[tuple[Any, Any]] = loop.create_future()
        made.set_result((transport, protocol))
        manager.connection_made(made)  # panoramisk wires protocol <-> manager
        session = _Session(protocol)
        self._session = session
        try:
            await self._login(session)
        except BaseException:
            self._drop(session, "login failed")
            raise
        session.ready = True
        self.sessions_opened += 1
        self._ready_event().set()
        log.info("ami_connected", host=self.host, port=self.port, ami_version=self.banner_version)
        self._notify_connection(True)

    async def _login(self, session: _Session) -> None:
        headers = {"Username": self.username, "Secret": self._secret, "Events": self._events}
        try:
            await self._send(session, "Login", headers, timeout=self._login_timeout)
        except AmiActionError as exc:
            raise AmiAuthError(
                f"AMI login as '{self.username}' at {self.host}:{self.port} refused "
                f"({exc.message}): check the AMI username and secret, and the user's "
                f"permit= lines in manager.conf"
            ) from None
        except AmiTimeout:
            raise AmiTimeout(
                f"AMI at {self.host}:{self.port} did not answer the login within "
                f"{self._login_timeout:g} s"
            ) from None

    async def _supervise(self) -> None:
        """Keep a session alive: keepalive while up, backoff + reconnect while down."""
        attempt = 0
        while not self._closing:
            session = self._session
            if session is not None and session.ready and not session.closed:
                await self._keepalive(session)
                attempt = 0
                continue
            delay = self._backoff.delay(attempt)
            attempt += 1
            log.info("ami_reconnect_scheduled", delay=round(delay, 3), attempt=attempt)
            await asyncio.sleep(delay)
            try:
                await self._open_session()
            except AmiAuthError as exc:
                log.error("ami_login_refused", error=str(exc), attempt=attempt)  # noqa: TRY400
            except AmiError as exc:
                log.warning("ami_reconnect_failed", error=str(exc), attempt=attempt)
            except Exception:  # the supervisor must outlive any bug
                log.exception("ami_reconnect_crashed", attempt=attempt)

    async def _keepalive(self, session: _Session) -> None:
        """Ping every ``ping_interval``; no Pong within ``ping_timeout`` drops the session."""
        while not session.closed:
            try:
                await asyncio.wait_for(session.lost.wait(), self._ping_interval)
            except TimeoutError:
                pass
            else:
                return
            try:
                await self._send(session, "Ping", {}, timeout=self._ping_timeout)
            except AmiTimeout:
                log.warning("ami_keepalive_timeout", timeout=self._ping_timeout)
                self._drop(session, "keepalive timeout")
                return
            except AmiError:
                return

    def _on_protocol_lost(self, protocol: Any, exc: object) -> None:
        session = self._session
        if session is not None and session.protocol is protocol:
            self._drop(session, "connection lost", exc)

    def _drop(self, session: _Session, reason: str, exc: object = None) -> None:
        """Close a session; fail what was waiting on it; never re-send anything."""
        if session.closed:
            return
        was_ready = session.ready
        session.closed = True
        protocol = session.protocol
        if not getattr(protocol, "closed", True):
            protocol.close()  # panoramisk queues pending actions for re-sending here...
        transport = getattr(protocol, "transport", None)
        if transport is not None:
            transport.abort()
        if self._manager is not None:
            self._manager.awaiting_actions.clear()  # ...and here they are forgotten
        for action in list(session.inflight.values()):
            if not action.future.done():
                name = header_value(action, "Action")
                if action.responses:
                    text = (
                        f"AMI connection lost after {name} was accepted; its outcome is "
                        "unknown and it is not sent again"
                    )
                else:
                    text = f"AMI connection lost before {name} was answered; it is not sent again"
                action.future.set_exception(AmiUnavailable(text))
        session.inflight.clear()
        session.lost.set()
        if self._session is session:
            self._session = None
            self._ready_event().clear()
        if was_ready:
            if self._closing:
                log.info("ami_closed", host=self.host, port=self.port)
            else:
                log.warning("ami_disconnected", reason=reason, error=str(exc) if exc else None)
            self._notify_connection(False)

    def _notify_connection(self, up: bool) -> None:
        for callback in list(self._connection_callbacks):
            try:
                callback(up)
            except Exception:  # a listener's bug must not break the connection
                log.exception("ami_connection_callback_failed")

    # -- events --------------------------------------------------------------

    def on_event(self, names: str | Iterable[str], callback: EventCallback) -> Callable[[], None]:
        """Call ``callback(message)`` for each event named in ``names`` (``"*"``: all).

        Names are case-insensitive.  A coroutine callback runs as a task.
        Returns a function that unsubscribes.
        """
        keys = [names.lower()] if isinstance(names, str) else [n.lower() for n in names]
        for key in keys:
            self._callbacks.setdefault(key, []).append(callback)

        def unsubscribe() -> None:
            for key in keys:
                callbacks = self._callbacks.get(key, [])
                if callback in callbacks:
                    callbacks.remove(callback)

        return unsubscribe

    def on_connection(self, callback: ConnectionCallback) -> None:
        """Call ``callback(True/False)`` whenever the session comes up or goes down."""
        self._connection_callbacks.append(callback)

    def _dispatch(self, _manager: object, message: AmiMessage) -> None:
        name = header_value(message, "Event").lower()
        callbacks = [*self._callbacks.get(name, ()), *self._callbacks.get("*", ())]
        for callback in callbacks:
            try:
                result = callback(message)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._callback_tasks.add(task)
                    task.add_done_callback(self._callback_done)
            except Exception:  # isolate callbacks from the protocol
                log.exception("ami_event_callback_failed", ami_event=name)

    def _callback_done(self, task: asyncio.Task[Any]) -> None:
        self._callback_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ami_event_callback_failed", error=repr(task.exception()))

    # -- actions -------------------------------------------------------------

    async def action(
        self,
        name: str,
        headers: Mapping[str, str | Sequence[str]] | None = None,
        *,
        timeout: float | None = None,
    ) -> AmiResponse:
        """Send one action and return its reply.

        Raises :class:`AmiUnavailable` when not connected (nothing is queued),
        :class:`AmiTimeout` after ``timeout`` (default ``action_timeout``), and
        :class:`AmiActionError` with Asterisk's ``Message:`` on ``Response: Error``.
        ``Originate`` is always sent with ``Async: true``.
        """
        session = self._session
        if session is None or not session.ready or session.closed:
            raise AmiUnavailable(f"AMI at {self.host}:{self.port} is not connected")
        return await self._send(session, name, headers or {}, timeout=timeout)

    async def _send(
        self,
        session: _Session,
        name: str,
        headers: Mapping[str, str | Sequence[str]],
        *,
        timeout: float | None,
    ) -> AmiResponse:
        if session.closed:
            raise AmiUnavailable(f"AMI at {self.host}:{self.port} is not connected")
        limit = self.action_timeout if timeout is None else timeout
        payload: dict[str, Any] = {"Action": name}
        for key, value in headers.items():
            payload[key] = value if isinstance(value, str) else list(value)
        if name.lower() == "originate":
            payload = {k: v for k, v in payload.items() if k.lower() != "async"}
            payload["Async"] = "true"
        klass = pk_actions.Command if name.lower() == "command" else pk_actions.Action
        action = klass(payload)
        session.inflight[id(action)] = action
        try:
            future = session.protocol.send(action, as_list=None)
            result = await asyncio.wait_for(future, limit)
        except TimeoutError:
            self._forget(session, action)
            raise AmiTimeout(f"AMI action {name} got no answer within {limit:g} s") from None
        finally:
            session.inflight.pop(id(action), None)
        if isinstance(result, list):
            first, rest = result[0], tuple(result[1:])
        else:
            first, rest = result, ()
        response = AmiResponse(name, first, rest)
        if not first.success:
            raise AmiActionError(name, _error_text(response))
        return response

    @staticmethod
    def _forget(session: _Session, action: Any) -> None:
        responses = getattr(session.protocol, "responses", {})
        responses.pop(action.id, None)
        if action.action_id:
            responses.pop(action.action_id, None)

    async def command(self, cli: str, *, timeout: float | None = None) -> list[str]:
        """Run a CLI command through the ``Command`` action; its ``Output:`` lines.

        Asterisk 14+ sends one ``Output:`` header per line and no
        ``--END COMMAND--`` (docs/asterisk/facts.md, fact 22).
        """
        response = await self.action("Command", {"Command": cli}, timeout=timeout)
        return response.get_all("Output")

    async def getvar(
        self, variable: str, *, channel: str | None = None, timeout: float | None = None
    ) -> str:
        """A channel variable, or a global one without ``channel``; unset is ``""``.

        Asterisk answers an unset variable with ``Value: `` (docs/asterisk/facts.md, fact 21).
        """
        headers = {"Variable": variable}
        if channel is not None:
            headers["Channel"] = channel
        response = await self.action("Getvar", headers, timeout=timeout)
        return response.get("Value")

    async def originate(
        self,
        *,
        channel: str,
        context: str | None = None,
        exten: str | None = None,
        priority: int | str = 1,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        ring_timeout: float = 30.0,
        timeout: float | None = None,
    ) -> OriginateResult:
        """Place a call (always ``Async: true``) and wait for its ``OriginateResponse``.

        Sent exactly once, even across reconnects.  Raises
        :class:`AmiActionError` when Asterisk refuses the action and
        :class:`AmiOriginateError` (with the Reason code) when the call is not
        answered.
        """
        headers: dict[str, str | Sequence[str]] = {
            "Channel": channel,
            "Timeout": str(int(ring_timeout * 1000)),
        }
        if application is not None:
            headers["Application"] = application
            if data is not None:
                headers["Data"] = data
        else:
            if context is not None:
                headers["Context"] = context
            if exten is not None:
                headers["Exten"] = exten
            headers["Priority"] = str(priority)
        if caller_id is not None:
            headers["CallerID"] = caller_id
        if variables:
            headers["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        limit = ring_timeout + (self.action_timeout if timeout is None else timeout)
        response = await self.action("Originate", headers, timeout=limit)
        result = next(
            (e for e in response.events if header_value(e, "Event").lower() == "originateresponse"),
            None,
        )
        if result is None:
            raise AmiActionError("Originate", "no OriginateResponse came back")
        reason_text = header_value(result, "Reason", "0")
        reason = int(reason_text) if reason_text.isdigit() else 0
        if header_value(result, "Response") != "Success":
            meaning = ORIGINATE_REASONS.get(reason, "failed")
            raise AmiOriginateError(
                reason, f"call to {channel} not placed: {meaning} (reason {reason})"
            )
        return OriginateResult(
            channel=header_value(result, "Channel"),
            uniqueid=header_value(result, "Uniqueid"),
            reason=reason,
            response=result,
        )


def _error_text(response: AmiResponse) -> str:
    """Asterisk's reason for an error reply; a failed Command's own output if any."""
    message = response.message or response.get("Response") or "error"
    output = [line for line in response.get_all("Output") if line.strip()]
    if output:
        return f"{message}: {' / '.join(output)}"
    return message
