"""convert_prompt: any input becomes exactly the telephony format, trimmed and levelled."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hotline.prompts import convert
from hotline.prompts.catalogue import FORMATS, WAV8, WAV16
from hotline.prompts.convert import (
    KEEP_LEADING_MS,
    KEEP_TRAILING_MS,
    PEAK_CEILING_DBFS,
    TARGET_RMS_DBFS,
    convert_prompt,
)
from hotline.prompts.errors import PromptError
from hotline.prompts.store import with_format
from tests.prompts.audio import measure, write_tone


@pytest.mark.parametrize("kind", ["wav", "mp3", "ogg", "flac", "m4a"])
def test_every_input_format_becomes_8k_and_16k_mono_16bit_with_silence_trimmed(
    kind: str,
    recordings: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no system ffmpeg/ffprobe may be used: only the binary imageio-ffmpeg ships
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    source = recordings[kind]
    before = measure(source) if kind == "wav" else None
    if before is not None:
        assert (before.rate, before.channels) == (44100, 2)
        assert before.leading_silence_s == pytest.approx(1.0, abs=0.01)

    report = convert_prompt(source, tmp_path / "out" / "intro")

    assert report.outputs == (tmp_path / "out" / "intro.wav", tmp_path / "out" / "intro.wav16")
    for fmt, path in zip(FORMATS, report.outputs, strict=True):
        got = measure(path)
        assert (got.rate, got.channels, got.sample_width, got.comptype) == (
            fmt.rate,
            1,
            2,
            "NONE",
        )
        # 1 s of silence each side went; the kept margins (plus encoder padding) remain
        assert got.leading_silence_s <= KEEP_LEADING_MS / 1000 + 0.06
        assert got.trailing_silence_s <= KEEP_TRAILING_MS / 1000 + 0.06
        assert got.duration_s == pytest.approx(
            1.0 + (KEEP_LEADING_MS + KEEP_TRAILING_MS) / 1000, abs=0.1
        )
        # a steady tone is levelled to the RMS target (its peak is 3 dB above, under the ceiling)
        assert got.rms_dbfs == pytest.approx(TARGET_RMS_DBFS, abs=1.0)
        assert got.peak_dbfs <= PEAK_CEILING_DBFS + 0.5
    assert report.trimmed_leading_s == pytest.approx(1.0 - KEEP_LEADING_MS / 1000, abs=0.05)
    assert report.warnings == ()


def test_result_files_are_readable_by_asterisk_and_leave_no_temp_files(
    recordings: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "custom" / "support"
    convert_prompt(recordings["flac"], out / "intro")
    assert sorted(p.name for p in out.iterdir()) == ["intro.wav", "intro.wav16"]
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_converting_again_replaces_the_prompt(recordings: dict[str, Path], tmp_path: Path) -> None:
    base = tmp_path / "intro"
    convert_prompt(recordings["wav"], base)
    first = measure(with_format(base, WAV8)).duration_s
    longer = write_tone(tmp_path / "longer.wav", tone_s=2.5)
    convert_prompt(longer, base)
    assert measure(with_format(base, WAV8)).duration_s > first + 1.0


def test_a_single_format_can_be_asked_for(recordings: dict[str, Path], tmp_path: Path) -> None:
    report = convert_prompt(recordings["wav"], tmp_path / "intro", formats=(WAV16,))
    assert report.outputs == (tmp_path / "intro.wav16",)
    assert not (tmp_path / "intro.wav").exists()


def test_a_quiet_mono_recording_is_amplified_to_the_target(tmp_path: Path) -> None:
    quiet = write_tone(tmp_path / "quiet.wav", rate=8000, channels=1, amplitude=0.01)
    report = convert_prompt(quiet, tmp_path / "intro")
    assert report.gain_db > 20
    assert measure(report.outputs[0]).rms_dbfs == pytest.approx(TARGET_RMS_DBFS, abs=1.0)


def test_a_nearly_silent_recording_is_written_with_a_warning(tmp_path: Path) -> None:
    hiss = write_tone(tmp_path / "hiss.wav", amplitude=0.001)
    report = convert_prompt(hiss, tmp_path / "intro")
    assert len(report.warnings) == 1
    assert "nearly silent" in report.warnings[0]
    assert str(hiss) in report.warnings[0]
    assert report.outputs[0].is_file()


def test_digital_silence_is_not_trimmed_away_and_warns(tmp_path: Path) -> None:
    silence = write_tone(tmp_path / "silence.wav", amplitude=0.0, lead_s=0.5, tail_s=0.5)
    report = convert_prompt(silence, tmp_path / "intro")
    assert report.duration_s == pytest.approx(2.0, abs=0.05)
    assert any("digital silence" in w for w in report.warnings)


def test_a_very_long_recording_warns(tmp_path: Path) -> None:
    long = write_tone(tmp_path / "long.wav", rate=8000, channels=1, tone_s=61, lead_s=0, tail_s=0)
    report = convert_prompt(long, tmp_path / "intro")
    assert [w for w in report.warnings if "61 s long" in w]


def test_a_wav_without_frames_is_one_line_with_or_without_ffmpeg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hollow = write_tone(tmp_path / "hollow.wav", lead_s=0, tone_s=0, tail_s=0)
    with pytest.raises(PromptError, match=r"hollow\.wav: it contains no audio; record"):
        convert_prompt(hollow, tmp_path / "intro")
    monkeypatch.setattr(convert, "find_ffmpeg", lambda: None)
    with pytest.raises(PromptError, match=r"hollow\.wav: it contains no audio; record"):
        convert_prompt(hollow, tmp_path / "intro")


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("Dear admin, this is not a recording.\n" * 20)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(bytes((i * 37 + 11) % 256 for i in range(4000)))
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")
    folder = tmp_path / "recordings"
    folder.mkdir()
    return {
        "zero-length": empty,
        "text renamed .wav": text,
        "corrupt mp3": corrupt,
        "truncated wav header": truncated,
        "directory": folder,
        "missing": tmp_path / "nowhere.mp3",
    }


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("zero-length", "empty (0 bytes)"),
        ("text renamed .wav", "not a readable audio file"),
        ("corrupt mp3", "not a readable audio file"),
        ("truncated wav header", "not a readable audio file"),
        ("directory", "is a directory"),
        ("missing", "no such file"),
    ],
)
def test_a_bad_input_is_one_clear_line_naming_the_file(
    case: str, says: str, tmp_path: Path
) -> None:
    source = _bad_inputs(tmp_path)[case]
    with pytest.raises(PromptError) as caught:
        convert_prompt(source, tmp_path / "out" / "intro")
    message = str(caught.value)
    assert "\n" not in message
    assert str(source) in message
    assert says in message
    assert "; " in message  # ... and what to do about it
    assert not (tmp_path / "out").exists()


def test_without_any_ffmpeg_wav_still_converts(
    recordings: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert, "find_ffmpeg", lambda: None)
    report = convert_prompt(recordings["wav"], tmp_path / "intro")
    got = [measure(p) for p in report.outputs]
    assert [(m.rate, m.channels, m.sample_width) for m in got] == [(8000, 1, 2), (16000, 1, 2)]
    assert got[0].leading_silence_s <= KEEP_LEADING_MS / 1000 + 0.02
    assert any("no ffmpeg found" in w for w in report.warnings)


@pytest.mark.parametrize("kind", ["mp3", "ogg", "flac", "m4a"])
def test_without_any_ffmpeg_other_formats_fail_with_one_line_naming_what_is_missing(
    kind: str, recordings: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert, "find_ffmpeg", lambda: None)
    with pytest.raises(PromptError) as caught:
        convert_prompt(recordings[kind], tmp_path / "intro")
    message = str(caught.value)
    assert "\n" not in message
    assert str(recordings[kind]) in message
    assert "needs ffmpeg and none was found" in message
    assert "imageio-ffmpeg" in message


def test_find_ffmpeg_uses_the_bundled_binary_without_anything_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    exe = convert.find_ffmpeg()
    assert exe is not None
    assert "imageio_ffmpeg" in exe
    assert Path(exe).is_file()


def test_conversion_logs_what_it_did(
    recordings: dict[str, Path], tmp_path: Path, captured_log: object
) -> None:
    from tests.conftest import CapturedLog

    assert isinstance(captured_log, CapturedLog)
    convert_prompt(recordings["ogg"], tmp_path / "intro")
    (event,) = captured_log.named("prompt_converted")
    assert event["source"] == str(recordings["ogg"])
    assert event["outputs"] == [str(tmp_path / "intro.wav"), str(tmp_path / "intro.wav16")]
