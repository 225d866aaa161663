"""The dialplan shipped and documented is the one hotline/contract.py writes."""

from __future__ import annotations

import re
from pathlib import Path

from hotline.contract import (
    ANNOUNCE_CALLER_SLOTS,
    CALLER_SLOTS,
    CLOSED_SLOTS,
    CONFIRM_ARGS,
    CONFIRM_CONTEXT,
    CONFIRM_SLOTS,
    FALLBACK_SLOTS,
    PIN_SLOTS,
    STEP_CONTEXT,
    STEP_SLOTS,
    conf_lines,
    confirm_conf,
    confirm_gosub,
    hotline_steps,
    leg_value,
    played_slots,
    step_conf,
    step_value,
)
from hotline.prompts.catalogue import SLOTS
from tests.docker.test_asterisk_config import contexts

REPO = Path(__file__).resolve().parents[2]


def _readme_dialplan(scratch: Path) -> dict[str, list[str]]:
    """The ``[context]`` blocks of the README's Dialplan section, comments removed."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Dialplan\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None, "README: no dialplan snippet under ## Dialplan"
    path = scratch / "readme-dialplan.conf"
    path.write_text(block.group(1), encoding="utf-8")
    return contexts(path)


def test_shipped_confirm_subroutine_is_the_contracts() -> None:
    shipped = contexts(REPO / "docker" / "asterisk" / "etc" / "extensions.conf")
    assert [f"[{CONFIRM_CONTEXT}]", *shipped[CONFIRM_CONTEXT]] == confirm_conf("agi://hotline:4573")


def test_readme_snippet_is_the_contracts(tmp_path: Path) -> None:
    readme = _readme_dialplan(tmp_path)
    base = "agi://127.0.0.1:4573"
    assert [f"[{CONFIRM_CONTEXT}]", *readme[CONFIRM_CONTEXT]] == confirm_conf(base)
    assert readme["hotline-in"] == conf_lines("100", hotline_steps("support", base))


def test_shipped_and_documented_step_context_is_the_contracts(tmp_path: Path) -> None:
    shipped = contexts(REPO / "docker" / "asterisk" / "etc" / "extensions.conf")
    assert [f"[{STEP_CONTEXT}]", *shipped[STEP_CONTEXT]] == step_conf()
    readme = _readme_dialplan(tmp_path)
    assert [f"[{STEP_CONTEXT}]", *readme[STEP_CONTEXT]] == step_conf()


def test_step_legs_hand_the_confirm_subroutine_its_arguments_in_order() -> None:
    dial = step_conf()[4]
    # ARG1 call id, ARG2 hotline (from HOTLINE_STEP), ARG3 target (the leg's), ARG4 caller
    assert dial.endswith(
        "U(hotline-confirm^${CUT(HOTLINE_STEP,^,1)}^${CUT(HOTLINE_STEP,^,2)}"
        "^${CUT(LEG,^,4)}^${CUT(HOTLINE_STEP,^,3)}))"
    )
    assert step_value("1.0", "support", "555") == "1.0^support^555"
    assert leg_value(5, "PJSIP/201", 20, "201") == "5^PJSIP/201^20^201"


def test_confirm_arguments_in_order() -> None:
    assert confirm_gosub(("1.0", "support", "201", "5550001")) == (
        "hotline-confirm^1.0^support^201^5550001"
    )
    assert (
        confirm_conf("agi://h:1")[2]
        == " same => n,AGI(agi://h:1/confirm,${ARG1},${ARG2},${ARG3},${ARG4})"
    )
    assert len(CONFIRM_ARGS) == 4


def test_played_slots_are_catalogued() -> None:
    every = played_slots(pin=True, announce_caller=True, announce_fallback=True)
    assert set(every) <= {slot.name for slot in SLOTS}
    assert "enter_pin" not in played_slots(
        pin=False, announce_caller=False, announce_fallback=False
    )


def _slots_named_in(module: Path) -> set[str]:
    """Prompt slots a flow module names when it plays or resolves a prompt."""
    text = module.read_text(encoding="utf-8")
    named = r'(?:_play|_prompt|prompts\.name\(self\.hotline_name,|slot=)\s*\(?\s*"([a-z_]+)"'
    return set(re.findall(named, text))


def test_the_flows_play_the_contracts_slots() -> None:
    flow = REPO / "hotline" / "flow"
    caller = _slots_named_in(flow / "caller.py")
    confirm = _slots_named_in(flow / "confirm.py")
    assert caller == {*CALLER_SLOTS, *PIN_SLOTS, *FALLBACK_SLOTS, *CLOSED_SLOTS}
    assert confirm == {*CONFIRM_SLOTS, *ANNOUNCE_CALLER_SLOTS, *STEP_SLOTS}
