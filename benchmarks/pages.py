"""Open live pages for the benchmark: N server-sent-event streams of /api/live, in their own
process (a browser's work is not the runtime's), counting the snapshots each receives.

    python -m benchmarks.pages http://127.0.0.1:9464/ 5

Prints ``ready`` once every stream has its first snapshot, and on SIGTERM one JSON
line: messages and bytes received per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys

import aiohttp


async def _read(
    session: aiohttp.ClientSession, url: str, ready: asyncio.Event, counts: list[int], index: int
) -> None:
    async with session.get(url + "api/live") as response:
        async for line in response.content:
            if line.startswith(b"data:"):
                counts[index] += 1
                counts[-1] += len(line)
                ready.set()


async def main(url: str, pages: int) -> None:
    counts = [0] * (pages + 1)  # per page, then bytes
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with aiohttp.ClientSession() as session:
        readies = [asyncio.Event() for _ in range(pages)]
        tasks = [
            asyncio.create_task(_read(session, url, readies[i], counts, i)) for i in range(pages)
        ]
        await asyncio.gather(*(r.wait() for r in readies))
        print("ready", flush=True)
        await stop.wait()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await task
    print(json.dumps({"messages": counts[:-1], "bytes": counts[-1]}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
