"""Opening hours, holidays and shifts: what a hotline's schedule says at a given moment.

:mod:`~hotline.schedule.ranges` parses the admin's ranges, :mod:`~hotline.schedule.engine`
decides (pure, the moment is passed in), :mod:`~hotline.schedule.report` prints it.
The config models are in :mod:`hotline.config.schedule`.
"""
