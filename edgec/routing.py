"""Which route handles a request, and what reaches the backend: the executable specification.

`decide(edge, request) -> Decision` is a pure function. Every target is held to it by the
conformance corpus (tests/conformance), the runtime calls it per request, and `edgec
explain` prints it. docs/semantics.md states each rule in prose; this module is the
authority when the two disagree.

The rules follow the Kubernetes Gateway API HTTPRoute precedence. One total order ranks
every (route, match) pair that accepts a request; the lowest key wins:

    host      exact host (longer first) < wildcard host (longer first) < no host condition
    path      exact < regex (in order of first appearance of the pattern) < prefix (longer first)
    method    a method condition < none
    headers   more header conditions < fewer
    query     more query conditions < fewer
    order     route position in the file, then match position in the route

`compile(edge)` builds that order once per IR object into hash tables keyed by host and
path, so a decision costs a few dictionary lookups however many routes there are.

What a target reads here instead of deriving it again (a rule written twice drifts):

    first_match_order(edge)      every (route, match, one host) as an Alternative, best first:
                                 a product that tries its rules in order (Spring Cloud Gateway
                                 route `order`, ALB rule priorities, Envoy's route list, nginx
                                 regex locations) emits them in this order, each with its host
                                 condition narrowed to the one `host`, and picks what decide picks
    virtual_hosts(edge)          the same per host name, for a product that picks a virtual host
                                 by name first (nginx server_name, Envoy domains): what each
                                 must list, best first, so that falling back behaves as decide
    precedence_key(entry, host)  the key both are sorted by, for a target that groups entries
                                 further itself (nginx's locations)
    decoded_path(value)          a route's exact/prefix path as it is compared: %XX decoded,
                                 dot segments resolved (`prefix "/a%20b"` matches "/a b")
    rewritten_prefix(rw, match)  the decoded prefix a `prefix` path rewrite or redirect replaces
    time_limits(timeouts, up)    the waits of one request forwarded to one upstream: an
                                 attempt's (attempt_timeout_ms: per_try, else the upstream's
                                 read timeout), the connect and send timeouts, the whole request's
    replace_prefix, prefix_matches, strip_slash, escape_path, host_of, apply_header_ops
                                 the path, host and header functions decide itself uses
    address_allowed(access, ip)  whether `allow`/`deny` lists let a client address in (deny wins)
    authorized(require, claims)  whether a verified token carries what a route requires (else
                                 403 with forbidden_challenge(auth), never 401); granted_scopes
"""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
import weakref
from typing import AnyStr, Callable, Iterable, Iterator, TypeVar
from urllib.parse import unquote_to_bytes, urlsplit

from . import ir
from .keptcode import dataclass
from .regexes import compiled

T = TypeVar("T")

DEFAULT_PORTS = {"http": 80, "https": 443}
DEFAULT_HOST = "edge.test"  # Host sent by requests that name none (tests, `edgec explain /path`)

Headers = tuple[tuple[str, str], ...]


def method_problem(method: str) -> str | None:
    """Why a request method given to a tool (explain, test) is not one a route can match, or None."""
    if method in ir.HTTP_METHODS:
        return None
    from .diagnostics import did_you_mean
    guess = did_you_mean(method.upper(), ir.HTTP_METHODS)
    return (f"unknown method '{method}'" + (f"; did you mean '{guess}'?" if guess else "")
            + f" (methods: {', '.join(ir.HTTP_METHODS)})")


def host_hint(edge: ir.Edge, request: Request, decision: "Decision") -> str | None:
    """When a request that named no Host (so it was sent as DEFAULT_HOST) found no route, and a
    route with a host condition would take it with that host: say which Host to send."""
    if decision.action != "not_found" or request.host != DEFAULT_HOST:
        return None
    for route in edge.routes:
        for m in route.matches:
            for pattern in m.hosts:
                host = "www" + pattern[1:] if pattern.startswith("*.") else pattern
                again = decide(edge, dataclasses.replace(request, host=host))
                if again.route is not None:
                    return (f"no Host was given, so the request was sent with Host {DEFAULT_HOST}; route "
                            f"'{again.route}' takes it with Host {host} (add -H 'Host: {host}', or "
                            f"host: {host} in a case)")
    return None


# ---- the request ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Request:
    method: str
    scheme: str  # "http" or "https": the listener's protocol
    host: str  # the Host header as sent ("" when absent); routing ignores its port
    port: int | None  # the listener port; None: the edge's first listener of this scheme
    path: str  # raw path as sent, without the query
    query: str = ""  # raw query string, without "?"
    headers: Headers = ()  # every other header line, in order (Host is `host`)
    bare_query: bool = False  # the target ends in a "?" with nothing after it

    @classmethod
    def from_url(cls, method: str, url: str, headers: Iterable[tuple[str, str]] = (),
                 host: str | None = None, port: int | None = None) -> "Request":
        """`url` is absolute (`http://h:8080/p?q`: scheme, Host and listener port from it) or a
        path (`/p?q`: http, Host from `host`, a Host header, or DEFAULT_HOST). An explicit
        `host` or Host header overrides the URL's."""
        hdrs = []
        host_header = None
        for name, value in headers:
            if name.lower() == "host":
                host_header = value
            else:
                hdrs.append((name, value))
        if url.startswith(("http://", "https://")):
            parts = urlsplit(url)
            scheme = parts.scheme
            url_host = parts.netloc
            if port is None:
                port = parts.port or DEFAULT_PORTS[scheme]
            rest = url[len(scheme) + 3 + len(parts.netloc):] or "/"
        else:
            scheme, url_host, rest = "http", None, url or "/"
        path, mark, query = rest.partition("?")
        chosen_host = host if host is not None else host_header if host_header is not None else \
            url_host if url_host is not None else DEFAULT_HOST
        return cls(method, scheme, chosen_host, port, path or "/", query, tuple(hdrs), bool(mark) and not query)

    @property
    def target(self) -> str:
        """The request target as sent: raw path plus query (a bare "?" included)."""
        return self.path + ("?" + self.query if self.query or self.bare_query else "")

    @classmethod
    def to_edge(cls, edge: ir.Edge, method: str, url: str, headers: Iterable[tuple[str, str]] = (),
                host: str | None = None, port: int | None = None) -> "Request":
        """Like from_url, but a path-only URL arrives on the edge's first listener that serves
        routes (not one that redirects everything to HTTPS), with that listener's scheme."""
        req = cls.from_url(method, url, headers, host=host, port=port)
        if port is None and not url.startswith(("http://", "https://")):
            lst = next((x for x in edge.listeners if x.redirect is None), None)
            if lst is not None:
                req = dataclasses.replace(req, scheme=lst.protocol, port=lst.port)
        return req


