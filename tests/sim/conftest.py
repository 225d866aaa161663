"""Runtime-side stand-ins for simulator tests, served by the real FastAgiServer.

``hunt`` dials the agent numbers passed as ``agi_arg_N`` one after the other
(stopping once connected or hung up) and keeps what it read back after each
Dial; ``confirm`` asks the agent to press 1 the way docs/architecture.md describes.
Neither is the hotline call flow: they only drive the simulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from hotline.agi.errors import AgiHangup
from hotline.agi.server import FastAgiServer
from hotline.agi.session import AgiSession

READ_BACK = ("DIALSTATUS", "GOSUB_RETVAL", "DIALEDTIME", "ANSWEREDTIME", "HANGUPCAUSE")


@dataclass
class DialResult:
    result: int
    variables: dict[str, str | None]
    #: virtual seconds the Dial took (the simulator's clock for this call)
    seconds: float


@dataclass
class Runtime:
    """What the stand-in runtime saw, per caller uniqueid."""

    server: FastAgiServer
    dials: dict[str, list[DialResult]] = field(default_factory=dict)
    confirms: list[AgiSession] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)
    clock: Callable[[str], Callable[[], float]] | None = None

    @property
    def port(self) -> int:
        return self.server.port


Handler = Callable[[AgiSession], Awaitable[None]]


def make_hunt(runtime: Runtime) -> Handler:
    async def hunt(session: AgiSession) -> None:
        uid = session.request.uniqueid
        await session.answer()
        for agent in session.request.args:
            clock = runtime.clock(uid) if runtime.clock else (lambda: 0.0)
            before = clock()
            result = await session.exec_app(
                "Dial",
                f"Local/{agent}@sim-agents",
                "15",
                f"m(default)U(hotline-confirm^{uid}^{agent}^sales)",
            )
            values = {name: await session.get_variable(name) for name in READ_BACK}
            runtime.dials.setdefault(uid, []).append(DialResult(result, values, clock() - before))
            if session.hung_up or (values["GOSUB_RETVAL"] == "ACCEPTED" and result == -1):
                break
        if not session.hung_up:
            await session.hangup()

    return hunt


def make_confirm(runtime: Runtime, *, check_caller: bool = True) -> Handler:
    async def confirm(session: AgiSession) -> None:
        runtime.confirms.append(session)
        caller = session.request.args[0]
        verdict = "TIMEOUT"
        try:
            for _ in range(2):
                await session.stream_file("hotline-call-press-1", "")
                digit = await session.wait_for_digit(3000)
                if digit is not None:
                    verdict = "ACCEPTED" if digit == "1" else "DECLINED"
                    break
            if verdict == "ACCEPTED" and check_caller:
                # the caller's channel exists until Dial returns; checkhangup tells
                # (tests/sim/recordings/20_*_confirm_*.raw)
                hanging_up = await session.get_full_variable("${CHANNEL(checkhangup)}", caller)
                if hanging_up != "0":
                    await session.stream_file("caller-gone", "")
                    verdict = "CALLER_GONE"
        except AgiHangup:
            verdict = "AGENT_HANGUP"
        runtime.verdicts[session.request.uniqueid] = verdict
        await session.set_variable("HOTLINE_CONFIRM", verdict)
        if verdict != "ACCEPTED":
            await session.set_variable("GOSUB_RESULT", "CONTINUE")

    return confirm


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    """A FastAGI server with the hunt and confirm stand-ins on port 0."""
    holder: list[Runtime] = []

    async def hunt(session: AgiSession) -> None:
        await make_hunt(holder[0])(session)

    async def confirm(session: AgiSession) -> None:
        await make_confirm(holder[0])(session)

    server = FastAgiServer({"hotline/sales": hunt, "confirm": confirm}, port=0)
    async with server:
        holder.append(Runtime(server))
        yield holder[0]
