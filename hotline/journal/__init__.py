"""The call journal: every call and dial attempt, stored for reports (``hotline report``).

* :mod:`~hotline.config.journal`: the ``[journal]`` section;
* :mod:`~hotline.journal.schema`: the tables (SQLAlchemy Core);
* :mod:`~hotline.journal.migrations`: their history (Alembic), applied on start;
* :mod:`~hotline.journal.store`: engine, migration, batch insert, retention;
* :mod:`~hotline.journal.privacy`: how a caller's number is stored;
* :mod:`~hotline.journal.writer`: the call observer with its bounded queue and batch writer;
* :mod:`~hotline.journal.report` and :mod:`~hotline.journal.render`: ``hotline report``.
"""