# ---- the decision ----------------------------------------------------------------------------

@dataclass(slots=True)
class Decision:
    """What happens to one request.

    `status` is the status the gateway answers with itself (404, 500, 400, a redirect, a
    fixed response); None when a backend's answer is relayed (forward, aggregate).

    `response_header_ops` hold for every answer to the request once its route has taken it:
    the backend's, a cache hit, the gateway's own (a redirect, a fixed response, an
    aggregation, a CORS preflight) and the gateway's refusals on the route (its allow/deny
    lists' or a refused preflight's 403, auth's 401/403, the rate limit's refusal, 413, the
    500 of an invalid share, 502/503/504 when the upstream fails or a timeout ends the
    request), so that a route's CORS or security headers reach a client the gateway refuses
    (nginx's `add_header ... always`). An answer given before any route takes the request
    (400, 404, the listener's redirect, the edge's own allow/deny lists) carries none: a
    Decision without a route has none."""

    status: int | None
    action: str  # forward | redirect | respond | aggregate | not_found | no_backend | bad_request | listener_redirect
    route: str | None = None
    match_index: int | None = None
    reason: str = ""  # one line: why this outcome
    # forward
    backends: tuple[tuple[str, int], ...] = ()  # (upstream, weight) of every usable backend, weight > 0
    invalid_weight: int = 0  # weight of backends with no servers: that share of requests gets 500
    upstream_path: str | None = None  # path + query the backend receives
    upstream_host: str | None = None  # Host header the backend receives
    request_headers: Headers = ()  # the client's headers after the route's request header ops (Host apart)
    request_header_ops: ir.HeaderOps = ir.HeaderOps()
    response_header_ops: ir.HeaderOps = ir.HeaderOps()
    # redirect / respond / aggregate
    location: str | None = None
    body: str | None = None
    content_type: str | None = None
    parts: tuple[ir.AggregatePart, ...] = ()
    # policies of the route
    auth: ir.Auth | None = None
    require: ir.Requirements | None = None  # of the token `auth` verified
    rate_limit: ir.RateLimit | None = None
    cache: ir.Cache | None = None
    cors: ir.Cors | None = None
    timeouts: ir.Timeouts | None = None
    retry: ir.Retry | None = None
    mirrors: tuple[ir.Mirror, ...] = ()

    def apply_request_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return apply_header_ops(self.request_header_ops, headers)

    def apply_response_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return apply_header_ops(self.response_header_ops, headers)

    @property
    def upstream(self) -> str | None:
        """The one upstream when the route forwards to exactly one."""
        return self.backends[0][0] if len(self.backends) == 1 and not self.invalid_weight else None

    def shares(self) -> dict[str, float]:
        """Upstream → fraction of requests it receives (invalid backends under "")."""
        total = sum(w for _, w in self.backends) + self.invalid_weight
        out: dict[str, float] = {}
        for name, w in self.backends:
            out[name] = out.get(name, 0.0) + w / total
        if self.invalid_weight:
            out[""] = self.invalid_weight / total
        return out


def apply_header_ops(ops: ir.HeaderOps, headers: Iterable[tuple[AnyStr, AnyStr]]) -> list[tuple[AnyStr, AnyStr]]:
    """set replaces every line of that name with one; add appends to the existing value as a
    comma list (a new line when there is none); remove drops every line. Names compare
    case-insensitively; a header keeps the position and spelling of its first line. The lines
    are bytes when `ops` is too (the runtime's request_ops_bytes, which has no `add`)."""
    out = list(headers)
    if ops.empty:
        return out
    drop = {n.lower() for n in ops.remove}
    out = [(n, v) for n, v in out if n.lower() not in drop]
    for name, value in ops.set:
        out = _replace(out, name, value)
    for name, value in ops.add:
        existing = [v for n, v in out if n.lower() == name.lower()]
        out = _replace(out, name, ",".join(existing + [value]))
    return out


