"""Alembic migrations of the journal, applied on every start
by :func:`~hotline.journal.store.migrate`.

Add one with ``alembic -c hotline/journal/migrations/alembic.ini revision -m "..."`` and
write its ``upgrade()`` by hand: data already stored must survive every step.
"""
