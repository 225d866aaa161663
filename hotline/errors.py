"""The one exception root of hotline.

Every error hotline raises on purpose derives from :class:`HotlineError`, so
the CLI can turn any of them into one clear line and an exit code, and
anything else is a bug that deserves a traceback.  Subcommands raise; only
``hotline.cli.main`` prints (:func:`hotline.cli.report`).  Packages define their own
subclasses next to the code that raises them.
"""

from __future__ import annotations

from collections.abc import Sequence


class HotlineError(Exception):
    """Root of every error hotline raises on purpose."""

    #: exit code the CLI uses when this error ends a command
    exit_code: int = 1


class ProblemsError(HotlineError):
    """An error made of one or more problems, each a line naming its file, field or step.

    The CLI prints them one per line, as they are (each already says where).
    """

    exit_code = 2

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ConfigError(ProblemsError):
    """The configuration is unusable; ``problems`` holds one line per problem."""
