"""The shipped Asterisk configs keep the dialplan contract with config/hotline.toml.

These run everywhere (no Asterisk needed); tests/integration proves the same
files on a real Asterisk when one is available.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.config import HotlineConfig, load_settings
from hotline.contract import CONFIRM_CONTEXT, confirm_conf, hotline_route

REPO = Path(__file__).resolve().parents[2]
ETC = REPO / "docker" / "asterisk" / "etc"
AGI_BASE = "agi://hotline:4573"

#: the fail-closed confirm subroutine (comments aside), exactly as the runtime expects it
#: (hotline/contract.py writes it; docs/architecture.md says why it is shaped so)
CONFIRM_SUBROUTINE = confirm_conf(AGI_BASE)[1:]


def contexts(path: Path) -> dict[str, list[str]]:
    """Each ``[context]`` of a config file: its non-empty lines, comments removed."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(";", 1)[0].rstrip()
        match = re.fullmatch(r"\[([^\]]+)\](\(.*\))?", line.strip())
        if match:
            current = sections.setdefault(match.group(1), [])
        elif line.strip() and current is not None:
            current.append(line)
    return sections


def extensions(lines: list[str]) -> dict[str, list[str]]:
    """Extension -> its priorities' applications, following ``same =>`` lines."""
    out: dict[str, list[str]] = {}
    last = None
    for line in lines:
        match = re.match(r"\s*exten\s*=>\s*([^,]+),[^,]+,(.*)", line)
        if match:
            last = match.group(1)
            out.setdefault(last, []).append(match.group(2))
        elif re.match(r"\s*same\s*=>", line) and last is not None:
            out[last].append(line.split(",", 1)[1])
    return out


DIALPLAN = contexts(ETC / "extensions.conf")
EXAMPLE = load_settings(REPO / "config" / "hotline.toml", environ={})


def test_confirm_subroutine_is_the_fail_closed_one() -> None:
    assert DIALPLAN[CONFIRM_CONTEXT] == CONFIRM_SUBROUTINE


@pytest.mark.parametrize("hotline", EXAMPLE.hotlines, ids=lambda h: h.name)
def test_each_hotline_number_calls_its_route_then_falls_back(hotline: HotlineConfig) -> None:
    steps = extensions(DIALPLAN[hotline.context])[hotline.extension or ""]
    assert steps[0] == f"AGI({AGI_BASE}/{hotline_route(hotline.name)})"
    # the runtime unreachable or refusing: a stock message, then hang up
    assert any(step.startswith("Playback(") for step in steps[1:])
    assert steps[-1] == "Hangup()"


@pytest.mark.parametrize(
    "hotline", [h for h in EXAMPLE.hotlines if h.fallback], ids=lambda h: h.name
)
def test_fallback_destination_exists(hotline: HotlineConfig) -> None:
    fallback = hotline.fallback
    assert fallback is not None
    steps = extensions(DIALPLAN[fallback.context])[fallback.extension]
    assert len(steps) >= fallback.priority


def test_every_example_target_is_a_scripted_agent() -> None:
    agents = extensions(DIALPLAN["sim-agents"])
    for hotline in EXAMPLE.hotlines:
        assert hotline.dial == "Local/{number}@sim-agents"
        for target in hotline.targets:
            assert target.number in agents, f"{hotline.name}: {target.number}"


def test_scripted_agents_behave_as_documented() -> None:
    agents = extensions(DIALPLAN["sim-agents"])
    assert "Answer()" not in agents["200"]  # never answers
    assert agents["201"][2:5] == ["Answer()", "Wait(2)", "SendDTMF(1)"]
    assert "SendDTMF" not in " ".join(agents["202"])  # answers silently
    assert agents["203"][-1].startswith("Busy(")
    assert agents["204"][2:5] == ["Answer()", "Wait(1)", "Hangup()"]
    assert agents["205"][2:5] == ["Answer()", "Wait(2)", "SendDTMF(2)"]
    # each one that answers can be sent away for a test call (AGENTS_AWAY)
    for number in ("201", "202", "203", "204", "205"):
        assert agents[number][1] == "Gosub(sim-agent-away,s,1(${EXTEN}))", number


def test_music_on_hold_classes_exist() -> None:
    classes = contexts(ETC / "musiconhold.conf")
    for hotline in EXAMPLE.hotlines:
        assert hotline.moh_class in classes


def test_softphone_accounts_reach_the_hotlines() -> None:
    pjsip = (ETC / "pjsip.conf").read_text(encoding="utf-8")
    assert re.search(r"^context = phones$", pjsip, re.MULTILINE)
    assert "include => hotline-in" in DIALPLAN["phones"]
    assert "include => agents" in DIALPLAN["phones"]
