"""The caller's FastAGI leg: a scripted caller behind ``Local/s@sim-caller-…;1``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hotline.sim.caller import KNOWN_STEPS
from hotline.sim.dial import Dial
from hotline.sim.dialplan import parse_dial
from hotline.sim.legs import AgiLeg
from hotline.sim.media import Press
from hotline.sim.step import StepDial, is_step_dial

if TYPE_CHECKING:
    from hotline.sim.call import Call


class CallerLeg(AgiLeg):
    """Answers the hotline route's commands as the caller's channel would."""

    party = "caller"

    def __init__(self, call: Call) -> None:
        super().__init__(call, call.caller, call.record.commands, call.record.played)
        self._step = ""

    def far_hangup_at(self, step: str, name: str, start: float, length: float) -> float | None:
        script = self.call.script
        if step == "stream":
            hit = script.hangs_up_during("prompt", self.call.count("prompt"))
            self._step = "prompt"
            word = script.hangup_during[0] if script.hangup_during else ""
            named = bool(word) and word not in KNOWN_STEPS and word in name
            if named and script.hangs_up_during(word, self.call.count(word)):
                hit, self._step = True, word
            if hit:
                return start + self.call.hangup_offset(length / 2, length)
        elif step == "pin":
            number = self.call.count("pin")
            self._step = "pin"
            prompt = sum(self._prompt_length(p) for p in name.split("&") if p)
            if script.hangs_up_during("pin", number):
                return start + self.call.hangup_offset(prompt / 2 if prompt > 0 else 0.5, length)
            if script.entry(number - 1) is None and length - prompt > script.patience:
                return start + prompt + script.patience
        if math.isinf(length):  # a wait without end: the caller gives up
            self._step = "wait"
            return start + script.patience
        return None

    def prepare_digits(self, start: float, prompt: float, hanging_up: bool) -> None:
        self.presses, self.cursor = [], 0
        entry = self.call.script.entry(self.call.counters["pin"] - 1)
        if hanging_up or not entry:
            return
        script = self.call.script
        moment = start + prompt + script.typing_delay
        for digit in entry:
            self.presses.append(Press(moment, digit))
            moment += script.digit_interval

    async def far_end_hung_up(self, at: float, step: str) -> None:
        self.call.caller_hung_up(self._step or step)
        await self.call.hang_up_channels(self.call.caller_peer)

    async def runtime_hung_up(self) -> None:
        self.call.set_hung_up_by("runtime")
        self.note("runtime hung up the caller")

    def on_latency(self, seconds: float) -> None:
        self.call.record.latencies.append(seconds)

    async def run_app(self, app: str, data: str) -> str | None:
        if app.lower() != "dial":
            return None
        if is_step_dial(parse_dial(data)):
            return await StepDial(self, data).run()
        return await Dial(self, data).run()
