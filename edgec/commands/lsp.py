"""edgec lsp: serve the Language Server Protocol on standard input and output (for editors)."""
from __future__ import annotations


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from ..lsp import server
    server().start_io()
    return 0