def _replace(headers: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    low = name.lower()
    out, placed = [], False
    for n, v in headers:
        if n.lower() != low:
            out.append((n, v))
        elif not placed:
            out.append((n, value))
            placed = True
    if not placed:
        out.append((name, value))
    return out


# ---- path normalisation (as nginx does it before location matching) -------------------------

class BadPath(ValueError):
    pass


# what a gateway must escape in a path it sends: what would end the path or the request line
# (controls, space, "#", "?"), "%" (which would read as an escape), DEL and non-ASCII bytes;
# nginx's own set (NGX_ESCAPE_URI), so other characters go on as the client sent them
PATH_SENT_AS_IS = frozenset(range(0x21, 0x7f)) - frozenset(b"#%?")
_NEEDS_WORK = re.compile(r"%|//|/\.")


def normalize_path(raw: str) -> str:
    """The path routes are matched against: %XX decoded (UTF-8; other bytes kept as
    surrogates), "." and ".." segments resolved, runs of "/" merged. Raises BadPath for a
    path not starting with "/" (e.g. "*"), a raw byte over 0x7f, a malformed escape, an
    encoded NUL, or ".." above the root (nginx answers 400)."""
    if not raw.startswith("/"):
        raise BadPath("the path must start with '/'")
    if not raw.isascii():
        raise BadPath("a raw byte over 0x7f (send it %XX-encoded)")
    if not _NEEDS_WORK.search(raw):
        return raw
    if "%" in raw:
        if re.search(r"%(?![0-9A-Fa-f]{2})", raw):
            raise BadPath("malformed %-escape")
        data = unquote_to_bytes(raw)
        if b"\0" in data:
            raise BadPath("encoded NUL byte")
        path = data.decode("utf-8", "surrogateescape")
    else:
        path = raw
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments[1:], 1):
        last = i == len(segments) - 1
        if seg == "" and not last:
            continue  # merge slashes
        if seg == ".":
            seg = ""
            if not last:
                continue
        elif seg == "..":
            if not out:
                raise BadPath("'..' above the root")
            out.pop()
            seg = ""
            if not last:
                continue
        out.append(seg)
    return "/" + "/".join(out)


def escape_path(path: str) -> str:
    """A decoded path made fit to send again: controls, space, "#", "%", "?", DEL and bytes
    over 0x7f become %XX (so a decoded "%" or "?" cannot change the request's meaning);
    other characters, `[` or `|` among them, are sent as they are."""
    data = path.encode("utf-8", "surrogateescape")
    if all(b in PATH_SENT_AS_IS for b in data):
        return path
    return "".join(chr(b) if b in PATH_SENT_AS_IS else f"%{b:02X}" for b in data)


def without_underscores(headers: Headers) -> Headers:
    """The header lines an edge reads and passes on: a name with "_" is dropped, as nginx
    and Envoy drop it by default (through a proxy that maps "_" and "-" to one CGI name,
    X_User could pose as X-User)."""
    return tuple((n, v) for n, v in headers if "_" not in n)


def strip_slash(prefix: str) -> str:
    """A prefix without its one ignored trailing "/" ("/" becomes "")."""
    return prefix[:-1] if prefix.endswith("/") else prefix


def prefix_matches(prefix: str, path: str) -> bool:
    """Element-wise prefix: "/foo" and "/foo/" match "/foo", "/foo/", "/foo/x", never "/foobar"."""
    p = strip_slash(prefix)
    return path == p or path.startswith(p + "/") or (p == "" and path.startswith("/"))


def replace_prefix(path: str, prefix: str, replacement: str) -> str:
    """Gateway API ReplacePrefixMatch: every row of the spec's table, and (pinned here)
    prefix "/foo", replacement "/xyz/", request "/foo" → "/xyz". A path the prefix does
    not match is returned unchanged."""
    p = strip_slash(prefix)
    if not (path == p or path.startswith(p + "/")):
        return path
    return (strip_slash(replacement) + path[len(p):]) or "/"


