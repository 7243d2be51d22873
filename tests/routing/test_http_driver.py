"""The HTTP driver fails when it should: an echo backend stands in for a gateway that
sends everything to v1 unchanged."""
from __future__ import annotations

import pytest

from edgec.cases import parse
from edgec.harness.driver import check
from edgec.harness.echo import EchoServer


@pytest.fixture(scope="module")
def v1():
    server = EchoServer("v1").start()
    try:
        yield server
    finally:
        server.stop()


def _case(expect, url="/a?x=1", headers=None):
    import os
    here = os.path.join(os.path.dirname(__file__), "..", "conformance", "corpus", "x.yaml")
    f = parse({"edge": "match.edge", "cases": [{"name": "c", "request": {"url": url, "headers": headers or {}},
                                                 "expect": expect}]}, here)
    return f.cases[0]


def test_a_matching_expectation_passes(v1):
    case = _case({"upstream": "v1", "status": 200, "path": "/a?x=1", "host": "edge.test",
                  "headers": {"X-Test": "yes"}, "response_headers": {"X-Backend": "v1"}}, headers={"X-Test": "yes"})
    assert check(case, {"v1": v1}, base_url=f"http://{v1.address}") == []


def test_each_wrong_expectation_is_reported(v1):
    case = _case({"upstream": "v2", "status": 404, "path": "/b", "host": "other",
                  "headers": {"X-Test": "no"}, "absent_headers": ["X-Test"],
                  "absent_response_headers": ["X-Backend"]}, headers={"X-Test": "yes"})
    problems = check(case, {"v1": v1}, base_url=f"http://{v1.address}")
    joined = "\n".join(problems)
    for word in ("upstream", "status", "backend path", "backend host", "backend header X-Test", "response header"):
        assert word in joined
    assert len(problems) == 7


def test_a_statistical_case_counts_backends(v1):
    case = _case({"weights": {"v1": 0.5, "v2": 0.5}, "n": 20})
    problems = check(case, {"v1": v1}, base_url=f"http://{v1.address}")
    assert problems == ["share of v1: expected 0.5 ± 0.05, got 1.000 over 20 requests",
                        "share of v2: expected 0.5 ± 0.05, got 0.000 over 20 requests"]


def test_head_requests_are_identified_from_the_backend_log(v1):
    case = _case({"upstream": "v1", "path": "/h"}, url="/h")
    case.method = "HEAD"
    assert check(case, {"v1": v1}, base_url=f"http://{v1.address}") == []


def test_a_missing_mirror_copy_is_reported(v1, monkeypatch):
    from edgec.harness import driver as http_driver
    monkeypatch.setattr(http_driver, "MIRROR_WAIT_S", 0.3)
    case = _case({"upstream": "v1", "mirrored": ["v1", "v2"]}, url="/m")
    assert check(case, {"v1": v1}, base_url=f"http://{v1.address}") == [
        "mirror v2: no copy of the request arrived within 0.3s"]


def test_servers_put_an_address_nothing_listens_on_where_a_file_says_down(v1):
    import socket

    from edgec.cases import CaseError
    from edgec.harness.live import server_addresses
    f = parse({"servers": {"v1": ["down", "echo"]}, "cases": [{"name": "c", "request": {"url": "/"},
                                                                "expect": {"status": 502}}]})
    down, echo = server_addresses(f, {"v1": v1, "v2": v1})["v1"]
    assert echo == v1.address and server_addresses(f, {"v2": v1}) == {"v2": [v1.address]}
    host, _, port = down.rpartition(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=2).close()
    with pytest.raises(CaseError, match="servers"):
        parse({"servers": {"v1": ["up"]}, "cases": [{"name": "c", "request": {"url": "/"},
                                                 "expect": {"status": 502}}]})
