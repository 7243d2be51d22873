"""Fixtures of the Spring target's tests: one Maven build of every registered project."""
from __future__ import annotations

import shutil

import pytest

from . import harness


def pytest_collection_modifyitems(config, items):
    if not (shutil.which("mvn") and shutil.which("java")):
        skip = pytest.mark.skip(reason="needs mvn and java (tests/run.sh installs them)")
        for item in items:
            if "tests/spring/" in str(item.fspath) and "built" in getattr(item, "fixturenames", ()):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every project registered by the collected test modules, emitted and packaged."""
    return harness.build_all(tmp_path_factory.mktemp("spring"))