# RFC 3986 host [":" port]: an IP literal, or a reg-name (unreserved, %-escapes, sub-delims; bytes
# over 0x7f are let through as nginx does); what may not be in it is what would change the
# meaning of a URL the host is written into (`/ ? # @ \\`, spaces, controls)
_VALID_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[-A-Za-z0-9._~!$&'()*+,;=%\x80-\xff]+)(?::[0-9]*)?")


def valid_host(host: str) -> bool:
    """A Host value the edge serves. Like nginx, an empty host name, `..` and a path
    separator or space are refused; unlike nginx, so is anything outside the RFC 3986 host
    grammar, since the host is reflected into redirects and X-Forwarded-Host."""
    return _VALID_HOST.fullmatch(host) is not None and ".." not in host and host_of(host) != ""


def target_parts(target: str, host: str) -> tuple[str, str, str]:
    """(host, path, query) of a request as received with the request target `target` and
    the Host header `host`. An absolute-form target (`http://h/p?q`, what a client sends to
    a proxy) names its host itself and the Host header is ignored (RFC 9112 §3.2.2);
    otherwise the Host header names it."""
    if target[:1] != "/" and target[:8].lower().startswith(("http://", "https://")):
        start = target.find("://") + 3
        end = start
        while end < len(target) and target[end] not in "/?#":
            end += 1
        host = target[start:end]
        target = target[end:]
        if target[:1] != "/":
            target = "/" + target
    path, _, query = target.partition("?")
    return host, path, query


def host_of(host_header: str) -> str:
    """The host name routing compares: lower case, port and trailing dot removed."""
    h = host_header.strip().lower()
    if h.startswith("["):
        end = h.find("]")
        return h[:end + 1] if end > 0 else h
    h = h.rsplit(":", 1)[0] if ":" in h else h
    return h[:-1] if h.endswith(".") else h


# ---- compiled conditions --------------------------------------------------------------------

class _Lazy:
    """Per-request views built only when a candidate needs them."""

    __slots__ = ("req", "_headers", "_query")

    def __init__(self, req: Request):
        self.req = req
        self._headers = None
        self._query = None

    def headers(self) -> dict[str, str]:
        if self._headers is None:
            h: dict[str, str] = {}
            for name, value in self.req.headers:
                h.setdefault(name.lower(), value)  # a repeated header: its first line counts
            self._headers = h
        return self._headers

    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = parse_query(self.req.query)
        return self._query


def parse_query(query: str) -> dict[str, str]:
    """Name → first value, both %XX-decoded ("+" is kept: it is not a space in a URI)."""
    out: dict[str, str] = {}
    if not query:
        return out
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = _pct(name)
        if name not in out:
            out[name] = _pct(value)
    return out


def _pct(text: str) -> str:
    if "%" not in text:
        return text
    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


def _value_test(vm: ir.ValueMatch):
    if vm.type == "present":
        return None
    if vm.type == "regex":
        return compiled(vm.value or "").fullmatch
    return vm.value


def _value_ok(test, value: str | None) -> bool:
    if value is None:
        return False
    if test is None:
        return True
    if isinstance(test, str):
        return value == test
    return test(value) is not None


@dataclass(slots=True)
class Entry:
    """One (route, match) pair, ready to test."""

    route_index: int
    match_index: int
    route: ir.Route
    match: ir.Match
    path_value: str  # exact/prefix value %XX-decoded, prefix without its trailing "/"; regex source
    methods: frozenset[str] | None
    headers: tuple[tuple[str, object], ...]  # (lower-case name, test)
    query: tuple[tuple[str, object], ...]
    regex_rank: int = 0  # position of the pattern among distinct regexes, by first appearance
    fullmatch: object = None  # the regex's, once `regex` compiled it
    plan: tuple | None = None  # the route's outcome, precomputed on first use (Router._plan)
    simple: bool = False  # no method, header or query condition: the path and host decide

    def __post_init__(self) -> None:
        self.simple = self.methods is None and not self.headers and not self.query

    @property
    def regex(self):
        """A regex path's fullmatch (None for the other paths), compiled when first asked for: a
        build of an IR the analysis cache kept tests few of its patterns (edgec.analysiscache),
        and compiling 2,500 cost it ~0.1 s."""
        if self.fullmatch is None and self.match.path.type == "regex":
            self.fullmatch = compiled(self.path_value).fullmatch
        return self.fullmatch

    @property
    def tie_key(self) -> tuple:
        return (not self.methods, -len(self.headers), -len(self.query), self.route_index, self.match_index)

    def conditions_hold(self, req: Request, lazy: _Lazy) -> bool:
        if self.methods is not None and req.method not in self.methods:
            return False
        if self.headers:
            h = lazy.headers()
            for name, test in self.headers:
                if not _value_ok(test, h.get(name)):
                    return False
        if self.query:
            q = lazy.query()
            for name, test in self.query:
                if not _value_ok(test, q.get(name)):
                    return False
        return True


def decoded_path(value: str) -> str:
    """A route's `exact` or `prefix` path value as requests are compared with it: normalised
    as a request path is (normalize_path). A value normalize_path refuses is kept as written
    (lowering accepts only paths that start with "/", so it never reaches a target). A
    character over 0x7f in the value stands for its UTF-8 %XX escapes, the only way a
    request can send it."""
    sent = value if value.isascii() else \
        "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in value)
    try:
        return normalize_path(sent)
    except BadPath:
        return value


def path_rank(e: Entry) -> tuple:
    t = e.match.path.type
    if t == "exact":
        return (0,)
    if t == "regex":
        return (1, e.regex_rank)
    return (2, -len(e.path_value))


def host_rank(pattern: str | None) -> tuple:
    if pattern is None:
        return (2, 0)
    if pattern.startswith("*."):
        return (1, -len(pattern))
    return (0, -len(pattern))


def host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


class _Table:
    """The entries of one host bucket, indexed by path."""

    __slots__ = ("exact", "regex", "prefix", "_by_rank")

    def __init__(self):
        self.exact: dict[str, list[Entry]] = {}
        self.regex: list[tuple[object, list[Entry]]] | None = None  # see regexes()
        self.prefix: dict[str, list[Entry]] = {}
        self._by_rank: dict[int, list[Entry]] = {}

    def add(self, e: Entry) -> None:
        t = e.match.path.type
        if t == "exact":
            self.exact.setdefault(e.path_value, []).append(e)
        elif t == "prefix":
            self.prefix.setdefault(e.path_value, []).append(e)
        else:
            self._by_rank.setdefault(e.regex_rank, []).append(e)

    def seal(self) -> None:
        for groups in (self.exact, self.prefix, self._by_rank):
            for group in groups.values():
                group.sort(key=lambda e: e.tie_key)

    def regexes(self) -> list[tuple[object, list[Entry]]]:
        """Each pattern's fullmatch and its entries, in rank order: compiled when a lookup first
        needs them (Entry.regex)."""
        if self.regex is None:
            self.regex = [(group[0].regex, group) for _, group in sorted(self._by_rank.items())]
        return self.regex


# ---- the router ---------------------------------------------------------------------------------

class Router:
    """An edge's routes compiled for lookup. Build with compile(edge)."""

    def __init__(self, edge: ir.Edge):
        self._edge = weakref.ref(edge)  # a strong reference would keep every compiled IR alive in the cache
        self.listener_list = edge.listeners
        self.entries: list[Entry] = []
        self.exact_hosts: dict[str, _Table] = {}
        self.wildcard_hosts: dict[str, _Table] = {}  # ".example.com" → table
        self.any_host = _Table()
        self.redirecting = {lst.port: lst for lst in edge.listeners if lst.redirect is not None}
        self.upstreams = {u.name: u for u in edge.upstreams}
        self.auth = {a.name: a for a in edge.auth}
        regex_slots: dict[str, int] = {}
        for ri, route in enumerate(edge.routes):
            for mi, m in enumerate(route.matches):
                e = self._entry(ri, mi, route, m, regex_slots)
                self.entries.append(e)
                if not m.hosts:
                    self.any_host.add(e)
                for h in m.hosts:
                    if h.startswith("*."):
                        self.wildcard_hosts.setdefault(h[1:], _Table()).add(e)
                    else:
                        self.exact_hosts.setdefault(h, _Table()).add(e)
        for t in (*self.exact_hosts.values(), *self.wildcard_hosts.values(), self.any_host):
            t.seal()
        self._static = {}
        self._order: tuple[Alternative, ...] | None = None
        self._vhosts: tuple[VirtualHost, ...] | None = None

    def virtual_hosts(self) -> tuple[VirtualHost, ...]:
        """See the module function virtual_hosts."""
        if self._vhosts is None:
            by_pattern: dict[str, list[Entry]] = {}
            for e in self.entries:
                for h in e.match.hosts:
                    by_pattern.setdefault(h, []).append(e)
            hostless = [alternative(e, None) for e in self.entries if not e.match.hosts]
            out = []
            for name in sorted(by_pattern, key=lambda h: (h.startswith("*."), h)):
                best: dict[int, Alternative] = {}
                for pattern in _covering_patterns(name):
                    for e in by_pattern.get(pattern, ()):
                        best.setdefault(id(e), alternative(e, pattern))  # the first found is the most specific
                out.append(VirtualHost(name, tuple(sorted([*best.values(), *hostless], key=lambda a: a.key))))
            out.append(VirtualHost(None, tuple(sorted(hostless, key=lambda a: a.key))))
            self._vhosts = tuple(out)
        return self._vhosts

    def first_match_order(self) -> tuple[Alternative, ...]:
        """See the module function first_match_order."""
        if self._order is None:
            alts = [alternative(e, host) for e in self.entries for host in (e.match.hosts or (None,))]
            self._order = tuple(sorted(alts, key=lambda a: a.key))
        return self._order

    @property
    def edge(self) -> ir.Edge:
        edge = self._edge()
        if edge is None:
            raise ReferenceError("the IR this router was compiled from no longer exists")
        return edge

    @staticmethod
    def _entry(ri: int, mi: int, route: ir.Route, m: ir.Match, regex_slots: dict[str, int]) -> Entry:
        p = m.path
        rank = 0
        if p.type == "regex":
            rank = regex_slots.setdefault(p.value, len(regex_slots))
            value = p.value
        elif p.type == "prefix":
            value = strip_slash(decoded_path(p.value))
        else:
            value = decoded_path(p.value)
        return Entry(ri, mi, route, m, value,
                     frozenset(m.methods) if m.methods else None,
                     tuple((h.name.lower(), _value_test(h)) for h in m.headers),
                     tuple((q.name, _value_test(q)) for q in m.query),
                     rank)

    # -- lookup ------------------------------------------------------------------------------
    def tables(self, hostname: str) -> Iterator[tuple[str | None, _Table]]:
        """Host buckets that accept `hostname`, most specific first, with their pattern."""
        t = self.exact_hosts.get(hostname)
        if t is not None:
            yield hostname, t
        if self.wildcard_hosts:
            i = hostname.find(".")
            while i >= 0:
                suffix = hostname[i:]
                if i > 0:
                    t = self.wildcard_hosts.get(suffix)
                    if t is not None:
                        yield "*" + suffix, t
                i = hostname.find(".", i + 1)
        yield None, self.any_host

    def winner(self, req: Request, path: str) -> Entry | None:
        lazy = _Lazy(req)
        if not self.exact_hosts and not self.wildcard_hosts:
            return _first(self.any_host, req, path, lazy)
        for _, table in self.tables(host_of(req.host)):
            e = _first(table, req, path, lazy)
            if e is not None:
                return e
        return None

    def matching(self, req: Request, path: str, conditions: bool = True) -> list[tuple[tuple, Entry, str | None]]:
        """Every entry that accepts the request, with its full precedence key, best first.
        With conditions=False: every entry whose host and path accept it (method, header
        and query conditions then decide among them)."""
        lazy = _Lazy(req)
        hostname = host_of(req.host)
        out = []
        for e in self.entries:
            pattern = _best_host(e.match.hosts, hostname)
            if pattern is False:
                continue
            p = e.match.path
            ok = (path == e.path_value if p.type == "exact" else
                  prefix_matches(e.path_value + "/", path) if p.type == "prefix" else
                  e.regex(path) is not None)  # type: ignore[operator]
            if ok and (not conditions or e.conditions_hold(req, lazy)):
                out.append((precedence_key(e, pattern), e, pattern))
        out.sort(key=lambda t: t[0])
        return out

    def decide(self, req: Request) -> Decision:
        if req.headers and any("_" in name for name, _ in req.headers):
            req = dataclasses.replace(req, headers=without_underscores(req.headers))
        if req.host and not valid_host(req.host):  # never routed on, nor reflected into a redirect
            return Decision(400, "bad_request", reason="invalid Host header")
        if self.redirecting:
            listener = self.redirecting.get(req.port if req.port is not None else self.listener_port(req))
            if listener is not None:
                return self._listener_redirect(req, listener)
        if not req.query.isascii():
            return Decision(400, "bad_request", reason="bad request query: a raw byte over 0x7f (send it %XX-encoded)")
        try:
            path = normalize_path(req.path)
        except BadPath as err:
            return Decision(400, "bad_request", reason=f"bad request path: {err}")
        e = self.winner(req, path)
        if e is None:
            return Decision(404, "not_found", reason="no route matches")
        return self.outcome(e, req, path)

    # -- outcome -----------------------------------------------------------------------------
    def outcome(self, e: Entry, req: Request, path: str) -> Decision:
        plan = e.plan or self._plan(e)
        if plan[0] == "forward":  # the hot path: everything that does not depend on the request is ready
            _, head, tail, rw_path, rw_host, ops = plan
            if rw_path is None:
                upstream_path = req.target
            else:
                upstream_path = self._rewritten(rw_path, e, path) + ("?" + req.query if req.query else "")
            headers = req.headers if ops is None else tuple(apply_header_ops(ops, req.headers))
            return Decision(*head, upstream_path, rw_host or req.host, headers, *tail)
        route, action, common = e.route, e.route.action, plan[1]
        reason = plan[2]
        if plan[0] == "no_backend":
            return Decision(500, "no_backend", route.name, e.match_index,
                            reason + ": no backend can take traffic (weight 0 or no servers)",
                            response_header_ops=route.response_headers, invalid_weight=plan[3], **common)
        if isinstance(action, ir.Redirect):
            return Decision(action.status, "redirect", route.name, e.match_index, reason,
                            response_header_ops=route.response_headers,
                            location=self.location(action, e, req, path), **common)
        if isinstance(action, ir.Respond):
            return Decision(action.status, "respond", route.name, e.match_index, reason,
                            response_header_ops=route.response_headers, body=action.body,
                            content_type=action.content_type, **common)
        return Decision(None, "aggregate", route.name, e.match_index, reason,
                        response_header_ops=route.response_headers, parts=action.parts, **common)

    def _plan(self, e: Entry) -> tuple:
        route = e.route
        static = self._static.get(e.route_index)
        if static is None:
            static = self._static[e.route_index] = self._route_static(route)
        common = static["policies"]
        reason = f"route '{route.name}' match {e.match_index + 1}"
        backends, invalid = static["backends"]
        if not isinstance(route.action, ir.Forward):
            e.plan = (route.action.type, common, reason)
        elif not backends:
            e.plan = ("no_backend", common, reason, invalid)
        else:
            ops = route.request_headers
            head = (None, "forward", route.name, e.match_index, reason, backends, invalid)
            tail = (ops, route.response_headers, None, None, None, ()) + tuple(common.values())
            e.plan = ("forward", head, tail, route.rewrite.path, route.rewrite.host, None if ops.empty else ops)
        return e.plan

    def _route_static(self, route: ir.Route) -> dict:
        policies = dict(auth=self.auth.get(route.auth) if route.auth else None,
                        require=None if route.require.empty else route.require, rate_limit=route.rate_limit,
                        cache=route.cache, cors=route.cors, timeouts=route.timeouts, retry=route.retry,
                        mirrors=route.mirrors)
        backends: list[tuple[str, int]] = []
        invalid = 0
        if isinstance(route.action, ir.Forward):
            for b in route.action.backends:
                up = self.upstreams.get(b.upstream)
                if b.weight <= 0:
                    continue
                if up is None or not up.servers:
                    invalid += b.weight
                else:
                    backends.append((b.upstream, b.weight))
        return {"policies": policies, "backends": (tuple(backends), invalid)}

    @staticmethod
    def _rewritten(rw: ir.PathRewrite, e: Entry, path: str) -> str:
        if rw.type == "full":
            return rw.replacement
        prefix = rewritten_prefix(rw, e.match)
        if prefix is None:
            return escape_path(path)
        return escape_path(replace_prefix(path, prefix, rw.replacement))

    def location(self, r: ir.Redirect, e: Entry, req: Request, path: str) -> str:
        scheme = r.scheme or req.scheme
        host = r.host or host_of(req.host)
        if r.port is not None:
            port = r.port
        elif r.scheme is not None:
            port = DEFAULT_PORTS[scheme]
        else:
            port = self.listener_port(req)
        authority = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
        if r.path is None:
            target = req.target
        else:
            target = self._rewritten(r.path, e, path) + ("?" + req.query if req.query else "")
        return f"{scheme}://{authority}{target}"

    def listener_port(self, req: Request) -> int:
        if req.port is not None:
            return req.port
        for lst in self.listener_list:
            if lst.protocol == req.scheme:
                return lst.port
        return DEFAULT_PORTS[req.scheme]

    def _listener_redirect(self, req: Request, listener: ir.Listener) -> Decision:
        port = listener.redirect.port  # type: ignore[union-attr]
        authority = host_of(req.host) + ("" if port == 443 else f":{port}")
        return Decision(listener.redirect.status, "listener_redirect",  # type: ignore[union-attr]
                        reason=f"listener {listener.protocol}:{listener.port} redirects every request to HTTPS",
                        location=f"https://{authority}{req.target}")


def _first(table: _Table, req: Request, path: str, lazy: _Lazy) -> Entry | None:
    """The best entry of one host bucket that accepts the request."""
    group = table.exact.get(path)
    if group:
        for e in group:
            if e.simple or e.conditions_hold(req, lazy):
                return e
    for fullmatch, group in table.regex or table.regexes():
        if fullmatch(path) is not None:  # type: ignore[operator]
            for e in group:
                if e.conditions_hold(req, lazy):
                    return e
    prefix = table.prefix
    if not prefix:
        return None
    if path.endswith("/"):
        key = path[:-1]
        i = path.rfind("/", 0, len(path) - 1)
    else:
        key = path
        i = path.rfind("/")
    while True:
        group = prefix.get(key)
        if group:
            for e in group:
                if e.simple or e.conditions_hold(req, lazy):
                    return e
        if not key:
            return None
        if i > 0:
            key = path[:i]
            i = path.rfind("/", 0, i)
        else:
            key = ""


def _best_host(hosts: tuple[str, ...], hostname: str):
    """The most specific of `hosts` accepting hostname; None when the match names no host;
    False when none accepts it."""
    if not hosts:
        return None
    found = [h for h in hosts if host_matches(h, hostname)]
    if not found:
        return False
    return min(found, key=host_rank)


def precedence_key(e: Entry, host_pattern: str | None) -> tuple:
    """The rank of one entry reached through one of its host patterns (None: the match names
    no host); the lower key wins. Its fields, in order: host rank, path rank, then the
    entry's tie_key (method, header count, query count, route position, match position)."""
    return (host_rank(host_pattern), path_rank(e), *e.tie_key)


def rewritten_prefix(rw: ir.PathRewrite, match: ir.Match) -> str | None:
    """The decoded prefix a `prefix` path rewrite, or a redirect's `prefix`, replaces: the
    rewrite's own when it names one, else the path the match compares (an exact path is a
    prefix of itself). None after a regex match: the path is then kept as it is."""
    if rw.match is not None:
        return decoded_path(rw.match)
    if match.path.type in ("prefix", "exact"):
        return decoded_path(match.path.value)
    return None


# ---- the first-match order -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Alternative:
    """One line of the first-match order: a (route, match) pair through one of its hosts.

    A match that names several hosts gives one Alternative per host, because its hosts rank
    differently (an exact host before a wildcard); `match` is the match as written and
    `host` the one pattern this line stands for (None: the match names no host and accepts
    any). `one_host_match` is the match narrowed to that host, for a product that takes the
    host condition from the match itself."""

    route: ir.Route
    match: ir.Match
    host: str | None
    route_index: int  # position of the route in edge.routes
    match_index: int  # position of the match in route.matches
    entry: Entry  # the compiled pair (decoded path value, regex rank, conditions)
    key: tuple  # precedence_key(entry, host): the order of first_match_order

    @property
    def one_host_match(self) -> ir.Match:
        hosts = (self.host,) if self.host is not None else ()
        return self.match if self.match.hosts == hosts else dataclasses.replace(self.match, hosts=hosts)


def alternative(e: Entry, host: str | None) -> Alternative:
    """The entry reached through one of its host patterns (None: it names none)."""
    return Alternative(e.route, e.match, host, e.route_index, e.match_index, e, precedence_key(e, host))


def first_match_order(edge: ir.Edge) -> tuple[Alternative, ...]:
    """Every (route, match, host) of the edge, most specific first.

    A product that tries rules in order and takes the first whose conditions all hold
    (host, path, method, headers, query of the Alternative) chooses, for every request, the
    route decide chooses: the order is decide's precedence laid out flat. Alternatives of
    one (route, match) with equally ranked hosts keep the order the hosts are written in;
    they never accept the same request. Built once per IR object, like compile()."""
    return compile(edge).first_match_order()


# ---- virtual hosts --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VirtualHost:
    """The routes a product that picks a virtual host by name first must list under `name`.

    `name` is a host pattern the edge names (exact, or "*.suffix"), or None for the virtual
    host of every other Host. `alternatives` are, best first, the (route, match) pairs that
    accept every request sent to that name: those naming it, those of the wildcards that
    cover it, then those without a host condition. Each appears once, its `host` the most
    specific of its patterns that covers the name."""

    name: str | None
    alternatives: tuple[Alternative, ...]


def virtual_hosts(edge: ir.Edge) -> tuple[VirtualHost, ...]:
    """One VirtualHost per host pattern (exact names first, then wildcards, each sorted),
    then the default one (name None, only the matches without a host condition).

    decide tries the most specific host bucket first and falls back to less specific ones
    when nothing there matches; a product that picks a virtual host by name (nginx
    server_name, Envoy domains: exact, then the longest wildcard, then any) and then tries
    its routes in order falls back the same way because each virtual host repeats the
    routes it would fall back to."""
    return compile(edge).virtual_hosts()


def _covering_patterns(name: str) -> list[str]:
    """The patterns that accept every host the virtual host `name` accepts, most specific
    first: "a.b.c" → "a.b.c", "*.b.c", "*.c"; "*.b.c" → "*.b.c", "*.c"."""
    wildcard = name.startswith("*.")
    labels = name[2:].split(".") if wildcard else name.split(".")
    return ([] if wildcard else [name]) + ["*." + ".".join(labels[i:]) for i in range(0 if wildcard else 1, len(labels))]


# ---- time limits ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TimeLimits:
    """How long a gateway waits for one request forwarded to one upstream, in ms.

    attempt_ms   one attempt at one server, for its answer: the route's `per_try`, else the
                 upstream's read timeout (a retry starts a new attempt with a new clock)
    connect_ms   opening a connection to one server (the upstream's)
    send_ms      sending the request to one server (the upstream's)
    request_ms   the whole request, every attempt and backoff included; 0: no limit. A
                 product without a whole-request clock can only bound each wait by it."""

    attempt_ms: int
    connect_ms: int
    send_ms: int
    request_ms: int


def attempt_timeout_ms(timeouts: ir.Timeouts, upstream: ir.Upstream) -> int:
    """How long one attempt at one server of `upstream` waits for its answer: the route's
    `per_try` (Route.timeouts, Decision.timeouts), else the upstream's read timeout."""
    return timeouts.per_try_ms or upstream.timeouts.read_ms


def time_limits(timeouts: ir.Timeouts, upstream: ir.Upstream) -> TimeLimits:
    """Every limit of a route with `timeouts` forwarding to `upstream`."""
    up = upstream.timeouts
    return TimeLimits(attempt_timeout_ms(timeouts, upstream), up.connect_ms, up.send_ms, timeouts.request_ms)


# ---- client addresses ------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


def address_allowed(access: ir.Access, address: str) -> bool:
    """Whether a client at `address` (found past the trusted proxies) may send a request under
    these lists: never from inside a denied network, and only from inside an allowed one when
    any is listed. An IPv4 address mapped into IPv6 counts as the IPv4 address; a peer that is
    no IP address at all (a Unix socket) passes only lists that deny nothing and allow anyone."""
    if access.empty:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _networks(access.deny)):
        return False
    return not access.allow or any(ip in net for net in _networks(access.allow))


