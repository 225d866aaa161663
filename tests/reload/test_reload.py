"""Reloading a running runtime over real sockets: calls in progress keep their config.

The simulator plays Asterisk over loopback; each call is held after its first
dial (the flows' ``dial_details`` seam waits on an event), so the reloads
happen while every call is in the middle of its hunt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hotline.config import load_settings
from hotline.prompts.errors import PromptError
from hotline.reload import ReloadResult, needs_restart, reload_from_file
from hotline.runtime import Runtime
from hotline.sim.agents import AgentBehaviour
from hotline.sim.caller import CallerScript
from tests.conftest import CapturedLog
from tests.simrun import sim_runtime

ENV: dict[str, str] = {}  # the reloads read this, not the test process's environment


def config_text(
    targets: tuple[str, ...], *, digit: str = "1", port: int = 4573, extra: str = ""
) -> str:
    decline = "2" if digit != "2" else "3"
    lines = [
        "[asterisk]",
        "enabled = false",
        'sounds_dir = "/var/lib/hotline/sounds"',
        "[agi]",
        f"port = {port}",
        extra,
        "[[hotlines]]",
        'name = "support"',
        'dial = "Local/{number}@sim-agents"',
        "ring_time = 15",
        "[hotlines.confirm]",
        f'digit = "{digit}"',
        f'decline_digit = "{decline}"',
        # 50 callers ring the same agents at once here
        "[hotlines.hunt.skip]",
        "on_hotline_call = false",
        "wrap_up = false",
    ]
    for number in targets:
        lines += ["[[hotlines.targets]]", f'number = "{number}"']
    return "\n".join(lines) + "\n"


OLD = config_text(("201", "202"))
#: new targets, and a new confirm digit: an old call confirmed with it would fail
NEW = config_text(("301", "302"), digit="5")

AGENTS: Mapping[str, AgentBehaviour] = {
    "201": AgentBehaviour("no-answer"),
    "202": AgentBehaviour("accept"),
    "301": AgentBehaviour("no-answer"),
    "302": AgentBehaviour("accept", digit="5"),
}


def numbers(dialed: list[str]) -> list[str]:
    return [d.split(",", 1)[0].split("/", 1)[1].split("@", 1)[0] for d in dialed]


class Gate:
    """Holds every call after a dial until released; counts the calls held."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.held = 0
        self.all_held = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, _call_id: str, _dial_string: str) -> Mapping[str, Any]:
        self.held += 1
        if self.held == self.expected:
            self.all_held.set()
        await self.release.wait()
        return {}


def call(n: int) -> CallerScript:
    return CallerScript(hotline="support", callerid=f"55500{n:02d}")


