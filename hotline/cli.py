"""Command line: ``hotline run | check | demo | call | prompts | license``.

Every subcommand is a plain function returning an exit code.  Errors derived
from :class:`~hotline.errors.HotlineError` end the command with their one-line
message and exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from hotline import __version__
from hotline.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, Settings, config_path, load_settings
from hotline.errors import HotlineError, ProblemsError
from hotline.journal.commands import add_report_parser
from hotline.licensing.commands import add_license_parser
from hotline.prompts.commands import add_prompts_parser

EXAMPLES = """\
examples:
  hotline check config/hotline.toml      validate a config, print a summary
  hotline check --live                   also check the PBX over AMI (version, modules, dialplan)
  hotline run --config /etc/hotline.toml serve calls (needs a license key)
  hotline demo                           play scripted calls against the built-in PBX simulator
  hotline demo --agents "201=no-answer,202=voicemail,203=accept"
  hotline call support --pin 1234        place a test call through AMI
  hotline schedule support --week        the coming week's opening hours and shifts
  hotline reload                         re-read the config of the running runtime (or SIGHUP)
  hotline report --by agent --since 2026-11-01 --format csv
  hotline prompts convert intro.mp3 --hotline support --slot intro
  hotline license show HL1-XXXXX-...     decode a module license key

