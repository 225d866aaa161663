"""CPU of one log line as the runtime writes it (issue 19): ``python -m benchmarks.loglines``.

Logs ``--lines`` INFO lines of the runtime's own shapes (a call's context bound
with :func:`hotline.logs.bind_context`, as the FastAGI server and the flows bind it) as
``hotline run`` configures logging (INFO, JSON lines, batched writes to an
appended file, on a running loop), and as many DEBUG lines, which INFO filters
out (the AGI session logs one per command).  Prints the process CPU per line of
each kind; under callgrind, compare the instructions of two ``--lines`` counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from benchmarks.loops import LOOPS, loop_factory
from hotline.logs import bind_context, configure_logging, flush_logs, get_logger

log = get_logger()


def _info_lines(count: int) -> None:
    """A call's lines, cycled: the shapes that make most of the runtime's ~30 lines per call."""
    for n in range(count // 5):
        log.info("confirm_no_key", round=1, of=3)
        log.info("confirm_result", result="TIMEOUT")
        log.info(
            "target_dialing",
            attempt=n,
            round=1,
            target=1,
            of=3,
            number="201",
            label=None,
            ring_time=5,
        )
        log.info("agi_session_ended", outcome="completed", duration_s=0.242, commands=41)
        log.info("pin_prompted", attempt=1, attempts=3)


def _debug_lines(count: int) -> None:
    for _ in range(count):
        log.debug("agi_command", command="STREAM FILE", code=200, result="0", data="endpos=1")


async def _run(lines: int, kinds: str) -> dict[str, float]:
    bind_context(call_id="1796133368098.0", route="confirm", hotline="bench")
    bind_context(leg_id="1796133368106.4", target="202")
    out: dict[str, float] = {}
    for kind, body in (("info", _info_lines), ("debug", _debug_lines)):
        if kind not in kinds:
            continue
        started = time.process_time()
        body(lines)
        out[f"{kind}_us_per_line"] = (time.process_time() - started) / max(lines, 1) * 1e6
    flush_logs()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--kinds", default="info,debug", help="info, debug or both")
    parser.add_argument("--loop", choices=LOOPS, default="uvloop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.jsonl"
        with path.open("a", encoding="utf-8", buffering=1) as stream:
            configure_logging(level="INFO", fmt="json", stream=stream, batch=True)
            with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
                result = runner.run(_run(args.lines, args.kinds))
            flush_logs()
        written = sum(1 for _ in path.open(encoding="utf-8"))
    print(json.dumps({"lines": args.lines, "written": written, **result}))


if __name__ == "__main__":
    main()
