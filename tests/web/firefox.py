"""A real headless Firefox (Debian's firefox-esr, installed by .ci/run) driven over Marionette.

Why Marionette and Mozilla's own client (``marionette_driver`` on PyPI): Playwright drives only
its own patched Firefox builds, a download this project cannot make, and geckodriver is shipped
by no registry we reach.  Marionette is the remote protocol built into every Firefox (geckodriver
itself is a Marionette client); Mozilla publishes its Python client with Firefox's test harness.
Firefox is started with ``marionette.port`` 0 and writes the port it took into the profile
(``MarionetteActivePort``), so tests never collide on a fixed port.

The client blocks: every call runs on one worker thread of its own, so the runtime under test
keeps serving in the test's event loop meanwhile.  Waits are event-driven in the page: a
``MutationObserver`` answers as soon as the DOM matches, or says what it saw when the budget ran
out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import time
import warnings
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

with warnings.catch_warnings():
    # mozinfo (a dependency of the client) calls distro's deprecated linux_distribution()
    # on import; the suite turns warnings into errors
    warnings.simplefilter("ignore", DeprecationWarning)
    from marionette_driver.by import By
    from marionette_driver.marionette import Marionette

#: Debian's firefox-esr (ESR 128 and later); no Firefox download is ever made (TEST_FIREFOX:
#: not HOTLINE_…, which the config refuses unless it is a setting)
FIREFOX = Path(os.environ.get("TEST_FIREFOX", "/usr/bin/firefox-esr"))
#: seconds Firefox may take to start and open Marionette on a loaded 2-core machine
START_SECONDS = 30.0

_T = TypeVar("_T")

#: Marionette applies its own recommended test prefs (no updates, no first-run pages); these
#: add a free port and the page's language, and keep Firefox off the network it cannot reach.
_PREFS: dict[str, object] = {
    "marionette.port": 0,
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "network.connectivity-service.enabled": False,
    "network.captive-portal-service.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "dom.disable_open_during_load": False,  # open_window's popup comes from a script
}

#: waits until the element ``want.selector`` matches (attribute or normalised text: ``equals``
#: or ``contains``); re-checked on every DOM mutation, not on a timer
_WAIT_SCRIPT = """
const [want, budget, done] = arguments;
const seen = () => {
  const node = document.querySelector(want.selector);
  if (!node) return null;
  if (want.attribute) return node.getAttribute(want.attribute);
  return node.textContent.replace(/\\s+/g, " ").trim();
};
const matches = (value) => value !== null && ("equals" in want
  ? value === want.equals : value.includes(want.contains));
