"""Alembic's entry point: migrate the connection the runtime hands over.

The runtime passes an open connection in ``config.attributes["connection"]``
(see :func:`hotline.journal.store.migrate`); the ``alembic`` command line for
maintainers connects with ``sqlalchemy.url`` from alembic.ini instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from hotline.journal.schema import metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    with create_engine(url).connect() as own:
        _migrate(own)


run()
