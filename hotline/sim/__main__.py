"""``python -m hotline.sim``: drive a running hotline runtime with simulated calls.

For benchmarks that keep the simulator out of the runtime's process::

    python -m hotline.sim --port 4573 --hotline support --calls 200 \\
        --concurrency 50 --agents "201=no-answer,*=accept" --pin 1234# --json

Prints one JSON line per call (with ``--json``) and a summary line; exits 0
when every call could be simulated, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from hotline.sim.agents import parse_agents
from hotline.sim.caller import CallerScript
from hotline.sim.errors import SimError
from hotline.sim.load import run_load, summarize
from hotline.sim.records import CallRecord


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hotline.sim",
        description="Place simulated Asterisk calls into a hotline runtime's FastAGI port.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4573)
    parser.add_argument(
        "--hotline", action="append", default=None, help="hotline name (repeat to alternate)"
    )
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--agents", default="*=accept", help='e.g. "201=no-answer,*=accept"')
    parser.add_argument("--pin", default=None, help="what every caller types at GET DATA")
    parser.add_argument("--prompt-seconds", type=float, default=2.0)
    parser.add_argument("--talk-seconds", type=float, default=None)
    parser.add_argument("--command-timeout", type=float, default=30.0)
    parser.add_argument("--json", action="store_true", help="one JSON line per call")
    return parser


def _call_json(record: CallRecord) -> str:
    return json.dumps(
        {
            "uniqueid": record.uniqueid,
            "hotline": record.hotline,
            "outcome": record.outcome,
            "bridged_to": record.bridged_to,
            "hung_up_by": record.hung_up_by,
            "dialed": record.dialed,
            "played": record.played,
            "duration": round(record.duration, 3),
            "wall_seconds": round(record.wall_seconds, 4),
            "commands": len(record.commands),
            "error": record.error,
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        agents = parse_agents(args.agents)
        if args.talk_seconds is not None:
            agents = {k: replace(v, talk_seconds=args.talk_seconds) for k, v in agents.items()}
        hotlines = args.hotline or ["main"]
        entries = [args.pin] * 8 if args.pin else []
        scripts = [
            CallerScript(
                hotlines[n % len(hotlines)],
                callerid=f"555{n:04d}",
                pin_entries=entries,
                label=f"call {n + 1}",
            )
            for n in range(args.calls)
        ]
        started = time.perf_counter()
        records = asyncio.run(
            run_load(
                args.host,
                args.port,
                scripts,
                args.concurrency,
                agents=agents,
                prompt_seconds=args.prompt_seconds,
                command_timeout=args.command_timeout,
            )
        )
    except SimError as exc:
        print(f"hotline.sim: {exc}", file=sys.stderr)
        return exc.exit_code
    wall = time.perf_counter() - started
    if args.json:
        for record in records:
            print(_call_json(record))
    print(json.dumps({"summary": summarize(records, wall)}))
    return 1 if any(r.error for r in records) else 0


if __name__ == "__main__":
    sys.exit(main())
