"""Why a request goes where it goes: the data `edgec explain` prints.

`explain(edge, request)` returns plain JSON data: the request as routing sees it, the
decision, the winning match and why it is the most specific, every other match that
accepted the request and the rule it lost on, what the backend receives, the upstream
candidates, and the route's policies.
"""
from __future__ import annotations

from typing import Any

from . import ir
from .routing import BadPath, Entry, Request, compile, host_hint, normalize_path

CRITERIA = ("host", "path", "method", "headers", "query", "route order", "match order")


def describe_match(m: ir.Match) -> list[str]:
    out = []
    if m.hosts:
        out.append("host " + " ".join(m.hosts))
    out.append(f"path {m.path.type} {m.path.value!r}")
    if m.methods:
        out.append("method " + " ".join(m.methods))
    for h in m.headers:
        out.append(f"header {h.name!r}" + (" present" if h.type == "present" else
                                          f" {'=' if h.type == 'exact' else '~'} {h.value!r}"))
    for q in m.query:
        out.append(f"query {q.name!r}" + (" present" if q.type == "present" else
                                         f" {'=' if q.type == 'exact' else '~'} {q.value!r}"))
    return out


def _host_words(pattern: str | None) -> str:
    if pattern is None:
        return "no host condition"
    return f"{'wildcard' if pattern.startswith('*.') else 'exact'} host {pattern!r}"


def _path_words(e: Entry) -> str:
    p = e.match.path
    return f"{p.type} {p.value!r}"


def why_lost(winner: tuple, loser: tuple) -> tuple[str, str]:
    """(criterion, sentence) for the first rule on which `winner` beats `loser`.
    Each is (key, entry, host pattern) as Router.matching returns them."""
    wk, we, wh = winner
    lk, le, lh = loser
    i = next(i for i in range(len(wk)) if wk[i] != lk[i])
    w, lo = we.match, le.match
    if i == 0:
        return "host", f"{_host_words(wh)} beats {_host_words(lh)}"
    if i == 1:
        wt, lt = w.path.type, lo.path.type
        if wt == lt == "prefix":
            return "path", f"longer prefix {w.path.value!r} beats {lo.path.value!r}"
        if wt == lt == "regex":
            return "path", f"regex {w.path.value!r} appears earlier in the file than {lo.path.value!r}"
        return "path", f"{_path_words(we)} beats {_path_words(le)} (exact > regex > prefix)"
    if i == 2:
        return "method", f"a method condition ({' '.join(w.methods)}) beats none"
    if i == 3:
        return "headers", f"{len(w.headers)} header condition(s) beat {len(lo.headers)}"
    if i == 4:
        return "query", f"{len(w.query)} query condition(s) beat {len(lo.query)}"
    if i == 5:
        return "route order", f"route {we.route.name!r} comes first in the file"
    return "match order", f"match {we.match_index + 1} comes before match {le.match_index + 1} in the route"


def explain(edge: ir.Edge, request: Request) -> dict[str, Any]:
    router = compile(edge)
    decision = router.decide(request)
    try:
        path = normalize_path(request.path)
    except BadPath:
        path = None
    out: dict[str, Any] = {
        "request": {"method": request.method, "scheme": request.scheme, "host": request.host,
                    "listener_port": router.listener_port(request), "target": request.target,
                    "matched_path": path, "headers": [list(h) for h in request.headers]},
        "outcome": {"status": decision.status, "action": decision.action, "route": decision.route,
                    "reason": decision.reason},
        "winner": None,
        "others": [],
    }
    if decision.action in ("forward", "redirect", "respond", "aggregate", "no_backend") and path is not None:
        matching = router.matching(request, path)
        win = next(t for t in matching if t[1].route.name == decision.route and t[1].match_index == decision.match_index)
        we = win[1]
        out["winner"] = {"route": we.route.name, "match": we.match_index + 1,
                         "line": we.match.span.line if we.match.span else (we.route.span.line if we.route.span else None),
                         "conditions": describe_match(we.match)}
        for t in matching:
            if t is win:
                continue
            criterion, sentence = why_lost(win, t)
            out["others"].append({"route": t[1].route.name, "match": t[1].match_index + 1,
                                  "conditions": describe_match(t[1].match), "lost_on": criterion, "why": sentence})
    if decision.action == "forward":
        total = sum(w for _, w in decision.backends) + decision.invalid_weight
        ups = {u.name: u for u in edge.upstreams}
        out["backend_request"] = {"method": request.method, "target": decision.upstream_path,
                                  "host": decision.upstream_host,
                                  "headers": [list(h) for h in decision.request_headers]}
        out["upstreams"] = [{"upstream": name, "weight": w, "share": round(w / total, 4),
                             "servers": [s.address + (f" weight {s.weight}" if s.weight != 1 else "")
                                         + (" backup" if s.backup else "") for s in ups[name].servers],
                             "balance": ups[name].balance} for name, w in decision.backends]
    if decision.location is not None:
        out["outcome"]["location"] = decision.location
    if decision.action == "respond":
        out["outcome"]["body"] = decision.body
        out["outcome"]["content_type"] = decision.content_type
    if decision.action == "aggregate":
        out["parts"] = [ir.to_json(p) for p in decision.parts]
    if decision.route is not None:
        out["policies"] = _policies(decision)
    hint = host_hint(edge, request, decision)
    if hint:
        out["outcome"]["hint"] = hint
    return out


