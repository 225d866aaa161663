"""How a caller's number is stored: the hotline's callers are personal data.

* ``full``: as Asterisk gave it;
* ``masked``: only the last 3 digits kept (``*******123``): enough to tell a
  colleague "the caller ending in 123", not enough to call back;
* ``hashed``: a keyed hash (HMAC-SHA256), the same for the same number, so
  repeat callers can be counted, but not reversible without the key: a plain
  hash of a phone number is not private, since all numbers of a country can be
  hashed in minutes.
"""

from __future__ import annotations

import hashlib
import hmac

from hotline.config.journal import CallerPrivacy

#: digits kept at the end of a masked number
MASK_KEEP = 3


def store_caller(caller: str, mode: CallerPrivacy, key: bytes) -> str | None:
    """The caller as the journal stores it; None for an unknown caller."""
    caller = caller.strip()
    if not caller or caller.lower() in {"unknown", "anonymous", "<unknown>"}:
        return None
    if mode == "full":
        return caller[:80]
    if mode == "masked":
        if len(caller) <= MASK_KEEP:
            return "*" * len(caller)
        return ("*" * (len(caller) - MASK_KEEP) + caller[-MASK_KEEP:])[-80:]
    digest = hmac.new(key, caller.encode(), hashlib.sha256).hexdigest()
    return "h:" + digest[:24]
