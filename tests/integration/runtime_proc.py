"""``python -m tests.integration.runtime_proc CONFIG PUBLIC_KEY LOG``: a licensed runtime alone.

What ``hotline run`` does (:func:`hotline.runtime.serve`: AMI, license, FastAGI, shared state)
in a process of its own, so that a test can SIGKILL it: ``CONFIG`` with the ``HOTLINE_…``
overrides of the environment, the license checked against the test's vendor key
``PUBLIC_KEY`` (the lab's keys are not signed by the real one), JSON log lines written
one by one to ``LOG`` (whatever it logged before it died is there), and
``{"port": N}`` on stdout once it serves.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from hotline.config import Settings, load_settings
from hotline.licensing.keys import load_public_key_pem
from hotline.licensing.verify import LicenseVerifier
from hotline.logs import configure_logging
from hotline.runtime import Runtime, serve


async def main(settings: Settings, verifier: LicenseVerifier) -> int:
    def started(runtime: Runtime) -> None:
        sys.stdout.write(json.dumps({"port": runtime.port}) + "\n")
        sys.stdout.flush()

    return await serve(settings, verifier=verifier, started=started)


if __name__ == "__main__":
    config, public_key, log = (Path(arg) for arg in sys.argv[1:4])
    with log.open("a", encoding="utf-8", buffering=1) as stream:
        configure_logging(level="DEBUG", fmt="json", stream=stream)
        key = load_public_key_pem(public_key.read_bytes(), str(public_key))
        verifier = LicenseVerifier(key)
        sys.exit(asyncio.run(main(load_settings(config, environ=os.environ), verifier)))
