"""edgec lsp driven by a real client session over stdin/stdout: diagnostics as the text
changes (the codes lint gives, every environment), formatting, document symbols, and a
document with syntax errors that keeps being served."""
from __future__ import annotations

import asyncio
import sys

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from edgec.pipeline import analyse

from ..conftest import SAMPLES


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "edgec", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


def _open(client, path, text, version=1) -> str:
    uri = path.resolve().as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "edge", version, text)))
    return uri


async def _diagnostics(client, uri, version):
    # a server that stops publishing must fail the test, not hang the suite
    async def published():
        while True:
            params = await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri and params.version == version:
                return params.diagnostics
    return await asyncio.wait_for(published(), timeout=60)


@pytest.mark.asyncio
@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
async def test_samples_get_the_diagnostics_lint_gives(client, path):
    text = path.read_text()
    uri = _open(client, path, text)
    got = await _diagnostics(client, uri, 1)
    expected = analyse(text, str(path), all_envs=True).diagnostics
    assert [(d.code, d.range.start.line + 1, d.range.start.character + 1) for d in got] == \
        [(d.code, d.line, d.column) for d in expected]


BROKEN = 'edge "t" {\n  listen http 8080\n  upstream a { server "127.0.0.1:9001" }\n  route r { forward a }\n}\n'


@pytest.mark.asyncio
async def test_diagnostics_follow_changes_and_survive_syntax_errors(client, tmp_path):
    path = tmp_path / "t.edge"
    uri = _open(client, path, BROKEN)
    assert [d.code for d in await _diagnostics(client, uri, 1) if d.severity == lsp.DiagnosticSeverity.Error] == []
    broken = BROKEN.replace("route r {", "route r {{")
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=2), [lsp.TextDocumentContentChangeWholeDocument(text=broken)]))
    errors = [d for d in await _diagnostics(client, uri, 2) if d.severity == lsp.DiagnosticSeverity.Error]
    assert errors and all(d.code.startswith("E") for d in errors)
    assert (await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(2, True)))) in ([], (), None)
    undefined = BROKEN.replace("forward a", "forward b")
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=3), [lsp.TextDocumentContentChangeWholeDocument(text=undefined)]))
    got = await _diagnostics(client, uri, 3)
    assert "E104" in [d.code for d in got]  # the server is still there, and lints the new text
    e104 = next(d for d in got if d.code == "E104")
    assert "hint:" in e104.message


@pytest.mark.asyncio
async def test_formatting_is_fmt(client, tmp_path):
    from edgec.fmt import format_source
    path = tmp_path / "t.edge"
    uri = _open(client, path, BROKEN)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        lsp.TextDocumentIdentifier(uri), lsp.FormattingOptions(2, True)))
    assert len(edits) == 1 and edits[0].new_text == format_source(BROKEN)
    assert edits[0].range.start == lsp.Position(0, 0)


@pytest.mark.asyncio
async def test_document_symbols(client):
    path = next(p for p in SAMPLES if p.stem == "shop")
    uri = _open(client, path, path.read_text())
    found = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri)))
    names = [s.name for s in found]
    assert "route users" in names and "upstream orders_v2" in names and "auth main" in names
    route = next(s for s in found if s.name == "route users")
    assert route.kind == lsp.SymbolKind.Function
    assert path.read_text().splitlines()[route.selection_range.start.line][
        route.selection_range.start.character:route.selection_range.end.character] == "users"
