"""Turn an admin's recording into telephony prompts Asterisk plays as they are.

Any WAV/MP3/OGG/FLAC/M4A at any rate and channel count becomes mono 16-bit
PCM WAV at 8 kHz (``.wav``) and 16 kHz (``.wav16``): mixed down, leading and
trailing silence trimmed, levelled to a common loudness (RMS target with a
peak ceiling), with warnings for a result that is very long or nearly silent.

pydub does the audio work (mixing, silence detection, gain, fades, WAV
writing).  Decoding and resampling run the ffmpeg binary that the
``imageio-ffmpeg`` dependency ships, called directly: pydub's ``from_file``
would also call ``ffprobe``, which that package does not ship.  Without any
ffmpeg, 16-bit PCM WAV input still converts (pydub's simpler resampler) and
every other input fails with one line saying what is missing.

Conversion is blocking, CPU-bound work (a subprocess and pure-Python loops):
it must never run on the event loop while calls are served.  The runtime
never converts while serving; ``hotline prompts convert`` is an offline
command.  An async caller that must convert uses ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
import math
import shutil
import struct
import subprocess
import tempfile
import warnings
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.logs import get_logger
from hotline.prompts.catalogue import FORMATS, AudioFormat
from hotline.prompts.errors import PromptError
from hotline.prompts.store import with_format, write_atomically

# pydub warns at import time when no ffmpeg is on PATH (we never use its
# lookup) and imports the deprecated stdlib audioop; neither is news.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError
    from pydub.silence import detect_leading_silence

log = get_logger()

#: loudness every prompt is levelled to (RMS of the trimmed audio, dBFS)
TARGET_RMS_DBFS = -20.0
#: no sample may end up louder than this (dBFS); wins over the RMS target
PEAK_CEILING_DBFS = -1.0
#: never amplify more than this: a whisper stays a (loud) whisper, noise is not blown up
MAX_GAIN_DB = 30.0
#: a 10 ms chunk quieter than this many dB below the loudest sample counts as silence
SILENCE_BELOW_PEAK_DB = 40.0
#: silence kept before the first and after the last sound, so onsets and tails survive
KEEP_LEADING_MS = 50
KEEP_TRAILING_MS = 150
#: short fades against clicks at the cut points
FADE_MS = 5
#: a prompt longer than this (seconds) is probably the wrong file, or a whole announcement
LONG_PROMPT_S = 60.0
#: a recording whose RMS after trimming is below this (dBFS) is nearly silent
NEARLY_SILENT_DBFS = -50.0

_SUPPORTED = "WAV, MP3, OGG, FLAC or M4A"
_FFMPEG_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ConversionReport:
    """What :func:`convert_prompt` did, for the command's output and the log."""

    source: Path
    #: the files written, one per format, in the order of ``formats``
    outputs: tuple[Path, ...]
    #: length of the converted prompt in seconds
    duration_s: float
    trimmed_leading_s: float
    trimmed_trailing_s: float
    gain_db: float
    #: loudness of the result (RMS, dBFS)
    rms_dbfs: float
    #: things the admin should look at; the files were written anyway
    warnings: tuple[str, ...]


def find_ffmpeg() -> str | None:
    """The ffmpeg binary to use: imageio-ffmpeg's (or IMAGEIO_FFMPEG_EXE), else PATH, else None."""
    try:
        import imageio_ffmpeg

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")
    return exe


