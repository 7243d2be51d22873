"""`service "NAME:PORT"` in `edgec run`: the runtime reaches the host name NAME, as the
cluster's DNS would resolve a Service's (here `localhost`, which the machine resolves)."""
from __future__ import annotations

import json
import urllib.request

from edgec.harness.echo import EchoServer
from tests.conftest import free_port


def test_a_service_is_reached_by_its_name(gateway):
    echo = EchoServer("users").start()
    try:
        _, port = gateway(f'edge "t" {{\n  listen http {free_port()}\n'
                          f'  upstream users {{ service "localhost:{echo.port}" }}\n  route r {{ forward users }}\n}}\n')
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/x", timeout=20) as answer:
            assert json.loads(answer.read())["backend"] == "users"
    finally:
        echo.stop()
