"""Fixtures: a simulated AMI server on a free loopback port and AMI clients for it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hotline.ami.backoff import Backoff
from hotline.ami.client import AmiClient
from hotline.sim.ami_server import AmiServer
from hotline.sim.ami_state import AmiSimState

ClientFactory = Callable[..., AmiClient]


@pytest.fixture
async def sim() -> AsyncIterator[AmiServer]:
    """A simulated Asterisk 22 AMI; wrong secrets are answered after 50 ms, not 1 s."""
    server = AmiServer(AmiSimState(auth_failure_delay=0.05))
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def fast_backoff() -> Backoff:
    return Backoff(initial=0.01, factor=2.0, cap=0.05, jitter=0.5, rng=random.Random(7))


@pytest.fixture
async def make_client(sim: AmiServer) -> AsyncIterator[ClientFactory]:
    """Build clients for ``sim`` (fast backoff, quiet keepalive); closed after the test."""
    clients: list[AmiClient] = []

    def factory(**overrides: Any) -> AmiClient:
        options: dict[str, Any] = {
            "host": sim.host,
            "port": sim.port,
            "username": sim.state.username,
            "secret": sim.state.secret,
            "backoff": fast_backoff(),
            "ping_interval": 30.0,
            "action_timeout": 5.0,
        }
        options.update(overrides)
        client = AmiClient(**options)
        clients.append(client)
        return client

    try:
        yield factory
    finally:
        for client in clients:
            await client.close()
