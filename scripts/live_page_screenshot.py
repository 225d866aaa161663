"""Screenshot of the live page during a demo run (docs/live-page.png in the README).

Serves the example config (config/hotline.toml) like ``hotline demo`` does:
the PBX simulator calls the runtime over loopback, no Asterisk, no license.
First the demo's scripted calls run (one per outcome), filling a throw-away
journal; then two calls are held in real time, one connected and one ringing
an agent, while headless Chromium (Debian's, as in tests/web) takes the picture.

    .venv/bin/python scripts/live_page_screenshot.py docs/live-page.png [--lang de]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

from hotline.config import load_settings
from hotline.contract import CONFIRM_ARGS
from hotline.demo import default_calls
from hotline.logs import configure_logging
from hotline.runtime import Runtime
from hotline.sim.agents import parse_behaviour
from hotline.sim.hold import Hold
from hotline.sim.pbx import SimulatedPbx

ROOT = Path(__file__).resolve().parent.parent
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


async def shoot(out: Path, lang: str, chromium: str) -> None:
    configure_logging(level="WARNING", fmt="console", stream=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(ROOT / "config" / "hotline.toml", environ={})
        settings = settings.model_copy(
            update={
                "journal": settings.journal.model_copy(
                    update={"enabled": True, "path": Path(tmp) / "journal.sqlite"}
                ),
                "http": settings.http.model_copy(update={"page": True, "port": 0}),
            }
        )
        calls = default_calls(settings)
        wall = {"now": dt.datetime.now(dt.UTC)}
        pbx: SimulatedPbx | None = None
        runtime = Runtime(
            settings,
            host="127.0.0.1",
            port=0,
            clock_factory=lambda call_id: pbx.clock_for(call_id) if pbx else (lambda: 0.0),
            now=lambda: wall["now"],
        )
        hold = Hold(at=())
        async with runtime:
            assert runtime.web is not None
            pbx = SimulatedPbx("127.0.0.1", runtime.port, confirm_args=len(CONFIRM_ARGS))
            for call in calls:
                pbx.agents = dict(call.agents)
                wall["now"] = call.at or dt.datetime.now(dt.UTC)
                await pbx.place_call(call.script)
            # the numbers above count "today" only when they arrived today: the demo's calls
            # arrive at the example hotlines' next opening, so show the last 7 days too
            first = calls[0]
            wall["now"] = first.at or dt.datetime.now(dt.UTC)
            pbx.event_sink = hold.sink
            numbers = list(first.agents)
            pbx.agents = {n: parse_behaviour("accept") for n in numbers}
            hold.rearm("connected")
            connected = asyncio.create_task(pbx.place_call(first.script))
            await hold.reached["connected"].wait()
            pbx.agents = {n: parse_behaviour("no-answer") for n in numbers}
            hold.rearm("ringing")
            ringing = asyncio.create_task(pbx.place_call(first.script))
            await hold.reached["ringing"].wait()
            try:
                async with async_playwright() as playwright:
                    context = await playwright.chromium.launch_persistent_context(
                        str(Path(tmp) / "chromium-profile"),
                        executable_path=chromium,
                        args=CHROMIUM_ARGS,
                        headless=True,
                        locale="de-DE" if lang == "de" else "en-GB",
                        viewport={"width": 1280, "height": 900},
                    )
                    page = await context.new_page()
                    await page.goto(f"{runtime.web.url}?lang={lang}")
                    await page.locator('#connection[data-state="live"]').wait_for()
                    await page.locator("tr[data-call]").nth(1).wait_for()
                    await page.locator('[data-period="week"]').click()
                    await page.locator('[data-testid="wait-chart"] svg').first.wait_for()
                    await asyncio.sleep(3)  # let the seconds count up a little, as people see it
                    await page.screenshot(path=str(out), full_page=True)
                    await context.close()
            finally:
                hold.release()
                await asyncio.gather(connected, ringing)
    print(f"wrote {out}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", choices=("en", "de"), default="en")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    asyncio.run(shoot(args.out, args.lang, args.chromium))
    return 0


if __name__ == "__main__":
    sys.exit(main())
