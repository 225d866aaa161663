"""The live page in a real headless Firefox (tests/web/firefox.py) while the simulator runs calls:
the same behaviour tests/web/test_page.py and test_charts.py prove in Chromium (ringing then
connected within 1 s, the charts' numbers, German on a phone, reconnecting after a restart).

Times are measured from the runtime's own call event (an observer notes it) to the moment the
page shows it; the waits allow what is left of one second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.schedule.engine import machine_zone
from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from tests.simrun import sim_runtime
from tests.web.firefox import FirefoxPage, firefox
from tests.web.seed import EARLIER, TODAY, seed_journal, yesterdays_noon
from tests.web.stack import EventTimes, Gate, web_settings

#: a page's first snapshot may wait for Firefox's own start-up work on a loaded machine
OPEN_SECONDS = 10.0


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[FirefoxPage]:
    """A fresh Firefox profile asking for English."""
    async with firefox(tmp_path / "firefox-profile") as tab:
        yield tab


async def open_live(page: FirefoxPage, url: str) -> None:
    await page.goto(url)
    await page.wait_for("#connection", attribute="data-state", equals="live", within=OPEN_SECONDS)


async def bar_values(page: FirefoxPage, chart: str) -> list[int]:
    values = await page.evaluate(
        "Array.from(document.querySelectorAll(arguments[0]), b => Number(b.dataset.value))",
        chart + " rect.bar",
    )
    return [int(v) for v in values]


async def test_firefox_shows_the_ringing_call_and_agent_then_connected(page: FirefoxPage) -> None:
    settings = web_settings()
    times = EventTimes()
    gate = Gate()
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, pbx):
        assert runtime.web is not None
        runtime.deps.observers.add(times)
        pbx.event_sink = gate.sink
        await open_live(page, runtime.web.url)
        assert await page.evaluate("document.documentElement.lang") == "en"
        support = '[data-hotline="support"]'
        await page.wait_for(support, contains="No calls in progress")
        anna = '#agents tr[data-agent="201"]'
        call = asyncio.create_task(pbx.place_call(CallerScript(hotline="support")))
        try:
            await gate.ringing.wait()
            await page.wait_for(
                f"{support} tr[data-call] .step",
                contains="ringing Anna (201) for",
                within=times.left("TargetDialing"),
            )
            await page.wait_for(
                anna, attribute="data-state", equals="ringing", within=times.left("TargetDialing")
            )
            await page.wait_for(anna, contains="ringing", within=0)
            gate.release("ringing")
            await gate.connected.wait()
            await page.wait_for(
                f"{support} tr[data-call]",
                attribute="data-step",
                equals="connected",
                within=times.left("CallConnected"),
            )
            await page.wait_for(
                f"{support} tr[data-call] .step", contains="connected to Anna (201) for", within=0
            )
            await page.wait_for(
                anna, attribute="data-state", equals="on_call", within=times.left("CallConnected")
            )
            await page.wait_for(anna, contains="on a hotline call", within=0)
            gate.release("connected")
            await call
            await page.wait_for(support, contains="No calls in progress", within=1.0)
        finally:
            gate.release_all()
            await call


async def test_firefox_renders_the_charts_with_the_seeded_numbers(
    page: FirefoxPage, tmp_path: Path
) -> None:
    path = tmp_path / "journal.sqlite"
    zone = machine_zone()
    now = yesterdays_noon(zone)
    arrivals = await seed_journal(path, TODAY + EARLIER, now)
    settings = web_settings(journal={"enabled": True, "path": str(path)})
    # the page's today and week are on the runtime's clock, pinned to the seeding's now
    async with sim_runtime(settings, parse_agents("201=accept"), now=lambda: now) as (runtime, _):
        assert runtime.web is not None
        await open_live(page, runtime.web.url)
        stats = '#stats .hotline-stats[data-hotline="support"]'
        tile = stats + ' [data-testid="{}"] b'
        await page.wait_for(tile.format("calls"), equals="5", within=OPEN_SECONDS)
        await page.wait_for(tile.format("answered-rate"), equals="60 %", within=0)
        await page.wait_for(tile.format("abandoned"), equals="1", within=0)
        await page.wait_for(tile.format("nobody-available"), equals="1", within=0)
        await page.wait_for(tile.format("wait-p50"), equals="15 s", within=0)
        # waits 5, 15, 45 s: one bar each under 10 s, 10-20 s and 30-60 s
        wait_chart = stats + ' [data-testid="wait-chart"] svg'
        assert await bar_values(page, wait_chart) == [1, 1, 0, 1, 0, 0]
        hours = Counter(dt.datetime.fromtimestamp(a, zone).hour for a in arrivals[: len(TODAY)])
        hour_chart = stats + ' [data-testid="hour-chart"] svg'
        assert await bar_values(page, hour_chart) == [hours[h] for h in range(24)]
        width, height = await page.evaluate(
            "(r => [r.width, r.height])(document.querySelector(arguments[0])"
            ".getBoundingClientRect())",
            wait_chart,
        )
        assert width > 100
        assert height > 40
        # offered 4 (3 accepted, 1 no answer): columns offered, accepted, ..., acceptance
        cells = await page.evaluate(
            "Array.from(document.querySelectorAll(arguments[0]), td => td.textContent)",
            '[data-testid="agent-stats"] tr[data-agent="201"] td',
        )
        assert cells == ["Anna (201)", "support", "4", "3", "0", "0", "1", "0", "0", "75 %"]

        await page.click('[data-period="week"]')
        await page.wait_for(tile.format("calls"), equals="7")
        await page.wait_for(tile.format("answered-rate"), equals="71 %", within=0)
        assert await bar_values(page, wait_chart) == [1, 1, 1, 1, 0, 1]


async def test_firefox_in_german_on_a_phone(tmp_path: Path) -> None:
    """A browser asking for German (no ``?lang``) gets the page in German; 390 px wide it
    needs no sideways scrolling."""
    settings = web_settings()
    times = EventTimes()
    gate = Gate()
    async with (
        sim_runtime(settings, parse_agents("301=accept")) as (runtime, pbx),
        firefox(tmp_path / "firefox-de", language="de-DE,de") as page,
    ):
        assert runtime.web is not None
        runtime.deps.observers.add(times)
        await page.goto("about:blank")
        await page.open_window(runtime.web.url, 390, 844)
        await page.wait_for(
            "#connection", attribute="data-state", equals="live", within=OPEN_SECONDS
        )
        assert await page.evaluate("innerWidth") == 390
        assert await page.evaluate("document.documentElement.lang") == "de"
        pbx.event_sink = gate.sink
        call = asyncio.create_task(pbx.place_call(CallerScript(hotline="vertrieb", language="de")))
        try:
            await gate.ringing.wait()
            await page.wait_for(
                '[data-hotline="vertrieb"] .step',
                contains="klingelt bei Jörg (301) seit",
                within=times.left("TargetDialing"),
            )
            await page.wait_for('#agents tr[data-agent="301"]', contains="klingelt", within=0)
            await page.wait_for('[data-hotline="vertrieb"] h2', contains="vertrieb", within=0)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"the page is {overflow} px wider than a phone's screen"
        finally:
            gate.release_all()
            await call


async def test_firefox_reconnects_by_itself_after_a_runtime_restart(page: FirefoxPage) -> None:
    """The stream comes back in Firefox too: its EventSource's own retry, or the page's
    (hotline/web/static/app.js) when the browser gives up."""
    gate = Gate()
    async with sim_runtime(web_settings(), parse_agents("201=accept")) as (runtime, _pbx):
        assert runtime.web is not None
        port = runtime.web.port
        await open_live(page, runtime.web.url)
    await page.wait_for("#connection", attribute="data-state", equals="reconnecting")
    again = web_settings(http={"port": port})
    times = EventTimes()
    async with sim_runtime(again, parse_agents("201=accept")) as (runtime, pbx):
        runtime.deps.observers.add(times)
        pbx.event_sink = gate.sink
        await page.wait_for("#connection", attribute="data-state", equals="live", within=10.0)
        call = asyncio.create_task(pbx.place_call(CallerScript(hotline="support")))
        try:
            await gate.ringing.wait()
            await page.wait_for(
                '#agents tr[data-agent="201"]',
                attribute="data-state",
                equals="ringing",
                within=times.left("TargetDialing"),
            )
        finally:
            gate.release_all()
            await call
