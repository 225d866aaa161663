"""How long each AGI command of a call may take, from what the runtime knows.

A peer that takes a command and never answers (a broken or hostile client, an
Asterisk host that vanished) must not hold a call's connection for ever, so
every media command gets a deadline: the time the command takes by its nature
(the prompt's length, GET DATA's digit timeouts, Dial's ring time plus the
agent's confirmation) plus ``slack`` (``agi.command_timeout``, the allowance a
quick command gets).  The flows pass these to the session, which closes the
connection when one passes.
"""

from __future__ import annotations

from dataclasses import field

from hotline.config import HotlineConfig
from hotline.flow.prompting import PromptBook
from hotline.records import record

#: upper bound of Asterisk saying one digit (its digit sounds last 0.4-0.8 s)
SECONDS_PER_SAID_DIGIT = 1.0


@record
class Deadlines:
    """Deadlines (seconds) for one hotline's commands."""

    prompts: PromptBook
    hotline: HotlineConfig
    #: added to every deadline: the reply's own allowance
    slack: float
    #: the hotline's name, read once (the prompts are looked up by it): a config model's
    #: attribute goes through pydantic's ``__getattr__`` hook, and a call looks up ~30
    #: deadlines (callgrind: 78.8k -> 78.5k instructions per AGI command)
    name: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.hotline.name)

    def play(self, slot: str) -> float:
        """STREAM FILE of a slot's prompt."""
        return self.prompts.seconds(self.name, slot) + self.slack

    def get_data(self, slot: str, timeout_s: float, max_digits: int) -> float:
        """GET DATA: the prompt, then up to ``timeout_s`` for each digit (res_agi passes
        the timeout as both the first-digit and the between-digits timeout)."""
        waiting = timeout_s * max(1, max_digits)
        return self.prompts.seconds(self.name, slot) + waiting + self.slack

    def say_digits(self, digits: str) -> float:
        """SAY DIGITS of ``digits``."""
        return len(digits) * SECONDS_PER_SAID_DIGIT + self.slack

    def confirm_budget(self, caller_number: str) -> float:
        """The longest the confirm leg can keep an answered agent before its verdict
        (``caller_number``: what it reads to the agent, if the hotline announces callers)."""
        confirm = self.hotline.confirm
        seconds = 0.0
        if confirm.announce_caller and caller_number:
            seconds += self.prompts.seconds(self.name, "caller_number_is")
            seconds += len(caller_number) * SECONDS_PER_SAID_DIGIT
        rounds = confirm.replays + 1
        seconds += rounds * (self.prompts.seconds(self.name, "confirm_call") + confirm.timeout)
        seconds += max(
            self.prompts.seconds(self.name, "accepted"),
            self.prompts.seconds(self.name, "caller_gone"),
            self.prompts.seconds(self.name, "taken"),
        )
        return seconds + self.slack

    def dial(self, ring_time: float, caller_number: str) -> float:
        """EXEC Dial until the agent's verdict; lifted once the agent accepted (the
        bridge may last hours: TCP keepalive watches the peer then)."""
        return ring_time + self.confirm_budget(caller_number) + self.slack