The config file comes from --config, else $HOTLINE_CONFIG, else config/hotline.toml.
Every setting can be overridden with HOTLINE_<SECTION>__<KEY> environment variables.
"""

Command = Callable[[argparse.Namespace], int]


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config_file",
        nargs="?",
        metavar="CONFIG",
        help=f"config file (default: ${CONFIG_ENV} or {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument("--config", dest="config_option", metavar="PATH", help="config file")


def _settings(args: argparse.Namespace) -> tuple[Path, Settings]:
    path = config_path(args.config_option or args.config_file, os.environ)
    return path, load_settings(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline",
        description="Call-hunting hotline runtime for Asterisk (FastAGI + AMI).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"hotline {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check",
        help="validate the configuration (and with --live, the PBX)",
        description="Validate the configuration, prompts and license; exit 2 on any problem.",
    )
    _add_config_arguments(check)
    check.add_argument(
        "--live", action="store_true", help="also connect to Asterisk over AMI and check the PBX"
    )
    check.set_defaults(func=_cmd_check)

    run = commands.add_parser(
        "run",
        help="serve hotline calls for Asterisk",
        description="Start the FastAGI server and serve calls until SIGTERM/SIGINT.",
    )
    _add_config_arguments(run)
    run.set_defaults(func=_cmd_run)

    demo = commands.add_parser(
        "demo",
        help="play scripted calls against the built-in PBX simulator (no Asterisk needed)",
        description=(
            "Start the runtime on the configuration against the built-in PBX simulator and "
            "play scripted calls, one per outcome; print each call's steps. No license needed."
        ),
    )
    _add_config_arguments(demo)
    demo.add_argument(
        "--agents",
        metavar="SPEC",
        help='agent behaviours, e.g. "201=no-answer,202=voicemail,203=accept" '
        "(no-answer, busy, unavailable, congestion, accept, voicemail, decline, wrong-key, "
        "hangup); one call per hotline is placed against them",
    )
    demo.set_defaults(func=_cmd_demo)

    _add_call_parser(commands)
    _add_schedule_parsers(commands)
    report = add_report_parser(commands)
    _add_config_arguments(report)
    report.set_defaults(func=_cmd_report)
    add_prompts_parser(commands)
    add_license_parser(commands)

    return parser


def _add_call_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from hotline.calltest import DEFAULT_CHANNEL, DEFAULT_TIMEOUT, OUTCOMES

    call = commands.add_parser(
        "call",
        help="place a test call into a hotline through AMI and print its outcome",
        description=(
            "Originate a scripted caller (a Local channel, by default Local/s@sim-caller) into "
            "the hotline's context/extension from the configuration, follow the call's AMI "
            "events and print which targets rang, how each ended and who was connected. "
            "Exit 0 when the call ran, 1 when it failed, 4 when --expect does not match."
        ),
    )
    call.add_argument("hotline", metavar="HOTLINE", help="name of a configured hotline")
    call.add_argument("--config", dest="config_option", metavar="PATH", help="config file")
    call.set_defaults(config_file=None)
    call.add_argument("--pin", metavar="DIGITS", help="digits the caller types (PIN variable)")
    call.add_argument(
        "--hangup-after",
        type=float,
        metavar="SECONDS",
        help="seconds the caller stays on the line after typing (HOLD variable)",
    )
    call.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"give up (and hang the call up) after this long (default {DEFAULT_TIMEOUT:g})",
    )
    call.add_argument("--caller-id", metavar="NUM", help="the caller's number")
    call.add_argument(
        "--expect",
        choices=OUTCOMES,
        help="exit 4 unless the call ends this way (for test scripts)",
    )
    call.add_argument(
        "--channel",
        default=DEFAULT_CHANNEL,
        help=f"the caller's channel to originate (default {DEFAULT_CHANNEL})",
    )
    call.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another variable for the caller's dialplan, e.g. DTMFDELAY=5 (repeatable)",
    )
    call.set_defaults(func=_cmd_call)


def _add_schedule_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    schedule = commands.add_parser(
        "schedule",
        help="a hotline's opening hours and shifts: now, or the coming week",
        description="Print whether HOTLINE is open, its shift and targets, and when that changes.",
    )
    schedule.add_argument("hotline", metavar="HOTLINE", help="name of a configured hotline")
    schedule.add_argument("--config", dest="config_option", metavar="PATH", help="config file")
    schedule.set_defaults(config_file=None, func=_cmd_schedule)
    schedule.add_argument(
        "--week", action="store_true", help="the plan from today 00:00 for seven days"
    )
    schedule.add_argument(
        "--at", metavar="TIME", help="as of this time instead of now, e.g. 2026-12-24T10:00"
    )

    reload = commands.add_parser(
        "reload",
        help="make the running `hotline run` re-read its config (as SIGHUP does)",
        description=(
            "Ask the running runtime, over its control socket, to re-read the config file "
            "and secret files. New calls use the new config, calls in progress keep theirs. "
            "Exit 0 when reloaded, 2 when the config is invalid or needs a restart "
            "(the running config stays), 1 when no runtime answers."
        ),
    )
    _add_config_arguments(reload)
    reload.add_argument(
        "--socket", metavar="PATH", help="the control socket (default: from [control] socket)"
    )
    reload.set_defaults(func=_cmd_reload)


def _cmd_schedule(args: argparse.Namespace) -> int:
    from hotline.schedule.commands import run_schedule

    _path, settings = _settings(args)
    return run_schedule(settings, args.hotline, week=args.week, at=args.at, out=sys.stdout)


def _cmd_reload(args: argparse.Namespace) -> int:
    import asyncio

    from hotline.config.control import control_socket
    from hotline.control import request_reload
    from hotline.reload import ReloadRefused

    _path, settings = _settings(args)  # an invalid file is reported here, nothing is sent
    socket = Path(args.socket) if args.socket else None
    socket = socket or control_socket(settings.control, settings.agi.port)
    result = asyncio.run(request_reload(socket))
    if not result.ok:
        raise ReloadRefused(result.lines)
    for line in result.lines:
        print(line)
    return 0


def _quiet_logging() -> None:
    """Commands that talk to AMI print their own lines; only errors are logged (stderr)."""
    from hotline.logs import configure_logging

    configure_logging(level="ERROR", fmt="console", stream=sys.stderr)


def _cmd_check(args: argparse.Namespace) -> int:
    from hotline.check import run_check

    path, settings = _settings(args)
    if args.live:
        _quiet_logging()
    return run_check(path, settings, live=args.live, out=sys.stdout)


def _cmd_call(args: argparse.Namespace) -> int:
    import asyncio

    from hotline.calltest import CallOptionError, CallRequest, run_call

    _path, settings = _settings(args)
    variables: dict[str, str] = {}
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CallOptionError(f"--var {item}: use NAME=VALUE")
        variables[name] = value
    request = CallRequest(
        hotline=args.hotline,
        pin=args.pin,
        hangup_after=args.hangup_after,
        caller_id=args.caller_id,
        channel=args.channel,
        timeout=args.timeout,
        variables=variables,
        expect=args.expect,
    )
    _quiet_logging()
    return asyncio.run(run_call(settings, request, out=sys.stdout))


def _cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    from hotline.demo import run_demo

    _path, settings = _settings(args)
    return asyncio.run(run_demo(settings, sys.stdout, agents=args.agents))


def _cmd_report(args: argparse.Namespace) -> int:
    from hotline.journal.commands import run_report

    _path, settings = _settings(args)
    return run_report(settings, args, sys.stdout)


def _cmd_run(args: argparse.Namespace) -> int:
    from hotline.runtime import run_forever

    path, settings = _settings(args)
    return run_forever(settings, config_path=path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        return func(args)
    except HotlineError as exc:
        return report(exc, sys.stderr)
    except KeyboardInterrupt:
        return 130


def report(exc: HotlineError, err: TextIO) -> int:
    """Print an error the way every subcommand's errors are printed; return its exit code.

    A list of problems is printed one per line as it is (each line names its
    file, field or variable); any other error is one line ``hotline: <message>``.
    """
    lines = exc.problems if isinstance(exc, ProblemsError) else [f"hotline: {exc}"]
    for line in lines:
        print(line, file=err)
    return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
