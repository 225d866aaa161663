"""The ``[metrics]`` section: the Prometheus endpoint's address."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hotline.config.fields import ConfigModel, SafeToken


class MetricsConfig(ConfigModel):
    """``/metrics`` over HTTP for Prometheus; loopback unless you open it on purpose."""

    enabled: bool = False
    bind: SafeToken = "127.0.0.1"
    #: Prometheus exporters conventionally listen on 9xxx; 0 picks a free port (tests)
    port: Annotated[int, Field(ge=0, le=65535)] = 9464

    def url(self, port: int | None = None) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{self.port if port is None else port}/metrics"
