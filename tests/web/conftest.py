"""A real headless Chromium (Debian's package, installed by .ci/run) driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, async_playwright

#: Debian's chromium; Playwright's own browser download is never used
CHROMIUM = Path(os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium"))
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


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium profile (its own user-data-dir), English first."""
    if not CHROMIUM.is_file():  # noqa: ASYNC240 - one stat before the browser starts
        pytest.skip(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium package")
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            locale="en-GB",
            timezone_id="Europe/Berlin",
        )
        try:
            yield context
        finally:
            await context.close()
