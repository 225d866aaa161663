"""The load benchmark's runs start with each server in turn."""

from __future__ import annotations

from benchmarks.load import run_order


def test_each_run_starts_one_server_later_and_every_server_runs_once() -> None:
    servers = ["hotline", "bare", "panoramisk"]
    orders = [run_order(servers, index) for index in range(1, 7)]
    assert orders[0] == servers
    assert orders[1] == ["bare", "panoramisk", "hotline"]
    assert orders[2] == ["panoramisk", "hotline", "bare"]
    assert orders[3:] == orders[:3]
    assert all(sorted(order) == sorted(servers) for order in orders)
    # over as many runs as servers, each server has each place once
    for place in range(3):
        assert sorted(order[place] for order in orders[:3]) == sorted(servers)


def test_one_server_and_none() -> None:
    assert run_order(["hotline"], 5) == ["hotline"]
    assert run_order([], 1) == []
