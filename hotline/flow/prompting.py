"""Which sound file each prompt slot of a hotline plays, resolved once at startup."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hotline.config import HotlineConfig, Settings
from hotline.prompts.catalogue import SLOTS
from hotline.prompts.store import playback_name


class PromptBook:
    """Playback names (absolute, without extension, as Asterisk sees them) per hotline and slot."""

    def __init__(self, sounds_dir: str, hotlines: Iterable[HotlineConfig]) -> None:
        self._names: dict[tuple[str, str], str] = {}
        for hotline in hotlines:
            for prompt_slot in SLOTS:
                custom = hotline.prompts.get(prompt_slot.name)
                self._names[hotline.name, prompt_slot.name] = custom or playback_name(
                    sounds_dir, hotline.name, hotline.language, prompt_slot.name, overridden=False
                )

    @classmethod
    def from_settings(cls, settings: Settings) -> PromptBook:
        return cls(settings.asterisk.sounds_dir, settings.hotlines)

    def name(self, hotline: HotlineConfig, slot: str) -> str:
        return self._names[hotline.name, slot]

    def is_custom(self, hotline: HotlineConfig, slot: str) -> bool:
        return slot in hotline.prompts

    def names(self) -> Mapping[tuple[str, str], str]:
        return dict(self._names)
