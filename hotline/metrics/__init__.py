"""Prometheus metrics: what the runtime does right now, for people who alert on it.

* :mod:`~hotline.config.metrics`: the ``[metrics]`` section;
* :mod:`~hotline.metrics.collect`: the metrics, fed by call events and the runtime;
* :mod:`~hotline.metrics.server`: the HTTP endpoint (``/metrics``).
"""
