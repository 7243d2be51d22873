"""Hover, go to definition, find references and completion of `edgec lsp`, driven by a real
client session on the samples, and on a file being typed (syntax errors) that keeps being served."""
from __future__ import annotations

import pytest
from lsprotocol import types as lsp

from edgec.names import declarations, references
from edgec.pipeline import analyse
from edgec.routing import first_match_order

from ..conftest import ROOT, SAMPLES
from .test_server import _diagnostics, _open, client  # noqa: F401  (the session fixture)

SHOP = ROOT / "samples" / "shop.edge"
LANGUAGE = (ROOT / "docs" / "language.md").read_text()


def _at(text: str, line_text: str, word: str, nth: int = 0) -> lsp.Position:
    """The position of `word` on the line holding `line_text` (the nth such line)."""
    lines = [i for i, line in enumerate(text.split("\n")) if line_text in line]
    line = lines[nth]
    return lsp.Position(line, text.split("\n")[line].index(word, text.split("\n")[line].index(line_text)) + 1)


def _text_at(text: str, r: lsp.Range) -> str:
    assert r.start.line == r.end.line
    return text.split("\n")[r.start.line][r.start.character:r.end.character]


async def _hover(client, uri, position) -> str | None:
    found = await client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), position))
    return found.contents.value if found else None


async def _complete(client, uri, position) -> dict[str, lsp.CompletionItem]:
    found = await client.text_document_completion_async(
        lsp.CompletionParams(lsp.TextDocumentIdentifier(uri), position))
    items = found.items if isinstance(found, lsp.CompletionList) else found
    return {item.label: item for item in items}


async def _opened(client, path) -> tuple[str, str]:
    """Open the file and wait for its first diagnostics: (its text, its uri)."""
    text = path.read_text()
    uri = _open(client, path, text)
    await _diagnostics(client, uri, 1)
    return text, uri


def _change(client, uri, version, text):
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [lsp.TextDocumentContentChangeWholeDocument(text=text)]))


@pytest.mark.asyncio
async def test_hover_says_what_a_directive_does_in_the_references_words(client):
    text, uri = await _opened(client, SHOP)
    balance = await _hover(client, uri, _at(text, "balance least_conn", "least_conn"))
    assert "to the server with the fewest requests in flight" in balance
    assert "| `balance least_conn` | to the server with the fewest requests in flight |" in LANGUAGE
    assert "round_robin" not in balance  # the form written, not every form of balance
    rate = await _hover(client, uri, _at(text, "rate_limit 100/min", "rate_limit"))
    assert rate.startswith("`rate_limit N/WINDOW") and "429" in rate
    forward = await _hover(client, uri, _at(text, "forward users", "forward"))
    assert forward.startswith("**`forward UPSTREAM")
    path = await _hover(client, uri, _at(text, 'match path prefix "/api/v1/orders"', "path"))
    assert "`path prefix \"/p\"`" in path  # a condition of a match line: the Matches table
    assert await _hover(client, uri, lsp.Position(0, 3)) is None  # a comment


@pytest.mark.asyncio
async def test_hover_resolves_a_variable_in_each_environment(client):
    text, uri = await _opened(client, SHOP)
    host = await _hover(client, uri, _at(text, "match host ${host}", "host}"))
    assert '- dev: `"shop.localhost"`' in host and '- prod: `"api.shop.example"`' in host
    users = await _hover(client, uri, _at(text, "servers ${users}", "users"))
    assert '- prod: `["10.0.1.10:8080", "10.0.1.11:8080"]`' in users
    port = await _hover(client, uri, _at(text, "http_port = 8080", "http_port"))  # on its assignment
    assert "- dev: `8080`" in port and "- prod: `80`" in port


@pytest.mark.asyncio
@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
async def test_hover_on_a_route_gives_its_place_in_decides_order(client, path):
    text, uri = await _opened(client, path)
    result = analyse(text, str(path), all_envs=True)
    edges = result.edges
    for stmt in (s for s in result.doc.edge.body if s.kind == "route"):
        name = stmt.args["name"]
        shown = await _hover(client, uri, lsp.Position(name.span.line - 1, name.span.column))
        for env, edge in edges.items():
            order = first_match_order(edge)
            ranks = ", ".join(f"#{i}" for i, alt in enumerate(order, 1) if alt.route.name == name.value)
            assert f"{f'{env}: ' if env else ''}{ranks} of {len(order)}" in shown


@pytest.mark.asyncio
@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
async def test_every_name_used_goes_to_its_declaration(client, path):
    text, uri = await _opened(client, path)
    doc = analyse(text, str(path), all_envs=True).doc
    used = list(references(doc))
    assert used
    for ref in used:
        found = await client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(ref.span.line - 1, ref.span.column)))
        declared = [d for d in declarations(doc) if (d.kind, d.name) == (ref.kind, ref.name)]
        assert [(loc.range.start.line + 1, loc.range.start.character + 1) for loc in found] == \
            [(d.span.line, d.span.column) for d in declared]
        assert all(_text_at(text, loc.range) == ref.name for loc in found)


