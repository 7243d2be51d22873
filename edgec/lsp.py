"""The language server behind `edgec lsp`: what `edgec lint` and `edgec fmt` say, in the editor.

Each change of a document is analysed as `edgec lint` analyses a file (every environment),
and its diagnostics published with the same codes, messages and hints; only the statements
on the changed lines are parsed again (edgec.reparse). Formatting is
`edgec fmt`; document symbols list the edge's environments, upstreams, auth providers and
routes; hover, definitions, references and completion come from edgec.editor, reading the
last analysis. A document that does not parse keeps being served: its syntax errors are its
diagnostics, formatting then changes nothing, and the other features read the last version
that parsed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from . import ir
from .diagnostics import Diagnostic, Span
from .syntax import Document

SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
            "info": lsp.DiagnosticSeverity.Information}
SYMBOL_KINDS = {"env": lsp.SymbolKind.Namespace, "upstream": lsp.SymbolKind.Class,
                "auth": lsp.SymbolKind.Interface, "route": lsp.SymbolKind.Function}
COMPLETION_KINDS = {"keyword": lsp.CompletionItemKind.Keyword, "upstream": lsp.CompletionItemKind.Class,
                    "auth": lsp.CompletionItemKind.Interface, "variable": lsp.CompletionItemKind.Variable}


@dataclass
class Analysis:
    """What the server knows of one document: its last version that parsed, and the IR of each env."""

    doc: Document | None = None
    edges: dict[str | None, ir.Edge | None] = field(default_factory=dict)


def _range(span: Span | None) -> lsp.Range:
    """LSP counts from 0, edgec from 1."""
    span = span or Span(1, 1, 1, 1)
    return lsp.Range(lsp.Position(span.line - 1, span.column - 1),
                     lsp.Position(span.end_line - 1, max(span.end_column - 1, 0)))


def to_lsp(d: Diagnostic) -> lsp.Diagnostic:
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    return lsp.Diagnostic(_range(d.span), message, severity=SEVERITY.get(d.severity, lsp.DiagnosticSeverity.Error),
                          code=d.code, source="edgec")


def analyse(source: str, path: str, last: Analysis) -> tuple[list[lsp.Diagnostic], Analysis]:
    """The diagnostics of this version, and what the other features read (kept from `last`
    while the text does not parse)."""
    from .pipeline import analyse
    result = analyse(source, path, all_envs=True, previous=last.doc)
    now = Analysis(result.doc, result.edges) if result.doc is not None else last
    return [to_lsp(d) for d in result.diagnostics], now


def _position(p: lsp.Position) -> tuple[int, int]:
    return p.line + 1, p.character + 1


def _location(uri: str, span: Span) -> lsp.Location:
    return lsp.Location(uri, _range(span))


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
    analyses: dict[str, Analysis] = {}

    def publish(uri: str) -> None:
        document = ls.workspace.get_text_document(uri)
        found, analyses[uri] = analyse(document.source, document.path, analyses.get(uri, Analysis()))
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, found, document.version))

    def parsed(uri: str) -> Analysis:
        return analyses.get(uri) or Analysis()

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

    @ls.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(params: lsp.HoverParams) -> lsp.Hover | None:
        from .editor.hover import hover
        known = parsed(params.text_document.uri)
        text = hover(known.doc, known.edges, *_position(params.position)) if known.doc else None
        return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text)) if text else None

    @ls.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(params: lsp.DefinitionParams) -> list[lsp.Location]:
        from .editor.navigate import definitions
        known = parsed(params.text_document.uri)
        spans = definitions(known.doc, *_position(params.position)) if known.doc else []
        return [_location(params.text_document.uri, s) for s in spans]

    @ls.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(params: lsp.ReferenceParams) -> list[lsp.Location]:
        from .editor.navigate import usages
        known = parsed(params.text_document.uri)
        spans = usages(known.doc, *_position(params.position), params.context.include_declaration) \
            if known.doc else []
        return [_location(params.text_document.uri, s) for s in spans]

    @ls.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["{", " "]))
    def completion(params: lsp.CompletionParams) -> list[lsp.CompletionItem]:
        from .editor.complete import complete
        document = ls.workspace.get_text_document(params.text_document.uri)
        found = complete(document.source, *_position(params.position), parsed(params.text_document.uri).doc)
        return [lsp.CompletionItem(c.label, kind=COMPLETION_KINDS[c.kind],
                                   documentation=lsp.MarkupContent(lsp.MarkupKind.Markdown, c.documentation)
                                   if c.documentation else None) for c in found]

    return ls
