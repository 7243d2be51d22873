"""Aggregation through njs: the same edge served by the runtime and by the generated nginx,
the same parts behind both; every answer must be the runtime's, status and bytes."""
from __future__ import annotations

import http.client

import pytest

from tests.conftest import free_port
from tests.runtime.conftest import LiveRuntime, compile_text
from tests.runtime.servers import JsonServer
from tests.support import aggregation
from edgec.harness.echo import EchoServer

# what json.loads then json.dumps change: key order kept, a repeated key's last value in its
# first place, int and float told apart, floats in Python's repr, every non-ASCII character
# escaped, NaN and Infinity
TRICKY = (b'{"b": 1, "a": [1.0, 1e16, 1e15, 1e-5, 0.0001, 0.1, -0, -0.0, 12345678901234567890123, 3.14159, 1E400,'
          b' -1e-400, 2.5e+3, NaN, -Infinity, 1e22, 123456789.125], "\\u00e9\\ud83d\\ude00": "\xc3\xa9\xe2\x80\xa8'
          b' \\/tab\\t\x7f", "2": {"1": null, "b": true, "nested": [[], {}, [{"x": false}]]}, "b": "dup"}')


def source(port: int, servers: dict[str, str]) -> str:
    ups = "\n".join(f'upstream {n} {{ server "{a}" }}' for n, a in servers.items())
    return f'''edge "agg" {{
      listen http {port} {{ bind "127.0.0.1" }}
      {ups}
      route fine {{ match path exact "/fine" aggregate {{
        tricky = get tricky "/t"
        plain = get plain "/p"
        empty = get empty "/e"
      }} }}
      route broken {{ match path exact "/broken" aggregate {{
        fine = get plain "/p"
        failing = get echo "/x?status=500"
        slow = get echo "/y?delay=2" timeout 500ms
        dead = get dead "/z"
        garbage = get garbage "/g"
        latin = get latin "/l"
      }} }}
      route slow {{ match path exact "/slow" aggregate {{
        slow = get echo "/y?delay=2" timeout 300ms
        slower = get echo "/y?delay=2" timeout 400ms
      }} }}
    }}'''


def ask(port: int, path: str) -> tuple[int, str | None, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


@pytest.fixture
def both(gateway):
    raw = {"tricky": TRICKY, "plain": b'{"id": 7, "name": "Ada"}', "empty": b"", "garbage": b'{"a": }',
           "latin": b'{"a": "\xe9"}'}
    servers = {}
    for name, body in raw.items():
        s = JsonServer({})
        s.body = body
        servers[name] = s
    echo = EchoServer("echo").start()
    addresses = {n: s.address for n, s in servers.items()}
    addresses.update(echo=echo.address, dead=f"127.0.0.1:{free_port()}")
    runtime = LiveRuntime(compile_text(source(free_port(), addresses))).start()
    try:
        gw = gateway(source(8080, addresses), keep_servers=tuple(addresses))
        yield runtime.edge.listeners[0].port, gw.ports[8080]
    finally:
        runtime.stop()
        echo.stop()
        for s in servers.values():
            s.stop()


@pytest.mark.parametrize("path,status", [("/fine", 200), ("/broken", 502), ("/slow", 504)])
def test_the_merged_answer_is_the_runtimes_byte_for_byte(both, path, status):
    runtime, nginx = both
    expected = ask(runtime, path)
    assert expected[0] == status
    assert ask(nginx, path) == expected


def test_a_part_timeout_bounds_connecting_and_the_answer_each_on_its_own(gateway):
    """The action.aggregate.timeout row's difference, and its warning: a part that takes about a
    second to connect to and answers just within the timeout after that is merged."""
    with aggregation.slow_parts() as (slow, quick):
        gw = gateway(aggregation.slow_edge(slow.address, quick.address), keep_servers=("slow", "quick"))
        assert sum("[action.aggregate.timeout]" in d.message for d in gw.warnings) == 2
        failures = aggregation.deadline_failures(f"http://127.0.0.1:{gw.ports[8080]}", slow, quick)
        assert any(f.startswith("/slow: 200") for f in failures), failures
        assert not [f for f in failures if f.startswith("/quick") or "did not wait" in f], failures