# ---- verified tokens ------------------------------------------------------------------------------
# A token that is missing, malformed, badly signed, expired or for another issuer or audience is
# answered 401 by its auth provider. A valid token without what the route requires is 403 (RFC
# 6750 §3.1 insufficient_scope), as Spring Security, Envoy's RBAC and Kong answer it: the client
# is known, and a new token of the same grant would not help.
FORBIDDEN_STATUS = 403


def forbidden_challenge(auth: ir.Auth) -> str:
    """The WWW-Authenticate of that 403: the provider's realm, as its 401 names it."""
    return f'Bearer realm="{auth.name}", error="insufficient_scope"'


def api_key_challenge(auth: ir.ApiKeyAuth) -> str:
    """The WWW-Authenticate of an API key's 401. No registered scheme names API keys; this one
    tells the client which header the key goes in."""
    return f'ApiKey header="{auth.header}"'


def _words(value) -> list[str]:
    """A scope claim's scopes: a space-separated string, or an array of strings."""
    if isinstance(value, str):
        return value.split(" ")
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def granted_scopes(claims: dict) -> frozenset[str]:
    """The scopes a verified token grants: those of `scope` (OAuth 2.0's space-separated string)
    and of `scp` (a string or an array, as Okta and Entra ID issue it) together."""
    return frozenset(w for name in ("scope", "scp") for w in _words(claims.get(name)) if w)


