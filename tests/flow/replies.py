"""Asterisk's replies to a call's commands where all goes well, for FakeAsterisk-played legs:
prompts play to the end, the caller stays, and Dial reports an accepted agent."""

from __future__ import annotations


def agi_reply(command: str, *, key: str = "1") -> str:
    """The reply to ``command``; WAIT FOR DIGIT answers ``key`` ("" for no key)."""
    if command.startswith("STREAM FILE"):
        return "200 result=0 endpos=160"
    if command.startswith("GET FULL VARIABLE ${CHANNEL(checkhangup)}"):
        return "200 result=1 (0)"  # the caller is still there
    if command.startswith("GET FULL VARIABLE"):
        return "200 result=1 (ANSWER|ACCEPTED|16)"
    if command.startswith("WAIT FOR DIGIT"):
        return f"200 result={ord(key) if key else 0}"
    return "200 result=1"
