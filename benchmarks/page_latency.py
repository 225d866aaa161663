"""How soon the live page shows a change: call event in the runtime -> visible in Chromium.

The runtime serves the live page on loopback; the PBX simulator places calls,
each held in real time while it rings and while it is connected
(:class:`hotline.sim.hold.Hold`).  For each call the time from the runtime's
own event (``TargetDialing``, ``CallConnected``: a call observer notes the
loop time) to the moment headless Chromium (Debian's, as in tests/web) shows
it is measured; the page is watched on every animation frame, so the numbers
include up to one frame (~16 ms) of polling.

    .venv/bin/python -m benchmarks.page_latency --calls 20 [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from hotline.config import settings_from_mapping
from hotline.contract import CONFIRM_ARGS
from hotline.flow.observers import CallConnected, CallEvent, TargetDialing
from hotline.logs import configure_logging
from hotline.runtime import Runtime
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.hold import Hold
from hotline.sim.pbx import SimulatedPbx

CONFIG: dict[str, Any] = {
    "asterisk": {"enabled": False},
    "http": {"page": True, "port": 0},
    "hotlines": [
        {
            "name": "support",
            "dial": "Local/{number}@sim-agents",
            "targets": [{"number": "201", "label": "Anna"}],
        }
    ],
}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AGENT_STATE = "document.querySelector('#agents tr[data-agent=\"201\"]')?.dataset.state === '{}'"


class Times:
    """Loop time of each call's first ringing and its connection."""

    def __init__(self) -> None:
        self.ringing: dict[str, float] = {}
        self.connected: dict[str, float] = {}

    def on_call_event(self, event: CallEvent) -> None:
        now = asyncio.get_running_loop().time()
        if isinstance(event, TargetDialing):
            self.ringing.setdefault(event.call_id, now)
        elif isinstance(event, CallConnected):
            self.connected[event.call_id] = now


def _summary(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[max(0, int(len(ms) * 0.9) - 1)], 1),
        "max_ms": round(ms[-1], 1),
    }


async def measure(calls: int, chromium: str) -> dict[str, Any]:
    configure_logging(level="WARNING", fmt="console", stream=sys.stderr)
    holder: dict[str, SimulatedPbx] = {}
    runtime = Runtime(
        settings_from_mapping(CONFIG),
        host="127.0.0.1",
        port=0,
        clock_factory=lambda call_id: holder["pbx"].clock_for(call_id),
    )
    times = Times()
    runtime.deps.observers.add(times)
    ringing: list[float] = []
    connected: list[float] = []
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as tmp:
        async with runtime, async_playwright() as playwright:
            assert runtime.web is not None
            pbx = holder["pbx"] = SimulatedPbx(
                "127.0.0.1",
                runtime.port,
                parse_agents("201=accept"),
                confirm_args=len(CONFIRM_ARGS),
            )
            context = await playwright.chromium.launch_persistent_context(
                str(Path(tmp) / "profile"),
                executable_path=chromium,
                args=CHROMIUM_ARGS,
                bypass_csp=True,  # the watcher below is a string the page's CSP would refuse
            )
            page = await context.new_page()
            await page.goto(runtime.web.url)
            await page.locator('#connection[data-state="live"]').wait_for()
            for _ in range(calls):
                hold = Hold()
                pbx.event_sink = hold.sink
                call = asyncio.create_task(pbx.place_call(CallerScript(hotline="support")))
                await hold.reached["ringing"].wait()
                await page.wait_for_function(AGENT_STATE.format("ringing"), polling="raf")
                seen = loop.time()
                (call_id,) = set(times.ringing) - set(times.connected)
                ringing.append(seen - times.ringing[call_id])
                hold.release("ringing")
                await hold.reached["connected"].wait()
                await page.wait_for_function(AGENT_STATE.format("on_call"), polling="raf")
                connected.append(loop.time() - times.connected[call_id])
                hold.release()
                await call
                await page.wait_for_function(
                    "!document.querySelector('tr[data-call]')", polling="raf"
                )
            await context.close()
    return {
        "calls": calls,
        "ringing_visible": _summary(ringing),
        "connected_visible": _summary(connected),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(measure(args.calls, args.chromium))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
