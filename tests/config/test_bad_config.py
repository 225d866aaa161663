"""``hotline check`` on bad configs: exit 2, one line per problem naming the field."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.licensing import verify
from tests.ami.stack import Vendor
from tests.cli.conftest import cli

GOOD_HOTLINE = """
[[hotlines]]
name = "support"
pin = "1234"
[[hotlines.targets]]
number = "201"
"""


def _target(number: str = "201", extra: str = "") -> str:
    return f'[[hotlines]]\nname = "support"\n{extra}\n[[hotlines.targets]]\nnumber = "{number}"\n'


def assert_one_line(capsys: pytest.CaptureFixture[str], code: int, start: str, words: str) -> None:
    """Exit 2 and exactly one line on stderr, starting with ``start`` and saying ``words``."""
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(start), lines[0]
    assert words in lines[0]
    assert "Traceback" not in out + err


# (id, toml text, expected field path, expected words in the message)
BAD_CONFIGS = [
    ("toml-syntax", 'name = "x\n', "TOML syntax error", "line 1"),
    ("unknown-top-key", "[asterisk]\nhots = 1\n" + GOOD_HOTLINE, "asterisk.hots", "unknown key"),
    (
        "unknown-target-key",
        GOOD_HOTLINE + 'lable = "typo"\n',
        "hotlines[0].targets[0].lable",
        "unknown key",
    ),
    ("pin-not-digits", _target(extra='pin = "12a4"'), "hotlines[0].pin", "digits only"),
    ("no-targets", '[[hotlines]]\nname = "x"\ntargets = []\n', "hotlines[0].targets", "empty"),
    ("missing-targets", '[[hotlines]]\nname = "x"\n', "hotlines[0].targets", "missing"),
    ("no-hotlines", "[agi]\nport = 4573\n", "hotlines", "missing"),
    (
        "duplicate-names",
        GOOD_HOTLINE + GOOD_HOTLINE.replace('"1234"', '"99"'),
        "hotlines[1].name",
        "already used",
    ),
    ("dial-without-number", _target(extra='dial = "PJSIP/201"'), "hotlines[0].dial", "{number}"),
    (
        "dial-other-placeholder",
        _target(extra='dial = "PJSIP/{number}@{host}"'),
        "hotlines[0].dial",
        "unknown placeholder",
    ),
    ("ring-time-zero", _target(extra="ring_time = 0"), "hotlines[0].ring_time", "greater than"),
    ("ring-time-too-long", _target(extra="ring_time = 601"), "hotlines[0].ring_time", "600"),
    (
        "target-ring-time-zero",
        GOOD_HOTLINE + "ring_time = 0\n",
        "hotlines[0].targets[0].ring_time",
        "greater than",
    ),
    ("number-with-space", _target(number="20 1"), "hotlines[0].targets[0].number", "space"),
    ("number-with-comma", _target(number="201,t"), "hotlines[0].targets[0].number", "comma"),
    ("number-with-caret", _target(number="201^x"), "hotlines[0].targets[0].number", "'^'"),
    ("number-with-quote", _target(number='20\\"1'), "hotlines[0].targets[0].number", "quote"),
    ("number-with-newline", _target(number="20\\n1"), "hotlines[0].targets[0].number", "newline"),
    ("dial-with-pipe", _target(extra='dial = "PJSIP/{number}|t"'), "hotlines[0].dial", "'|'"),
    (
        "label-with-newline",
        GOOD_HOTLINE + 'label = "Anna\\nrm"\n',
        "hotlines[0].targets[0].label",
        "newline",
    ),
    ("agi-port-too-high", "[agi]\nport = 70000\n" + GOOD_HOTLINE, "agi.port", "65535"),
    ("ami-port-zero", "[asterisk]\nport = 0\n" + GOOD_HOTLINE, "asterisk.port", "greater than"),
    ("bad-language", _target(extra='language = "fr"'), "hotlines[0].language", "'de' or 'en'"),
    ("bad-name", _target().replace('"support"', '"sup port"'), "hotlines[0].name", "usable name"),
    (
        "same-confirm-digits",
        GOOD_HOTLINE + '[hotlines.confirm]\ndigit = "2"\n',
        "hotlines[0].confirm",
        "differ",
    ),
    (
        "secret-file-missing",
        '[asterisk]\nsecret_file = "/nonexistent/ami"\n' + GOOD_HOTLINE,
        "asterisk",
        "cannot read /nonexistent/ami",
    ),
    ("bad-log-level", "[logging]\nlevel = 'LOUD'\n" + GOOD_HOTLINE, "logging.level", "'DEBUG'"),
    ("section-not-a-table", "agi = 5\n" + GOOD_HOTLINE, "agi", "must be a table"),
    ("hotlines-not-a-list", "hotlines = 3\n", "hotlines", "must be a list"),
    (
        "sounds-dir-relative",
        '[asterisk]\nsounds_dir = "sounds"\n' + GOOD_HOTLINE,
        "asterisk.sounds_dir",
        "must be an absolute path",
    ),
    (
        "sounds-dir-with-space",
        '[asterisk]\nsounds_dir = "/srv/my sounds"\n' + GOOD_HOTLINE,
        "asterisk.sounds_dir",
        "space",
    ),
    (
        "log-file-with-nul",
        '[logging]\nfile = "/var/log/a\\u0000b"\n' + GOOD_HOTLINE,
        "logging.file",
        "NUL byte",
    ),
    (
        "pin-file-with-nul",
        _target(extra='pin_file = "/run/secrets/\\u0000"'),
        "hotlines[0].pin_file",
        "cannot read '/run/secrets/\\x00': the path contains a NUL byte",
    ),
    (
        "unknown-strategy",
        _target(extra='[hotlines.hunt]\nstrategy = "zigzag"'),
        "hotlines[0].hunt.strategy",
        "'round_robin'",
    ),
    (
        "unknown-skip-rule",
        _target(extra="[hotlines.hunt.skip]\nbusy_phones = true"),
        "hotlines[0].hunt.skip.busy_phones",
        "unknown key",
    ),
    (
        "device-local-channel",
        GOOD_HOTLINE + 'device = "Local/201@from-internal"\n',
        "hotlines[0].targets[0].device",
        "no device state",
    ),
    (
        "device-not-a-device",
        GOOD_HOTLINE + 'device = "201"\n',
        "hotlines[0].targets[0].device",
        "cannot be a device",
    ),
    (
        "target-in-two-steps",
        _target(
            extra='[[hotlines.hunt.steps]]\ntargets = ["201"]\n'
            '[[hotlines.hunt.steps]]\ntargets = ["201"]'
        ),
        "hotlines[0].hunt.steps[1].targets",
        "already in hunt.steps[0]",
    ),
    (
        "step-names-an-unknown-target",
        _target(extra='[[hotlines.hunt.steps]]\ntargets = ["201", "299"]'),
        "hotlines[0].hunt.steps[0].targets",
        "'299' is not one of this hotline's targets",
    ),
    (
        "delay-outlasts-its-step",
        GOOD_HOTLINE.replace('number = "201"', 'number = "201"\ndelay = 30')
        + '[[hotlines.targets]]\nnumber = "202"\n'
        '[[hotlines.hunt.steps]]\ntargets = ["201", "202"]\nring_time = 20\n',
        "hotlines[0].targets[0].delay",
        "not shorter than the ring time of hunt.steps[0] (20 s)",
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [pytest.param(text, field, words, id=case) for case, text, field, words in BAD_CONFIGS],
)
def test_bad_config_exits_2_with_one_line_naming_the_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    field: str,
    words: str,
) -> None:
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    config = tmp_path / "hotline.toml"
    config.write_text(text, encoding="utf-8")

    code = main(["check", str(config)])

    assert_one_line(capsys, code, f"{config}: {field}", words)


# (id, environment, expected start of the line, expected words); the config is GOOD_HOTLINE
BAD_ENVIRONMENTS = [
    (
        "hotlines-not-json",
        {"HOTLINE_HOTLINES": "not json"},
        "environment: HOTLINE_HOTLINES: not valid JSON",
        "write it as JSON",
    ),
    (
        "json-nested-too-deeply",
        {"HOTLINE_ASTERISK": "[" * 100_000 + "]" * 100_000},
        "environment: HOTLINE_ASTERISK: not valid JSON",
        "nested too deeply",
    ),
    (
        "value-out-of-range",
        {"HOTLINE_AGI__PORT": "70000"},
        "environment: HOTLINE_AGI__PORT: agi.port",
        "65535",
    ),
    (
        "unknown-key",
        {"HOTLINE_AGI__PROT": "4600"},
        "environment: HOTLINE_AGI__PROT: agi.prot",
        "unknown key",
    ),
    (
        "unknown-section",
        {"HOTLINE_ASTRISK__HOST": "pbx"},
        "environment: HOTLINE_ASTRISK__HOST",
        "unknown setting",
    ),
    (
        "index-past-the-end",
        {"HOTLINE_HOTLINES__3__PIN": "1234"},
        "environment: HOTLINE_HOTLINES__3__PIN: hotlines has 1 entry",
        "'3' is not an index",
    ),
    (
        "key-under-a-single-value",
        {"HOTLINE_AGI__PORT__X": "1"},
        "environment: HOTLINE_AGI__PORT__X: agi.port is a single value",
        "agi.port.x does not exist",
    ),
    (
        "bad-value-in-a-json-table",
        {"HOTLINE_ASTERISK": '{"host": "pbx one"}'},
        "environment: HOTLINE_ASTERISK: asterisk.host",
        "space",
    ),
    (
        "section-not-json-table",
        {"HOTLINE_AGI": "5"},
        "environment: HOTLINE_AGI: agi",
        "must be a table",
    ),
    (
        "secret-file-is-dev-zero",
        {"HOTLINE_ASTERISK__SECRET_FILE": "/dev/zero"},
        "environment: HOTLINE_ASTERISK__SECRET_FILE: asterisk.secret_file",
        "cannot read /dev/zero: is a character device, not a regular file",
    ),
]


@pytest.mark.parametrize(
    ("environ", "start", "words"),
    [pytest.param(env, start, words, id=case) for case, env, start, words in BAD_ENVIRONMENTS],
)
def test_bad_environment_exits_2_with_one_line_naming_the_variable(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    start: str,
    words: str,
) -> None:
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "hotline.toml"
    config.write_text(GOOD_HOTLINE, encoding="utf-8")

    code = main(["check", str(config)])

    assert_one_line(capsys, code, start, words)


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def _huge(tmp_path: Path) -> Path:
    path = tmp_path / "huge"
    with path.open("wb") as file:
        file.truncate(1 << 30)  # 1 GiB, sparse
    return path


def _directory(tmp_path: Path) -> Path:
    return tmp_path


def _dev_zero(tmp_path: Path) -> Path:
    return Path("/dev/zero")


def _nested(text: str) -> Callable[[Path], Path]:
    def write(tmp_path: Path) -> Path:
        path = tmp_path / "nested.toml"
        path.write_text(f"[agi]\nx = {text}\n" + GOOD_HOTLINE, encoding="utf-8")
        return path

    return write


# (id, makes the config file, expected words); the line starts with the file's name
BAD_CONFIG_FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("dev-zero", _dev_zero, "is a character device, not a regular file"),
    ("fifo", _fifo, "is a FIFO (named pipe), not a regular file"),
    ("1-gib", _huge, "is too large (1 GiB; at most 1 MiB is read)"),
    ("directory", _directory, "is a directory"),
    ("inline-tables-5000-deep", _nested("{a = " * 5000 + "1" + "}" * 5000), "nested too deeply"),
    ("arrays-100000-deep", _nested("[" * 100_000 + "]" * 100_000), "nested too deeply"),
]


@pytest.mark.timeout(10)  # a FIFO must be refused, not waited on
@pytest.mark.parametrize(
    ("make", "words"),
    [pytest.param(make, words, id=case) for case, make, words in BAD_CONFIG_FILES],
)
def test_unusable_config_file_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    words: str,
) -> None:
    config = make(tmp_path)

    code = main(["check", str(config)])

    assert_one_line(capsys, code, f"{config}: ", words)


# (id, the setting, makes the file it names, expected words)
BAD_SECRET_FILES: list[tuple[str, str, Callable[[Path], Path], str]] = [
    ("pin-file-dev-zero", "hotlines[0].pin_file", _dev_zero, "is a character device"),
    ("pin-file-directory", "hotlines[0].pin_file", _directory, "is a directory"),
    ("secret-file-fifo", "asterisk.secret_file", _fifo, "is a FIFO (named pipe)"),
    ("module-key-file-1-gib", "license.module_key_file", _huge, "is too large (1 GiB"),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("field", "make", "words"),
    [pytest.param(field, make, words, id=case) for case, field, make, words in BAD_SECRET_FILES],
)
def test_unusable_secret_file_exits_2_with_one_line_naming_the_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    field: str,
    make: Callable[[Path], Path],
    words: str,
) -> None:
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    secret = make(tmp_path)
    section, key = field.rsplit(".", 1)
    setting = f'{key} = "{secret}"\n'
    if section.startswith("hotlines"):
        text = GOOD_HOTLINE.replace('pin = "1234"\n', setting)
    else:
        text = f"[{section}]\n{setting}" + GOOD_HOTLINE
    config = tmp_path / "hotline.toml"
    config.write_text(text, encoding="utf-8")

    code = main(["check", str(config)])

    assert_one_line(capsys, code, f"{config}: {field}: cannot read {secret}: ", words)


SERVER_KEY = "PBX-TEST-0001"


@pytest.fixture
def licensed(monkeypatch: pytest.MonkeyPatch) -> str:
    """A module key for this installation (``SERVER_KEY``), trusted as the vendor's would be."""
    vendor = Vendor.new()
    monkeypatch.setattr(verify, "vendor_public_key", lambda: vendor.verifier.public_key)
    return vendor.key_for(server_key=SERVER_KEY)


