"""The live page in a real headless Chromium while the simulator runs calls.

Times are measured from the runtime's own call event (an observer notes it)
to the moment the page shows it; the assertions allow one second.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import BrowserContext, Page, expect

from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from tests.simrun import sim_runtime
from tests.web.conftest import chromium
from tests.web.stack import EventTimes, Gate, web_settings


def seconds_left(times: EventTimes, event: str, budget: float = 1.0) -> float:
    """Milliseconds of the one-second budget not yet used since ``event`` happened."""
    return times.left(event, budget) * 1000


async def open_live(browser: BrowserContext, url: str) -> Page:
    page = await browser.new_page()
    await page.goto(url)
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return page


async def test_page_shows_the_ringing_call_and_agent_then_connected(
    browser: BrowserContext,
) -> None:
    settings = web_settings()
    times = EventTimes()
    gate = Gate()
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, pbx):
        assert runtime.web is not None
        runtime.deps.observers.add(times)
        pbx.event_sink = gate.sink
        page = await open_live(browser, runtime.web.url)
        support = page.locator('[data-hotline="support"]')
        await expect(support).to_contain_text("No calls in progress")
        call = asyncio.create_task(pbx.place_call(CallerScript(hotline="support")))
        try:
            await gate.ringing.wait()
            row = support.locator("tr[data-call]")
            anna = page.locator('#agents tr[data-agent="201"]')
            await expect(row.locator(".step")).to_contain_text(
                "ringing Anna (201) for", timeout=seconds_left(times, "TargetDialing")
            )
            await expect(anna).to_have_attribute(
                "data-state", "ringing", timeout=seconds_left(times, "TargetDialing")
            )
            await expect(anna).to_contain_text("ringing")
            gate.release("ringing")
            await gate.connected.wait()
            await expect(row).to_have_attribute(
                "data-step", "connected", timeout=seconds_left(times, "CallConnected")
            )
            await expect(row.locator(".step")).to_contain_text("connected to Anna (201) for")
            await expect(anna).to_have_attribute(
                "data-state", "on_call", timeout=seconds_left(times, "CallConnected")
            )
            await expect(anna).to_contain_text("on a hotline call")
            gate.release("connected")
            await call
            await expect(support).to_contain_text("No calls in progress", timeout=1000)
        finally:
            gate.release_all()
            await call


async def test_page_reconnects_by_itself_after_a_runtime_restart(browser: BrowserContext) -> None:
    settings = web_settings()
    gate = Gate()
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, _pbx):
        assert runtime.web is not None
        port = runtime.web.port
        page = await open_live(browser, runtime.web.url)
    await expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
    again = web_settings(http={"port": port})
    async with sim_runtime(again, parse_agents("201=accept")) as (runtime, pbx):
        pbx.event_sink = gate.sink
        await expect(page.locator("#connection")).to_have_attribute(
            "data-state", "live", timeout=5000
        )
        call = asyncio.create_task(pbx.place_call(CallerScript(hotline="support")))
        try:
            await gate.ringing.wait()
            await expect(page.locator('#agents tr[data-agent="201"]')).to_have_attribute(
                "data-state", "ringing", timeout=1000
            )
        finally:
            gate.release_all()
            await call


async def test_page_in_german_on_a_phone(browser: BrowserContext) -> None:
    settings = web_settings()
    gate = Gate()
    async with sim_runtime(settings, parse_agents("301=accept")) as (runtime, pbx):
        assert runtime.web is not None
        page = await browser.new_page()
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(runtime.web.url + "?lang=de")
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        assert await page.evaluate("document.documentElement.lang") == "de"
        pbx.event_sink = gate.sink
        call = asyncio.create_task(pbx.place_call(CallerScript(hotline="vertrieb", language="de")))
        try:
            await gate.ringing.wait()
            await expect(page.locator('[data-hotline="vertrieb"] .step')).to_contain_text(
                "klingelt bei Jörg (301) seit", timeout=1000
            )
            await expect(page.locator('#agents tr[data-agent="301"]')).to_contain_text("klingelt")
            await expect(page.locator("h2").first).to_be_visible()
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"the page is {overflow} px wider than a phone's screen"
        finally:
            gate.release_all()
            await call


async def test_page_behind_credentials_streams_with_the_browsers_login(tmp_path: Path) -> None:
    """Bound beyond loopback with a token: the browser's own login (any user, the token as
    password) carries the page, its live stream and its numbers."""
    token = "page-token-0123456789"
    settings = web_settings(http={"bind": "0.0.0.0", "token": token})
    gate = Gate()
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, pbx):
        assert runtime.web is not None
        url = f"http://127.0.0.1:{runtime.web.port}/"
        async with chromium(tmp_path / "anonymous") as anonymous:
            refused = await anonymous.request.get(url)
            assert refused.status == 401
            assert await refused.text() == "401: authentication required\n"
        login = {"username": "supervisor", "password": token}
        async with chromium(tmp_path / "login", http_credentials=login) as browser:
            page = await open_live(browser, url)
            pbx.event_sink = gate.sink
            call = asyncio.create_task(pbx.place_call(CallerScript(hotline="support")))
            try:
                await gate.ringing.wait()
                await expect(page.locator('#agents tr[data-agent="201"]')).to_have_attribute(
                    "data-state", "ringing", timeout=1000
                )
                await expect(page.locator("#stats-body")).to_contain_text("journal is off")
            finally:
                gate.release_all()
                await call
