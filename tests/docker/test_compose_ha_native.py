"""docker/compose.yaml's "ha" profile run natively: the services' commands, env and config.

No Docker engine runs here, so the profile's services are started as processes with
what the profile gives them; the test puts in only what Docker itself provides (each
container's own address, volumes, a name service), listed in :data:`NATIVE`:

* ``redis``: the service's ``command`` as written, plus where to listen;
* ``hotline-a``, ``hotline-b``: the service's ``environment`` as written (interpolated
  with the sample .env of tests/docker/test_compose.py), the config file its volume
  mounts, the image's entrypoint step (``hotline prompts install-defaults``), its
  WORKDIR (a directory per runtime), what ``hotline run`` runs (``serve``:
  tests/integration/runtime_proc.py) with the license checked against a test vendor key
  (no test has the vendor's private key), and the image's health check;
* ``asterisk-ha``: the simulator's AMI server with the PBX's credentials and server key,
  and its FastAGI side failing over from rt-a to rt-b as ``hagi://`` does.

Both runtimes register in the one Redis under the profile's runtime ids, rt-a serves
the calls, then it is SIGKILLed and rt-b serves the next one.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hotline.config import load_settings
from hotline.licensing.model import InstallationIdentity
from hotline.licensing.vendor import generate_keypair, issue_key
from hotline.sim.agents import parse_agents
from hotline.sim.ami_server import AmiServer
from hotline.sim.ami_state import AmiSimState
from hotline.sim.caller import CallerScript
from hotline.sim.dialplan import hotline_dialplan
from hotline.sim.pbx import SimulatedPbx
from tests.docker.test_compose import DOCKER, REPO, SAMPLE_ENV, compose, service_env
from tests.docker.test_compose_ha import RUNTIMES
from tests.net import free_port
from tests.redisd import RedisServer, redis_available

# ~30 s and about configs, not the interpreter: once per CI (scripts/test-pythons)
pytestmark = [pytest.mark.once_per_ci, pytest.mark.timeout(120)]

SERVER_KEY = "LAB-SERVER-KEY"
#: what Docker provides and the test puts in instead, per variable of the runtimes' env
NATIVE = {
    "HOTLINE_CONFIG": "the ../config:/etc/hotline volume: config/hotline.toml",
    "HOTLINE_ASTERISK__HOST": "asterisk-ha's name: 127.0.0.1 (+ HOTLINE_ASTERISK__PORT)",
    "HOTLINE_ASTERISK__SOUNDS_DIR": "the hotline-sounds volume: a directory of the test",
    "HOTLINE_AGI__BIND": "the container's own address: 127.0.0.1",
    "HOTLINE_AGI__PORT": "the container's own port 4573: a free port per runtime",
    "HOTLINE_STATE__REDIS_URL": "redis's name and port 6379: 127.0.0.1 and its free port",
    "HOTLINE_LICENSE__MODULE_KEY": "the tester's key: one for the test vendor key",
}
#: the config's live page port (9464) is the container's own, too
HTTP_PORT = "HOTLINE_HTTP__PORT"


def native_env(
    service: str, ami_port: int, redis: RedisServer, sounds: Path, key: str
) -> dict[str, str]:
    env = service_env(service, SAMPLE_ENV)
    assert set(NATIVE) <= set(env)
    container_url = env["HOTLINE_STATE__REDIS_URL"]
    assert container_url.startswith("redis://redis:6379/")
    env.update(
        HOTLINE_CONFIG=str(REPO / "config" / env["HOTLINE_CONFIG"].removeprefix("/etc/hotline/")),
        HOTLINE_ASTERISK__HOST="127.0.0.1",
        HOTLINE_ASTERISK__PORT=str(ami_port),
        HOTLINE_ASTERISK__SOUNDS_DIR=str(sounds),
        HOTLINE_AGI__BIND="127.0.0.1",
        HOTLINE_AGI__PORT=str(free_port()),
        HOTLINE_STATE__REDIS_URL=container_url.replace("redis:6379", f"127.0.0.1:{redis.port}"),
        HOTLINE_LICENSE__MODULE_KEY=key,
    )
    env[HTTP_PORT] = str(free_port())
    return env


async def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` with ``env``, in a thread (it is short and the loop has work)."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def redis_service(tmp_path: Path) -> Iterator[RedisServer]:
    """redis-server with the profile's command (tests/redisd.py adds where to listen)."""
    reason = redis_available()
    if reason is not None:
        pytest.skip(reason)
    command = compose()["services"]["redis"]["command"]
    # the options tests/redisd.py starts every Redis with (no persistence)
    assert command == ["redis-server", "--save", "", "--appendonly", "no"]
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def asterisk_ha() -> AsyncIterator[AmiServer]:
    """The PBX's AMI side as the runtimes reach it (credentials of manager.conf, server key)."""
    settings = load_settings(REPO / "config" / "hotline.toml", environ={})
    state = AmiSimState(
        dialplan=hotline_dialplan(
            [(h.name, h.context, h.extension or "100") for h in settings.hotlines],
            agi_base="hagi://hotline.internal",
        ),
        moh_classes={h.moh_class: "files" for h in settings.hotlines},
        globals={settings.license.server_key_variable: SERVER_KEY},
    )
    assert state.secret == service_env("hotline-a", SAMPLE_ENV)["HOTLINE_ASTERISK__SECRET"]
    server = AmiServer(state, host="127.0.0.1", port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


async def test_the_ha_profile_serves_calls_and_fails_over_natively(
    tmp_path: Path, redis_service: RedisServer, asterisk_ha: AmiServer
) -> None:
    private_pem, public_pem = generate_keypair()
    key = issue_key(
        private_pem,
        installations=[InstallationIdentity.of(server_key=SERVER_KEY)],
        kind="full",
        licensee="compose ha profile test",
    )
    public_key = tmp_path / "vendor.pem"
    public_key.write_bytes(public_pem)
    sounds = tmp_path / "sounds"  # the shared hotline-sounds volume
    procs: dict[str, asyncio.subprocess.Process] = {}
    ports: dict[str, int] = {}
    try:
        for service in RUNTIMES:
            env = native_env(service, asterisk_ha.port, redis_service, sounds, key)
            full_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
            # the image's entrypoint before `hotline run`
            sounds_dir = env["HOTLINE_ASTERISK__SOUNDS_DIR"]
            install = await run(
                "-m", "hotline", "prompts", "install-defaults", "--sounds-dir", sounds_dir,
                env=full_env,
            )  # fmt: skip
            assert install.returncode == 0, install.stderr
            workdir = tmp_path / service  # the image's WORKDIR, where the journal goes
            workdir.mkdir()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.runtime_proc",
                env["HOTLINE_CONFIG"],
                str(public_key),
                str(tmp_path / f"{service}.jsonl"),
                cwd=workdir,
                env=full_env,
                stdout=asyncio.subprocess.PIPE,
            )
            procs[service] = proc
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, (tmp_path / f"{service}.jsonl").read_text()
            ports[service] = json.loads(line)["port"]
            assert ports[service] == int(env["HOTLINE_AGI__PORT"])
            # the image's health check, with the service's environment
            check = await run(str(DOCKER / "hotline" / "healthcheck.py"), env=full_env)
            assert check.returncode == 0, check.stderr
            assert (workdir / "var" / "journal.sqlite").exists()

        client = aioredis.Redis.from_url(redis_service.url, decode_responses=True)
        try:
            runtimes = await client.zrange("hotline:runtimes", 0, -1)
        finally:
            await client.aclose()
        assert sorted(runtimes) == ["rt-a", "rt-b"]

        a, b = (ports[s] for s in RUNTIMES)
        pbx = SimulatedPbx(
            "127.0.0.1",
            a,
            parse_agents("201=accept,203=accept"),
            confirm_args=4,
            agi_servers=[("127.0.0.1", a), ("127.0.0.1", b)],  # SRV priority 10, then 20
        )
        # billing: the config's hotline without opening hours. The runtimes read the wall
        # clock in processes of their own, and support is closed after 20:00 in Berlin
        # (CI failed on it at 19:00 UTC: schedule_decision open=false, the closed prompt)
        example = load_settings(REPO / "config" / "hotline.toml", environ={})
        assert next(h for h in example.hotlines if h.name == "billing").schedule is None
        caller = CallerScript(hotline="billing")
        first = await pbx.place_call(caller)
        assert (first.outcome, first.agi_servers[0]) == ("connected", ("caller", a))
        procs[RUNTIMES[0]].kill()
        await procs[RUNTIMES[0]].wait()
        second = await pbx.place_call(caller)
        assert (second.outcome, second.agi_servers[0]) == ("connected", ("caller", b))
        b_log = (tmp_path / f"{RUNTIMES[1]}.jsonl").read_text()
        summaries = [json.loads(x) for x in b_log.splitlines() if '"call_summary"' in x]
        assert [s["call_id"] for s in summaries] == [second.uniqueid]
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 20)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
