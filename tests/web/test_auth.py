"""Beyond loopback the page and its data need credentials; without them the config is refused."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import aiohttp
import pytest

from hotline.config.http import HttpConfig
from hotline.errors import ConfigError
from hotline.sim.agents import parse_agents
from hotline.web.server import WebServer
from tests.simrun import sim_runtime
from tests.web.stack import web_settings

TOKEN = "0123456789-abcdefghij"
PASSWORD = "correct horse battery"
PATHS = ("", "api/snapshot", "api/live", "static/app.js")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def status_and_body(url: str, authorization: str | None) -> tuple[int, str]:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        if response.status == 200 and response.content_type == "text/event-stream":
            return 200, (await response.content.readline()).decode()
        return response.status, await response.text()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer ",
        basic("admin", "wrong-password-123"),
        basic("x", TOKEN + " "),
        "Basic !!notbase64",
        f"Token {TOKEN}",
    ],
)
async def test_wrong_or_missing_token_gets_401_and_no_data(authorization: str | None) -> None:
    settings = web_settings(http={"bind": "0.0.0.0", "token": TOKEN})
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, _pbx):
        assert runtime.web is not None
        base = f"http://127.0.0.1:{runtime.web.port}/"
        for path in PATHS:
            status, body = await status_and_body(base + path, authorization)
            assert status == 401, path
            assert body == "401: authentication required\n"
        status, _ = await status_and_body(base, f"Bearer {TOKEN}")
        assert status == 200


async def test_token_works_as_bearer_and_as_a_browser_password() -> None:
    settings = web_settings(http={"bind": "0.0.0.0", "token": TOKEN})
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, _pbx):
        assert runtime.web is not None
        url = f"http://127.0.0.1:{runtime.web.port}/api/snapshot"
        for authorization in (f"Bearer {TOKEN}", basic("anyone", TOKEN)):
            status, body = await status_and_body(url, authorization)
            assert status == 200
            assert '"agents"' in body


async def test_user_and_password_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "web-password"
    secret.write_text(PASSWORD + "\n")
    settings = web_settings(
        http={"bind": "0.0.0.0", "user": "supervisor", "password_file": str(secret)}
    )
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, _pbx):
        assert runtime.web is not None
        url = f"http://127.0.0.1:{runtime.web.port}/api/snapshot"
        assert (await status_and_body(url, basic("supervisor", PASSWORD)))[0] == 200
        for wrong in (basic("supervisor", PASSWORD + "x"), basic("other", PASSWORD), None):
            status, body = await status_and_body(url, wrong)
            assert (status, body) == (401, "401: authentication required\n")
        status, _ = await status_and_body(url + "?x", f"Bearer {PASSWORD}")
        assert status == 401  # no token configured: a bearer is nobody


def test_a_non_loopback_bind_without_credentials_is_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        web_settings(http={"bind": "0.0.0.0"})
    assert refused.value.problems == [
        "<settings>: http.bind: 0.0.0.0 is reachable from other machines; set http.token "
        "(or http.user and http.password, or their *_file) or bind 127.0.0.1"
    ]


@pytest.mark.parametrize(
    ("http", "problem"),
    [
        ({"token": "short"}, "http.token: must be at least 12 characters long"),
        ({"user": "boss"}, "http.password: set http.user and http.password together (or neither)"),
        ({"token_file": "/nonexistent/token"}, "http.token_file: cannot read /nonexistent/token"),
    ],
)
def test_bad_credentials_config_is_one_line(http: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        web_settings(http=http)
    (line,) = refused.value.problems
    assert line.startswith(f"<settings>: {problem}")


async def test_the_port_in_use_is_one_line() -> None:
    settings = web_settings()
    async with sim_runtime(settings, parse_agents("201=accept")) as (runtime, _pbx):
        assert runtime.web is not None
        taken = web_settings(http={"port": runtime.web.port})
        with pytest.raises(ConfigError) as refused:
            async with sim_runtime(taken, parse_agents("201=accept")):
                pass
    (line,) = refused.value.problems
    assert line.startswith(f"http.port: 127.0.0.1:{runtime.web.port} is already in use")


async def test_a_peer_that_connects_and_says_nothing_is_closed() -> None:
    server = WebServer(HttpConfig(port=0), idle_seconds=0.2)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        finally:
            writer.close()
    finally:
        await server.stop()
