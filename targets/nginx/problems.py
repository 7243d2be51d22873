"""Values nginx cannot carry, beyond the feature table: one small check per concern.

Each check looks at one IR node and yields Problems; the tables below say which checks
run on which node, in the order their diagnostics are reported (upstreams, listeners,
the access log, auth providers, routes).
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Callable, Iterator, NamedTuple

from edgec import ir
from edgec.diagnostics import Span

from .capabilities import RETRYABLE_STATUSES
from .conf import PARAMETER_BYTES, quoted
from .conf import literal as conf_literal
from .regex import literal as regex_literal
from .regex import percent_tolerant

_VAR_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


class Problem(NamedTuple):
    span: Span | None
    message: str  # completes "target 'nginx' cannot express …" / "… approximates …"
    hint: str | None
    severity: str  # "error" (E401) or "warning" (W402)


Problems = Iterator[Problem]


def var_name(name: str, what: str, span) -> Problems:
    """A name nginx reads through a variable ($http_x, $cookie_x)."""
    if not _VAR_NAME.fullmatch(name):
        yield Problem(span, f"{what} '{name}': nginx reads it through a variable, whose name allows only "
                            "letters, digits, '-' and '_'", "rename it", "error")


def no_dollar(path: str, what: str, span) -> Problems:
    if "$" in path:
        yield Problem(span, f"{what} '{path}': nginx reads '$' in a file path as a variable", "rename the file",
                      "error")


class Scope:
    """What a check may need besides its node: the edge and lookups built once."""

    def __init__(self, edge: ir.Edge):
        self.edge = edge
        self.auth = {a.name: a for a in edge.auth}
        self.upstreams = {u.name: u for u in edge.upstreams}
        self.same_name_before: dict[str, str] = {}  # upstream → the last earlier one whose name differs only in case
        last: dict[str, str] = {}
        for up in edge.upstreams:
            if up.name.lower() in last:
                self.same_name_before[up.name] = last[up.name.lower()]
            last[up.name.lower()] = up.name


# ---- upstreams ------------------------------------------------------------------------------------

def upstream_name_case(up: ir.Upstream, scope: Scope) -> Problems:
    other = scope.same_name_before.get(up.name)
    if other is not None:
        yield Problem(up.span, f"upstreams '{other}' and '{up.name}': nginx upstream names ignore case",
                      "rename one of them", "error")


def backup_balance(up: ir.Upstream, scope: Scope) -> Problems:
    if any(s.backup for s in up.servers) and (up.balance in ("hash", "ip_hash", "random") or up.sticky):
        yield Problem(up.span, f"backup servers with {'sticky' if up.sticky else up.balance} balancing in "
                               f"upstream '{up.name}': nginx refuses the combination",
                      "drop `backup` or use round_robin / least_conn", "error")


def upstream_variables(up: ir.Upstream, scope: Scope) -> Problems:
    if up.hash_key and up.hash_key.name:
        yield from var_name(up.hash_key.name, f"hash {up.hash_key.source} name", up.span)
    if up.sticky:
        yield from var_name(up.sticky.cookie, "sticky cookie", up.span)


# ---- listeners, logs, auth ---------------------------------------------------------------------

def upstream_tls_name(up: ir.Upstream, scope: Scope) -> Problems:
    if up.tls and not up.tls.sni and len({s.host for s in up.servers}) > 1:
        yield Problem(up.span, f"TLS to upstream '{up.name}', whose servers have several host names and no sni: "
                               "nginx sends and checks one name for every server of an upstream",
                      'add sni "NAME" (the name their certificates hold)', "error")


def upstream_certificate_paths(up: ir.Upstream, scope: Scope) -> Problems:
    """proxy_ssl_certificate and its key take variables (nginx 1.21.0+): a `$` would name one."""
    if up.tls and up.tls.cert:
        yield from no_dollar(up.tls.cert, f"certificate path of upstream '{up.name}'", up.span)
        yield from no_dollar(up.tls.key or "", f"key path of upstream '{up.name}'", up.span)


def certificate_paths(lst: ir.Listener, scope: Scope) -> Problems:
    if lst.tls:
        yield from no_dollar(lst.tls.cert, "certificate path", lst.span)
        yield from no_dollar(lst.tls.key, "key path", lst.span)


def access_log_path(edge: ir.Edge, scope: Scope) -> Problems:
    log = edge.observability.access_log
    if log.format != "off":
        yield from no_dollar(log.path, "access log path", None)


def api_key_header(auth: ir.Auth, scope: Scope) -> Problems:
    if isinstance(auth, ir.ApiKeyAuth):
        yield from var_name(auth.header, "API key header", auth.span)


def external_auth_headers(auth: ir.Auth, scope: Scope) -> Problems:
    if isinstance(auth, ir.ExternalAuth):
        for name in (*auth.check_headers, *auth.copy_headers):
            yield from var_name(name, f"header of auth '{auth.name}'", auth.span)


def htpasswd_path(auth: ir.Auth, scope: Scope) -> Problems:
    if isinstance(auth, ir.BasicAuth) and isinstance(auth.htpasswd, str):
        yield from no_dollar(auth.htpasswd, "htpasswd path", auth.span)


def jwt_algorithms(auth: ir.Auth, scope: Scope) -> Problems:
    if isinstance(auth, ir.JwtAuth) and "EdDSA" in auth.algorithms:
        yield Problem(auth.span, f"EdDSA tokens in auth '{auth.name}': njs's WebCrypto has no Ed25519",
                      "accept RS256, PS256 or ES256 tokens, or use the runtime, spring or envoy target", "error")


def jwks_url(auth: ir.Auth, scope: Scope) -> Problems:
    url = auth.jwks_url if isinstance(auth, ir.JwtAuth) else None
    if url and not re.fullmatch(r"https?://[A-Za-z0-9\-._~%!&'()*+,;=:@/?\[\]]+", url):
        yield Problem(auth.span, f"the JWKS address '{url}' of auth '{auth.name}': nginx fetches it with proxy_pass, "
                                 "which takes an http or https URL without '$' or spaces", None, "error")


# ---- routes -----------------------------------------------------------------------------------------

def upstream_tls_mix(route: ir.Route, scope: Scope) -> Problems:
    """TLS settings are the location's: one per route, and none where a mirror or an aggregation
    part is sent (those locations speak plain HTTP)."""
    action = route.action
    # most routes forward to one upstream: nothing to compare
    forwarded = {b.upstream for b in action.backends if b.weight > 0} \
        if isinstance(action, ir.Forward) and len(action.backends) > 1 else ()
    if len({scope.upstreams[n].tls for n in forwarded}) > 1:
        yield Problem(route.span, f"a split between upstreams with different TLS settings in {_where(route)}: nginx "
                                  "sets TLS to the upstream per location", "give the upstreams the same tls", "error")
    if not route.mirrors and not isinstance(action, ir.Aggregate):
        return
    side = {m.upstream for m in route.mirrors} | (
        {p.upstream for p in action.parts} if isinstance(action, ir.Aggregate) else set())
    for name in sorted(n for n in side if scope.upstreams[n].tls):
        yield Problem(route.span, f"a mirror or aggregation part to upstream '{name}' over TLS in {_where(route)}",
                      "mirror to or aggregate from a plain HTTP upstream", "error")


def _where(route: ir.Route) -> str:
    return f"route '{route.name}'"


def _accepts_empty(h: ir.ValueMatch) -> bool:
    if h.type == "exact":
        return h.value == ""
    return h.type == "regex" and re.fullmatch(h.value or "", "") is not None


def header_conditions(route: ir.Route, scope: Scope) -> Problems:
    for m in route.matches:
        for h in m.headers:
            yield from var_name(h.name, f"header condition in {_where(route)}", m.span or route.span)
            if _accepts_empty(h):
                yield Problem(m.span or route.span, f"a header condition on '{h.name}' that accepts an empty value "
                                                    f"in {_where(route)}: nginx cannot tell an empty header from a "
                                                    "missing one", None, "warning")


def appended_headers(route: ir.Route, scope: Scope) -> Problems:
    for name, _ in route.request_headers.add:
        yield from var_name(name, f"request header to append to in {_where(route)}", route.span)


def rate_limit(route: ir.Route, scope: Scope) -> Problems:
    rl = route.rate_limit
    if rl is None:
        return
    if rl.key.source == "header":
        yield from var_name(rl.key.name or "", f"rate limit header in {_where(route)}", route.span)
    if rl.count % rl.window_s and (rl.count * 60) % rl.window_s:
        yield Problem(route.span, f"the rate {rl.count}/{rl.window_s}s in {_where(route)}: nginx rates are whole "
                                  "requests per second or per minute; rounded", None, "warning")


def cache(route: ir.Route, scope: Scope) -> Problems:
    if route.cache is None:
        return
    for v in route.cache.vary:
        yield from var_name(v, f"vary header in {_where(route)}", route.span)
    if not {"GET", "HEAD"} <= set(route.cache.methods):
        yield Problem(route.span, f"cache methods in {_where(route)}: nginx always caches GET and HEAD", None,
                      "warning")


def basic_auth_rate_limit(route: ir.Route, scope: Scope) -> Problems:
    if route.rate_limit and isinstance(scope.auth.get(route.auth or ""), ir.BasicAuth):
        yield Problem(route.span, f"basic auth with a rate limit in {_where(route)}: nginx counts requests against "
                                  "the limit before it checks credentials (429 comes before 401)", None, "warning")


def own_response_headers(route: ir.Route, scope: Scope) -> Problems:
    ops = route.response_headers
    if not (ops.set or ops.remove):
        return
    own = {n.lower() for n, _ in ops.set} | {n.lower() for n in ops.remove}
    for name in sorted(own & {"server", "date"}):
        yield Problem(route.span, f"changing the {name.title()} response header in {_where(route)}: nginx always "
                                  "sends its own", None, "warning")


def rewritten_path(route: ir.Route, scope: Scope) -> Problems:
    rw = route.rewrite.path
    if rw is not None and not _PATH_CHARS.fullmatch(rw.replacement):
        yield Problem(route.span, f"the rewritten path '{rw.replacement}' in {_where(route)}: nginx splits '?' off "
                                  "as the query, re-encodes '%' and sends other characters unencoded",
                      "use only letters, digits and -._~!$&'()*+,;=:@/", "error")


def fixed_3xx(route: ir.Route, scope: Scope) -> Problems:
    action = route.action
    if isinstance(action, ir.Respond) and 300 <= action.status < 400:
        yield Problem(route.span, f"a fixed {action.status} response in {_where(route)}: nginx's return reads the "
                                  "text of a 3xx as the Location", "use `redirect` for redirects", "error")


def retry_statuses(route: ir.Route, scope: Scope) -> Problems:
    other = [s for s in route.retry.statuses if s not in RETRYABLE_STATUSES] if route.retry.attempts else []
    if other:
        yield Problem(route.span, f"retries on {', '.join(map(str, other))} in {_where(route)}: nginx retries only "
                                  "on " + ", ".join(map(str, RETRYABLE_STATUSES)), None, "warning")


def split_timeouts(route: ir.Route, scope: Scope) -> Problems:
    if not isinstance(route.action, ir.Forward):
        return
    backends = route.action.backends
    if len(backends) < 2:  # most routes: nothing to compare (an upstream's timeouts hash slowly)
        return
    ups = [scope.upstreams[b.upstream] for b in backends if b.weight > 0 and b.upstream in scope.upstreams]
    if len({u.timeouts for u in ups}) > 1:
        yield Problem(route.span, f"per-upstream timeouts in {_where(route)}: one location holds the split, so the "
                                  "longest of the upstreams' timeouts applies", None, "warning")


_ROOM = 64  # what the emitter may wrap around a value in one token (anchors, groups, a map key's prefix)


# The most bytes one source character can take printed (each step below spells a string
# character by character; quote() may add two quotes around the whole): '$' as a regex literal
# in a complex value is \\${edgec_dollar} (17 bytes quoted), U+FFFFF in a query condition
# (?:c|%[Ff]3%[Bb][Ff]%[Bb][Ff]%[Bb][Ff]) (42). tests/nginx/test_sizes.py holds them to every character.
MOST_PRINTED_BYTES = {False: 17, True: 42}


def printed_size(text: str, query: bool) -> int:
    """The bytes `text` takes in its token: quoted, `$` spelled through a variable, regex
    metacharacters escaped; query conditions match the raw query string, so each character
    there is also written as its %XX forms."""
    spelled = (percent_tolerant if query else regex_literal)(text.replace("\0", ""))
    return len(quoted(conf_literal(spelled)).encode("utf-8"))


def parameter_lengths(edge: ir.Edge, scope: Scope) -> Problems:
    """A string the config would carry in one token longer than nginx reads, with its field named:
    counted as printed (quoted, `$` spelled through a variable, regex metacharacters escaped)."""
    printed: dict[tuple[bool, str], int] = {}  # the same strings recur in route after route
    # a string this short fits however it is spelled (most of them: spelling each costs ~5 µs)
    short = {q: (PARAMETER_BYTES - _ROOM - 2) // most for q, most in MOST_PRINTED_BYTES.items()}
    for owner, field, text, span in _strings(edge, "the edge", "", edge.listeners[0].span if edge.listeners else None,
                                             min(short.values())):
        query = field.startswith("matches.query")
        if len(text) <= short[query]:
            continue
        key = (query, text)
        size = printed.get(key)
        if size is None:
            size = printed[key] = printed_size(text, query) + _ROOM
        if size > PARAMETER_BYTES:
            yield Problem(span, f"the {field} of {owner} ({len(text.encode('utf-8')):,} bytes): nginx refuses a "
                                f"parameter over {PARAMETER_BYTES:,} bytes", "shorten it", "error")


def _strings(node, owner: str, field: str, span, longer: int) -> list[tuple[str, str, str, Span | None]]:
    """Every string in the IR under `node` longer than `longer` characters: (whose, which field,
    the string, where)."""
    out: list = []
    _collect(node, owner, field, span, out, longer)
    return out


# how a field holds strings: a string (or None), a tuple of strings, or in anything else
_STR, _STRS, _WALK = range(3)
# IR class → whether it has a `name` (an owner's), and its fields that can hold a string but
# `span` and `name` (a name is never one of the config's long parameters), each with how
_FIELDS: dict[type, tuple[bool, tuple[tuple[str, int], ...]]] = {}
_HOLDS: dict[object, bool] = {}  # a type → whether a value of it can hold a string


def _fields_of(cls: type) -> tuple[bool, tuple[tuple[str, int], ...]]:
    if not dataclasses.is_dataclass(cls) or issubclass(cls, ir.Secret):
        found: tuple[bool, tuple[tuple[str, int], ...]] = (False, ())
    else:
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        found = ("name" in names, tuple((n, _how(hints[n])) for n in names
                                        if n not in ("span", "name") and _holds_str(hints[n])))
    _FIELDS[cls] = found
    return found


def _how(tp) -> int:
    if tp is str or tp == (str | None):
        return _STR
    if typing.get_origin(tp) is tuple and typing.get_args(tp) == (str, Ellipsis):
        return _STRS
    return _WALK


def _holds_str(tp) -> bool:
    """Whether a value of type `tp` can hold a string (a Literal's are short words of the language)."""
    known = _HOLDS.get(tp)
    if known is not None:
        return known
    _HOLDS[tp] = False  # while its fields are looked at
    origin = typing.get_origin(tp)
    if tp is str:
        holds = True
    elif tp in (int, float, bool, type(None)) or origin is typing.Literal:
        holds = False
    elif origin in (tuple, typing.Union, types.UnionType):
        holds = any(_holds_str(a) for a in typing.get_args(tp) if a is not Ellipsis)
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        holds = not issubclass(tp, ir.Secret) and any(_holds_str(h) for n, h in typing.get_type_hints(tp).items()
                                                      if n != "span")
    else:
        holds = True  # a type this does not know: looked through
    _HOLDS[tp] = holds
    return holds


def _collect(node, owner: str, field: str, span, out: list, longer: int) -> None:
    # ~150,000 nodes at 10,000 routes: only fields that can hold a string are looked at, and
    # strings in tuples are taken without a call each
    if isinstance(node, str):
        if len(node) > longer:
            out.append((owner, field or "value", node, span))
        return
    if isinstance(node, (tuple, list)):
        for item in node:
            if type(item) is str:
                if len(item) > longer:
                    out.append((owner, field or "value", item, span))
            else:
                _collect(item, owner, field, span, out, longer)
        return
    has_name, fields = _FIELDS.get(type(node)) or _fields_of(type(node))
    if has_name and isinstance(node.name, str) and getattr(node, "span", None) is not None:
        kind = type(node).__name__.lower().replace("auth", " auth").strip()
        owner, field, span = f"{kind} '{node.name}'", "", node.span
    dotted = field + "." if field else ""
    for n, how in fields:
        value = getattr(node, n)
        if value is None:
            continue
        if how is _STR:
            if len(value) > longer:
                out.append((owner, dotted + n, value, span))
        elif how is _STRS:
            for item in value:
                if len(item) > longer:
                    out.append((owner, dotted + n, item, span))
        elif value.__class__ is not tuple or value:
            _collect(value, owner, dotted + n, span, out, longer)


Check = Callable[..., Problems]
UPSTREAM: tuple[Check, ...] = (upstream_name_case, backup_balance, upstream_variables, upstream_tls_name,
                               upstream_certificate_paths)
LISTENER: tuple[Check, ...] = (certificate_paths,)
EDGE: tuple[Check, ...] = (access_log_path, parameter_lengths)
AUTH: tuple[Check, ...] = (api_key_header, external_auth_headers, htpasswd_path, jwt_algorithms, jwks_url)
ROUTE: tuple[Check, ...] = (header_conditions, appended_headers, rate_limit, cache, basic_auth_rate_limit,
                            own_response_headers, rewritten_path, fixed_3xx, retry_statuses, split_timeouts,
                            upstream_tls_mix)


def problems(edge: ir.Edge) -> Problems:
    """Every Problem of the edge, node by node, each node's checks in table order."""
    scope = Scope(edge)
    for table, nodes in ((UPSTREAM, edge.upstreams), (LISTENER, edge.listeners), (EDGE, (edge,)),
                         (AUTH, edge.auth), (ROUTE, edge.routes)):
        for node in nodes:
            for check in table:
                yield from check(node, scope)
