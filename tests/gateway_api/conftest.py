from __future__ import annotations

import pytest

from .support import crds


@pytest.fixture(scope="session")
def crd_dir(tmp_path_factory):
    return crds(tmp_path_factory.mktemp("gateway-api"))