@pytest.fixture
def listener() -> Iterator[int]:
    """A port on 127.0.0.1 that something else listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# (id, [agi] and [logging] lines (``{busy}``: a port in use, ``{tmp}``: a directory),
#  expected start of the line, expected words)
BAD_RUNS = [
    (
        "port-in-use",
        'bind = "127.0.0.1"\nport = {busy}',
        "agi.port: 127.0.0.1:{busy} is already in use",
        "set another agi.port",
    ),
    (
        "bind-address-not-this-machines",
        'bind = "192.0.2.1"',  # TEST-NET-1 (RFC 5737): never a local address
        "agi.bind: 192.0.2.1 is not an address of this machine",
        "0.0.0.0",
    ),
    (
        "bind-host-unresolvable",
        'bind = "no-such-host.invalid"',  # .invalid never resolves (RFC 2606)
        "agi.bind: cannot resolve 'no-such-host.invalid'",
        "use an IP address",
    ),
    (
        "log-file-is-a-directory",
        '[logging]\nfile = "{tmp}"',
        "{config}: logging.file: {tmp} is a directory",
        "name a file in it",
    ),
    (
        "log-file-in-a-missing-directory",
        '[logging]\nfile = "{tmp}/missing/hotline.log"',
        "{config}: logging.file: the directory {tmp}/missing does not exist",
        "create it",
    ),
    (
        "log-file-not-appendable",
        '[logging]\nfile = "/proc/version"',  # a file the kernel will not open for writing
        "logging.file: cannot append to /proc/version: ",
        "/proc/version",
    ),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("settings", "start", "words"),
    [pytest.param(settings, start, words, id=case) for case, settings, start, words in BAD_RUNS],
)
def test_run_startup_mistake_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    licensed: str,
    listener: int,
    settings: str,
    start: str,
    words: str,
) -> None:
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    config = tmp_path / "hotline.toml"
    values = {"busy": listener, "tmp": tmp_path, "config": config}
    config.write_text(
        "[asterisk]\nenabled = false\n"
        f'[license]\nmodule_key = "{licensed}"\nserver_key = "{SERVER_KEY}"\n'
        f"[agi]\n{settings.format(**values)}\n" + GOOD_HOTLINE,
        encoding="utf-8",
    )

    code = cli(["run", "--config", str(config)])

    assert_one_line(capsys, code, start.format(**values), words)


def test_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(tmp_path / "absent.toml")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"{tmp_path / 'absent.toml'}: config file not found; " + (
        "copy config/hotline.toml or pass --config PATH"
    )


def test_several_problems_give_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(
        "[agi]\nport = 0\n" + _target(number="1 2", extra='pin = "x"'), encoding="utf-8"
    )
    assert main(["check", str(config)]) == 2
    lines = capsys.readouterr().err.splitlines()
    fields = sorted(line.split(": ")[1] for line in lines)
    assert fields == ["agi.port", "hotlines[0].pin", "hotlines[0].targets[0].number"]


def test_example_config_checks_ok(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).parents[2] / "config" / "hotline.toml"
    assert main(["check", str(example)]) == 0
    out = capsys.readouterr().out
    assert "configuration OK, 3 hotlines" in out
    assert "1234" not in out  # the PIN is never printed


def test_check_reports_a_missing_custom_prompt_by_hotline_and_slot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "custom" / "support" / "intro"
    config = tmp_path / "hotline.toml"
    config.write_text(
        GOOD_HOTLINE.replace(
            "[[hotlines.targets]]", f'[hotlines.prompts]\nintro = "{missing}"\n[[hotlines.targets]]'
        ),
        encoding="utf-8",
    )
    assert main(["check", str(config)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("hotline support, prompt intro: ")
    assert str(missing) in line
    assert "hotline prompts convert" in line


def test_unknown_prompt_slot_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(
        GOOD_HOTLINE.replace(
            "[[hotlines.targets]]", '[hotlines.prompts]\nintr = "/x/intro"\n[[hotlines.targets]]'
        ),
        encoding="utf-8",
    )
    assert main(["check", str(config)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "hotlines[0].prompts.intr" in line
    assert "not a prompt slot" in line


@pytest.mark.timeout(10)  # a FIFO is named, not opened
def test_custom_prompt_that_is_a_fifo_is_named_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "intro.wav")
    config = tmp_path / "hotline.toml"
    config.write_text(
        GOOD_HOTLINE.replace(
            "[[hotlines.targets]]",
            f'[hotlines.prompts]\nintro = "{tmp_path / "intro"}"\n[[hotlines.targets]]',
        ),
        encoding="utf-8",
    )
    assert main(["check", str(config)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("hotline support, prompt intro: ")
    assert f"{tmp_path / 'intro.wav'} is not a regular file" in line
