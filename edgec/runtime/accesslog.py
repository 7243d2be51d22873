"""Access log: one JSON object (or a combined-format line) per request, buffered and flushed
by the process clock so that logging is not a write() per request."""
from __future__ import annotations

import datetime
import json
import sys
import time

from .. import ir


# as nginx's log_format escape=default: ", \ and bytes outside printable ASCII become \xHH, so
# that what a client sends cannot end a quoted field or a line of the combined format
_ESCAPES = {c: f"\\x{c:02X}" for c in (*range(0x20), 0x22, 0x5C, *range(0x7F, 0x100))}


def _quoted_field(text: str) -> str:
    return text.translate(_ESCAPES)


class AccessLog:
    def __init__(self, cfg: ir.AccessLog):
        self.format = cfg.format
        self.enabled = cfg.format != "off"
        self.buffer: list[str] = []
        self._iso_second, self._iso_text = -1, ""
        if not self.enabled:
            self.stream = None
        elif cfg.path == "-":
            self.stream = sys.stdout
        else:
            self.stream = open(cfg.path, "a", encoding="utf-8")  # noqa: SIM115 (lives as long as the config)

    def write(self, rec: dict) -> None:
        """One request's line; the time is added here, as nginx's $time_iso8601 / $time_local."""
        now = int(time.time())
        if self.format == "json":
            self.buffer.append(json.dumps({"time": self._iso(now), **rec}, separators=(",", ":")))
        else:
            ts = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
            self.buffer.append(f'{rec["remote_addr"]} - - [{ts}] "{rec["method"]} {_quoted_field(rec["uri"])} '
                               f'{rec["protocol"]}" {rec["status"]} {rec["bytes_sent"]} "-" '
                               f'"{_quoted_field(rec["user_agent"])}"')

    def _iso(self, now: int) -> str:
        """Local time with its offset, to the second (2026-12-04T22:59:01+00:00), made once a second."""
        if now != self._iso_second:
            self._iso_second = now
            self._iso_text = datetime.datetime.fromtimestamp(now).astimezone().isoformat()
        return self._iso_text

    def flush(self, _now: float = 0.0) -> None:
        if self.buffer and self.stream is not None:
            lines, self.buffer = self.buffer, []
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        self.flush()
        if self.stream is not None and self.stream is not sys.stdout:
            self.stream.close()

