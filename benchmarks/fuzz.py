"""``python -m benchmarks.fuzz``: the long fuzz of the FastAGI reading path (issue 12).

Runs ``--sessions`` seeded hostile sessions (:mod:`hotline.sim.hostile`)
against the real runtime (:data:`~hotline.sim.hostile.fuzz_config`, 20 ms
prompts, production JSON logging to a file) and reports how the sessions
ended — ``hung`` must be 0 — and every traceback: log lines carrying an
exception, lines that are not JSON, and errors that reached the event loop.
The suite runs the same fuzz with 2,000 sessions (tests/sim/test_fuzz.py).
Prints one JSON object; exit code 1 when a session hung or a traceback was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hotline.config import settings_from_mapping
from hotline.logs import configure_logging, flush_logs, reset_logging
from hotline.runtime import Runtime
from hotline.sim.hostile import FUZZ_ROUTES, fuzz_config, run_fuzz, write_short_prompts


async def fuzz(sessions: int, seed: int, concurrency: int, workdir: Path) -> dict[str, Any]:
    log_file = workdir / "runtime.jsonl"
    loop_errors: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(str(context)[:300]))
    settings = settings_from_mapping(fuzz_config(write_short_prompts(workdir / "sounds")))
    with log_file.open("w", encoding="utf-8") as stream:
        configure_logging(level="INFO", fmt="json", stream=stream, batch=True)
        began = time.perf_counter()
        async with Runtime(settings, host="127.0.0.1", port=0) as runtime:
            report = await run_fuzz(
                "127.0.0.1",
                runtime.port,
                sessions=sessions,
                seed=seed,
                routes=FUZZ_ROUTES,
                concurrency=concurrency,
            )
            left_open = runtime.server.connections
        wall = time.perf_counter() - began
        flush_logs()
        reset_logging()
    warnings: Counter[str] = Counter()
    tracebacks: list[str] = []
    lines = 0
    for line in log_file.read_text(encoding="utf-8").splitlines():
        lines += 1
        try:
            event = json.loads(line)
        except ValueError:
            tracebacks.append(line[:200])
            continue
        if event.get("level") in ("warning", "error", "critical"):
            warnings[event.get("event", "?")] += 1
        if "exception" in event:
            tracebacks.append(f"{event.get('event')}: {str(event['exception'])[-200:]}")
    return {
        "sessions": report.sessions,
        "seed": seed,
        "ended": dict(report.ended),
        "hung": report.hung,
        "hung_seeds": report.hung_sessions[:10],
        "tracebacks": len(tracebacks) + len(loop_errors),
        "traceback_examples": (tracebacks + loop_errors)[:5],
        "connections_left_open": left_open,
        "commands": report.commands,
        "wall_s": round(wall, 1),
        "log_lines": lines,
        "log_bytes": log_file.stat().st_size,
        "warning_lines_by_kind": dict(warnings.most_common()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz")
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # both ends of every session
    with tempfile.TemporaryDirectory(prefix="hotline-fuzz-") as tmp:
        result = asyncio.run(fuzz(args.sessions, args.seed, args.concurrency, Path(tmp)))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if result["hung"] == 0 and result["tracebacks"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
