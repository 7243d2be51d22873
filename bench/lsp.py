"""How long `edgec lsp` takes to publish diagnostics after a change, for a large file.

    python bench/lsp.py [--routes 1000] [--changes 20]

Starts `edgec lsp` as an editor does (a real client session over stdin/stdout), opens a
generated file (bench/compile.py's generator) and changes one route at a time, timing
each change from the didChange notification sent to its publishDiagnostics received.
Prints the median, 90th percentile and maximum, in milliseconds (wall time).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compile import generate  # noqa: E402


async def measure(routes: int, changes: int) -> list[float]:
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
    await client.initialize_async(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    client.initialized(lsp.InitializedParams())
    text = generate(routes)
    uri = Path("/tmp/bench-lsp.edge").as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "edge", 0, text)))
    await asyncio.wait_for(done.wait(), 60)
    times = []
    for version in range(1, changes + 1):
        done.clear()
        want["version"] = version
        changed = text.replace(f"route r{version} {{", f"route r{version}x {{", 1)
        sent = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [lsp.TextDocumentContentChangeWholeDocument(text=changed)]))
        await asyncio.wait_for(done.wait(), 60)
        times.append((received[version] - sent) * 1000)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    times = sorted(asyncio.run(measure(args.routes, args.changes)))
    p90 = times[max(0, int(len(times) * 0.9) - 1)]
    print(f"{args.routes} routes, {args.changes} changes: median {statistics.median(times):.0f} ms, "
          f"p90 {p90:.0f} ms, max {times[-1]:.0f} ms")


if __name__ == "__main__":
    main()
