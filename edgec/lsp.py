"""The language server behind `edgec lsp`: what `edgec lint` and `edgec fmt` say, in the editor.

Each change of a document is analysed as `edgec lint` analyses a file (every environment),
and its diagnostics published with the same codes, messages and hints. Formatting is
`edgec fmt`; document symbols list the edge's environments, upstreams, auth providers and
routes. A document that does not parse keeps being served: its syntax errors are its
diagnostics, and formatting then changes nothing.
"""
from __future__ import annotations

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from .diagnostics import Diagnostic, Span

SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
            "info": lsp.DiagnosticSeverity.Information}
SYMBOL_KINDS = {"env": lsp.SymbolKind.Namespace, "upstream": lsp.SymbolKind.Class,
                "auth": lsp.SymbolKind.Interface, "route": lsp.SymbolKind.Function}


def _range(span: Span | None) -> lsp.Range:
    """LSP counts from 0, edgec from 1."""
    span = span or Span(1, 1, 1, 1)
    return lsp.Range(lsp.Position(span.line - 1, span.column - 1),
                     lsp.Position(span.end_line - 1, max(span.end_column - 1, 0)))


def to_lsp(d: Diagnostic) -> lsp.Diagnostic:
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    return lsp.Diagnostic(_range(d.span), message, severity=SEVERITY.get(d.severity, lsp.DiagnosticSeverity.Error),
                          code=d.code, source="edgec")


def diagnostics(source: str, path: str) -> list[lsp.Diagnostic]:
    from .pipeline import analyse
    return [to_lsp(d) for d in analyse(source, path, all_envs=True).diagnostics]


def symbols(source: str, path: str) -> list[lsp.DocumentSymbol]:
    from .pipeline import parse_source
    doc, _ = parse_source(source, path)
    if doc is None:
        return []
    out = []
    for stmt in doc.statements():
        kind = SYMBOL_KINDS.get(stmt.kind)
        name = stmt.args.get("name")
        if kind is None or name is None:
            continue
        out.append(lsp.DocumentSymbol(f"{stmt.kind} {name.value}", kind, _range(stmt.span), _range(name.span)))
    return out


def formatting(source: str, path: str) -> list[lsp.TextEdit]:
    from .diagnostics import CompileError
    from .fmt import format_source
    try:
        formatted = format_source(source, path)
    except CompileError:
        return []  # the diagnostics say why
    if formatted == source:
        return []
    lines = source.split("\n")
    return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), lsp.Position(len(lines), 0)), formatted)]


def server() -> LanguageServer:
    ls = LanguageServer("edgec", "1")

    def publish(uri: str) -> None:
        document = ls.workspace.get_text_document(uri)
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri, diagnostics(document.source, document.path), document.version))

    @ls.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @ls.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def format_document(params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        return formatting(document.source, document.path)

    @ls.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbols(params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        return symbols(document.source, document.path)

    return ls
