"""The ``[metrics]`` section: whether ``/metrics`` is served (on ``[http]``'s address)."""

from __future__ import annotations

from hotline.config.fields import ConfigModel


class MetricsConfig(ConfigModel):
    """``/metrics`` for Prometheus, on the runtime's one web address (``[http]``)."""

    enabled: bool = False
