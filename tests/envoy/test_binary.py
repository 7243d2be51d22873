"""The Envoy the tests run is one of the versions the target declares."""
from __future__ import annotations

import re
import subprocess

from edgec.targets.envoy import VERSIONS

from .support import ENVOY


def test_installed_envoy_is_a_declared_version():
    out = subprocess.run([ENVOY, "--version"], capture_output=True, text=True, timeout=60).stdout
    # "<path> version: <commit>/1.40.0/Clean/RELEASE/BoringSSL": the path may hold numbers too
    found = re.search(r"version: [0-9a-f]+/(\d+)\.(\d+)\.\d+/", out)
    assert found, out
    low, high = (tuple(int(x) for x in v.split(".")) for v in VERSIONS.split(" to "))
    assert low <= (int(found.group(1)), int(found.group(2))) <= high, out
