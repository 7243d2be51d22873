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


def checked(result, out_name: str, source_file: str, compare=None):
    """(the IR of the written file, or None when refused, its diagnostics): the import's result
    compiled and linted, and its routing compared with the source product's (`compare`, nginx's
    location choice by default) on paths around every location."""
    from ..diagnostics import diagnostic
    from ..pipeline import analyse
    diags = list(result.diagnostics)
    if result.text is None:
        return None, diags
    compiled = analyse(result.text, out_name)
    diags += compiled.diagnostics
    if not compiled.ok:
        first = next(d for d in compiled.diagnostics if d.severity == "error")
        diags.append(diagnostic("E502", f"the translation does not compile: {first.message} (a value of the source "
                                        "that edgec refuses, or a fault of the importer)", source_file,
                                hint="check that the source is valid for its product (nginx -t); if it is, please "
                                     "report the file"))
        return None, diags
    wrong = (compare or mismatches)(compiled.edge, result.servers)
    if wrong:
        diags.append(diagnostic("E502", "the translation would route differently from the original (a fault of the "
                                        "importer): " + "; ".join(wrong), source_file))
        return None, diags
    return compiled.edge, diags


def ingress_requests(served_list):
    """(served, Host, path, headers) of every request the Ingress comparison asks about: around every
    path of every host, with and without each canary header."""
    from .samples import regex_examples
    for served in served_list:
        probes = {"/", "/zz"}
        for p in served.paths:
            bases = regex_examples(p.path) if any(c in p.path for c in "()[]*+?|\\$^") else [p.path]
            for b in bases:
                for suffix in ("", "/", "x", "/x", "-x", "/x/y"):
                    probes.add((b + suffix).replace("//", "/") if b else "/")
        headers_sets = [{}] + [{c.get("canary-by-header").lower(): c.get("canary-by-header-value", "always")}
                               for p in served.paths for c, _ in p.canary if c.get("canary-by-header")]
        for host in served.hosts():
            name = (host or "default.test").replace("*.", "any.")
            for path in sorted(probes):
                if path.startswith("/") and not any(ch in path for ch in " ?#%\n"):
                    for headers in headers_sets:
                        yield served, name, path, headers


def ingress_mismatches(edge, served_list, limit: int | None = 5) -> list[str]:
    """Requests on which edgec's upstreams are not those ingress-nginx's documented routing picks."""
    from .ingress import pick
    out = []
    for served, name, path, headers in ingress_requests(served_list):
        want = pick(served, name, path, headers)
        d = decide(edge, Request.to_edge(edge, "GET", path, host=name, headers=tuple(headers.items())))
        got = d.shares() if d.action == "forward" else None
        if got != want:
            out.append(f"GET {path} (Host {name}{''.join(f', {k}: {v}' for k, v in headers.items())}): "
                       f"ingress-nginx {want or 404}, edgec {got or d.status}")
            if limit and len(out) >= limit:
                return out
    return out
