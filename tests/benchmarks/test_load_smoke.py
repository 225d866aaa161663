"""The benchmark script runs end to end with tiny N and writes valid JSON (no timing asserted)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.procs import Load, drive
from hotline.heap import glibc_version, huge_pages_env, thp_mode
from tests.benchmarks.tiny import tiny_burst

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_benchmark_runs_end_to_end_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.load",
            "--sizes",
            "3",
            "--runs",
            "1",
            "--warmup",
            "2",
            "--idle-seconds",
            "0.1",
            "--rate",
            "100",
            "--time-scale",
            "0.01",
            "--overlap",
            "0.2",
            "--leak-calls",
            "4",
            "--leak-batch",
            "2",
            "--leak-concurrency",
            "2",
            "--leak-warmup",
            "2",
            "--startup-runs",
            "1",
            "--driver-loop",
            "uvloop",
            # tiny windows: one tick of the host's steal is a share over --max-steal
            "--retries",
            "0",
            "--quiet",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())

    assert results["machine"]["cores"] >= 1
    assert results["driver_loop"] == "uvloop"
    exchange = results["exchange"]
    assert exchange["connections_per_call"] == 3
    assert set(results["modes"]) == {"burst", "paced"}
    modes = list(results["modes"].values())
    for mode in modes:
        assert set(mode["runs"]) == {"hotline", "bare", "panoramisk"}
        for runs in mode["runs"].values():
            (run,) = runs["3"]
            # every call reached its end, and every server sent the same exchange
            assert run["correct_pct"] == 100.0
            assert run["commands"] == run["commands_expected"] == 3 * exchange["commands_per_call"]
            assert run["turnaround_ms"]["count"] == run["commands"]
            assert run["steal_share"] >= 0.0
            assert run["disturbed"] == (run["steal_share"] > 0.01)
            # the server sleeps in its poll between a command and its reply now and then
            assert run["wakes_per_command"] > 0
            # the simulator, like a PBX, never stopped its calls to collect garbage
            assert run["simulator"]["gc_pauses"]["collections"] == [0, 0, 0]
            assert run["simulator"]["rss_max_kb"] > 0
            # the host's steal watched while the calls ran, the late beats set beside it
            assert isinstance(run["simulator"]["steal_pieces"], list)
            assert 0 <= run["late_beats_stolen"] <= run["late_beats"]
        assert isinstance(mode["rerun"], list)
        assert set(mode["ratios"]) == {"hotline_over_bare", "hotline_over_panoramisk"}
    startup = results["startup"]
    assert startup["hotline_run_on_pymalloc"]["heaps"] == ["pymalloc"]
    if huge_pages_env(os.environ, thp_mode(), glibc_version()) is not None:
        # the runtime ran on huge pages, as ``hotline run`` does here (hotline/heap.py)
        assert all(mode["runs"]["hotline"]["3"][0]["huge_pages_kb"] > 0 for mode in modes)
        assert startup["hotline_run_to_serving"]["heaps"][0].startswith("malloc on huge pages")
    hotline_log = results["modes"]["burst"]["runs"]["hotline"]["3"][0]["runtime_log"]
    # the runtime's own log: 2 warm-up calls and 3 measured, all connected to the third target
    assert hotline_log["call_summaries"] == hotline_log["connected_to_target"] == 2 + 3
    assert results["leak"]["calls"] == 4
    assert results["leak"]["correct_pct"] == 100.0
    assert results["startup"]["hotline_run_to_serving"]["median_s"] > 0
    assert {t["target"] for t in results["targets"]}
    assert "| server |" in done.stdout


@pytest.mark.timeout(120)
def test_the_protocol_layer_alone_replays_the_same_exchange(tmp_path: Path) -> None:
    """``--servers agi``: the runtime's FastAGI server and session send every line of the
    exchange and read every reply, as the peers do (what RESULTS.md's session 12 compares)."""
    runs = tiny_burst(tmp_path, "agi,bare")
    assert set(runs) == {"agi", "bare"}
    (agi,), (bare,) = runs["agi"]["3"], runs["bare"]["3"]
    for run in (agi, bare):
        assert run["correct_pct"] == 100.0
        assert run["commands"] == run["commands_expected"] == bare["commands_expected"] > 3
        assert run["turnaround_ms"]["count"] == run["commands"]


@pytest.mark.timeout(120)
def test_sigterm_stops_the_benchmark_with_its_servers_and_simulator() -> None:
    """Stopped while its first server starts or its simulator runs, the benchmark leaves
    no process behind to go on loading the machine (its own process group is empty)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.load",
            "--servers",
            "bare",
            "--sizes",
            "200",
            "--runs",
            "1",
            "--modes",
            "paced",
            "--overlap",
            "60",
            "--leak-calls",
            "0",
            "--startup-runs",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    try:
        # said once the exchange is captured, right before the first server starts
        assert proc.stderr.readline().startswith("exchange:")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=100)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped (SIGTERM)" in err
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)


async def test_a_cancelled_drive_kills_its_simulator() -> None:
    """The simulator is killed with the run that drove it, not left waiting for replies
    (its own wait for a command is 60 s: benchmarks/driver.py)."""
    connected = asyncio.Event()
    calls: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        calls.append((reader, writer))
        connected.set()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        run = asyncio.create_task(drive(port, Load(1, concurrency=1), caller_commands=15))
        await connected.wait()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        # the simulator's process is gone, so its end of the call is closed
        reader, writer = calls[0]
        async with asyncio.timeout(10):
            await reader.read()
        assert reader.at_eof()
        writer.close()
        await writer.wait_closed()
