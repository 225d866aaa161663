"""``hotline run`` on huge pages: when it starts itself again, and that it really does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotline import __version__, heap
from hotline.heap import (
    HUGETLB_TUNABLE,
    glibc_version,
    heap_name,
    huge_pages_env,
    thp_mode,
)

GLIBC = (2, 36)


@pytest.mark.parametrize("mode", ["always", "madvise"])
def test_the_environment_gives_every_object_to_glibc_advised_for_huge_pages(mode: str) -> None:
    env = huge_pages_env({"PATH": "/bin"}, mode, GLIBC)
    assert env == {"PATH": "/bin", "PYTHONMALLOC": "malloc", "GLIBC_TUNABLES": HUGETLB_TUNABLE}


def test_tunables_of_the_admins_are_kept_and_theirs_wins() -> None:
    env = huge_pages_env({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, "madvise", GLIBC)
    assert env is not None
    assert env["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{HUGETLB_TUNABLE}"
    env = huge_pages_env({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, "madvise", GLIBC)
    assert env is not None
    assert env["GLIBC_TUNABLES"] == "glibc.malloc.hugetlb=0"


@pytest.mark.parametrize(
    ("environ", "mode", "glibc"),
    [
        ({"PYTHONMALLOC": "pymalloc"}, "madvise", GLIBC),  # the admin chose
        ({"PYTHONMALLOC": "malloc"}, "madvise", GLIBC),  # started again already
        ({}, "never", GLIBC),
        ({}, None, GLIBC),  # no transparent huge pages (not Linux)
        ({}, "madvise", (2, 31)),  # a glibc without the tunable
        ({}, "madvise", None),  # musl
    ],
)
def test_nothing_changes_where_it_cannot_or_must_not(
    environ: dict[str, str], mode: str | None, glibc: tuple[int, int] | None
) -> None:
    assert huge_pages_env(environ, mode, glibc) is None


def test_the_kernels_mode_is_the_bracketed_word(tmp_path: Path) -> None:
    enabled = tmp_path / "enabled"
    enabled.write_text("always [madvise] never\n")
    assert thp_mode(enabled) == "madvise"
    enabled.write_text("garbage\n")
    assert thp_mode(enabled) is None
    assert thp_mode(tmp_path / "missing") is None


def test_the_serving_line_names_the_heap() -> None:
    assert heap_name({}) == "pymalloc"
    assert heap_name({"PYTHONMALLOC": "malloc"}) == "malloc"
    named = heap_name({"PYTHONMALLOC": "malloc", "GLIBC_TUNABLES": HUGETLB_TUNABLE})
    assert named.startswith("malloc on huge pages")


_ENTRY = """
import sys
import hotline.command as command

def restart():
    heavy = [m for m in ("hotline.cli", "hotline.config", "pydantic") if m in sys.modules]
    print("restart", *heavy, flush=True)

command.restart_on_huge_pages = restart
sys.argv = ["hotline", *sys.argv[1:]]
sys.exit(command.main())
"""


@pytest.mark.parametrize(
    ("argv", "restarts", "code", "said"),
    [
        (["run", "--config", "missing.toml"], ["restart"], 2, "config file not found"),
        (["check", "missing.toml"], [], 2, "config file not found"),
        (["--version"], [], 0, f"hotline {__version__}"),
    ],
)
def test_only_run_starts_again_and_before_the_commands_imports(
    argv: list[str], restarts: list[str], code: int, said: str, tmp_path: Path
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _ENTRY, *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # nothing of the CLI, its config models or pydantic loaded yet: the second start is cheap
    assert [line for line in out.stdout.splitlines() if line.startswith("restart")] == restarts
    # then the command itself ran
    assert out.returncode == code, out.stderr
    assert said in out.stdout + out.stderr


def test_a_failed_restart_is_one_line_and_the_command_runs_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    monkeypatch.setattr(heap, "thp_mode", lambda: "madvise")
    monkeypatch.setattr(heap, "glibc_version", lambda: GLIBC)
    monkeypatch.setattr(os, "execve", refuse)
    heap.restart_on_huge_pages()  # returns: the process runs on as it is
    err = capsys.readouterr().err.splitlines()
    assert err == ["hotline: not started again on huge pages (Permission denied)"]


_PROBE = """
import os
from hotline.heap import restart_on_huge_pages
print("started", os.getpid(), flush=True)
restart_on_huge_pages()
objects = [{"n": n} for n in range(300_000)]  # ~70 MB of small objects
rollup = open("/proc/self/smaps_rollup").read()
huge_kb = int(rollup.split("AnonHugePages:")[1].split()[0])
print("running", os.getpid(), os.environ.get("PYTHONMALLOC"), huge_kb, flush=True)
"""


def test_the_process_starts_again_in_place_with_its_objects_on_huge_pages() -> None:
    if thp_mode() not in ("always", "madvise") or (glibc_version() or (0, 0)) < (2, 35):
        pytest.skip("this machine has no transparent huge pages or a glibc without hugetlb")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONMALLOC", "GLIBC_TUNABLES")}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    started = [line.split() for line in out.stdout.splitlines() if line.startswith("started")]
    (running,) = [line.split() for line in out.stdout.splitlines() if line.startswith("running")]
    # twice started (before and after the exec), once run on: the same process
    assert [pid for _word, pid in started] == [running[1], running[1]]
    assert running[2] == "malloc"
    assert int(running[3]) >= 32 * 1024  # most of the objects' 70 MB on huge pages
