"""How long `edgec lsp` takes to publish diagnostics after a change, for a large file.

    python bench/lsp.py [--routes 1000] [--changes 20] [--edit rename|newline]

Starts `edgec lsp` as an editor does (a real client session over stdin/stdout), opens a
generated file (bench/compile.py's generator) and changes one route at a time, timing
each change from the didChange notification sent to its publishDiagnostics received.
`rename` renames the route (a change within a line); `newline` adds a line to it (the
routes after it move down a line). Either way the server parses only that route again.
Prints the median, 90th percentile and maximum in milliseconds, of the wall time and of
the CPU time the server process used for the change (read from /proc: the machine may be
busy with other work, which stretches wall time but not CPU time).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compile import generate  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


EDITS = {"rename": lambda text, n: text.replace(f"route r{n} {{", f"route r{n}x {{", 1),
         "newline": lambda text, n: text.replace(f"route r{n} {{", f"route r{n} {{\n", 1)}


async def measure(routes: int, changes: int, edit: str) -> tuple[list[float], list[float]]:
    client = LanguageClient("bench", "1")
    received: dict[int, float] = {}
    done = asyncio.Event()
    want = {"version": 0}

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: lsp.PublishDiagnosticsParams) -> None:
        received[params.version] = time.perf_counter()
        if params.version == want["version"]:
            done.set()

    await client.start_io(sys.executable, "-m", "edgec", "lsp")
    pid = client._server.pid  # the server process, for its CPU time
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    text = generate(routes)
    uri = Path("/tmp/bench-lsp.edge").as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "edge", 0, text)))
    await asyncio.wait_for(done.wait(), 60)
    times, cpu = [], []
    for version in range(1, changes + 1):
        done.clear()
        want["version"] = version
        text = EDITS[edit](text, version)  # each change on top of the one before
        before = cpu_seconds(pid)
        sent = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        await asyncio.wait_for(done.wait(), 60)
        times.append((received[version] - sent) * 1000)
        cpu.append((cpu_seconds(pid) - before) * 1000)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times, cpu


def summary(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[max(0, int(len(values) * 0.9) - 1)]
    return f"median {statistics.median(values):.0f} ms, p90 {p90:.0f} ms, max {values[-1]:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--edit", choices=sorted(EDITS), default="rename")
    args = parser.parse_args()
    times, cpu = asyncio.run(measure(args.routes, args.changes, args.edit))
    print(f"{args.routes} routes, {args.changes} changes ({args.edit}): wall {summary(times)}; "
          f"server CPU {summary(cpu)}")


if __name__ == "__main__":
    main()
