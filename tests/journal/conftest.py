"""Journal fixtures: a real SQLite file, and a real PostgreSQL server started for the session."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.config.journal import JournalConfig
from tests.postgres import PostgresServer, PostgresUnavailable

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
        server.init()
        server.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL cannot start here: {exc}")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    if not postgres_server.running:  # a test that stopped it failed before restarting it
        postgres_server.start()
    return postgres_server.create_database(f"journal_{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_config(request: pytest.FixtureRequest, tmp_path: Path) -> JournalConfig:
    """The journal on a real SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return JournalConfig(enabled=True, path=tmp_path / "journal.sqlite", caller="full")
    url: str = request.getfixturevalue("postgres_url")
    return JournalConfig.model_validate({"enabled": True, "url": url, "caller": "full"})
