"""IR routes → HTTPRoutes, one per host name the edge serves (then more when 16 rules do
not hold them).

edgec.routing.virtual_hosts lists, for each host name, every (route, match) a request to
that name can take, best first, the routes it falls back to included: each HTTPRoute
carries one such list as rules in that order, so that a request is decided by the
HTTPRoute of its most specific host name alone, as the Gateway API prefers it. A route
that can never be reached under a host is left out of that host's HTTPRoute. Within an
HTTPRoute the Gateway API ranks the matches itself (matches.rank): where its rank would
give a request to another route than edgec.routing does, the route is refused. An
implementation told to keep the rules' order (Envoy Gateway's preserveRouteOrder) needs
no rank: `rank=None`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from edgec import ir, routing
from edgec.diagnostics import Span

from . import envoy_gateway
from . import matches as mx
from .backends import backend_ref
from .names import host_slug, label

Plan = dict
MAX_RULES = 16  # rules of one HTTPRoute (the CRD's maxItems)
HOSTNAME = re.compile(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
IP = re.compile(r"[0-9.]+|.*:.*")


@dataclass(frozen=True)
class Problem:
    span: Span | None
    what: str
    hint: str


@dataclass
class Rule:
    alternatives: list[routing.Alternative]  # one, or one per method of one
    plan: Plan


@dataclass
class Routes:
    """What a build of the routes gives: the HTTPRoutes' plans and what stops them."""

    plans: list[Plan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    extras: dict[str, Plan] = field(default_factory=dict)  # the implementation's resources the rules name
    # edge route → its rules as (HTTPRoute, rule name): what a policy for the route targets
    rules_of: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def duration(ms: int) -> str:
    """A Gateway API duration (at most four parts of five digits each)."""
    parts = []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        if ms >= size:
            parts.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(parts) or "0s"


class Builder:
    def __init__(self, edge: ir.Edge, regex, meta, parents, rank=mx.rank, respond=None, ref=backend_ref,
                 last: Plan | None = None):
        self.edge = edge
        self.ref = ref  # (edge, upstream, weight) → the upstream's backendRef
        self.last = last  # a rule after every host's rules: what a request no route takes meets
        self.respond = respond  # route → the implementation's resource that answers it (None: refused before)
        self.rank = rank  # the implementation's rank of a match (lower first), None: rule order
        self.regex = regex  # (pattern, is_path) → the pattern as the implementation reads it
        self.meta = meta  # name → metadata
        self.parents = parents  # the parentRefs of the serving listeners
        self.out = Routes()
        self._reported: set = set()

    def problem(self, span: Span | None, what: str, hint: str) -> None:
        if (span, what) not in self._reported:
            self._reported.add((span, what))
            self.out.problems.append(Problem(span, what, hint))

    def build(self, suffix: str = "", response_set: tuple[tuple[str, str], ...] = ()) -> Routes:
        """HTTPRoutes for the listeners of `parents`; `response_set` are headers set on every
        response there (HSTS)."""
        for vh in routing.virtual_hosts(self.edge):
            if vh.name is None and not vh.alternatives and not self.last:
                continue
            alternatives = self.reachable(vh)
            rules = [rule for alt in alternatives for rule in self.rules(alt, response_set)]
            if self.last:
                rules.append(Rule([], self.last))
            for index, chunk in enumerate(self.chunks(vh, rules)):
                name = label(self.edge.name, host_slug(vh.name), *([suffix] if suffix else []),
                             *([str(index + 1)] if index else []), dots=True)
                spec: Plan = {"parentRefs": self.parents}
                if vh.name is not None:
                    spec["hostnames"] = [vh.name]
                spec["rules"] = [r.plan for r in chunk]
                for r in chunk:
                    if r.alternatives:
                        self.out.rules_of.setdefault(r.alternatives[0].route.name, []).append((name, r.plan["name"]))
                self.out.plans.append({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                                       "metadata": self.meta(name), "spec": spec})
        return self.out

    def reachable(self, vh: routing.VirtualHost) -> list[routing.Alternative]:
        """The host's alternatives a request can take, once the Gateway API ranks them."""
        if vh.name is not None and (vh.name.endswith(".") or not _hostname_ok(vh.name)):
            first = vh.alternatives[0]
            self.problem(first.match.span or first.route.span,
                         f"host '{vh.name}' in route '{first.route.name}': an HTTPRoute hostname is a lower-case DNS "
                         "name (no IP address, port or final dot)", "write the host name without them")
        kept: list[routing.Alternative] = []
        for b in vh.alternatives:
            if any(mx.covers(a, b) for a in kept):
                continue  # never reached under this host: the rank would only let it take too much
            for a in kept if self.rank else ():
                if self.rank(b) < self.rank(a) and mx.overlap(a, b):
                    where = f"host '{vh.name}'" if vh.name else "any host"
                    self.problem(b.match.span or b.route.span,
                                 f"route '{b.route.name}' under {where}: the Gateway API ranks its match before "
                                 f"route '{a.route.name}' (path, method, header and query conditions before the "
                                 "host), which takes those requests first here",
                                 f"give route '{b.route.name}' the host condition of route '{a.route.name}', or "
                                 "make their paths disjoint")
                    break
            kept.append(b)
        return kept

    def chunks(self, vh: routing.VirtualHost, rules: list[Rule]) -> list[list[Rule]]:
        """Rules in HTTPRoutes of at most 16. Between HTTPRoutes, equal ranks (any two rules,
        without a rank) are ordered by creation time, not rule order: a cut never parts two
        such rules that one request can meet."""
        out: list[list[Rule]] = []
        start = 0
        while start < len(rules):
            end = min(start + MAX_RULES, len(rules))
            while end < len(rules) and end > start and self._tied(rules[start:end], rules[end:]):
                end -= 1
            if end == start:
                first = rules[start].alternatives[0]
                self.problem(first.route.span, f"route '{first.route.name}' under host '{vh.name or 'any'}': more "
                             f"than {MAX_RULES} rules one request can meet, of equal rank, do not fit one "
                             "HTTPRoute, and between HTTPRoutes creation time decides", "split the routes by host "
                             "or give them distinct paths")
                end = min(start + MAX_RULES, len(rules))
            out.append(rules[start:end])
            start = end
        return out

    def _tied(self, before: list[Rule], after: list[Rule]) -> bool:
        return any((self.rank is None or self.rank(a) == self.rank(b)) and mx.overlap(a, b)
                   for ra in before for a in ra.alternatives for rb in after for b in rb.alternatives)

    # ---- one (route, match) → rules ----------------------------------------------------------

    def rules(self, alt: routing.Alternative, response_set) -> list[Rule]:
        route, m = alt.route, alt.match
        why = mx.path_problem(m.path)
        if why:
            self.problem(m.span or route.span, f"the path '{m.path.value}' of route '{route.name}': the Gateway API "
                         f"refuses {why} in {'an' if m.path.type == 'exact' else 'a'} {m.path.type} path",
                         "write the path in its normal form")
        filters, one_prefix = self.filters(alt, response_set)
        methods = [(x,) for x in m.methods] if one_prefix and len(m.methods) > 1 else [None]
        out = []
        for index, only in enumerate(methods):
            plan: Plan = {"name": label(route.name, str(alt.match_index + 1),
                                        *([str(index + 1)] if len(methods) > 1 else []))}
            plan["matches"] = mx.http_matches(m, self.regex, only)
            if filters:
                plan["filters"] = filters
            if isinstance(route.action, ir.Forward):
                backends = [b for b in route.action.backends if b.weight > 0]
                plan["backendRefs"] = [self.ref(self.edge, b.upstream, b.weight if len(backends) > 1 else None)
                                       for b in backends]
                plan.update(self.timeouts(route, backends))
            out.append(Rule([alt], plan))
        return out

    def timeouts(self, route: ir.Route, backends: list[ir.Backend]) -> Plan:
        attempt = max(routing.attempt_timeout_ms(route.timeouts, self.edge.upstream(b.upstream)) for b in backends)
        request = route.timeouts.request_ms
        out: Plan = {}
        if request:
            out["request"] = duration(request)
        if attempt and (not request or attempt <= request):
            out["backendRequest"] = duration(attempt)
        return {"timeouts": out} if out else {}

    def filters(self, alt: routing.Alternative, response_set) -> tuple[list[Plan], bool]:
        """The rule's filters, and whether one uses ReplacePrefixMatch (which the CRD allows
        only in a rule of exactly one PathPrefix match)."""
        route, m = alt.route, alt.match
        out: list[Plan] = []
        one_prefix = False
        req = self.header_modifier(route, route.request_headers, ())
        if req:
            out.append({"type": "RequestHeaderModifier", "requestHeaderModifier": req})
        resp = self.header_modifier(route, route.response_headers, response_set)
        if resp:
            out.append({"type": "ResponseHeaderModifier", "responseHeaderModifier": resp})
        action = route.action
        if isinstance(action, ir.Forward):
            rewrite: Plan = {}
            if route.rewrite.host:
                rewrite["hostname"] = self.hostname(route, route.rewrite.host)
            if route.rewrite.path:
                path, one_prefix = self.path_modifier(route, m, route.rewrite.path)
                if path:
                    rewrite["path"] = path
            if rewrite:
                out.append({"type": "URLRewrite", "urlRewrite": rewrite})
            for mirror in route.mirrors:
                out.append({"type": "RequestMirror", "requestMirror": self.mirror(mirror)})
            if route.cors:
                out.append({"type": "CORS", "cors": cors(route.cors)})
        elif isinstance(action, ir.Redirect):
            redirect: Plan = {"statusCode": action.status}
            if action.scheme:
                redirect["scheme"] = action.scheme
            if action.host:
                redirect["hostname"] = self.hostname(route, action.host)
            # the port a scheme implies, written out: Envoy Gateway would keep the Host header's
            port = action.port if action.port is not None else \
                routing.DEFAULT_PORTS[action.scheme] if action.scheme else None
            if port is not None:
                redirect["port"] = port
            if action.path:
                path, one_prefix = self.path_modifier(route, m, action.path)
                if path:
                    redirect["path"] = path
            out.append({"type": "RequestRedirect", "requestRedirect": redirect})
        elif isinstance(action, ir.Respond) and self.respond:
            resource = self.respond(route)
            self.out.extras[resource["metadata"]["name"]] = resource
            out.append(envoy_gateway.extension_ref(resource))
        return out, one_prefix

    def header_modifier(self, route: ir.Route, ops: ir.HeaderOps, always: tuple[tuple[str, str], ...]) -> Plan:
        out: Plan = {}
        written = {n.lower() for n, _ in ops.set}
        sets = [(n, v) for n, v in always if n.lower() not in written] + list(ops.set)
        for key, pairs in (("set", sets), ("add", list(ops.add))):
            if pairs:
                out[key] = [{"name": n, "value": v} for n, v in pairs]
        if ops.remove:
            out["remove"] = list(ops.remove)
        for key in ("set", "add", "remove"):
            if len(out.get(key, ())) > 16:
                self.problem(route.span, f"route '{route.name}': more than 16 header operations of one kind "
                             f"({key})", "the Gateway API takes at most 16")
        return out

    def hostname(self, route: ir.Route, host: str) -> str:
        if not _hostname_ok(host) or host.startswith("*."):
            self.problem(route.span, f"route '{route.name}': the host '{host}' is not a host name the Gateway API "
                         "takes in a rewrite or redirect (a lower-case DNS name, no port)", "write a DNS name")
        return host

    def path_modifier(self, route: ir.Route, m: ir.Match, rw: ir.PathRewrite) -> tuple[Plan | None, bool]:
        if rw.type == "full":
            return {"type": "ReplaceFullPath", "replaceFullPath": rw.replacement}, False
        prefix = routing.rewritten_prefix(rw, m)
        if prefix is None:
            return None, False  # after a regex match the path is kept
        if m.path.type == "exact":
            # the whole path is known: the prefix replaced in it is the full path
            path = routing.replace_prefix(routing.decoded_path(m.path.value), prefix, rw.replacement)
            return {"type": "ReplaceFullPath", "replaceFullPath": path}, False
        matched = routing.decoded_path(m.path.value)
        if m.path.type != "prefix" or not routing.prefix_matches(prefix, matched):
            self.problem(m.span or route.span, f"route '{route.name}': its prefix rewrite replaces '{rw.match}', "
                         "which does not begin the prefix the match compares: the Gateway API replaces only the "
                         "matched prefix", "rewrite the prefix the match names, or a part of it")
            return None, False
        # the matched prefix P begins with the rewritten one: P's rest follows the replacement
        replacement = routing.replace_prefix(routing.strip_slash(matched) or "/", prefix, rw.replacement)
        return {"type": "ReplacePrefixMatch", "replacePrefixMatch": replacement}, True

    def mirror(self, m: ir.Mirror) -> Plan:
        out: Plan = {"backendRef": self.ref(self.edge, m.upstream)}
        if m.percent < 100:
            if float(m.percent).is_integer():
                out["percent"] = int(m.percent)
            else:
                out["fraction"] = {"numerator": round(m.percent * 10_000), "denominator": 1_000_000}
        return out


def cors(c: ir.Cors) -> Plan:
    out: Plan = {"allowOrigins": list(c.origins), "allowMethods": list(c.methods)}
    if c.headers:
        out["allowHeaders"] = list(c.headers)
    if c.expose:
        out["exposeHeaders"] = list(c.expose)
    if c.credentials:
        out["allowCredentials"] = True
    out["maxAge"] = c.max_age_s
    return out


def _hostname_ok(host: str) -> bool:
    """A hostname the CRD takes: a lower-case DNS name, not an IP address (the spec refuses those)."""
    return not IP.fullmatch(host) and HOSTNAME.fullmatch(host) is not None and len(host) <= 253