@pytest.mark.asyncio
async def test_definition_and_references_of_upstreams_auth_and_variables(client):
    text, uri = await _opened(client, SHOP)

    async def refs(position, declaration):
        found = await client.text_document_references_async(lsp.ReferenceParams(
            context=lsp.ReferenceContext(declaration), text_document=lsp.TextDocumentIdentifier(uri), position=position))
        return [(loc.range.start.line + 1, _text_at(text, loc.range)) for loc in found]

    line = {t: i + 1 for i, t in reversed(list(enumerate(text.split("\n"))))}
    orders = _at(text, "upstream orders {", "orders")
    assert await refs(orders, False) == [(line["    forward orders 90%, orders_v2 10%"], "orders"),
                                         (line['      orders = get orders "/orders?mine=1"'], "orders")]
    assert (line["  upstream orders {"], "orders") in await refs(orders, True)
    main = await refs(_at(text, "auth main", "main"), True)
    assert main == [(line["  auth jwt main {"], "main")] + [(i + 1, "main") for i, t in enumerate(text.split("\n"))
                                                            if t.strip() == "auth main"]
    https = await refs(_at(text, "listen https ${https_port}", "https_port"), True)
    assert [n for _, n in https] == ["https_port"] * 2 + ["${https_port}"] * 2  # dev, prod, and both uses
    found = await client.text_document_definition_async(lsp.DefinitionParams(
        lsp.TextDocumentIdentifier(uri), _at(text, "forward users", "users")))
    assert [(loc.range.start.line + 1, _text_at(text, loc.range)) for loc in found] == \
        [(line["  upstream users {"], "users")]
    nothing = await client.text_document_definition_async(lsp.DefinitionParams(
        lsp.TextDocumentIdentifier(uri), _at(text, "balance least_conn", "least_conn")))
    assert not nothing


@pytest.mark.asyncio
async def test_completion_offers_the_blocks_statements_and_the_defined_names(client):
    text, uri = await _opened(client, SHOP)
    in_route = await _complete(client, uri, _at(text, "    retries 2", "retries"))
    assert {"forward", "rate_limit", "strip_prefix", "request_header", "match"} <= set(in_route)
    assert "server" not in in_route and "listen" not in in_route
    assert "429" in in_route["rate_limit"].documentation.value
    in_upstream = await _complete(client, uri, _at(text, "    keepalive 64", "keepalive"))
    assert {"server", "balance", "health", "connect_timeout"} <= set(in_upstream) and "forward" not in in_upstream
    in_edge = await _complete(client, uri, _at(text, "  access_log json", "access_log"))
    assert {"route", "upstream", "listen", "env", "limits"} <= set(in_edge)
    in_jwt = await _complete(client, uri, _at(text, "    issuer ", "issuer"))
    assert {"issuer", "jwks", "audience", "leeway"} <= set(in_jwt)


@pytest.mark.asyncio
async def test_a_file_being_typed_keeps_being_served(client):
    text, uri = await _opened(client, SHOP)
    typing = text.replace("    forward users\n", "    forward \n    rat\n", 1).replace("cache 30s", "cache 30")
    _change(client, uri, 2, typing)
    errors = [d for d in await _diagnostics(client, uri, 2) if d.severity == lsp.DiagnosticSeverity.Error]
    assert errors and all(d.code.startswith("E0") for d in errors)
    lines = typing.split("\n")
    at_forward = lsp.Position(lines.index("    forward "), len("    forward "))
    assert set(await _complete(client, uri, at_forward)) == {"users", "orders", "orders_v2"}
    at_partial = lsp.Position(lines.index("    rat"), len("    rat"))
    assert "rate_limit" in await _complete(client, uri, at_partial)
    with_var = typing.replace("    rat\n", '    request_header set "X-Host" "${\n', 1)
    _change(client, uri, 3, with_var)
    await _diagnostics(client, uri, 3)
    line = with_var.split("\n").index('    request_header set "X-Host" "${')
    variables = await _complete(client, uri, lsp.Position(line, len('    request_header set "X-Host" "${')))
    assert {"host", "users", "https_port"} <= set(variables)
    # hover and definitions answer from the last version that parsed
    assert "fewest requests" in await _hover(client, uri, _at(text, "balance least_conn", "least_conn"))
    _change(client, uri, 4, text)
    assert [d for d in await _diagnostics(client, uri, 4) if d.severity == lsp.DiagnosticSeverity.Error] == []


@pytest.mark.parametrize("block", [("edge",), ("listen",), ("upstream",), ("route",), ("auth", "jwt"), ("limits",)])
def test_every_statement_completion_offers_is_described_by_the_reference(block):
    from edgec.editor.complete import _keywords
    offered = _keywords(block)
    assert offered and [c.label for c in offered if not c.documentation] == []
