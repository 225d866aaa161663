"""The one exception root of hotline.

Every error hotline raises on purpose derives from :class:`HotlineError`, so
the CLI can turn any of them into one clear line and an exit code, and
anything else is a bug that deserves a traceback.  Packages define their own
subclasses next to the code that raises them.
"""

from __future__ import annotations


class HotlineError(Exception):
    """Root of every error hotline raises on purpose."""

    #: exit code the CLI uses when this error ends a command
    exit_code: int = 1


class ConfigError(HotlineError):
    """The configuration is unusable; ``problems`` holds one line per problem."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))
