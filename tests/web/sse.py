"""A small server-sent-events reader over aiohttp's client (what EventSource does)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp


async def snapshots(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """Each ``data:`` message of the stream, parsed."""
    data: list[str] = []
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif not line and data:
            yield json.loads("\n".join(data))
            data = []
