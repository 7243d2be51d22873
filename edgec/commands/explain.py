"""edgec explain FILE --env E METHOD URL [-H 'Name: value']... [--format json]:
which route takes a request, why, and what the backend receives."""
from __future__ import annotations

import sys

from ._common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_env, add_no_cache, compile_or_report


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    add_env(parser)
    add_no_cache(parser)
    parser.add_argument("method", metavar="METHOD", help="request method, e.g. GET")
    parser.add_argument("url", metavar="URL",
                        help="a path (/api/x?q=1: the first listener that serves routes) or a URL "
                             "(https://host:8443/api/x: scheme, Host and listener port)")
    parser.add_argument("-H", "--header", action="append", default=[], metavar="'Name: value'",
                        help="request header (repeatable; Host overrides the URL's)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def parse_headers(values: list[str]) -> list[tuple[str, str]] | str:
    out = []
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            return f"header '{item}' is not 'Name: value'"
        out.append((name.strip(), value.strip()))
    return out


def parse_url(url: str) -> str | None:
    if url.startswith("/"):
        return None
    if url.startswith(("http://", "https://")):
        from urllib.parse import urlsplit
        try:
            urlsplit(url).port
        except ValueError:
            return f"URL '{url}' has a bad port"
        return None
    return f"URL '{url}' must be a path starting with / or an http(s):// URL"


def run(args) -> int:
    import json

    from ..explain import explain, render_text
    from ..routing import Request, method_problem
    headers = parse_headers(args.header)
    problem = headers if isinstance(headers, str) else parse_url(args.url) or method_problem(args.method.upper())
    if problem:
        print(f"edgec explain: {problem}", file=sys.stderr)
        return EXIT_USAGE
    result = compile_or_report(args.file, args.env)
    if result is None:
        return EXIT_PROBLEMS
    data = explain(result.edge, Request.to_edge(result.edge, args.method.upper(), args.url, headers))
    if args.format == "json":
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(data))
    return EXIT_OK
