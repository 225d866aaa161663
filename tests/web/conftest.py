"""A real headless Chromium (Debian's package, installed by .ci/run) driven by Playwright."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, async_playwright

#: Debian's chromium; Playwright's own browser download is never used. Not HOTLINE_…:
#: the config refuses every HOTLINE_ variable that is not a setting (tests/config)
CHROMIUM = Path(os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium"))
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


@contextlib.asynccontextmanager
async def chromium(profile: Path, **options: Any) -> AsyncIterator[BrowserContext]:
    """Chromium with a fresh profile (its own user-data-dir) at ``profile``; ``options`` go
    to Playwright's ``launch_persistent_context`` (e.g. ``http_credentials``)."""
    if not CHROMIUM.is_file():  # noqa: ASYNC240 - one stat before the browser starts
        pytest.skip(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium package")
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            **{"locale": "en-GB", "timezone_id": "Europe/Berlin", **options},
        )
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium profile, English first."""
    async with chromium(tmp_path / "chromium-profile") as context:
        yield context