let observer = null;
let timer = null;
const finish = (ok) => {
  if (observer) observer.disconnect();
  clearTimeout(timer);
  done({ok, seen: seen()});
};
if (matches(seen())) {
  finish(true);
} else {
  observer = new MutationObserver(() => { if (matches(seen())) finish(true); });
  observer.observe(document, {subtree: true, childList: true, attributes: true,
                              characterData: true});
  timer = setTimeout(() => finish(false), budget);
}
"""


def _user_js(prefs: dict[str, object]) -> str:
    def literal(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "".join(f'user_pref("{name}", {literal(value)});\n' for name, value in prefs.items())


class FirefoxPage:
    """One Firefox tab; every method runs the blocking client on the browser's own thread."""

    def __init__(self, client: Marionette, worker: ThreadPoolExecutor) -> None:
        self._client = client
        self._worker = worker

    async def _run(self, call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, functools.partial(call, *args, **kwargs))

    async def goto(self, url: str) -> None:
        await self._run(self._client.navigate, url)

    async def evaluate(self, expression: str, *args: Any) -> Any:
        """``expression`` (a JavaScript expression; ``arguments`` holds ``args``) in the page."""
        return await self._run(
            self._client.execute_script, f"return ({expression});", script_args=list(args)
        )

    async def click(self, selector: str) -> None:
        element = await self._run(self._client.find_element, By.CSS_SELECTOR, selector)
        await self._run(element.click)

    async def open_window(self, url: str, width: int, height: int) -> None:
        """``url`` in a new window of that many CSS pixels (a popup: a browser window with
        its toolbars is never narrower than 500 px), which this page then drives."""
        # The popup opens blank and is then navigated by Marionette, which returns only once
        # the page has loaded.  Opened on ``url`` itself, the popup was still on its first
        # about:blank when the next script ran there, and that document's unload ended the
        # script with no answer (seen once in CI: wait_for got None after 4 s).
        await self.evaluate(
            "void window.open('about:blank', '_blank', `popup,width=${arguments[0]},"
            "height=${arguments[1]}`)",
            width,
            height,
        )
        handles: list[str] = await self._run(lambda: list(self._client.window_handles))
        await self._run(self._client.switch_to_window, handles[-1])
        await self.goto(url)

    async def wait_for(
        self,
        selector: str,
        *,
        attribute: str | None = None,
        equals: str | None = None,
        contains: str | None = None,
        within: float = 5.0,
    ) -> None:
        """Until the element's ``attribute`` (or text) ``equals`` / ``contains`` the value,
        ``within`` seconds at most: AssertionError naming what the page showed instead."""
        want: dict[str, str] = {"selector": selector}
        if attribute is not None:
            want["attribute"] = attribute
        if equals is not None:
            want["equals"] = equals
        elif contains is not None:
            want["contains"] = contains
        else:
            raise ValueError("wait_for needs equals or contains")
        budget = max(0, round(within * 1000))
        result = await self._run(
            self._client.execute_async_script,
            _WAIT_SCRIPT,
            script_args=[want, budget],
            script_timeout=budget + 10_000,
        )
        if result is None:  # the document was replaced while the script waited
            raise AssertionError(f"{want}: the page navigated away while it was awaited")
        if not result["ok"]:
            raise AssertionError(f"after {within:.3f} s {want} still shows {result['seen']!r}")


def _wait_for_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    """The port Marionette took: Firefox writes it into the profile once it listens."""
    active = profile / "MarionetteActivePort"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if active.is_file() and (text := active.read_text().strip()):
            return int(text)
        try:
            process.wait(timeout=0.05)  # a short nap, cut short if Firefox dies meanwhile
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"firefox exited before Marionette listened ({process.returncode})")
    raise RuntimeError(f"firefox did not open Marionette within {START_SECONDS} s")


def _start(profile: Path, prefs: dict[str, object]) -> tuple[subprocess.Popen[bytes], Marionette]:
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "user.js").write_text(_user_js({**_PREFS, **prefs}))
    process = subprocess.Popen(
        [str(FIREFOX), "--headless", "--marionette", "--no-remote", "--profile", str(profile)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TZ": "Europe/Berlin", "MOZ_CRASHREPORTER_DISABLE": "1"},
        start_new_session=True,  # its content processes share the group: one kill ends all
    )
    try:
        client = Marionette(host="127.0.0.1", port=_wait_for_port(profile, process))
        client.start_session()
    except BaseException:
        _stop(process)
        raise
    return process, client


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.asynccontextmanager
async def firefox(profile: Path, *, language: str = "en-GB") -> AsyncIterator[FirefoxPage]:
    """Firefox with a fresh profile at ``profile``, its first tab; ``language`` is what the
    browser asks pages for (``intl.accept_languages``)."""
    if not FIREFOX.is_file():  # noqa: ASYNC240 - one stat before the browser starts
        pytest.skip(f"no Firefox at {FIREFOX}: .ci/run installs Debian's firefox-esr package")
    loop = asyncio.get_running_loop()
    prefs: dict[str, object] = {"intl.accept_languages": language}
    with ThreadPoolExecutor(1, thread_name_prefix="firefox") as worker:
        process, client = await loop.run_in_executor(worker, _start, profile, prefs)
        try:
            yield FirefoxPage(client, worker)
        finally:
            with contextlib.suppress(Exception):
                await loop.run_in_executor(worker, client.delete_session)
            await loop.run_in_executor(worker, _stop, process)
