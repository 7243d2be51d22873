"""Routing test cases: the YAML format `edgec test` reads and the conformance corpus uses.

```yaml
edge: shop.edge          # optional: the .edge file, relative to this file (`edgec test` names it itself)
env: dev                 # optional
servers: {flaky: [down, echo]}   # optional: what stands at each server of an upstream in a live
                         # gateway, in order: `echo` (the echo backend) or `down` (nothing
                         # listens there); an upstream not named here is one echo server
cases:
  - name: users list goes to users
    request: {method: GET, url: /api/v1/users?page=2, host: shop.localhost, headers: {Accept: text/html}}
    expect:
      route: users                # null: no route matches
      upstream: users             # or weights: {v1: 0.7, v2: 0.3} with n: 500 and tolerance: 0.05,
                                  # or upstreams: [v1, v2] (a split: one of them takes the request)
      status: 200                 # what the client sees
      path: /users?page=2         # path + query the backend receives
      host: shop.localhost        # Host the backend receives
      headers: {X-Env: dev}       # headers the backend must receive (repeated lines joined with ",")
      absent_headers: [X-Debug]
      response_headers: {X-Frame-Options: DENY}
      absent_response_headers: [Server]
      location: https://shop.localhost/new   # redirects
      mirrored: [audit]           # upstreams that also receive a copy of the request
    requires: [match.header.regex]   # optional: feature names (edgec/features.py) the case depends on
    live: true                       # optional: the outcome needs real backends, time or the client's address
```

`request.url` is a path or an absolute URL (which also gives the scheme and the listener
port); `request.port` names the listener port explicitly. A path arrives on the edge's
first listener that serves routes (one with `redirect https` redirects everything). Headers are a mapping or a list of
[name, value] pairs (for repeated headers). Against `decide` a forwarded request counts as
answered 200 by its backend, and the backend answers with the response headers the echo
backend of the tests sends (Content-Type, X-Backend, and any asked for with
`X-Echo-Set-Header: Name: value, ...`); `live` cases skip the status and response header checks there.
Policy expectations checked only against `decide`: `auth`, `retry: {attempts, statuses}`,
`timeouts: {request_ms, per_try_ms}`, `cache: {ttl_ms}`, `rate_limit: {count, window_s}`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from . import ir
from .routing import Decision, Request, decide, host_hint, method_problem

EXPECT_KEYS = {"route", "upstream", "upstreams", "weights", "n", "tolerance", "status", "path", "host", "headers",
               "absent_headers", "response_headers", "absent_response_headers", "location", "body", "auth",
               "retry", "timeouts", "cache", "rate_limit", "mirrored"}
REQUEST_KEYS = {"method", "url", "path", "host", "headers", "port"}
CASE_KEYS = {"name", "request", "expect", "requires", "live"}
FILE_KEYS = {"edge", "env", "servers", "cases"}
SERVER_KINDS = ("echo", "down")


class CaseError(ValueError):
    """A case file that does not follow the format (message says where)."""


@dataclass
class Case:
    name: str
    method: str
    url: str
    host: str | None
    headers: tuple[tuple[str, str], ...]
    port: int | None
    expect: dict[str, Any]
    requires: tuple[str, ...] = ()
    live: bool = False
    file: "CaseFile | None" = field(default=None, repr=False)

    def request(self, edge: ir.Edge | None = None) -> Request:
        """The case's request; given the edge, a path-only URL arrives on its first listener
        that serves routes (Request.to_edge)."""
        if edge is not None:
            return Request.to_edge(edge, self.method, self.url, self.headers, host=self.host, port=self.port)
        return Request.from_url(self.method, self.url, self.headers, host=self.host, port=self.port)

    @property
    def statistical(self) -> bool:
        return "weights" in self.expect


@dataclass
class CaseFile:
    path: str
    edge_file: str | None  # absolute path, when the file names one
    env: str | None
    cases: list[Case]
    servers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # upstream -> SERVER_KINDS, in order


def load(path: str) -> CaseFile:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    try:
        with open(path, encoding="utf-8") as f:
            data = YAML(typ="safe").load(f)
    except OSError as err:
        raise CaseError(f"{path}: cannot read: {err.strerror}") from None
    except YAMLError as err:
        raise CaseError(f"{path}: not valid YAML: {err}") from None
    return parse(data, path)


def parse(data: Any, path: str = "<cases>") -> CaseFile:
    if not isinstance(data, dict):
        raise CaseError(f"{path}: expected a mapping with `cases:`")
    _unknown(data, FILE_KEYS, path)
    raw_cases = data.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise CaseError(f"{path}: `cases:` must be a non-empty list")
    edge = data.get("edge")
    edge_file = os.path.join(os.path.dirname(os.path.abspath(path)), str(edge)) if edge else None
    out = CaseFile(path, edge_file, str(data["env"]) if data.get("env") is not None else None, [],
                   _servers(data.get("servers"), path))
    names = set()
    for i, raw in enumerate(raw_cases, 1):
        case = _case(raw, f"{path}: case {i}")
        if case.name in names:
            raise CaseError(f"{path}: case {i}: name '{case.name}' is used twice")
        names.add(case.name)
        case.file = out
        out.cases.append(case)
    return out


def _servers(raw: Any, path: str) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, list) and v and all(k in SERVER_KINDS for k in v)
                                            for v in raw.values()):
        raise CaseError(f"{path}: `servers:` maps an upstream to a non-empty list of {' or '.join(SERVER_KINDS)}")
    return {str(name): tuple(kinds) for name, kinds in raw.items()}


def _unknown(data: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(map(str, data)) - allowed)
    if extra:
        raise CaseError(f"{where}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(extra)} "
                        f"(allowed: {', '.join(sorted(allowed))})")


def _case(raw: Any, where: str) -> Case:
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: a case is a mapping with name, request, expect")
    _unknown(raw, CASE_KEYS, where)
    name = raw.get("name")
    if not name:
        raise CaseError(f"{where}: `name` is missing")
    where = f"{where} ({name})"
    req = raw.get("request")
    if not isinstance(req, dict):
        raise CaseError(f"{where}: `request` must be a mapping")
    _unknown(req, REQUEST_KEYS, f"{where}: request")
    url = req.get("url", req.get("path"))
    if not isinstance(url, str) or not (url.startswith("/") or url.startswith(("http://", "https://"))):
        raise CaseError(f"{where}: request needs `url` (a path starting with / or an http(s) URL)")
    expect = raw.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise CaseError(f"{where}: `expect` must be a non-empty mapping")
    _unknown(expect, EXPECT_KEYS, f"{where}: expect")
    headers = req.get("headers") or {}
    if isinstance(headers, dict):
        pairs = tuple((str(k), str(v)) for k, v in headers.items())
    elif isinstance(headers, list) and all(isinstance(p, list) and len(p) == 2 for p in headers):
        pairs = tuple((str(k), str(v)) for k, v in headers)
    else:
        raise CaseError(f"{where}: request headers are a mapping or a list of [name, value]")
    requires = raw.get("requires") or []
    if not isinstance(requires, list):
        raise CaseError(f"{where}: `requires` is a list of feature names")
    from .features import FEATURES
    for feature in requires:
        if feature not in FEATURES:
            from .diagnostics import did_you_mean
            guess = did_you_mean(str(feature), FEATURES)
            raise CaseError(f"{where}: unknown feature '{feature}'" + (f"; did you mean '{guess}'?" if guess else ""))
    _check_expect(expect, where)
    port = req.get("port")
    if port is not None and (not isinstance(port, int) or not 1 <= port <= 65535):
        raise CaseError(f"{where}: request port must be a number 1..65535")
    try:
        Request.from_url("GET", url)
    except (ValueError, KeyError) as err:
        raise CaseError(f"{where}: request url '{url}' is not valid: {err}") from None
    method = str(req.get("method", "GET"))
    if method_problem(method):
        raise CaseError(f"{where}: request {method_problem(method)}")
    return Case(str(name), method, url, str(req["host"]) if req.get("host") else None,
                pairs, int(port) if port is not None else None, dict(expect), tuple(requires),
                bool(raw.get("live", False)))


_MAPPINGS = ("headers", "response_headers", "weights", "retry", "timeouts", "cache", "rate_limit")
_LISTS = ("absent_headers", "absent_response_headers", "mirrored", "upstreams")


def _check_expect(expect: dict, where: str) -> None:
    for key in ("route", "upstream"):
        if isinstance(expect.get(key), (dict, list)):
            split = " (a split is `weights: {a: 0.9, b: 0.1}`)" if key == "upstream" else ""
            raise CaseError(f"{where}: expect.{key} is one name{split}")
    for key in _MAPPINGS:
        if key in expect and not (isinstance(expect[key], dict) or (expect[key] is None and key not in
                                                                     ("headers", "response_headers", "weights"))):
            raise CaseError(f"{where}: expect.{key} must be a mapping")
    for key in _LISTS:
        if key in expect and not isinstance(expect[key], list):
            raise CaseError(f"{where}: expect.{key} must be a list of {'upstream' if key == 'upstreams' else 'header'} "
                            "names")
    for name, share in (expect.get("weights") or {}).items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise CaseError(f"{where}: expect.weights.{name} must be a share between 0 and 1")
    for key in ("status", "n"):
        if key in expect and (isinstance(expect[key], bool) or not isinstance(expect[key], int)):
            raise CaseError(f"{where}: expect.{key} must be a whole number")
    if "tolerance" in expect and not isinstance(expect["tolerance"], (int, float)):
        raise CaseError(f"{where}: expect.tolerance must be a number")


# ---- checking a case against decide --------------------------------------------------------------

ECHO_RESPONSE_HEADERS = (("Content-Type", "application/json"),)


def joined(headers, name: str) -> str | None:
    values = [v for n, v in headers if n.lower() == name.lower()]
    return ",".join(values) if values else None


def echo_response_headers(decision: Decision) -> list[tuple[str, str]]:
    """The headers the tests' echo backend answers with, for the request this decision sends it."""
    out = list(ECHO_RESPONSE_HEADERS) + [("X-Backend", decision.upstream or "")]
    for n, v in decision.request_headers:
        if n.lower() == "x-echo-set-header":
            for pair in v.split(","):
                name, sep, value = pair.partition(":")
                if sep:
                    out.append((name.strip(), value.strip()))
    return out