async def test_calls_in_progress_keep_their_config_through_100_reloads(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(OLD)
    gate = Gate(expected=50)
    results = {"reloaded": 0, "invalid": 0, "restart": 0}
    async with sim_runtime(load_settings(path, ENV), AGENTS, dial_details=gate) as (runtime, pbx):
        running = [asyncio.create_task(pbx.place_call(call(n))) for n in range(50)]
        await gate.all_held.wait()  # 50 calls rang their first target and are mid-hunt
        for n in range(100):
            if n % 10 == 3:
                path.write_text("[[hotlines]\nname = ")  # broken TOML
                kind = "invalid"
            elif n % 10 == 6:
                path.write_text(config_text(("301",), port=4600))  # needs a restart
                kind = "restart"
            elif n % 10 == 8:
                path.write_text(NEW.replace('number = "302"', 'number = "30 2"'))  # bad value
                kind = "invalid"
            else:
                path.write_text(NEW if n % 2 else OLD)
                kind = "reloaded"
            result = await reload_from_file(runtime, path, ENV)
            assert result.ok == (kind == "reloaded"), (n, result.lines)
            results[kind] += 1
        path.write_text(NEW)
        assert (await reload_from_file(runtime, path, ENV)).ok
        assert all(not task.done() for task in running)  # nothing ended during the reloads
        gate.release.set()
        old_calls = await asyncio.gather(*running)
        new_call = await pbx.place_call(call(99))

    assert results == {"reloaded": 70, "invalid": 20, "restart": 10}
    assert runtime.generation == 1 + 70 + 1
    # every call that was in progress finished on the config it started with:
    # its old targets, and its confirm leg asked for the old digit
    lost = [r for r in old_calls if r.bridged_to != "202"]
    assert lost == []
    assert all(numbers(r.dialed) == ["201", "202"] for r in old_calls)
    # a new call gets the new targets and the new confirm digit
    assert numbers(new_call.dialed) == ["301", "302"]
    assert new_call.bridged_to == "302"
    summaries = captured_log.named("call_summary")
    assert len(summaries) == 51
    assert {s["outcome"] for s in summaries} == {"connected"}
    assert len(captured_log.named("config_reloaded")) == 71
    problems = captured_log.named("reload_invalid")
    assert len(problems) == 20
    assert all("hotline.toml" in p["problem"] for p in problems)


async def test_an_invalid_file_leaves_the_running_config_serving(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(OLD)
    async with sim_runtime(load_settings(path, ENV), AGENTS) as (runtime, pbx):
        path.write_text(OLD.replace("ring_time = 15", "ring_time = 0\nrounds = 99"))
        result = await reload_from_file(runtime, path, ENV)
        record = await pbx.place_call(call(1))
    assert not result.ok
    assert result.lines == [
        f"{path}: hotlines[0].ring_time: Input should be greater than or equal to 1 (got 0)",
        f"{path}: hotlines[0].rounds: Input should be less than or equal to 10 (got 99)",
        "the running configuration stays in use",
    ]
    assert numbers(record.dialed) == ["201", "202"]
    assert record.bridged_to == "202"
    assert runtime.generation == 1
    logged = [e["problem"] for e in captured_log.named("reload_invalid")]
    assert logged == result.lines[:2]


def test_what_needs_a_restart_is_named_and_secrets_are_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(OLD)
    old = load_settings(path, ENV)
    path.write_text(
        config_text(
            ("201", "202"),
            port=4600,
            extra='header_timeout = 9.0\n[license]\nmodule_key = "HL1-SECRET-VALUE"',
        )
    )
    new = load_settings(path, ENV)
    lines = needs_restart(old, new)
    assert lines == [
        "agi.port: 4573 -> 4600: needs a restart (hotline run); nothing was reloaded",
        "license.module_key: changed: needs a restart (hotline run); nothing was reloaded",
    ]
    assert "SECRET" not in "".join(lines)
    # header_timeout alone is applied by a reload
    path.write_text(config_text(("301",), extra="header_timeout = 9.0"))
    assert needs_restart(old, load_settings(path, ENV)) == []


async def test_a_reload_keeps_lockouts_and_applies_new_opening_hours(
    tmp_path: Path, captured_log: CapturedLog
) -> None:
    path = tmp_path / "hotline.toml"
    base = OLD.replace('name = "support"', 'name = "support"\npin = "4711"')
    path.write_text(base.replace("[agi]", "[pin_guard]\nfailed_calls = 1\n[agi]"))
    noon = dt.datetime(2026, 3, 27, 12, 0, tzinfo=dt.UTC)
    async with sim_runtime(load_settings(path, ENV), AGENTS, now=lambda: noon) as (runtime, pbx):
        guesser = CallerScript(hotline="support", callerid="5559999", pin_entries=("1111",) * 3)
        await pbx.place_call(guesser)
        closed = '\n[hotlines.schedule]\ntimezone = "UTC"\nopen = ["Mon-Fri 13:00-17:00"]\n'
        path.write_text(path.read_text() + closed)
        board, observers, prompts = (
            runtime.deps.state.board,
            len(runtime.deps.observers),
            runtime.deps.prompts,
        )
        assert (await reload_from_file(runtime, path, ENV)).ok
        # the agent board (rotation memory, wrap-up) and the observers are the runtime's:
        # kept, not duplicated; what derives from the config is new
        assert runtime.deps.state.board is board
        assert len(runtime.deps.observers) == observers
        assert runtime.deps.prompts is not prompts
        again = await pbx.place_call(
            CallerScript(hotline="support", callerid="5559999", pin_entries=("4711",))
        )
    # closed now under the new hours (the plan is made before the PIN is asked)
    assert again.played == ["/var/lib/hotline/sounds/en/closed"]
    assert captured_log.named("call_summary")[-1]["outcome"] == "closed"
    # and the lockout learnt before the reload is still there
    assert runtime.state.pin_guard is runtime.deps.state.pin_guard
    assert await runtime.state.pin_guard.locked_out(
        "support", "5559999", runtime.settings.pin_guard
    )


async def test_a_config_that_cannot_be_built_leaves_the_running_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(OLD)
    runtime = Runtime(load_settings(path, ENV), host="127.0.0.1", port=0)
    settings = runtime.settings

    def unreadable(_settings: object) -> object:
        raise PromptError("hotline support, prompt intro: cannot be read")

    monkeypatch.setattr(runtime, "config_deps", unreadable)
    path.write_text(NEW)
    result = await reload_from_file(runtime, path, ENV)
    assert result == ReloadResult(
        False,
        ["hotline support, prompt intro: cannot be read", "the running configuration stays in use"],
    )
    assert runtime.settings is settings
    assert runtime.generation == 1
