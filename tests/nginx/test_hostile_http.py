"""The nginx column of tests/support/hostile_http.py, checked against the real nginx running
the config the nginx target makes of the same edge: the runtime's answers are compared with
what nginx does, not with what it is believed to do."""
from __future__ import annotations

import pytest

from edgec.pipeline import analyse
from tests.conftest import free_port
from edgec.harness.echo import EchoServer
from tests.support.hostile_http import CASES, EDGE, exchange

from .support import Nginx, build, fresh, write


@pytest.fixture(scope="module")
def nginx_gateway(tmp_path_factory):
    echo = EchoServer("a").start()
    port = free_port()
    files, diagnostics = build(analyse(EDGE.format(port=port, backend=echo.address), "t.edge").edge)
    assert files is not None, [d.message for d in diagnostics]
    prefix = write(files, fresh(tmp_path_factory.mktemp("hostile") / "nginx"))
    with Nginx(prefix, [port]):
        yield port
    echo.stop()


@pytest.mark.parametrize("name,data,_runtime,status", CASES, ids=[c[0] for c in CASES])
def test_nginx_answer(nginx_gateway, name, data, _runtime, status):
    out = exchange(nginx_gateway, data, timeout=1.0)  # nginx keeps some of these connections open
    assert out.startswith(b"HTTP/1.1 %d " % status), out[:200]
