"""``python -m benchmarks.licensed_run --config FILE --public-key PEM``: a test-signed run.

Exactly the path ``hotline run`` takes (the start once more on huge pages where
it applies, :mod:`hotline.heap`; the real CLI parser, ``load_settings`` with its
``HOTLINE_…`` environment, logging set up as ``run_forever`` does, then
:func:`hotline.runtime.serve`), except that the license is verified
against a throw-away vendor public key handed to ``serve`` — never through
the configuration, which has no such setting on purpose.  The module key and
the server key come from the environment like any other setting.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hotline.errors import ConfigError, HotlineError
from hotline.heap import restart_on_huge_pages


def run(config: Path, public_key: Path) -> int:
    """``hotline run --config config`` trusting ``public_key`` as the vendor key."""
    # imported here, after the start on huge pages, as hotline/command.py does
    from hotline.cli import build_parser
    from hotline.config import config_path, load_settings
    from hotline.licensing.keys import load_public_key_pem
    from hotline.licensing.verify import LicenseVerifier
    from hotline.runtime import run_forever

    args = build_parser().parse_args(["run", "--config", str(config)])
    settings = load_settings(config_path(args.config_option, os.environ))
    verifier = LicenseVerifier(
        public_key=load_public_key_pem(public_key.read_bytes(), str(public_key))
    )
    return run_forever(settings, verifier=verifier, config_path=config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.licensed_run")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--public-key", type=Path, required=True)
    args = parser.parse_args(argv)
    if argv is None:  # the command, as ``hotline run`` does (hotline/command.py)
        restart_on_huge_pages()
    try:
        return run(args.config, args.public_key)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return exc.exit_code
    except HotlineError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"benchmarks.licensed_run: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
