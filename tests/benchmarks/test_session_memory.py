"""A finding of the benchmarks, kept fixed: a closed AGI session is freed at once.

Before, the closed session's reader task kept its ``CancelledError``, whose
traceback held the session: each connection's objects waited for a full
garbage collection (more memory per call, longer collector pauses under
1,000 calls).  Now reference counting frees them when the call ends.
"""

from __future__ import annotations

import asyncio
import gc
import weakref

from hotline.agi.session import AgiSession
from hotline.agi.stream import AgiStream
from hotline.agi.testing import FakeAsterisk, start_stream_server


async def test_closed_session_is_freed_without_the_cycle_collector() -> None:
    accepted: list[AgiSession] = []
    ready = asyncio.Event()

    async def accept(stream: AgiStream) -> None:
        accepted.append(await AgiSession.open(stream))
        ready.set()

    listener = await start_stream_server(accept)
    pbx = FakeAsterisk(listener.sockets[0].getsockname()[1])
    try:
        await pbx.connect()
        await pbx.send_header()
        await asyncio.wait_for(ready.wait(), 5)
        session = accepted.pop()
        answered = asyncio.create_task(session.answer())
        await pbx.expect("ANSWER", "200 result=0")
        await answered
        gc.disable()
        try:
            await session.close()
            alive = weakref.ref(session)
            del session, answered
            freed_by_refcount = alive() is None
        finally:
            gc.enable()
        assert freed_by_refcount
    finally:
        await pbx.close()
        listener.close()
        await listener.wait_closed()