def convert_prompt(
    src: Path,
    dst_base: Path,
    *,
    formats: Sequence[AudioFormat] = FORMATS,
) -> ConversionReport:
    """Convert ``src`` into ``dst_base.<ext>`` for every format; each file is replaced atomically.

    ``dst_base`` is the path without extension (e.g. from
    :func:`hotline.prompts.store.custom_prompt_base`).  Blocking: see the
    module docstring.
    """
    _check_source(src)
    ffmpeg = find_ffmpeg()
    audio = _decode(src, ffmpeg)
    if len(audio) == 0 or audio.frame_count() == 0:
        raise PromptError(f"cannot convert {src}: it contains no audio; record the prompt again")

    notes: list[str] = []
    audio = audio.set_channels(1)
    audio, lead_ms, trail_ms = _trim(audio)
    level_before = audio.dBFS
    if level_before < NEARLY_SILENT_DBFS:
        shown = "digital silence" if math.isinf(level_before) else f"RMS {level_before:.0f} dBFS"
        notes.append(
            f"{src} is nearly silent ({shown}); check the recording and the microphone level"
        )
    gain = _gain_for(audio)
    audio = audio.apply_gain(gain).fade_in(FADE_MS).fade_out(FADE_MS)
    duration = audio.duration_seconds
    if duration > LONG_PROMPT_S:
        notes.append(
            f"{src} is {duration:.0f} s long (more than {LONG_PROMPT_S:.0f} s); "
            "callers hear all of it on every call, consider a shorter recording"
        )
    if ffmpeg is None and any(fmt.rate != audio.frame_rate for fmt in formats):
        notes.append(
            "no ffmpeg found: resampled with pydub's simple resampler; "
            "reinstall imageio-ffmpeg for better quality"
        )

    encoded = [(with_format(dst_base, fmt), _encode(audio, fmt, ffmpeg, src)) for fmt in formats]
    for path, data in encoded:
        write_atomically(path, data)

    report = ConversionReport(
        source=src,
        outputs=tuple(path for path, _ in encoded),
        duration_s=duration,
        trimmed_leading_s=lead_ms / 1000,
        trimmed_trailing_s=trail_ms / 1000,
        gain_db=gain,
        rms_dbfs=audio.dBFS,
        warnings=tuple(notes),
    )
    log.info(
        "prompt_converted",
        source=str(src),
        outputs=[str(p) for p in report.outputs],
        duration_s=round(duration, 2),
        gain_db=round(gain, 1),
        trimmed_leading_s=report.trimmed_leading_s,
        trimmed_trailing_s=report.trimmed_trailing_s,
    )
    for note in notes:
        log.warning("prompt_conversion_warning", source=str(src), warning=note)
    return report


def _check_source(src: Path) -> None:
    """Catch the plain mistakes (missing, directory, empty) before any decoder sees them."""
    if src.is_dir():
        raise PromptError(
            f"cannot convert {src}: it is a directory; give the audio file(s) inside it"
        )
    try:
        size = src.stat().st_size
    except FileNotFoundError:
        raise PromptError(f"cannot convert {src}: no such file; check the path") from None
    except OSError as exc:
        raise PromptError(f"cannot convert {src}: {exc.strerror}; check the path") from None
    if size == 0:
        raise PromptError(f"cannot convert {src}: the file is empty (0 bytes); export it again")
    try:
        with src.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise PromptError(
            f"cannot convert {src}: {exc.strerror}; make the file readable for this user"
        ) from None


def _decode(src: Path, ffmpeg: str | None) -> Any:
    """``src`` as a pydub AudioSegment of 16-bit samples at the source's rate."""
    if ffmpeg is not None:
        return _decode_with_ffmpeg(src, ffmpeg)
    if _is_pcm16_wav(src):
        return _load_wav(src)
    raise PromptError(
        f"cannot convert {src}: decoding it needs ffmpeg and none was found; "
        "reinstall imageio-ffmpeg (pip install --force-reinstall imageio-ffmpeg), "
        "put ffmpeg on PATH or set IMAGEIO_FFMPEG_EXE"
    )


def _is_pcm16_wav(src: Path) -> bool:
    try:
        with wave.open(str(src), "rb") as wav:
            return wav.getsampwidth() == 2
    except (wave.Error, EOFError, OSError):
        return False


def _load_wav(src: Path) -> Any:
    try:
        # pydub leaks the handle when given a path; give it one we close
        with src.open("rb") as fh:
            return AudioSegment.from_wav(fh)
    except (CouldntDecodeError, ValueError, IndexError, EOFError, struct.error) as exc:
        raise PromptError(
            f"cannot convert {src}: not a readable WAV file ({exc}); "
            f"export it again as {_SUPPORTED}"
        ) from None


def _decode_with_ffmpeg(src: Path, ffmpeg: str) -> Any:
    with tempfile.TemporaryDirectory(prefix="hotline-prompt-") as tmp:
        decoded = Path(tmp) / "decoded.wav"
        # The first audio stream only (an M4A/video may carry more), 16-bit PCM, rate and
        # channels kept: pydub mixes and levels, ffmpeg resamples once at the end.
        _run_ffmpeg(
            ffmpeg,
            [
                "-i",
                str(src),
                "-map",
                "0:a:0",
                "-vn",
                "-c:a",
                "pcm_s16le",
                "-f",
                "wav",
                str(decoded),
            ],
            src,
        )
        return _load_wav(decoded)


