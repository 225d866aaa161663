"""``python -m tests.shared_state.runtime_proc CONFIG.json LOG``: one runtime in its own process.

For the test that kills a runtime with SIGKILL: the real :class:`~hotline.runtime.Runtime`
on the given config (JSON), JSON log lines written one by one to ``LOG`` (so
whatever it logged before it died is there), ``{"port": N}`` on stdout once it
serves.  It runs until it is killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from hotline.config import settings_from_mapping
from hotline.logs import configure_logging
from hotline.runtime import Runtime


async def serve(config: dict[str, Any], log: TextIO) -> None:
    configure_logging(level="INFO", fmt="json", stream=log)
    runtime = Runtime(settings_from_mapping(config), host="127.0.0.1", port=0)
    await runtime.start()
    sys.stdout.write(json.dumps({"port": runtime.port}) + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    with Path(sys.argv[2]).open("a", encoding="utf-8", buffering=1) as stream:
        asyncio.run(serve(json.loads(Path(sys.argv[1]).read_text()), stream))
