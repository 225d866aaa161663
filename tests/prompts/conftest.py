"""Fixtures for the prompt tests: the bundled ffmpeg and test recordings in every input format."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.prompts.convert import find_ffmpeg
from tests.prompts.audio import encode, write_tone


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    exe = find_ffmpeg()
    assert exe is not None, "imageio-ffmpeg ships an ffmpeg binary; the dependency is broken"
    return exe


@pytest.fixture(scope="session")
def recordings(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> dict[str, Path]:
    """1 s silence + 1 s tone + 1 s silence at 44.1 kHz stereo, as WAV, MP3, OGG, FLAC, M4A."""
    root = tmp_path_factory.mktemp("recordings")
    wav = write_tone(root / "tone.wav")
    return {
        "wav": wav,
        "mp3": encode(ffmpeg, wav, root / "tone.mp3", "-c:a", "libmp3lame", "-b:a", "128k"),
        "ogg": encode(ffmpeg, wav, root / "tone.ogg", "-c:a", "libvorbis"),
        "flac": encode(ffmpeg, wav, root / "tone.flac", "-c:a", "flac"),
        "m4a": encode(ffmpeg, wav, root / "tone.m4a", "-c:a", "aac", "-b:a", "128k"),
    }
