"""Loading good configs: defaults, environment overrides, secrets from files."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import config_path, load_settings
from hotline.errors import ConfigError

MINIMAL = """
[[hotlines]]
name = "support"
dial = "Local/{number}@agents"
[[hotlines.targets]]
number = "201"
[[hotlines.targets]]
number = "+4930123"
ring_time = 7
dial = "PJSIP/{number}@trunk"
"""


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    return path


def test_defaults_and_per_target_overrides(minimal: Path) -> None:
    settings = load_settings(minimal, {})
    hotline = settings.hotline("support")
    assert settings.agi.bind == "127.0.0.1"
    assert settings.agi.port == 4573
    assert hotline.pin is None
    assert hotline.rounds == 1
    first, second = hotline.targets
    assert hotline.ring_time_for(first) == 20
    assert hotline.ring_time_for(second) == 7
    assert hotline.dial_string_for(first) == "Local/201@agents"
    assert hotline.dial_string_for(second) == "PJSIP/+4930123@trunk"


def test_settings_are_frozen(minimal: Path) -> None:
    settings = load_settings(minimal, {})
    with pytest.raises(ValueError, match="frozen"):
        settings.agi.port = 1  # type: ignore[misc]


def test_environment_overrides_nested_values(minimal: Path) -> None:
    settings = load_settings(
        minimal,
        {
            "HOTLINE_AGI__PORT": "4600",
            "HOTLINE_ASTERISK__HOST": "pbx.example.org",
            "HOTLINE_LOGGING__LEVEL": "debug",
            "HOTLINE_CONFIG": "ignored-here",
            "UNRELATED": "x",
        },
    )
    assert settings.agi.port == 4600
    assert settings.asterisk.host == "pbx.example.org"
    assert settings.logging.level == "DEBUG"
    assert settings.hotlines[0].name == "support"  # TOML values survive a partial override


def test_environment_value_is_validated(minimal: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(minimal, {"HOTLINE_AGI__PORT": "0"})
    assert info.value.problems[0].endswith(
        "agi.port: Input should be greater than or equal to 1 (got '0')"
    )


def test_environment_sets_a_list_entry_and_merges_tables(minimal: Path) -> None:
    settings = load_settings(
        minimal,
        {
            "HOTLINE_HOTLINES__0__PIN": "4711",
            "HOTLINE_HOTLINES__0__TARGETS__1__RING_TIME": "9",
            "HOTLINE_ASTERISK": '{"host": "pbx", "port": 5039}',
            "HOTLINE_ASTERISK__PORT": "5040",
            "HOTLINE_HOTLINES__0__PROMPTS": '{"intro": "/srv/sounds/intro"}',
        },
    )
    hotline = settings.hotlines[0]
    assert hotline.pin_value == "4711"
    assert [t.ring_time for t in hotline.targets] == [None, 9]
    assert hotline.targets[1].dial == "PJSIP/{number}@trunk"  # the file's other keys stay
    assert (settings.asterisk.host, settings.asterisk.port) == ("pbx", 5040)
    assert hotline.prompts == {"intro": "/srv/sounds/intro"}


def test_environment_json_list_replaces_the_files_list(minimal: Path) -> None:
    settings = load_settings(
        minimal,
        {"hotline_hotlines": '[{"name": "sales", "targets": [{"number": "300"}]}]'},
    )
    assert [(h.name, h.targets[0].number) for h in settings.hotlines] == [("sales", "300")]


def test_unknown_environment_setting_is_an_error(minimal: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(minimal, {"HOTLINE_ASTRISK__HOST": "x"})
    assert info.value.problems == ["environment: HOTLINE_ASTRISK__HOST: unknown setting (a typo?)"]


def test_secrets_from_files(tmp_path: Path, minimal: Path) -> None:
    (tmp_path / "ami").write_text("s3cret-ami\n", encoding="utf-8")
    (tmp_path / "key").write_text("HL1-ABCDE\n", encoding="utf-8")
    (tmp_path / "pin").write_text("4711\n", encoding="utf-8")
    text = MINIMAL.replace('dial = "Local', f'pin_file = "{tmp_path / "pin"}"\ndial = "Local', 1)
    minimal.write_text(text, encoding="utf-8")
    settings = load_settings(
        minimal,
        {
            "HOTLINE_ASTERISK__SECRET_FILE": str(tmp_path / "ami"),
            "HOTLINE_LICENSE__MODULE_KEY_FILE": str(tmp_path / "key"),
        },
    )
    assert settings.asterisk.secret is not None
    assert settings.asterisk.secret.get_secret_value() == "s3cret-ami"
    assert settings.license.module_key is not None
    assert settings.license.module_key.get_secret_value() == "HL1-ABCDE"
    assert settings.hotlines[0].pin_value == "4711"
    assert "s3cret-ami" not in repr(settings)


def test_secret_and_secret_file_together_is_an_error(tmp_path: Path, minimal: Path) -> None:
    (tmp_path / "ami").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="both secret and secret_file are set"):
        load_settings(
            minimal,
            {
                "HOTLINE_ASTERISK__SECRET": "y",
                "HOTLINE_ASTERISK__SECRET_FILE": str(tmp_path / "ami"),
            },
        )


def test_config_path_precedence() -> None:
    assert config_path("a.toml", {"HOTLINE_CONFIG": "b.toml"}) == Path("a.toml")
    assert config_path(None, {"HOTLINE_CONFIG": "b.toml"}) == Path("b.toml")
    assert config_path(None, {}) == Path("config/hotline.toml")


def test_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[[hotlines]]\nname = "b\xfcro"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert info.value.problems == [f"{path}: not UTF-8 text (line 2); save the file as UTF-8"]
