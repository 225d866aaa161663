"""The AGI routes the runtime serves: ``hotline/<name>`` per hotline, and ``confirm``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from hotline.agi.session import AgiSession
from hotline.config import HotlineConfig, Settings
from hotline.contract import CONFIRM_ROUTE, hotline_route
from hotline.flow.caller import FlowDeps, serve_caller
from hotline.flow.confirm import serve_confirm
from hotline.logs import get_logger

log = get_logger()

Handler = Callable[[AgiSession], Awaitable[None]]


def build_routes(settings: Settings, deps: FlowDeps) -> dict[str, Handler]:
    """One handler per hotline plus the confirm handler, bound explicitly (no registration)."""
    by_name: Mapping[str, HotlineConfig] = {h.name: h for h in settings.hotlines}

    def caller_handler(hotline: HotlineConfig) -> Handler:
        async def handle(session: AgiSession) -> None:
            if not deps.call_gate():
                # Not answered: the socket closes and the dialplan's own fallback runs.
                log.warning("call_refused", hotline=hotline.name, reason="license")
                return
            await serve_caller(session, hotline, deps)

        return handle

    async def confirm_handler(session: AgiSession) -> None:
        await serve_confirm(session, by_name.get, deps)

    routes: dict[str, Handler] = {
        hotline_route(h.name): caller_handler(h) for h in settings.hotlines
    }
    routes[CONFIRM_ROUTE] = confirm_handler
    return routes
