"""The AGI routes the runtime serves: ``hotline/<name>`` per hotline, and ``confirm``."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

from hotline.agi.server import Handler
from hotline.agi.session import AgiSession
from hotline.config import HotlineConfig, Settings
from hotline.contract import CONFIRM_ROUTE, hotline_route
from hotline.flow.caller import FlowDeps, serve_caller
from hotline.flow.confirm import UNIQUEID, serve_confirm
from hotline.flow.observers import unanswered
from hotline.logs import get_logger

log = get_logger()


def build_routes(settings: Settings, deps: FlowDeps) -> dict[str, Handler]:
    """One handler per hotline plus the confirm handler, bound explicitly (no registration)."""
    by_name: Mapping[str, HotlineConfig] = {h.name: h for h in settings.hotlines}

    def caller_handler(hotline: HotlineConfig) -> Handler:
        def handle(session: AgiSession) -> Awaitable[object] | None:
            # Not a coroutine: the server awaits the flow's own, one level fewer for each
            # of the leg's commands to resume through (issue 19); None: not answered.
            if not deps.call_gate():
                # Not answered: the socket closes and the dialplan's own fallback runs.
                log.warning("call_refused", hotline=hotline.name, reason="license")
                request = session.request
                for event in unanswered(
                    request.uniqueid, hotline.name, request.callerid, request.channel, "refused"
                ):
                    deps.observers.emit(event)
                return None
            if not UNIQUEID.fullmatch(session.request.uniqueid):
                # it goes into Dial's arguments: "1.0,60,G(x)" would add options (issue 12)
                log.error("call_refused", hotline=hotline.name, reason="agi_uniqueid malformed")
                return None
            return serve_caller(session, hotline, deps)

        return handle

    def confirm_handler(session: AgiSession) -> Awaitable[str]:
        # A call that started before a reload is confirmed with the config it started with.
        # Not a coroutine: the server awaits the flow's own, one frame fewer for each of
        # the leg's commands to resume through (issue 19).
        args = session.request.args
        started = deps.state.calls.get(args[0]) if args else None
        if started is None:
            return serve_confirm(session, by_name.get, deps)
        hotline, call_deps = started
        return serve_confirm(session, {hotline.name: hotline}.get, call_deps)

    routes: dict[str, Handler] = {
        hotline_route(h.name): caller_handler(h) for h in settings.hotlines
    }
    routes[CONFIRM_ROUTE] = confirm_handler
    return routes
