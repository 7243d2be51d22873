"""The response headers curl receives: what a client on the wire sees."""
from __future__ import annotations

import subprocess


def curl_headers(url: str) -> dict[str, list[str]]:
    """Lower-case header name → its values, in order (certificates are not checked)."""
    out = subprocess.run(["curl", "-ksS", "-o", "/dev/null", "-D", "-", "--max-time", "10", url],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    headers: dict[str, list[str]] = {}
    for name, _, value in (line.partition(":") for line in out.splitlines()[1:]):
        if name.strip():
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return headers
