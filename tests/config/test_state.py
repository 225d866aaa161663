"""``[state]``: Redis for shared state, its password from a file, one-line mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import load_settings
from hotline.errors import ConfigError

MINIMAL = """
[[hotlines]]
name = "support"
dial = "Local/{number}@agents"
[[hotlines.targets]]
number = "201"
"""


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    return path


def test_unset_means_in_process(minimal: Path) -> None:
    state = load_settings(minimal, {}).state
    assert not state.shared
    assert state.where() == "in-process"
    assert state.runtime_id


def test_url_and_password_file_from_the_environment(tmp_path: Path, minimal: Path) -> None:
    (tmp_path / "redis-pass").write_text("s3cret-redis\n", encoding="utf-8")
    settings = load_settings(
        minimal,
        {
            "HOTLINE_STATE__REDIS_URL": "redis://redis.example:6380/2",
            "HOTLINE_STATE__REDIS_PASSWORD_FILE": str(tmp_path / "redis-pass"),
            "HOTLINE_STATE__RUNTIME_ID": "rt-a",
        },
    )
    state = settings.state
    assert state.shared
    assert state.redis_password is not None
    assert state.redis_password.get_secret_value() == "s3cret-redis"
    assert state.where() == "redis://redis.example:6380"
    assert "s3cret-redis" not in repr(settings)


def test_a_password_in_the_url_is_never_shown(minimal: Path) -> None:
    state = load_settings(minimal, {"HOTLINE_STATE__REDIS_URL": "redis://:pw123@db:6379/0"}).state
    assert "pw123" not in state.where()
    assert "pw123" not in repr(state)


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        (
            {"HOTLINE_STATE__REDIS_URL": "http://db:6379"},
            "state.redis_url: scheme 'http' is not redis://, rediss:// or unix://",
        ),
        (
            {"HOTLINE_STATE__REDIS_URL": "redis://db:port"},
            "state.redis_url: is not a URL; use redis://host:6379/0",
        ),
        ({"HOTLINE_STATE__TIMEOUT": "0"}, "state.timeout: Input should be greater than 0"),
        (
            {"HOTLINE_STATE__RUNTIME_ID": "a b"},
            "state.runtime_id: may hold only letters, digits, '.', '_' and '-' (1-64)",
        ),
        (
            {"HOTLINE_STATE__REDIS_PASSWORD_FILE": "/nonexistent/redis-pass"},
            "state.redis_password_file: cannot read /nonexistent/redis-pass",
        ),
    ],
)
def test_mistakes_are_one_line(minimal: Path, env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(minimal, env)
    assert len(info.value.problems) == 1
    variable = next(iter(env))
    assert info.value.problems[0].startswith(f"environment: {variable}: {problem}")
