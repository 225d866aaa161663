"""Errors of the prompts package: one clear line naming the file and what to do."""

from __future__ import annotations

from hotline.errors import HotlineError


class PromptError(HotlineError):
    """A prompt file, slot or directory is unusable; the message names it and the fix."""
