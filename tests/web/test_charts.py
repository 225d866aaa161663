"""Today / last 7 days on the page: the journal's numbers and charts, in a real Chromium."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from playwright.async_api import BrowserContext, Locator, expect

from hotline.schedule.engine import machine_zone
from hotline.sim.agents import parse_agents
from tests.simrun import sim_runtime
from tests.web.seed import EARLIER, TODAY, seed_journal, yesterdays_noon
from tests.web.stack import web_settings


async def bar_values(chart: Locator) -> list[int]:
    values = await chart.locator("rect.bar").evaluate_all(
        "bars => bars.map(b => Number(b.dataset.value))"
    )
    return [int(v) for v in values]


async def test_charts_render_the_seeded_numbers(browser: BrowserContext, tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    zone = machine_zone()
    now = yesterdays_noon(zone)
    arrivals = await seed_journal(path, TODAY + EARLIER, now)
    settings = web_settings(journal={"enabled": True, "path": str(path)})
    # the page's today and week are on the runtime's clock, pinned to the seeding's now
    async with sim_runtime(settings, parse_agents("201=accept"), now=lambda: now) as (runtime, _):
        assert runtime.web is not None
        page = await browser.new_page()
        await page.goto(runtime.web.url)
        stats = page.locator('#stats .hotline-stats[data-hotline="support"]')
        await expect(stats.locator('[data-testid="calls"] b')).to_have_text("5")
        await expect(stats.locator('[data-testid="answered-rate"] b')).to_have_text("60 %")
        await expect(stats.locator('[data-testid="abandoned"] b')).to_have_text("1")
        await expect(stats.locator('[data-testid="nobody-available"] b')).to_have_text("1")
        await expect(stats.locator('[data-testid="wait-p50"] b')).to_have_text("15 s")
        # waits 5, 15, 45 s: one bar each under 10 s, 10-20 s and 30-60 s
        wait_chart = stats.locator('[data-testid="wait-chart"] svg')
        await expect(wait_chart).to_be_visible()
        assert await bar_values(wait_chart) == [1, 1, 0, 1, 0, 0]
        hours = Counter(dt.datetime.fromtimestamp(a, zone).hour for a in arrivals[: len(TODAY)])
        hour_chart = stats.locator('[data-testid="hour-chart"] svg')
        assert await bar_values(hour_chart) == [hours[h] for h in range(24)]
        box = await wait_chart.bounding_box()
        assert box is not None
        assert box["width"] > 100
        assert box["height"] > 40
        anna = page.locator('[data-testid="agent-stats"] tr[data-agent="201"]')
        # offered 4 (3 accepted, 1 no answer): columns offered, accepted, ..., acceptance
        await expect(anna.locator("td")).to_have_text(
            ["Anna (201)", "support", "4", "3", "0", "0", "1", "0", "0", "75 %"]
        )

        await page.locator('[data-period="week"]').click()
        await expect(stats.locator('[data-testid="calls"] b')).to_have_text("7")
        await expect(stats.locator('[data-testid="answered-rate"] b')).to_have_text("71 %")
        assert await bar_values(wait_chart) == [1, 1, 1, 1, 0, 1]


async def test_without_a_journal_the_page_says_so(browser: BrowserContext) -> None:
    async with sim_runtime(web_settings(), parse_agents("201=accept")) as (runtime, _pbx):
        assert runtime.web is not None
        page = await browser.new_page()
        await page.goto(runtime.web.url + "?lang=de")
        await expect(page.locator("#stats-body")).to_contain_text("Das Anrufjournal ist aus")
