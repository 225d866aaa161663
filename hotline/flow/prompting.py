"""Which sound file each prompt slot of a hotline plays, resolved once at startup."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from hotline.config import HotlineConfig, Settings
from hotline.prompts.catalogue import SLOTS
from hotline.prompts.check import prompt_seconds
from hotline.prompts.errors import PromptError
from hotline.prompts.store import default_prompt_base, local_defaults_dir, playback_name

#: how long a prompt is taken to play when this host cannot read its file (the
#: startup checks report that file); generous, since it only bounds a deadline
UNKNOWN_PROMPT_SECONDS = 120.0


class PromptBook:
    """Playback names (absolute, without extension, as Asterisk sees them) per hotline and slot,
    and how long each plays (read from the files this host sees, for command deadlines)."""

    def __init__(self, sounds_dir: str, hotlines: Iterable[HotlineConfig]) -> None:
        self._names: dict[tuple[str, str], str] = {}
        self._seconds: dict[tuple[str, str], float] = {}
        try:
            defaults: Path | None = local_defaults_dir(sounds_dir)
        except PromptError:
            defaults = None
        for hotline in hotlines:
            for prompt_slot in SLOTS:
                key = hotline.name, prompt_slot.name
                custom = hotline.prompts.get(prompt_slot.name)
                self._names[key] = custom or playback_name(
                    sounds_dir, hotline.name, hotline.language, prompt_slot.name, overridden=False
                )
                if custom is not None:
                    local: Path | None = Path(custom)
                elif defaults is not None:
                    local = default_prompt_base(defaults, hotline.language, prompt_slot.name)
                else:
                    local = None
                seconds = prompt_seconds(local) if local is not None else None
                self._seconds[key] = UNKNOWN_PROMPT_SECONDS if seconds is None else seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> PromptBook:
        return cls(settings.asterisk.sounds_dir, settings.hotlines)

    # by the hotline's name, which the flows hold already (the confirm leg from its
    # arguments, Deadlines reads it once): a config model's attribute is a slow read
    def name(self, hotline_name: str, slot: str) -> str:
        return self._names[hotline_name, slot]

    def seconds(self, hotline_name: str, slot: str) -> float:
        """How long the slot's prompt plays for this hotline (an upper bound when unknown)."""
        return self._seconds[hotline_name, slot]

    def is_custom(self, hotline: HotlineConfig, slot: str) -> bool:
        return slot in hotline.prompts

    def names(self) -> Mapping[tuple[str, str], str]:
        return dict(self._names)