def check(case: Case, edge: ir.Edge) -> tuple[Decision, list[str]]:
    """decide() for the case's request, and what differs from the expectation (empty: pass)."""
    request = case.request(edge)
    d = decide(edge, request)
    problems = compare(case, d)
    hint = host_hint(edge, request, d) if problems else None
    return d, problems + ([f"hint: {hint}"] if hint else [])


def compare(case: Case, d: Decision) -> list[str]:
    e = case.expect
    bad: list[str] = []

    def want(what: str, expected, got) -> None:
        if expected != got:
            bad.append(f"{what}: expected {expected!r}, got {got!r}")

    if "route" in e:
        want("route", e["route"], d.route)
    if "upstream" in e:
        want("upstream", e["upstream"], d.upstream)
    if "upstreams" in e:
        want("upstreams", sorted(e["upstreams"]), sorted(n for n in d.shares() if n))
    if "weights" in e:
        shares = d.shares()
        for name, share in e["weights"].items():
            got = shares.get(name, 0.0)
            if abs(got - float(share)) > 1e-9:
                bad.append(f"share of {name}: expected {share}, got {got:.4f}")
        for name in shares:
            if name not in e["weights"]:
                bad.append(f"share of {name}: expected none, got {shares[name]:.4f}")
    if "status" in e and not case.live:
        want("status", e["status"], d.status if d.status is not None else 200)
    if "location" in e:
        want("location", e["location"], d.location)
    if "body" in e:
        want("body", e["body"], d.body)
    forwarded = d.action == "forward"
    if "path" in e:
        want("backend path", e["path"], d.upstream_path)
    if "host" in e:
        want("backend host", e["host"], d.upstream_host)
    if "headers" in e or "absent_headers" in e:
        if not forwarded:
            bad.append(f"backend headers: expected a forwarded request, got {d.action}")
        else:
            bad.extend(header_mismatches("backend header", d.request_headers, e.get("headers") or {},
                                         e.get("absent_headers") or []))
    if ("response_headers" in e or "absent_response_headers" in e) and not case.live:
        # a live case's answer may be the gateway's refusal, whose headers decide cannot know
        base = echo_response_headers(d) if forwarded else []
        bad.extend(header_mismatches("response header", d.apply_response_headers(base),
                                     e.get("response_headers") or {}, e.get("absent_response_headers") or []))
    if "mirrored" in e:
        want("mirrored", sorted(e["mirrored"]), sorted(m.upstream for m in d.mirrors))
    if "auth" in e:
        want("auth", e["auth"], d.auth.name if d.auth else None)
    for key, obj in (("retry", d.retry), ("timeouts", d.timeouts), ("cache", d.cache), ("rate_limit", d.rate_limit)):
        if key in e:
            expected = e[key]
            if expected is None or obj is None:
                want(key, expected, None if obj is None else ir.to_json(obj))
                continue
            got = ir.to_json(obj)
            for k, v in expected.items():
                gv = got.get(k)
                if isinstance(gv, list):
                    gv = list(gv)
                if gv != v:
                    bad.append(f"{key}.{k}: expected {v!r}, got {gv!r}")
    return bad


def header_mismatches(what: str, headers, expected: dict, absent: list) -> list[str]:
    bad = []
    for name, value in expected.items():
        got = joined(headers, str(name))
        if got != str(value):
            bad.append(f"{what} {name}: expected {str(value)!r}, got {got!r}")
    for name in absent:
        got = joined(headers, str(name))
        if got is not None:
            bad.append(f"{what} {name}: expected absent, got {got!r}")
    return bad
