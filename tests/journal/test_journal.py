"""The journal against a real SQLite file and a real PostgreSQL server, fed by simulated calls."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.config.journal import JournalConfig
from hotline.flow.observers import AttemptRecord, CallEnded
from hotline.journal import store
from hotline.journal.privacy import store_caller
from hotline.journal.schema import journal_meta
from hotline.journal.writer import JournalWriter
from tests.conftest import CapturedLog
from tests.journal.stack import PIN, journal_settings, serving, stored_calls, support


async def test_every_call_and_attempt_is_stored(
    journal_config: JournalConfig, captured_log: CapturedLog
) -> None:
    settings = journal_settings(journal_config)
    scripts = [
        support(PIN),  # 201 no answer, 202 declines, 203 accepts
        support("0000", "1111", "2222"),  # wrong PIN three times
        support(PIN, hangup_during=("ringing", 1)),  # gives up while 201 rings
    ]
    async with serving(settings, "201=no-answer,202=decline,203=accept") as stack:
        records = await stack.calls(scripts)
    engine = store.make_engine(journal_config)
    try:
        stored = await stored_calls(engine)
    finally:
        await engine.dispose()
    assert set(stored) == {r.uniqueid for r in records}
    summaries = {e["call_id"]: e for e in captured_log.named("call_summary")}
    for call_id, row in stored.items():
        summary = summaries[call_id]
        assert row["hotline"] == "support"
        assert row["caller"] == "5550001"
        assert row["outcome"] == summary["outcome"]
        assert row["step"] == summary["step"]
        assert row["connected_to"] == summary["connected_to"]
        assert row["hung_up_by"] == summary["hung_up_by"]
        assert row["duration"] == pytest.approx(summary["duration"], abs=1e-3)
        assert [
            (a["attempt"], a["hunt_step"], a["number"], a["outcome"]) for a in row["attempts"]
        ] == [(t["attempt"], t["attempt"], t["number"], t["outcome"]) for t in summary["targets"]]
    connected = stored[records[0].uniqueid]
    assert connected["outcome"] == "connected"
    assert connected["connected_label"] is None
    assert connected["connected_to"] == "203"
    assert connected["wait_seconds"] > 15  # 201 rang its 15 s first
    assert connected["talk_seconds"] > 0
    assert [a["dialstatus"] for a in connected["attempts"]] == ["NOANSWER", "ANSWER", "ANSWER"]
    assert stored[records[1].uniqueid]["outcome"] == "pin_failed"
    assert stored[records[1].uniqueid]["attempts"] == []
    gave_up = stored[records[2].uniqueid]
    assert (gave_up["outcome"], gave_up["step"]) == ("abandoned", "ringing")
    assert store.utc(gave_up["arrived"]).timestamp() > time.time() - 60


async def test_journal_survives_a_runtime_restart(journal_config: JournalConfig) -> None:
    settings = journal_settings(journal_config)
    async with serving(settings, "201=accept") as stack:
        first = await stack.calls([support(PIN) for _ in range(3)])
    async with serving(settings, "201=accept") as stack:
        second = await stack.calls([support(PIN) for _ in range(2)])
    engine = store.make_engine(journal_config)
    try:
        stored = await stored_calls(engine)
        assert await store.current_revision(engine) == "0002"
    finally:
        await engine.dispose()
    assert set(stored) == {r.uniqueid for r in first + second}
    assert len(stored) == 5  # the second runtime's calls came on top of the first's
    assert all(row["outcome"] == "connected" for row in stored.values())


def _ended(call_id: str, caller: str, arrived: float) -> CallEnded:
    return CallEnded(
        call_id,
        "support",
        caller,
        arrived,
        "nobody_available",
        None,
        None,
        None,
        None,
        None,
        "runtime",
        40.0,
        (AttemptRecord(1, 1, "201", "Anna", "no_answer", 15.0, "NOANSWER", "19"),),
    )


def _files_bytes(folder: Path, pattern: str) -> bytes:
    """Everything SQLite wrote (the file, its WAL): a secret must be in none of it."""
    return b"".join(p.read_bytes() for p in folder.glob(pattern))


async def test_caller_privacy_and_no_secrets(tmp_path: Path) -> None:
    for mode in ("full", "masked", "hashed"):
        config = JournalConfig.model_validate(
            {"enabled": True, "path": str(tmp_path / f"{mode}.sqlite"), "caller": mode}
        )
        settings = journal_settings(config)
        async with serving(settings, "201=accept") as stack:
            (record,) = await stack.calls([support(PIN, callerid="+4930123456")])
        engine = store.make_engine(config)
        try:
            (row,) = (await stored_calls(engine)).values()
            async with engine.connect() as conn:
                key = await conn.scalar(select(journal_meta.c.value))
        finally:
            await engine.dispose()
        assert row["call_id"] == record.uniqueid
        if mode == "full":
            assert row["caller"] == "+4930123456"
        elif mode == "masked":
            assert row["caller"] == "********456"
        else:
            assert row["caller"].startswith("h:")
            assert "30123456" not in row["caller"]
            assert key is not None
            # the same number gives the same pseudonym with the journal's own key
            assert row["caller"] == store_caller("+4930123456", "hashed", key.encode())
        raw = _files_bytes(tmp_path, f"{mode}.sqlite*")
        assert PIN.encode() not in raw
        if mode != "full":
            assert b"30123456" not in raw


async def test_retention_deletes_calls_older_than_keep_days(journal_config: JournalConfig) -> None:
    config = journal_config.model_copy(update={"keep_days": 30})
    now = time.time()
    writer = JournalWriter(config)
    await writer.start()
    writer.on_call_event(_ended("old", "5550001", now - timedelta(days=31).total_seconds()))
    writer.on_call_event(_ended("recent", "5550002", now - timedelta(days=29).total_seconds()))
    await writer.drained()
    await writer.stop()
    # the next start applies retention before writing anything new
    writer = JournalWriter(config)
    await writer.start()
    writer.on_call_event(_ended("new", "5550003", now))
    await writer.drained()
    stored = await stored_calls(writer.engine)
    await writer.stop()
    assert set(stored) == {"recent", "new"}
    assert stored["recent"]["attempts"][0]["number"] == "201"


async def test_a_refused_call_is_journaled_too(tmp_path: Path) -> None:
    config = JournalConfig(enabled=True, path=tmp_path / "j.sqlite", caller="full")
    async with serving(journal_settings(config), "201=accept", licensed=False) as stack:
        (record,) = await stack.calls([support(PIN)])
    assert record.dialed == []
    engine = store.make_engine(config)
    try:
        (row,) = (await stored_calls(engine)).values()
    finally:
        await engine.dispose()
    assert (row["call_id"], row["outcome"], row["caller"]) == (
        record.uniqueid,
        "refused",
        "5550001",
    )
    assert row["attempts"] == []


async def test_a_call_ended_by_a_bug_is_journaled_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured_log: CapturedLog
) -> None:
    """Every call is journaled, also one the flow could not finish (and in progress is 0 again)."""
    from hotline.flow.caller import CallerFlow

    async def broken(self: CallerFlow) -> bool:
        self.step = "intro"
        raise RuntimeError("a bug in the flow")

    monkeypatch.setattr(CallerFlow, "_hunt", broken)
    config = JournalConfig(enabled=True, path=tmp_path / "j.sqlite", caller="full")
    settings = journal_settings(config, metrics={"enabled": True})
    async with serving(settings, "201=accept") as stack:
        (record,) = await stack.calls([support(PIN)])
        in_progress = stack.runtime.metrics.in_progress.labels("support")._value.get()
    assert captured_log.named("agi_handler_failed")  # the bug is logged with its traceback
    engine = store.make_engine(config)
    try:
        (row,) = (await stored_calls(engine)).values()
    finally:
        await engine.dispose()
    assert (row["call_id"], row["outcome"]) == (record.uniqueid, "failed")
    assert in_progress == 0


async def test_the_schedule_decision_is_journaled(tmp_path: Path) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    schedule = {"timezone": "Europe/Berlin", "open": ["Mon-Fri 08:00-18:00"]}
    config = JournalConfig(enabled=True, path=tmp_path / "j.sqlite", caller="full")
    settings = journal_settings(config, support={"schedule": schedule})
    calls = []
    for hour in (12, 20):  # a Friday, open at noon, closed at 8 pm
        moment = dt.datetime(2026, 3, 27, hour, 0, tzinfo=berlin)

        def now(moment: dt.datetime = moment) -> dt.datetime:
            return moment

        async with serving(settings, "201=accept", now=now) as stack:
            calls += await stack.calls([support(PIN)])
    engine = store.make_engine(config)
    try:
        stored = await stored_calls(engine)
    finally:
        await engine.dispose()
    open_call, closed_call = (stored[r.uniqueid] for r in calls)
    assert (open_call["outcome"], open_call["schedule"]) == (
        "connected",
        "hours Mon-Fri 08:00-18:00",
    )
    assert closed_call["outcome"] == "closed"
    assert closed_call["schedule"]  # the rule that closed it
    assert closed_call["attempts"] == []


async def test_a_call_id_already_stored_is_counted_and_logged(
    journal_config: JournalConfig, captured_log: CapturedLog
) -> None:
    """Two PBXs without their own systemname give the same uniqueid: never silently merged."""
    now = time.time()
    writer = JournalWriter(journal_config)
    await writer.start()
    writer.on_call_event(_ended("1795305542.0", "5550001", now))
    await writer.drained()
    writer.on_call_event(_ended("1795305542.0", "5550002", now))  # the other PBX's call
    writer.on_call_event(_ended("1795305542.1", "5550003", now))
    await writer.drained()
    stored = await stored_calls(writer.engine)
    await writer.stop()
    assert (writer.written, writer.duplicates) == (2, 1)
    assert stored["1795305542.0"]["caller"] == "5550001"  # the first is kept as it was
    (taken,) = captured_log.named("journal_call_id_taken")
    assert taken["call_ids"] == ["1795305542.0"]
    assert "systemname" in taken["hint"]