def _policies(d) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.auth is not None:
        out["auth"] = ir.to_json(d.auth)
    for name in ("require", "rate_limit", "cache", "cors"):
        value = getattr(d, name)
        if value is not None:
            out[name] = ir.to_json(value)
    if d.timeouts and (d.timeouts.request_ms or d.timeouts.per_try_ms):
        out["timeouts"] = ir.to_json(d.timeouts)
    if d.retry and d.retry.attempts:
        out["retry"] = ir.to_json(d.retry)
    if d.mirrors:
        out["mirrors"] = ir.to_json(d.mirrors)
    for name, ops in (("request_headers", d.request_header_ops), ("response_headers", d.response_header_ops)):
        if not ops.empty:
            out[name] = ir.to_json(ops)
    return out


def render_text(x: dict[str, Any]) -> str:
    r, o = x["request"], x["outcome"]
    lines = [f"{r['method']} {r['scheme']}://{r['host']}{r['target']}  (listener {r['scheme']}:{r['listener_port']}, "
             f"matched path {r['matched_path']!r})"]
    if x["winner"]:
        w = x["winner"]
        at = f", line {w['line']}" if w["line"] else ""
        lines.append(f"→ route '{w['route']}' (match {w['match']}{at}): {o['action']}"
                     + (f" {o['status']}" if o["status"] is not None else ""))
        lines.append("  because: " + " · ".join(w["conditions"]))
    else:
        lines.append(f"→ {o['status']} ({o['reason']})")
    if "hint" in o:
        lines.append(f"  hint: {o['hint']}")
    if x["others"]:
        lines.append("  also matched:")
        for other in x["others"]:
            lines.append(f"    route '{other['route']}' match {other['match']} ({' · '.join(other['conditions'])})")
            lines.append(f"      lost on {other['lost_on']}: {other['why']}")
    if o["action"] == "no_backend":
        lines.append(f"  {o['reason']}")
    if "location" in o:
        lines.append(f"  Location: {o['location']}")
    if o["action"] == "respond":
        lines.append(f"  body ({o['content_type']}): {o['body']!r}")
    if "backend_request" in x:
        b = x["backend_request"]
        lines.append(f"  backend receives: {b['method']} {b['target']}  Host: {b['host']}")
        for name, value in b["headers"]:
            lines.append(f"    {name}: {value}")
        lines.append("  upstreams:")
        for u in x["upstreams"]:
            lines.append(f"    {u['upstream']}  weight {u['weight']} ({u['share']:.0%})  balance {u['balance']}  "
                         f"servers {', '.join(u['servers'])}")
    if "parts" in x:
        lines.append("  aggregate parts:")
        for p in x["parts"]:
            lines.append(f"    {p['name']} = {p['method']} {p['upstream']} {p['path']} (timeout {p['timeout_ms']}ms)")
    pol = x.get("policies") or {}
    if pol:
        lines.append("  policies:")
        for name, value in pol.items():
            lines.append(f"    {name}: {_compact(value)}")
    return "\n".join(lines) + "\n"


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        if set(value) == {"secret"}:
            return "${secret:" + str(value["secret"]) + "}"
        return ", ".join(f"{k} {_compact(v)}" for k, v in value.items() if v not in (None, [], ()))
    if isinstance(value, list):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return str(value)
