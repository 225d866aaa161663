#!/usr/bin/env python3
"""Docker health check: is the hotline's FastAGI port accepting connections?

Connects and closes without sending anything; the runtime treats that as a
probe (logged at DEBUG only) and opens no AGI session.
"""

import os
import socket
import sys

port = int(os.environ.get("HOTLINE_AGI__PORT", "4573"))
try:
    socket.create_connection(("127.0.0.1", port), timeout=3).close()
except OSError as exc:
    print(f"hotline FastAGI port {port} not accepting connections: {exc}", file=sys.stderr)
    sys.exit(1)
