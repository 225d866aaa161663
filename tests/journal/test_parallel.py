"""Real parallel steps through the simulator into the journal and the report: an agent who
answered in a parallel step is credited once, colleagues rung with them are not blamed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline.config.journal import JournalConfig
from hotline.journal import store
from hotline.journal.report import agent_figures, call_groups, read_period
from tests.journal.stack import PIN, journal_settings, serving, stored_calls, support

#: 201 rings alone first, then 202 and 203 ring together
HUNT = {
    "skip": {"on_hotline_call": False},
    "steps": [{"targets": ["201"]}, {"targets": ["202", "203"]}],
}


async def test_parallel_step_credits_the_confirming_agent_once(
    journal_config: JournalConfig,
) -> None:
    settings = journal_settings(journal_config, support={"hunt": HUNT})
    async with serving(settings, "201=no-answer,202=voicemail,203=accept") as stack:
        records = await stack.calls([support(PIN) for _ in range(3)])
    assert {r.bridged_to for r in records} == {"203"}

    engine = store.make_engine(journal_config)
    try:
        stored = await stored_calls(engine)
        now = datetime.now(UTC)
        journal = await read_period(engine, now - timedelta(hours=1), now + timedelta(hours=1))
    finally:
        await engine.dispose()
    for row in stored.values():
        legs = [(a["hunt_step"], a["number"], a["outcome"]) for a in row["attempts"]]
        assert legs == [(1, "201", "no_answer"), (2, "202", "taken"), (2, "203", "confirmed")]
        assert row["connected_to"] == "203"

    # the total row, not the only day's: the 3 calls arrive within ~2 ms of each other (seen
    # under faketime), and across UTC midnight they are two days and the total
    (total,) = [row for row in call_groups(journal, "day", UTC) if row["day"] == "total"]
    assert (total["calls"], total["answered"], total["answered_rate"]) == (3, 3, 1.0)
    agents = {row["agent"]: row for row in agent_figures(journal)}
    assert (agents["203"]["offered"], agents["203"]["accepted"]) == (3, 3)
    assert agents["203"]["acceptance_rate"] == 1.0
    # the voicemail box rang with 203 and was told "taken": offered, not blamed
    assert (agents["202"]["offered"], agents["202"]["answered_elsewhere"]) == (3, 3)
    assert agents["202"]["accepted"] == 0
    assert agents["202"]["acceptance_rate"] is None  # no offer it could decide on
    assert (agents["201"]["offered"], agents["201"]["no_answer"]) == (3, 3)
    assert agents["201"]["acceptance_rate"] == 0.0
    assert sum(a["accepted"] for a in agents.values()) == 3
