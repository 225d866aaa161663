"""``python -m benchmarks.state_server CONFIG.json``: a runtime for :mod:`benchmarks.shared_state`.

The real :class:`~hotline.runtime.Runtime` on the benchmark's config (logging
at WARNING, so the figures are the runtime's and Redis's, not the log's), in
its own process.  It prints ``{"port": N}`` once it serves, then answers each
``stats`` line on stdin with one JSON line: its CPU seconds so far, and the
Redis round trips and rounds of its link (0 without ``[state]``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from hotline.config import settings_from_mapping
from hotline.logs import configure_logging
from hotline.runtime import Runtime


def _reply(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def serve(config: dict[str, Any]) -> None:
    configure_logging(level="WARNING", fmt="json", stream=sys.stderr)
    runtime = Runtime(settings_from_mapping(config), host="127.0.0.1", port=0)
    await runtime.start()
    _reply({"port": runtime.port})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while (await reader.readline()).decode().strip() not in ("", "quit"):
            link = runtime.shared.link if runtime.shared is not None else None
            _reply(
                {
                    "cpu_s": time.process_time(),
                    "round_trips": link.round_trips if link else 0,
                    "rounds": link.rounds if link else 0,
                    "redis_up": link.up if link else None,
                }
            )
    finally:
        await runtime.stop()


if __name__ == "__main__":
    asyncio.run(serve(json.loads(Path(sys.argv[1]).read_text())))
