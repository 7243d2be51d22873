"""A model of how an HTTP API (API Gateway v2) picks a route, written from AWS's documentation
("Working with routes for HTTP APIs"): a route key is `METHOD /path`, `ANY /path` or
`$default`; a path variable `{name}` is one segment; a path ending in the greedy variable
`{proxy+}` catches every child resource of the path before it (at least one more
segment); API Gateway prefers the most specific match: a literal path, then a path with
variables, then a greedy one (the longest first), and a route for the request's method
before ANY; `$default` takes what no route matches, and
without it API Gateway answers 404. Selection reads the method and the path only."""
from __future__ import annotations

GREEDY = "/{proxy+}"


def _path_match(route_path: str, path: str) -> tuple | None:
    """How specifically route_path matches path: (2 literal | 1 variables | 0 greedy, literal
    length), None when it does not match."""
    if route_path.endswith(GREEDY):
        parent = route_path[:-len(GREEDY)]
        rest = path[len(parent):]
        if path.startswith(parent) and rest.startswith("/") and rest.strip("/"):
            return (0, len(parent))
        return None
    want, got = route_path.split("/"), path.split("/")
    if len(want) != len(got):
        return None
    literal = 0
    for w, g in zip(want, got):
        if w.startswith("{") and w.endswith("}"):
            if not g:
                return None
        elif w != g:
            return None
        else:
            literal += len(w)
    return (2 if "{" not in route_path else 1, literal)


def select(route_keys: list[str], method: str, path: str) -> str | None:
    """The route key API Gateway uses for METHOD path, or None (its own 404)."""
    ranked = []
    for key in route_keys:
        if key == "$default":
            continue
        route_method, route_path = key.split(" ", 1)
        if route_method not in ("ANY", method):
            continue
        how = _path_match(route_path, path)
        if how is not None:
            ranked.append((how, route_method != "ANY", key))
    if ranked:
        return max(ranked)[2]
    return "$default" if "$default" in route_keys else None