def claim_holds(value, wanted: tuple[str, ...]) -> bool:
    """A claim holds one of `wanted`: it is that string, or an array with that string in it.
    Numbers, booleans and objects never match (a `"true"` is not `true`)."""
    if isinstance(value, str):
        return value in wanted
    return isinstance(value, list) and any(isinstance(v, str) and v in wanted for v in value)


def authorized(require: ir.Requirements | None, claims: dict) -> bool:
    """Whether the claims of a verified token carry what a route requires: each `require claim`
    line holds (any of its values) and every `require scope` is granted."""
    if require is None:
        return True
    if not all(claim_holds(claims.get(c.name), c.values) for c in require.claims):
        return False
    return not require.scopes or granted_scopes(claims).issuperset(require.scopes)


# ---- entry points ----------------------------------------------------------------------------------

def per_edge(fn: Callable[[ir.Edge], T]) -> Callable[[ir.Edge], T]:
    """fn(edge), computed once per IR object and kept while that object lives: a change
    makes a new IR, and every reader of one IR (each lint rule, each environment's turn, the
    graph) shares one result. The cache holds the IR weakly; what fn returns must not hold
    the IR itself, or it would never be let go."""
    cache: dict[int, tuple[weakref.ref, T]] = {}

    @functools.wraps(fn)
    def once(edge: ir.Edge) -> T:
        hit = cache.get(id(edge))
        if hit is None or hit[0]() is not edge:
            hit = (weakref.ref(edge), fn(edge))
            cache[id(edge)] = hit
            weakref.finalize(edge, cache.pop, id(edge), None)
        return hit[1]
    once.cache = cache  # type: ignore[attr-defined]  (what the tests look into)
    return once