def _run_ffmpeg(ffmpeg: str, args: list[str], src: Path, stdin: bytes | None = None) -> bytes:
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    if stdin is not None:
        command.remove("-nostdin")
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command,
            input=stdin,
            capture_output=True,
            timeout=_FFMPEG_TIMEOUT_S,
            check=False,
        )
    except OSError as exc:
        raise PromptError(
            f"cannot convert {src}: ffmpeg at {ffmpeg} does not run ({exc.strerror}); "
            "reinstall imageio-ffmpeg or set IMAGEIO_FFMPEG_EXE"
        ) from None
    except subprocess.TimeoutExpired:
        raise PromptError(
            f"cannot convert {src}: ffmpeg took longer than {_FFMPEG_TIMEOUT_S:.0f} s; "
            "is it a very long recording?"
        ) from None
    if done.returncode != 0:
        raise PromptError(
            f"cannot convert {src}: not a readable audio file ({_ffmpeg_reason(done.stderr)}); "
            f"export the recording again as {_SUPPORTED}"
        )
    return done.stdout


def _ffmpeg_reason(stderr: bytes) -> str:
    """ffmpeg's complaint as one short phrase (its own output spans several lines)."""
    text = stderr.decode(errors="replace")
    if "Invalid data found" in text:
        return "ffmpeg does not recognise it as audio"
    if "matches no streams" in text:
        return "no audio stream found"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "ffmpeg failed"


def _trim(audio: Any) -> tuple[Any, int, int]:
    """Cut leading/trailing silence (relative to the loudest sample); keep a short margin."""
    peak = audio.max_dBFS
    if math.isinf(peak):
        return audio, 0, 0  # all zeros: nothing to find, reported as nearly silent
    threshold = peak - SILENCE_BELOW_PEAK_DB
    lead = detect_leading_silence(audio, silence_threshold=threshold)
    trail = detect_leading_silence(audio.reverse(), silence_threshold=threshold)
    start = max(0, lead - KEEP_LEADING_MS)
    end = min(len(audio), len(audio) - trail + KEEP_TRAILING_MS)
    if end <= start:
        return audio, 0, 0
    return audio[start:end], start, len(audio) - end


def _gain_for(audio: Any) -> float:
    """Gain (dB) that brings RMS to the target without pushing the peak over the ceiling."""
    rms, peak = audio.dBFS, audio.max_dBFS
    if math.isinf(rms) or math.isinf(peak):
        return 0.0
    gain: float = min(TARGET_RMS_DBFS - rms, PEAK_CEILING_DBFS - peak, MAX_GAIN_DB)
    return gain


def _encode(audio: Any, fmt: AudioFormat, ffmpeg: str | None, src: Path) -> bytes:
    """``audio`` as the bytes of a WAV file in ``fmt`` (plain 44-byte header, PCM)."""
    out = audio.set_sample_width(fmt.sample_width).set_channels(fmt.channels)
    if out.frame_rate != fmt.rate:
        # ffmpeg's resampler is band-limited; pydub's (audioop) is the no-ffmpeg fallback
        out = _resample(out, fmt, ffmpeg, src) if ffmpeg else out.set_frame_rate(fmt.rate)
    buf = io.BytesIO()
    out.export(buf, format="wav")
    return buf.getvalue()


def _resample(audio: Any, fmt: AudioFormat, ffmpeg: str, src: Path) -> Any:
    """Resample through ffmpeg's band-limited resampler (raw PCM in and out over pipes)."""
    raw_in = ["-f", "s16le", "-ar", str(audio.frame_rate), "-ac", str(fmt.channels)]
    raw_out = ["-ar", str(fmt.rate), "-ac", str(fmt.channels), "-f", "s16le", "pipe:1"]
    data = _run_ffmpeg(ffmpeg, [*raw_in, "-i", "pipe:0", *raw_out], src, stdin=audio.raw_data)
    return AudioSegment(data=data, sample_width=2, frame_rate=fmt.rate, channels=fmt.channels)
