"""The import's own check: the written file compiles and lints clean, and for every path around
every location edgec's `decide` chooses the route of the location nginx's `pick` chooses."""
from __future__ import annotations

from ..routing import Request, decide
from .samples import paths


def mismatches(edge, servers, limit: int = 5) -> list[str]:
    """Requests on which edgec's route is not nginx's location, as readable lines."""
    out = []
    from . import nginx_locations as nl
    for srv, picks in servers:
        host = srv.hosts[0].replace("*.", "any.") if srv.hosts and not srv.default else "default.test"
        by_key = {}
        for route, p in picks.items():
            by_key[(id(p.location), p.redirect)] = route
        for path in paths(srv.locations):
            want = nl.pick(srv.locations, path)
            want_route = by_key.get((id(want.location), want.redirect)) if not want.redirect else next(
                (r for r, p in picks.items() if p.redirect and p.location is want.location), None)
            if want.redirect:
                want_route = next((r for r, p in picks.items() if p.redirect and
                                   path + "/" == p.location.name), want_route)
            got = decide(edge, Request.to_edge(edge, "GET", path, host=host)).route
            if want.location is None and not want.redirect and got in (None, by_key.get((id(None), False))):
                continue
            if got != want_route:
                where = want.location.label if want.location else "no location"
                out.append(f"GET {path} (Host {host}): nginx chooses {where}"
                           f"{' and redirects' if want.redirect else ''}, edgec route {got}")
                if len(out) >= limit:
                    return out
    return out


def checked(result, out_name: str, source_file: str):
    """(the IR of the written file, or None when refused, its diagnostics): the import's result
    compiled and linted, and its routing compared with nginx's on paths around every location."""
    from ..diagnostics import diagnostic
    from ..pipeline import analyse
    diags = list(result.diagnostics)
    if result.text is None:
        return None, diags
    compiled = analyse(result.text, out_name)
    diags += compiled.diagnostics
    if not compiled.ok:
        diags.append(diagnostic("E502", "the translation does not compile (a fault of the importer: please report "
                                        "it with the file)", source_file))
        return None, diags
    wrong = mismatches(compiled.edge, result.servers)
    if wrong:
        diags.append(diagnostic("E502", "the translation would route differently from nginx (a fault of the "
                                        "importer):\n  " + "\n  ".join(wrong), source_file))
        return None, diags
    return compiled.edge, diags
