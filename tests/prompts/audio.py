"""Test audio made with the stdlib (wave/array/math) and measured the same way."""

from __future__ import annotations

import array
import math
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

#: a sample at or below this fraction of full scale counts as silence when measuring
SILENCE_FRACTION = 0.01


def write_tone(
    path: Path,
    *,
    rate: int = 44100,
    channels: int = 2,
    lead_s: float = 1.0,
    tone_s: float = 1.0,
    tail_s: float = 1.0,
    amplitude: float = 0.3,
    frequency: float = 440.0,
) -> Path:
    """A 16-bit WAV: silence, a sine tone (same in every channel), silence."""
    samples = array.array("h")
    lead, tone, tail = (round(s * rate) for s in (lead_s, tone_s, tail_s))
    level = amplitude * 32767
    frames = [0] * lead
    frames += [round(level * math.sin(2 * math.pi * frequency * n / rate)) for n in range(tone)]
    frames += [0] * tail
    for value in frames:
        samples.extend([value] * channels)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


def encode(ffmpeg: str, src: Path, dst: Path, *codec_args: str) -> Path:
    """Encode ``src`` with the bundled ffmpeg (the codec follows ``dst``'s extension)."""
    subprocess.run(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(src), *codec_args, str(dst)],
        check=True,
    )
    return dst


@dataclass(frozen=True)
class Measured:
    rate: int
    channels: int
    sample_width: int
    comptype: str
    duration_s: float
    leading_silence_s: float
    trailing_silence_s: float
    rms_dbfs: float
    peak_dbfs: float


def measure(path: Path) -> Measured:
    """Format and level of a PCM WAV, read with the wave module only."""
    with wave.open(str(path), "rb") as wav:
        rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
        comptype = wav.getcomptype()
        raw = wav.readframes(wav.getnframes())
    samples = array.array("h", raw) if width == 2 else array.array("h")
    frames = len(samples) // max(channels, 1)
    floor = SILENCE_FRACTION * 32768
    n = len(samples)
    first_i = next((i for i in range(n) if abs(samples[i]) > floor), n)
    last_i = next((i for i in range(n - 1, -1, -1) if abs(samples[i]) > floor), n - 1)
    first = first_i // max(channels, 1)
    last = last_i // max(channels, 1) + 1 if first_i < n else frames
    rms = math.sqrt(sum(v * v for v in samples) / len(samples)) if samples else 0.0
    peak = max((abs(v) for v in samples), default=0)
    return Measured(
        rate=rate,
        channels=channels,
        sample_width=width,
        comptype=comptype,
        duration_s=frames / rate,
        leading_silence_s=first / rate,
        trailing_silence_s=(frames - last) / rate,
        rms_dbfs=20 * math.log10(rms / 32768) if rms else -math.inf,
        peak_dbfs=20 * math.log10(peak / 32768) if peak else -math.inf,
    )
