"""Errors of the prompts package: one clear line naming the file and what to do."""

from __future__ import annotations

from hotline.errors import HotlineError, ProblemsError


class PromptError(HotlineError):
    """A prompt file, slot or directory is unusable; the message names it and the fix."""


class ConvertFailed(ProblemsError):
    """Some recordings of a batch were not converted (the others were): one line each."""

    exit_code = PromptError.exit_code