@per_edge
def compile(edge: ir.Edge) -> Router:  # noqa: A001  (the name the rest of edgec uses)
    """The Router of this IR object, built once and kept while the object lives."""
    return Router(edge)


def decide(edge: ir.Edge, request: Request) -> Decision:
    return compile(edge).decide(request)


_REGEX_META = re.compile(r"[\\.^$|?*+()\[\]{}]")


def regex_literal_prefix(pattern: str) -> str:
    """Text every path the regex accepts starts with ("" when unsure): its plain characters up
    to the first special one, less the last when `?`, `*` or `{` may take it away; none with an
    alternative anywhere (`a|b`). Lint and targets index regexes by it to try each one only
    where it can match."""
    if "|" in pattern:
        return ""
    m = _REGEX_META.search(pattern)
    if m is None:
        return pattern
    return pattern[:m.start() - 1] if m.group() in "?*{" and m.start() else pattern[:m.start()]


__all__ = ["Request", "Decision", "Router", "Entry", "Alternative", "TimeLimits", "compile", "decide",
           "first_match_order", "alternative", "per_edge", "virtual_hosts", "address_allowed", "regex_literal_prefix", "VirtualHost", "precedence_key", "time_limits", "attempt_timeout_ms", "decoded_path", "rewritten_prefix",
           "apply_header_ops", "normalize_path", "replace_prefix", "prefix_matches", "strip_slash", "host_of",
           "valid_host", "target_parts", "without_underscores", "PATH_SENT_AS_IS", "parse_query", "escape_path", "BadPath", "DEFAULT_PORTS", "DEFAULT_HOST"]
