from __future__ import annotations

import contextlib

import pytest

from .live import Live
from .support import crds


@pytest.fixture(scope="session")
def crd_dir(tmp_path_factory):
    return crds(tmp_path_factory.mktemp("gateway-api"))


@pytest.fixture
def envoy_gateway(tmp_path):
    """envoy_gateway(source, secrets={Secret name: {key: value}}, servers={upstream: n}) → a
    running Live: the source built with -O impl=envoy-gateway, translated by egctl and served
    by the real Envoy, each upstream n echo backends (one by default) named after it, or a
    server nothing listens at for n = "down"."""
    stack = contextlib.ExitStack()

    def start(source: str, secrets=None, env: str | None = None, servers=None) -> Live:
        return stack.enter_context(Live(source, tmp_path / f"eg{len(stack._exit_callbacks)}", secrets, env, servers))

    try:
        yield start
    finally:
        stack.close()
