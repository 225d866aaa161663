"""``python -m benchmarks.deadline_cost``: what a command's deadline costs (issue 12, item 1).

Every AGI command runs under a deadline.  :class:`AgiSession` keeps one
lazily re-armed timer per session instead of an ``asyncio.timeout`` (a timer
handle pushed on and cancelled from the loop's heap) per command.  Measured
two ways, best of ``--repeat`` rounds each, rounds with and without
alternating (a shared machine is noisy; the minimum is the cost):

* ``timeout_block`` (reference: the mechanism not taken): a bare
  ``async with asyncio.timeout(...)`` around an await that completes at once,
  no deadline vs. a 30 s deadline;
* ``command``: :meth:`AgiSession.command` over a loopback socket against an
  in-process responder that answers at once, ``timeout=None`` vs. a 30 s
  deadline (the whole round trip; the difference is the deadline's share).

Prints one JSON object (microseconds per command).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence

from hotline.agi.session import AgiSession
from hotline.agi.stream import AgiStream
from hotline.agi.testing import build_header, start_stream_server
from hotline.logs import configure_logging, reset_logging

Round = Callable[[int], Awaitable[float]]


async def _timeout_block(limit: float | None, count: int) -> float:
    loop = asyncio.get_running_loop()
    began = time.perf_counter()
    for _ in range(count):
        done = loop.create_future()
        loop.call_soon(done.set_result, None)
        async with asyncio.timeout(limit):
            await done
    return time.perf_counter() - began


async def _responder(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(build_header("bench"))
    while await reader.readline():
        writer.write(b"200 result=0 endpos=1600\n")
    writer.close()


async def _commands(limit: float | None, count: int) -> float:
    opened: asyncio.Future[AgiStream] = asyncio.get_running_loop().create_future()

    async def accept(stream: AgiStream) -> None:
        opened.set_result(stream)  # the session owns (and closes) it

    server = await start_stream_server(accept)
    port = server.sockets[0].getsockname()[1]
    peer = asyncio.create_task(_responder(*await asyncio.open_connection("127.0.0.1", port)))
    session = await AgiSession.open(await opened)
    try:
        began = time.perf_counter()
        for _ in range(count):
            await session.stream_file("prompt", timeout=limit)
        return time.perf_counter() - began
    finally:
        await session.close()
        peer.cancel()
        server.close()


async def measure(count: int, repeat: int) -> dict[str, dict[str, float]]:
    """Rounds without and with a deadline interleaved (order alternating), best of each."""
    result: dict[str, dict[str, float]] = {}
    for name, body in (("timeout_block", _timeout_block), ("command", _commands)):
        rounds: dict[str, list[float]] = {"without": [], "with_30s": []}
        for index in range(repeat):
            order = (("without", None), ("with_30s", 30.0))
            for label, limit in order if index % 2 == 0 else reversed(order):
                rounds[label].append(await body(limit, count))
        best = {label: min(times) / count * 1e6 for label, times in rounds.items()}
        best["deadline_us"] = best["with_30s"] - best["without"]
        result[name] = {k: round(v, 3) for k, v in best.items()}
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.deadline_cost")
    parser.add_argument("--count", type=int, default=20_000, help="commands per round")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        # production logging (INFO, JSON): the per-command DEBUG trace is filtered out
        configure_logging(level="INFO", fmt="json", stream=devnull)
        result = asyncio.run(measure(args.count, args.repeat))
        reset_logging()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
